import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { runCli } from '../../helpers/cli.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

describe('the mn CLI against a running agent', () => {
  let redis: RedisServer;
  let agent: AgentProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('cli@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'cli', MN_GRPC_AUTH_TOKEN: 'tok' });
    env = { MN_GRPC_TARGET: agent.target, MN_GRPC_AUTH_TOKEN: 'tok' };
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('runs a bundle detached, then shows, lists, pauses, resumes and cancels it', async () => {
    // A job that runs long enough to be paused: a router feeding nine slow workers.
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'mn-slow-'));
    writeFileSync(
      path.join(bundle, 'manifest.json'),
      JSON.stringify({
        manifest_version: '1',
        graph_id: 'slow',
        entrypoints: ['split'],
        nodes: [
          { node_id: 'split', agent_type: 'router', resources: { cpu_cores: 0.1 } },
          { node_id: 'worker', agent_type: 'executor', count: 9, config: { command: ['sleep', '30'] }, resources: { cpu_cores: 0.1 } },
        ],
        edges: [{ from_node: 'split', to_node: 'worker', message_type: '*' }],
      }),
    );
    const run = await runCli(['job', 'run', bundle, '--detach', '--json'], { env });
    expect(run.code).toBe(0);
    const { job_id, status } = JSON.parse(run.stdout);
    expect(status).toBe('scheduled');

    const st = await runCli(['job', 'status', job_id, '--json'], { env });
    expect(st.code).toBe(0);
    const doc = JSON.parse(st.stdout);
    expect(doc.job_id).toBe(job_id);
    expect(['scheduled', 'running']).toContain(doc.status);
    expect(doc.agents).toHaveLength(10);
    expect(doc.agents[0]).toEqual({ agent_id: expect.any(String), node: 'cli@lab', state: expect.stringMatching(/^(pending|running|completed)$/), restarts: 0 });

    const list = await runCli(['job', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout).map((j: { job_id: string }) => j.job_id)).toContain(job_id);

    expect((await runCli(['job', 'pause', job_id], { env })).stdout).toMatch(/paused/);
    const resumeTwice = await runCli(['job', 'resume', job_id], { env });
    expect(resumeTwice.code).toBe(0);
    const again = await runCli(['job', 'resume', job_id], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not paused/);

    const cancel = await runCli(['job', 'cancel', job_id, '--json'], { env });
    expect(JSON.parse(cancel.stdout)).toEqual({ job_id, status: 'cancelled' });
    const events = await runCli(['job', 'events', job_id, '--json'], { env });
    expect(JSON.parse(events.stdout).map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['job_pending', 'job_scheduled', 'job_paused', 'job_cancelled']),
    );
  });

  it('lists nodes and resources, and validates resource limits', async () => {
    const nodes = JSON.parse((await runCli(['node', 'list', '--json'], { env })).stdout);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ name: 'cli@lab', status: 'healthy', scheduling_eligible: true });
    const node = await runCli(['node', 'status', 'cli@lab'], { env });
    expect(node.stdout).toMatch(/cli@lab: healthy/);
    const bad = await runCli(['resource', 'set', '--cpu', '60'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cpu must be one of 25, 50, 75, 100/);
    const none = await runCli(['resource', 'set'], { env });
    expect(none.stderr).toMatch(/at least one of cpu, gpu, memory, or disk is required/);
    const ok = await runCli(['resource', 'set', '--cpu', '50', '--json'], { env });
    expect(JSON.parse(ok.stdout).limits).toMatchObject({ cpu: 50, memory: 100 });
  });

  it('reports a refused token and an unreachable daemon as one line each', async () => {
    const denied = await runCli(['job', 'run', 'examples/fanout', '--detach'], { env: { ...env, MN_GRPC_AUTH_TOKEN: 'bad' } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/requires the gRPC auth token/);
    const unreachable = await runCli(['node', 'list'], { env: { MN_GRPC_TARGET: '127.0.0.1:1' } });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/cannot reach the daemon at 127\.0\.0\.1:1/);
  });

  it('exits 1 with the errors for an invalid bundle', async () => {
    const r = await runCli(['job', 'run', 'test/fixtures/does-not-exist', '--detach'], { env });
    expect(r.code).toBe(2);
  });
});
