/**
 * Priorities and the queue on real daemons: on the embedded store (an in-process daemon) and on
 * a real redis-server with real `mn agent` processes. A job that does not fit now is accepted,
 * pending with its queue place; when capacity frees the leader starts queued jobs in priority
 * order, then age. A job that can never fit is refused with its explanation, --no-queue refuses
 * instead of queueing, a queued job can be cancelled, evaluations answer "why is it pending",
 * and a leader killed with jobs queued on Redis leaves them to the next leader.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { runCli } from '../../helpers/cli.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { startDevDaemon } from '../../helpers/deployments.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished, getJob, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

interface Place { position: number; total: number; priority: number; evaluation_id: string | null }
interface Evaluation { id: string; job_id: string; trigger: string; status: string; placed: number; failed: number; explanation: { summary: string | null; failures: Array<{ reason: string; filtered: Record<string, number>; suggestion: string }> }; queue: Place | null }

/** A batch job of one executor agent holding `cpu` cores for `seconds`. */
function manifest(graph: string, cpu: number, priority: number, seconds: number, memory = 1): Record<string, unknown> {
  return {
    manifest_version: '1',
    graph_id: graph,
    priority,
    entrypoints: ['w'],
    initial_inputs: { w: [{ go: 1 }] },
    nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['sleep', String(seconds)], complete_job: true }, resources: { cpu_cores: cpu, memory_mb: memory } }],
  };
}

/** A bundle directory holding `m` as its manifest. */
function bundle(m: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-queue-'));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

async function mnJson<T>(target: string, args: string[]): Promise<{ code: number | null; value: T; stderr: string }> {
  const r = await runCli([...args, '--target', target, '--json']);
  return { code: r.code, value: (r.stdout.trim() === '' ? null : JSON.parse(r.stdout)) as T, stderr: r.stderr };
}

async function submitDetached(target: string, m: Record<string, unknown>, extra: string[] = []): Promise<{ code: number | null; value: { job_id: string; status: string; queue?: Place }; stderr: string }> {
  return mnJson(target, ['job', 'run', bundle(m), '--detach', ...extra]);
}

async function startedAt(target: string, jobId: string): Promise<number> {
  const events = await jobEvents(target, jobId);
  const scheduled = events.find((e) => e.type === 'job_scheduled');
  if (!scheduled) throw new Error(`job ${jobId} has not started`);
  return scheduled.timestamp;
}

/**
 * The shared scenario: fill the machine, queue jobs of priorities 30, 80, 50, 80 that do not fit
 * beside the filler (one fits at a time once it is gone), free the machine, and check they start
 * 80, 80 (older first), 50, 30, each alone.
 */
async function priorityOrder(target: string, cpu: number): Promise<void> {
  const filler = await submitDetached(target, manifest('filler', cpu * 0.75, 50, 600));
  expect(filler.code, filler.stderr).toBe(0);
  expect(filler.value.status).toBe('scheduled');

  const ids: Record<string, string> = {};
  for (const [name, priority] of [['p30', 30], ['p80a', 80], ['p50', 50], ['p80b', 80]] as const) {
    const res = await submitDetached(target, manifest(name, cpu * 0.6, priority, 1));
    expect(res.code, res.stderr).toBe(0);
    expect(res.value.status).toBe('pending');
    expect(res.value.queue).toMatchObject({ priority });
    ids[name] = res.value.job_id;
  }
  // The queue's order is priority, then age: 80a, 80b, 50, 30.
  const places: Record<string, Place> = {};
  for (const name of Object.keys(ids)) {
    const status = await mnJson<{ status: string; queue: Place; latest_evaluation: Evaluation }>(target, ['job', 'status', ids[name]!]);
    expect(status.value.status).toBe('pending');
    places[name] = status.value.queue;
    expect(status.value.latest_evaluation).toMatchObject({ trigger: 'submit', status: 'blocked' });
    expect(status.value.latest_evaluation.explanation.summary).toMatch(/cpu/);
  }
  expect(Object.fromEntries(Object.entries(places).map(([k, v]) => [k, [v.position, v.total]]))).toEqual({ p80a: [1, 4], p80b: [2, 4], p50: [3, 4], p30: [4, 4] });
  // People read the place and the reason from `mn job status`.
  const human = await runCli(['job', 'status', ids.p50!, '--target', target]);
  expect(human.stdout).toContain('pending (queued: position 3 of 4, priority 50)');
  expect(human.stdout).toMatch(/why: .*cpu/);

  // `mn job run` (following) waits through the queued state and ends with the job.
  const follower = runCli(['job', 'run', bundle(manifest('p20', cpu * 0.6, 20, 1)), '--target', target]);

  const cancel = await mnJson<{ status: string }>(target, ['job', 'cancel', filler.value.job_id]);
  expect(cancel.value.status).toBe('cancelled');
  const ended = await Promise.all(Object.values(ids).map((id) => finished(target, id, 90_000)));
  expect(ended.map((j) => j.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  const starts = await Promise.all(['p80a', 'p80b', 'p50', 'p30'].map((n) => startedAt(target, ids[n]!)));
  for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThan(starts[i - 1]!);
  // Each started only once the one before it had ended (one fits at a time).
  for (const [before, after] of [['p80a', 'p80b'], ['p80b', 'p50'], ['p50', 'p30']] as const) {
    const done = (await jobEvents(target, ids[before]!)).find((e) => e.type === 'job_completed')!;
    expect(await startedAt(target, ids[after]!)).toBeGreaterThanOrEqual(done.timestamp);
  }
  const followed = await follower;
  expect(followed.code, followed.stderr).toBe(0);
  expect(followed.stdout).toMatch(/pending \(queued: position \d+ of \d+, priority 20\)/);
  expect(followed.stdout.trim().split('\n').at(-1)).toMatch(/ completed$/);

  // A started job's evaluations: the blocked submit (now complete) and the start from the queue.
  const evals = await mnJson<{ evaluations: Evaluation[] }>(target, ['eval', 'list', '--job', ids.p50!]);
  expect(evals.code).toBe(0);
  expect(evals.value.evaluations.map((e) => [e.trigger, e.status])).toEqual([['queue', 'complete'], ['submit', 'complete']]);
  const one = await mnJson<Evaluation>(target, ['eval', 'status', evals.value.evaluations[1]!.id]);
  expect(one.value).toMatchObject({ job_id: ids.p50, trigger: 'submit', failed: 1 });
  expect(one.value.explanation.failures[0]!.reason).toMatch(/placement_failed/);
  expect(one.value.explanation.failures[0]!.suggestion).toMatch(/cpu cores/);
  expect(one.value.explanation.failures[0]!.filtered.cpu).toBeGreaterThan(0);
  expect((await getJob(target, ids.p50!)).details.queued).toBeUndefined();
}

/** Refusals: a job that never fits (with its explanation) and --no-queue on a busy machine; cancel of a queued job. */
async function refusalsAndCancel(target: string, cpu: number): Promise<void> {
  // More memory than any machine has: not_runnable even on the empty cluster.
  const never = await submitDetached(target, manifest('huge', 0.1, 50, 1, 100_000_000));
  expect(never.code, JSON.stringify(never.value)).toBe(3);
  expect(never.stderr).toMatch(/memory/);
  expect(never.stderr).toMatch(/add a node/);

  const filler = await submitDetached(target, manifest('filler2', cpu * 0.75, 50, 600));
  expect(filler.value.status).toBe('scheduled');
  const refused = await submitDetached(target, manifest('busy', cpu * 0.6, 50, 1), ['--no-queue']);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toMatch(/cpu/);

  const queued = await submitDetached(target, manifest('doomed', cpu * 0.6, 40, 1));
  expect(queued.value.status).toBe('pending');
  // A job that would fit waits behind a queued job of higher or equal priority (no starvation)...
  const small = await submitDetached(target, manifest('small', cpu * 0.1, 40, 1));
  expect(small.value.status).toBe('pending');
  expect(small.value.queue).toMatchObject({ position: 2, total: 2 });
  const why = await mnJson<{ latest_evaluation: Evaluation }>(target, ['job', 'status', small.value.job_id]);
  expect(why.value.latest_evaluation.explanation.summary).toContain(`queued behind job ${queued.value.job_id}`);
  // ...but not behind a lower one, and --no-queue refuses to wait behind an equal one.
  const urgent = await submitDetached(target, manifest('urgent', cpu * 0.1, 41, 1));
  expect(urgent.value.status).toBe('scheduled');
  const impatient = await submitDetached(target, manifest('impatient', cpu * 0.1, 40, 1), ['--no-queue']);
  expect(impatient.code).toBe(3);
  expect(impatient.stderr).toContain('queued_jobs_waiting');

  // The one behind first: cancelling the head would let the small one start.
  for (const id of [small.value.job_id, queued.value.job_id]) {
    const c = await mnJson<{ status: string }>(target, ['job', 'cancel', id]);
    expect(c.value?.status, c.stderr).toBe('cancelled');
    const after = await mnJson<{ status: string; queue: Place | null }>(target, ['job', 'status', id]);
    expect(after.value).toMatchObject({ status: 'cancelled', queue: null });
  }
  const queue = await rawCall<{ result_json: string }>(target, JOB_SERVICE, 'ListEvaluations', { job_id: queued.value.job_id });
  expect(JSON.parse(queue.res!.result_json).evaluations[0]).toMatchObject({ trigger: 'submit', status: 'blocked' });
  await mnJson(target, ['job', 'cancel', filler.value.job_id]);
  const unknown = await runCli(['eval', 'status', 'ev-nope', '--target', target]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('evaluation ev-nope not found');
}

describe('the job queue on the embedded store', () => {
  let dev: Awaited<ReturnType<typeof startDevDaemon>>;
  beforeAll(async () => {
    dev = await startDevDaemon('queue@lab');
  }, 30_000);
  afterAll(async () => {
    await dev?.stop();
  });

  it('starts queued jobs in priority order, then age, when capacity frees', async () => {
    await priorityOrder(dev.daemon.address, 8);
  }, 120_000);

  it('refuses what can never fit and --no-queue; a cancelled queued job leaves the queue', async () => {
    await refusalsAndCancel(dev.daemon.address, 8);
  }, 60_000);

  it('accepts a burst of small jobs from several clients that the machine runs a few at a time, and runs every one', async () => {
    const target = dev.daemon.address;
    // 4 clients send 10 jobs each; the machine holds 4 of them at a time.
    const clients = await Promise.all([0, 1, 2, 3].map(async (c) => {
      const out: Array<{ code: number; job_id: string; status: string }> = [];
      for (let i = 0; i < 10; i++) {
        const r = await rawCall<{ job_id: string; status: string }>(target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(manifest(`burst-${c}-${i}`, 2, 50, 0.2)) });
        out.push({ code: r.code, job_id: r.res?.job_id ?? '', status: r.res?.status ?? r.details });
      }
      return out;
    }));
    const all = clients.flat();
    expect(all.filter((r) => r.code !== 0)).toEqual([]);
    expect(all.filter((r) => r.status === 'pending').length).toBeGreaterThan(0);
    const ended = await Promise.all(all.map((r) => finished(target, r.job_id, 120_000)));
    expect(ended.every((j) => j.status === 'completed')).toBe(true);
  }, 150_000);
});

describe('the job queue on Redis with mn agent daemons', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  const env = (): Record<string, string> => ({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'queue' });
  let cpu = 0;

  beforeAll(async () => {
    redis = await startRedis();
    daemons.push(await startAgent('solo@lab', env()));
    const nodes = await mnJson<Array<{ name: string; resources: { cpu_cores: number } }>>(daemons[0]!.target, ['node', 'list']);
    cpu = nodes.value[0]!.resources.cpu_cores;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('starts queued jobs in priority order, then age, when capacity frees', async () => {
    await eventually(async () => (await mnJson<{ leader: string }>(daemons[0]!.target, ['node', 'status', 'solo@lab'])).code === 0, 10_000);
    await priorityOrder(daemons[0]!.target, cpu);
  }, 150_000);

  it('refuses what can never fit and --no-queue; a cancelled queued job leaves the queue', async () => {
    await refusalsAndCancel(daemons[0]!.target, cpu);
  }, 60_000);

  it('a leader killed with jobs queued leaves them to the next leader, which starts each once', async () => {
    const target = daemons[0]!.target;
    const filler = await submitDetached(target, manifest('filler3', cpu * 0.75, 50, 600));
    expect(filler.value.status).toBe('scheduled');
    const ids: string[] = [];
    for (const priority of [60, 70]) {
      const res = await submitDetached(target, manifest(`q${priority}`, cpu * 0.6, priority, 1));
      expect(res.value.status).toBe('pending');
      ids.push(res.value.job_id);
    }
    // The leader (the only daemon) coordinates the queued jobs and dies with them still queued;
    // the next daemon to start (a machine of its own) becomes the leader.
    for (const id of ids) expect((await getJob(target, id)).status).toBe('pending');
    await daemons[0]!.kill();
    daemons.push(await startAgent('heir@lab', env()));
    const heir = daemons[1]!.target;
    // The heir leads, adopts the queued jobs and, with room on its own machine, starts them: 70 first.
    const done = await Promise.all(ids.map((id) => finished(heir, id, 90_000)));
    expect(done.map((j) => j.status)).toEqual(['completed', 'completed']);
    const [s60, s70] = await Promise.all(ids.map((id) => startedAt(heir, id)));
    expect(s70!).toBeLessThan(s60!);
    for (const id of ids) {
      const events = await jobEvents(heir, id);
      expect(events.filter((e) => e.type === 'job_scheduled')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'job_dequeued')).toHaveLength(1);
    }
  }, 150_000);
});

