/**
 * Agent-runtime benchmark: a router fans out to N executors running a trivial command (`true`),
 * whose results an aggregator collects; measured from SubmitJob until the job completes, on one
 * daemon and on three daemons sharing one redis-server (started here on a free port). Each
 * daemon is a real `mn agent` process, so its peak resident memory is read from /proc.
 *
 * Messages per job: 1 init + N work messages + N results. Reported: seconds, messages/s,
 * agents/s and the peak RSS of each daemon.
 * Run: `npm run bench:fanout [-- --agents 10000]` (needs redis-server on PATH).
 */
import { ApiClient } from '../src/cli/client.js';
import { runBench, startDaemon, type DaemonProcess } from './processes.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const AGENTS = arg('agents', 10_000);
const CONCURRENCY = arg('concurrency', 16);

function manifest(graphId: string, count: number): string {
  const small = { cpu_cores: 0.0001, memory_mb: 0.1 };
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['split'],
    nodes: [
      { node_id: 'split', agent_type: 'router', config: { emit_type: 'work' }, resources: small },
      { node_id: 'worker', agent_type: 'executor', count, config: { command: ['true'] }, resources: small },
      { node_id: 'collect', agent_type: 'aggregator', config: { complete_after: count }, resources: small },
    ],
    edges: [
      { from_node: 'split', to_node: 'worker', message_type: 'work' },
      { from_node: 'worker', to_node: 'collect', message_type: 'executor_result' },
    ],
    policies: { scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] } },
  });
}

async function scenario(redisUrl: string, label: string, names: string[]) {
  const env = { MN_REDIS_URL: redisUrl, MN_REDIS_NAMESPACE: `bench-${label}`, MN_EXECUTOR_MAX_CONCURRENCY: String(CONCURRENCY), MN_HEARTBEAT_INTERVAL_MS: '500', MN_SWEEP_INTERVAL_MS: '1000' };
  const daemons: DaemonProcess[] = [];
  for (const name of names) daemons.push(await startDaemon(name, env));
  await new Promise((r) => setTimeout(r, 1500)); // every node registered and heartbeating
  const client = new ApiClient(daemons[0]!.target, null, 300_000);
  try {
    const t0 = performance.now();
    const { job_id } = await client.call<{ job_id: string }>('job', 'SubmitJob', { manifest_json: manifest(`fanout-${label}`, AGENTS) });
    const committed = performance.now() - t0;
    let status = '';
    let result: { count?: number } | null = null;
    for (;;) {
      const r = await client.call<{ status: string; result_json: string }>('job', 'GetJobResult', { job_id });
      status = r.status;
      if (['completed', 'failed', 'cancelled'].includes(status)) {
        result = r.result_json ? (JSON.parse(r.result_json) as { count?: number }) : null;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const messages = 1 + 2 * AGENTS;
    return {
      scenario: label,
      daemons: names.length,
      agents: AGENTS,
      status,
      results_counted: result?.count ?? null,
      submit_to_committed_s: Number((committed / 1000).toFixed(3)),
      submit_to_completed_s: Number(seconds.toFixed(2)),
      messages_per_s: Math.round(messages / seconds),
      executors_per_s: Math.round(AGENTS / seconds),
      peak_rss_mb: daemons.map((d) => d.peakRssMb()),
    };
  } finally {
    client.close();
    for (const d of daemons) d.kill();
  }
}

runBench('fanout', async (url) => ({
  rows: [await scenario(url, 'one-node', ['solo@bench']), await scenario(url, 'three-daemons', ['a@bench', 'b@bench', 'c@bench'])],
  extra: { executor_concurrency: CONCURRENCY },
}));
