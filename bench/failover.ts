/**
 * Failover benchmark: three `mn agent` daemons share a redis-server (started here); a
 * cluster_recover service job of N long-running executors is spread over them; one daemon that
 * is not the job's coordinator is killed with SIGKILL (with its processes, as losing the machine
 * would). Measured: seconds from the kill until every agent it ran is running on a survivor.
 *
 * The figure includes failure detection: the heartbeat TTL (3 × MN_HEARTBEAT_INTERVAL_MS) plus
 * MN_NODE_DISCONNECT_GRACE_MS, set low here and printed with the results; the rest is the
 * runtime's own reaction (sweep, one re-plan per job, commit, hosting on the new machines).
 * Run: `npm run bench:failover [-- --agents 100,1000]` (needs redis-server on PATH).
 */
import { ApiClient } from '../src/cli/client.js';
import { runBench, startDaemon, type DaemonProcess } from './processes.js';

const sizesArg = process.argv.indexOf('--agents');
const SIZES = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(',').map(Number) : [100, 1000];
const SETTINGS = {
  MN_HEARTBEAT_INTERVAL_MS: '500',
  MN_NODE_DISCONNECT_GRACE_MS: '1000',
  MN_SWEEP_INTERVAL_MS: '500',
  MN_LEADER_LEASE_MS: '2000',
  MN_JOB_LEASE_DURATION_MS: '3000',
  MN_JOB_LEASE_RENEW_INTERVAL_MS: '500',
  MN_EXECUTOR_MAX_CONCURRENCY: '2000',
  MN_NODE_GPU: 'none',
};

async function scenario(redisUrl: string, agents: number) {
  const env = { MN_REDIS_URL: redisUrl, MN_REDIS_NAMESPACE: `failover-${agents}` };
  const daemons: DaemonProcess[] = [];
  for (const name of ['a@bench', 'b@bench', 'c@bench']) daemons.push(await startDaemon(name, { ...SETTINGS, ...env }));
  await new Promise((r) => setTimeout(r, 1500));
  const client = new ApiClient(daemons[0]!.target, null, 120_000);
  try {
    const manifest = JSON.stringify({
      manifest_version: '1',
      graph_id: `svc-${agents}`,
      type: 'service',
      entrypoints: ['w'],
      nodes: [{ node_id: 'w', agent_type: 'executor', count: agents, config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.0001, memory_mb: 0.1 } }],
      policies: { recovery_mode: 'cluster_recover', scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] } },
    });
    const { job_id } = await client.call<{ job_id: string }>('job', 'SubmitJob', { manifest_json: manifest });
    const list = async () => JSON.parse((await client.call<{ agents_json: string }>('job', 'ListAgents', { job_id })).agents_json) as Array<{ agent_id: string; node: string; state: string }>;
    for (;;) {
      if ((await list()).every((a) => a.state === 'running')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const victim = daemons[1]!;
    const lost = new Set((await list()).filter((a) => a.node === victim.name).map((a) => a.agent_id));
    const t0 = performance.now();
    victim.kill();
    for (;;) {
      const now = await list();
      if (now.filter((a) => lost.has(a.agent_id)).every((a) => a.node !== victim.name && a.state === 'running')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const detection = (3 * Number(SETTINGS.MN_HEARTBEAT_INTERVAL_MS) + Number(SETTINGS.MN_NODE_DISCONNECT_GRACE_MS)) / 1000;
    return { agents, moved: lost.size, seconds_to_running_elsewhere: Number(seconds.toFixed(2)), detection_floor_s: detection, reaction_s: Number((seconds - detection).toFixed(2)) };
  } finally {
    client.close();
    for (const d of daemons) d.kill();
  }
}

runBench('failover', async (url) => {
  const rows = [];
  for (const n of SIZES) rows.push(await scenario(url, n));
  return { rows, extra: { settings: SETTINGS } };
});
