/**
 * Preemption on real daemons, on the embedded store (`mn dev`, enabled by MN_PREEMPTION) and on a
 * real redis-server (`mn agent`, enabled by SetSchedulerConfig with the token): a priority-75 job on
 * a full machine evicts the fewest priority-40 agents it needs and runs; a priority-55 job evicts
 * nothing of a priority-50 one; the evicted agents are placed again once the room returns.
 */
import * as grpc from '@grpc/grpc-js';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually as poll, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { runCli } from '../../helpers/cli.js';
import { finished, getJob, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const TOKEN = 'preempt-token';

/** `eventually`, naming what it waited for when it gives up. */
async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs: number, intervalMs: number, what = 'condition'): Promise<T> {
  let last: unknown = null;
  try {
    return await poll(async () => {
      const v = await fn();
      last = v;
      return v;
    }, timeoutMs, intervalMs);
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message} (last ${JSON.stringify(last)})`);
  }
}
/** Where the processes mark themselves started: one folder per daemon (each mode runs the same graphs). */
let ready = '';
const started = (graphId: string, count: number) =>
  eventually(async () => {
    const missing = Array.from({ length: count }, (_, k) => `${graphId}-s${k}`).filter((f) => !existsSync(path.join(ready, f)));
    return missing.length === 0 ? true : (process.env.MN_TEST_DEBUG ? (console.log('missing', missing, (await import('node:child_process')).execSync('ps -eo pid,etimes,args | grep "[s]leep 600" || true').toString()), false) : false);
  }, 30_000, 500, `${graphId} processes started`);

/**
 * A service job of `count` single executors, each asking `cpu` cores: a shell that marks itself
 * started (a file in `ready`) and becomes a long sleep, which ends on SIGTERM.
 */
function sleepers(graphId: string, priority: number, count: number, cpu: number): string {
  const ids = Array.from({ length: count }, (_, k) => `s${k}`);
  const command = (id: string) => ['sh', '-c', `touch ${JSON.stringify(path.join(ready, `${graphId}-${id}`))}; exec sleep 600`];
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    type: 'service',
    priority,
    entrypoints: ids,
    initial_inputs: Object.fromEntries(ids.map((id) => [id, [{ go: 1 }]])),
    nodes: ids.map((id) => ({ node_id: id, agent_type: 'executor', config: { command: command(id) }, resources: { cpu_cores: cpu, memory_mb: 1 } })),
    policies: { recovery_mode: 'cluster_recover' },
  });
}

const modes: Array<{ name: string; verb: 'dev' | 'agent'; redis: boolean }> = [
  { name: 'embedded store (mn dev, MN_PREEMPTION)', verb: 'dev', redis: false },
  { name: 'redis-server (mn agent, SetSchedulerConfig)', verb: 'agent', redis: true },
];

describe.each(modes)('preemption on a real daemon: $name', ({ verb, redis: useRedis }) => {
  let redis: RedisServer | null = null;
  let daemon: AgentProcess;
  let cpu = 0;

  beforeAll(async () => {
    ready = mkdtempSync(path.join(os.tmpdir(), 'mn-preempt-ready-'));
    // Slots for every process of every job here at once (the executor pool's default is 4).
    const env: Record<string, string> = { MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-preempt-')), MN_GRPC_AUTH_TOKEN: TOKEN, MN_EXECUTOR_MAX_CONCURRENCY: '16' };
    if (useRedis) {
      redis = await startRedis();
      Object.assign(env, { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'preempt' });
    } else env.MN_PREEMPTION = 'system,service';
    daemon = await startAgent('preempt@lab', env, 30_000, verb);
    const nodes = await rawCall<{ nodes_json: string }>(daemon.target, CLUSTER_SERVICE, 'ListNodes', {});
    cpu = (JSON.parse(nodes.res!.nodes_json) as Array<{ resources: { cpu_cores: number } }>)[0]!.resources.cpu_cores;
    expect(cpu).toBeGreaterThan(0);
  }, 60_000);

  afterAll(async () => {
    await daemon?.kill();
    await redis?.stop();
  });

  const submit = async (manifest: string) => rawCall<{ job_id: string }>(daemon.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest }, TOKEN);
  const running = (jobId: string, count: number) =>
    eventually(async () => {
      const j = await getJob(daemon.target, jobId);
      return j.agents.filter((a) => a.state === 'running').length === count ? j : null;
    }, 30_000, 100, `${count} running agents of ${jobId}`);
  const cancel = async (jobId: string) => {
    expect((await rawCall(daemon.target, JOB_SERVICE, 'CancelJob', { job_id: jobId }, TOKEN)).code).toBe(grpc.status.OK);
    await finished(daemon.target, jobId);
  };

  it('the scheduler configuration enables service preemption (changing it needs the token)', async () => {
    if (useRedis) {
      // mn cluster scheduler-config: shows the defaults, refuses a change without the token, sets one with it.
      const shown = await runCli(['cluster', 'scheduler-config', '--target', daemon.target, '--json']);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ preemption: { system: true, sysbatch: false, batch: false, service: false }, source: 'default', priority_delta: 10 });
      const noToken = await runCli(['cluster', 'scheduler-config', '--target', daemon.target, '--preemption', 'batch=true'], { env: { MN_GRPC_AUTH_TOKEN: '' } });
      expect(noToken.code).toBe(1);
      const cli = await runCli(['cluster', 'scheduler-config', '--target', daemon.target, '--preemption', 'batch=true,system=true'], { env: { MN_GRPC_AUTH_TOKEN: TOKEN } });
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/preemption: system,batch \(stored\)/);
      const back = await runCli(['cluster', 'scheduler-config', '--target', daemon.target, '--preemption', 'batch=false'], { env: { MN_GRPC_AUTH_TOKEN: TOKEN } });
      expect(back.code).toBe(0);
      const refused = await rawCall(daemon.target, CLUSTER_SERVICE, 'SetSchedulerConfig', { config_json: '{"preemption":"service=true"}' });
      expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
      const bad = await rawCall(daemon.target, CLUSTER_SERVICE, 'SetSchedulerConfig', { config_json: '{"preemption":"cron=true"}' }, TOKEN);
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(bad.details).toMatch(/"cron" is not a job type/);
      const set = await rawCall<{ result_json: string }>(daemon.target, CLUSTER_SERVICE, 'SetSchedulerConfig', { config_json: '{"preemption":"service=true"}' }, TOKEN);
      expect(set.code).toBe(grpc.status.OK);
    }
    const got = await rawCall<{ result_json: string }>(daemon.target, CLUSTER_SERVICE, 'GetSchedulerConfig', {});
    const config = JSON.parse(got.res!.result_json) as { preemption: Record<string, boolean>; source: string };
    expect(config.preemption).toEqual({ system: true, sysbatch: false, batch: false, service: true });
    expect(config.source).toBe(useRedis ? 'stored' : 'env');
  });

  it('a priority-55 job evicts nothing of a full machine of priority-50 agents', async () => {
    const base = await submit(sleepers('base', 50, 4, cpu / 4));
    expect(base.code).toBe(grpc.status.OK);
    await running(base.res!.job_id, 4);
    const close = await submit(sleepers('close', 55, 1, cpu / 4));
    // Refused (or queued), never placed by evicting a priority-50 agent.
    if (close.code === grpc.status.OK) expect((await getJob(daemon.target, close.res!.job_id)).agents.filter((a) => a.state === 'running')).toEqual([]);
    else expect(close.details).toMatch(/placement_failed/);
    const j = await getJob(daemon.target, base.res!.job_id);
    expect(j.agents.map((a) => a.state)).toEqual(['running', 'running', 'running', 'running']);
    expect((await jobEvents(daemon.target, base.res!.job_id)).filter((e) => e.type === 'agent_preempted')).toEqual([]);
    if (close.code === grpc.status.OK) await cancel(close.res!.job_id);
    await cancel(base.res!.job_id);
  }, 90_000);

  it('a priority-75 job evicts the fewest priority-40 agents it needs and runs; they come back when it ends', async () => {
    const low = await submit(sleepers('low', 40, 4, cpu / 4));
    expect(low.code).toBe(grpc.status.OK);
    const lowId = low.res!.job_id;
    await running(lowId, 4);
    // The node list export carries each agent with its job's priority and type (mn plan can preempt offline).
    const listed = await rawCall<{ nodes_json: string }>(daemon.target, CLUSTER_SERVICE, 'ListNodes', {});
    const exported = (JSON.parse(listed.res!.nodes_json) as Array<{ allocations: Array<{ job_id: string; priority: number; job_type: string }> }>)[0]!.allocations;
    expect(exported.filter((a) => a.job_id === lowId).map((a) => [a.priority, a.job_type])).toEqual([[40, 'service'], [40, 'service'], [40, 'service'], [40, 'service']]);
    // Every process runs before the preemptor comes (so each eviction stops a process).
    try {
      await started('low', 4);
    } catch (error) {
      if (process.env.MN_TEST_DEBUG) console.log('LOWEV', JSON.stringify((await jobEvents(daemon.target, lowId)).map((e) => [e.type, e.agent_id, e.payload])), JSON.stringify((await getJob(daemon.target, lowId)).agents));
      throw error;
    }

    const high = await submit(sleepers('high', 75, 1, cpu / 2));
    expect(high.code).toBe(grpc.status.OK);
    const highId = high.res!.job_id;
    await running(highId, 1);

    // Exactly two of the four were evicted (half a machine), each with an event naming the preemptor.
    const after = await getJob(daemon.target, lowId);
    const evicted = after.agents.filter((a) => a.state === 'preempted').map((a) => a.agent_id).sort();
    expect(evicted).toHaveLength(2);
    expect(after.agents.filter((a) => a.state === 'running')).toHaveLength(2);
    const events = await jobEvents(daemon.target, lowId);
    const preempted = events.filter((e) => e.type === 'agent_preempted');
    expect(preempted.map((e) => e.agent_id).sort()).toEqual(evicted);
    expect(preempted.every((e) => e.payload.preempted_by === highId && e.payload.priority === 40)).toBe(true);
    // The preempting commit is an evaluation of its own, naming what it evicted.
    const evals = await rawCall<{ result_json: string }>(daemon.target, JOB_SERVICE, 'ListEvaluations', { job_id: highId });
    const preemptionEval = (JSON.parse(evals.res!.result_json) as { evaluations: Array<{ trigger: string; agents?: string[] }> }).evaluations.find((e) => e.trigger === 'preemption');
    expect(preemptionEval?.agents?.sort()).toEqual(evicted.map((id) => `${lowId}/${id}`));
    const highEvents = await jobEvents(daemon.target, highId);
    const summary = highEvents.find((e) => e.type === 'agents_preempted');
    expect((summary!.payload.evicted as unknown[]).length).toBe(2);
    // The hosting machine stopped the evicted processes (sleep ends on SIGTERM).
    const stopped = await eventually(async () => {
      const list = (await jobEvents(daemon.target, lowId)).filter((e) => e.type === 'agent_stopped');
      return list.length >= 2 ? list : null;
    }, 30_000, 100, 'agent_stopped events');
    expect(stopped.map((e) => e.payload.signal)).toEqual(['SIGTERM', 'SIGTERM']);
    // Nowhere to go while the preemptor runs: the move is blocked.
    await eventually(async () => (await jobEvents(daemon.target, lowId)).some((e) => e.type === 'evaluation_blocked'), 30_000, 100, 'evaluation_blocked');

    await cancel(highId);
    const back = await running(lowId, 4);
    expect(back.agents.every((a) => a.node === 'preempt@lab')).toBe(true);
    const relocated = (await jobEvents(daemon.target, lowId)).filter((e) => e.type === 'agents_relocated');
    expect(relocated.some((e) => (e.payload.causes as string[]).includes('preempted'))).toBe(true);
    await cancel(lowId);
  }, 120_000);
});
