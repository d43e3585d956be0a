import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { runCli } from '../../helpers/cli.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const manifest = (graphId: string, type: 'service' | 'batch', count: number) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    type,
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'executor', count, config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.1, memory_mb: 32 } }],
    // An even spread over machine names puts agents on every machine, whatever ran before.
    policies: { recovery_mode: 'cluster_recover', scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] } },
  });

async function agentMap(target: string, jobId: string): Promise<Map<string, string>> {
  const r = await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: jobId });
  return new Map(JSON.parse(r.res!.job_json).agents.map((a: { agent_id: string; node: string }) => [a.agent_id, a.node]));
}

async function agentNodes(target: string, jobId: string): Promise<string[]> {
  return [...(await agentMap(target, jobId)).values()];
}

describe('drain and node loss across three daemons', () => {
  let redis: RedisServer;
  const agents: AgentProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    const shared = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'drain' };
    for (const name of ['alpha@lab', 'beta@lab', 'gamma@lab']) agents.push(await startAgent(name, shared));
    env = { MN_GRPC_TARGET: agents[0]!.target };
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await redis?.stop();
  });

  it('drains a node running a service job: its agents move, it ends in maintenance, undrain restores it', async () => {
    const submit = await rawCall<{ job_id: string }>(agents[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest('web', 'service', 6) });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    expect((await agentNodes(agents[0]!.target, jobId)).filter((n) => n === 'beta@lab')).toHaveLength(2);

    const dry = await runCli(['node', 'drain', 'beta@lab', '--dry-run', '--json'], { env });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ status: 'dry_run', would_status: 'draining', node_status: 'healthy', actions: [{ job_id: jobId, status: 'would_migrate' }] });

    const drain = await runCli(['node', 'drain', 'beta@lab', '--reason', 'kernel upgrade', '--deadline', '10m', '--wait', '--json'], { env });
    expect(drain.code).toBe(0);
    expect(JSON.parse(drain.stdout)).toMatchObject({ status: 'complete', node_status: 'maintenance', scheduling_eligible: false });
    const nodes = await agentNodes(agents[1]!.target, jobId);
    expect(nodes).toHaveLength(6);
    expect(nodes).not.toContain('beta@lab');
    const events = JSON.parse((await runCli(['job', 'events', jobId, '--json'], { env })).stdout);
    expect(events.map((e: { type: string }) => e.type)).toContain('agents_relocated');
    // The move is a drain evaluation of the two agents, through the mn binary.
    const evals = JSON.parse((await runCli(['eval', 'list', '--job', jobId, '--json'], { env })).stdout) as { evaluations: Array<{ trigger: string; status: string; placed: number; agents?: string[] }> };
    expect(evals.evaluations.find((e) => e.trigger === 'drain')).toMatchObject({ status: 'complete', placed: 2 });
    expect(evals.evaluations.find((e) => e.trigger === 'drain')!.agents).toHaveLength(2);

    // No new work lands on a node in maintenance.
    const other = await rawCall<{ job_id: string }>(agents[2]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest('more', 'service', 3) });
    expect(await agentNodes(agents[2]!.target, other.res!.job_id)).not.toContain('beta@lab');

    const undrain = await runCli(['node', 'undrain', 'beta@lab', '--mark-eligible', '--reason', 'done', '--json'], { env });
    expect(JSON.parse(undrain.stdout)).toMatchObject({ status: 'cancelled', node_status: 'healthy', scheduling_eligible: true });
    const elig = await runCli(['node', 'eligibility', 'beta@lab', '--disable', '--json'], { env });
    expect(JSON.parse(elig.stdout)).toMatchObject({ name: 'beta@lab', scheduling_eligible: false });
    await runCli(['node', 'eligibility', 'beta@lab', '--enable'], { env });
  });

  it('never double-books a port across daemons committing at the same time', async () => {
    const wantsPort = (id: string) =>
      JSON.stringify({
        manifest_version: '1',
        graph_id: id,
        entrypoints: ['api'],
        nodes: [{ node_id: 'api', agent_type: 'executor', config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.1, memory_mb: 16, ports: [{ label: 'http', port: 8080 }] } }],
      });
    const results = await Promise.all(
      ['p0', 'p1', 'p2', 'p3'].map((id, i) => rawCall<{ job_id: string }>(agents[i % 3]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: wantsPort(id), no_queue: true })),
    );
    const ok = results.filter((r) => r.code === grpc.status.OK);
    expect(ok).toHaveLength(3);
    expect(results.filter((r) => r.code === grpc.status.RESOURCE_EXHAUSTED)).toHaveLength(1);
    const nodes = await Promise.all(ok.map(async (r) => (await agentNodes(agents[0]!.target, r.res!.job_id))[0]));
    expect(new Set(nodes).size).toBe(3);
  });

  it('moves the agents of a lost node elsewhere once it is offline', async () => {
    const submit = await rawCall<{ job_id: string }>(agents[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest('crunch', 'batch', 6) });
    const jobId = submit.res!.job_id;
    const before = await agentMap(agents[0]!.target, jobId);
    // The job's coordinator is alpha (it was submitted there); lose another machine that holds agents.
    const victim = agents.slice(1).find((a) => [...before.values()].includes(a.name))!;
    expect(victim).toBeDefined();
    const survivors = agents.filter((a) => a !== victim).map((a) => a.name);
    await victim.kill();
    const after = await eventually(async () => {
      const map = await agentMap(agents[0]!.target, jobId);
      return [...map.values()].includes(victim.name) ? null : map;
    }, 30_000, 200);
    expect(after.size).toBe(6);
    // Only the lost machine's agents moved; the others stayed where they were.
    for (const [id, node] of before) {
      if (node === victim.name) expect(survivors).toContain(after.get(id));
      else expect(after.get(id)).toBe(node);
    }
  });
});
