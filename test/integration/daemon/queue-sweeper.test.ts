/**
 * The leader's queue sweep over a real embedded store and planner: only the leader starts queued
 * jobs, entries of jobs that no longer wait are dropped, and a queued record whose entry was lost
 * (its daemon died between the two writes) is put back and started.
 */
import { describe, expect, it } from 'vitest';
import { Coordinators } from '../../../src/runtime/coordinators.js';
import { Jobs } from '../../../src/runtime/jobs.js';
import { controlJob } from '../../../src/runtime/job-control.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { QueueSweeper } from '../../../src/runtime/queue-sweeper.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { machine } from '../../helpers/jobs.js';
import { readClusterGauges } from '../../../src/observability/instrument.js';
import { scrapeMetrics } from '../../../src/observability/metrics.js';

const job = (id: string, cpu: number, priority = 50) =>
  JSON.stringify({ manifest_version: '1', graph_id: id, priority, entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', resources: { cpu_cores: cpu } }] });

async function setup() {
  const store = new MemoryStore();
  await store.upsertNode({ name: 'a@lab', status: 'healthy', inventory: machine('a@lab') });
  await store.heartbeat('a@lab', 600_000);
  const coordinators = new Coordinators({ store, holder: 'leader', leaseMs: 60_000, renewMs: 10_000 });
  const jobs = new Jobs({ store, planner: localPlanner(), coordinators });
  let now = 1_000_000;
  let leading = true;
  const errors: unknown[] = [];
  const sweeper = new QueueSweeper({ store, jobs, coordinators, isLeader: () => leading, now: () => now, onError: (e) => errors.push(e) });
  return {
    store, coordinators, jobs, sweeper, errors,
    advance: (ms: number) => (now += ms),
    lead: (v: boolean) => (leading = v),
    close: async () => { coordinators.stop(); await store.close(); },
  };
}

describe('the queue sweep', () => {
  it('starts queued jobs in priority order once capacity frees, and hands their leases over when it stops leading', async () => {
    const t = await setup();
    const filler = await t.jobs.submit(job('filler', 7));
    const low = await t.jobs.submit(job('low', 6, 20));
    const high = await t.jobs.submit(job('high', 6, 90));
    expect([low.status, high.status]).toEqual(['pending', 'pending']);
    await t.coordinators.transition(filler.job_id, 'cancelled', 'job_cancelled');
    // Leading, it coordinates the queued jobs; once it stops leading it gives their leases back.
    for (const id of [low.job_id, high.job_id]) expect(await t.coordinators.adopt(id)).not.toBeNull();
    await t.sweeper.tick();
    expect((await t.store.getJob(high.job_id))!.status).toBe('scheduled');
    // Room for one: the higher priority went first, the other waits.
    expect((await t.store.getJob(low.job_id))!.status).toBe('pending');
    expect((await t.store.queue.list()).map((e) => e.job_id)).toEqual([low.job_id]);
    await t.coordinators.transition(high.job_id, 'cancelled', 'job_cancelled');
    t.lead(false);
    await t.sweeper.tick();
    expect(await t.store.getLease(`job:${low.job_id}`)).toBeNull();
    expect(t.coordinators.jobIds).not.toContain(low.job_id);
    expect((await t.store.getJob(low.job_id))!.status).toBe('pending');
    t.lead(true);
    await t.sweeper.tick();
    expect((await t.store.getJob(low.job_id))!.status).toBe('scheduled');
    expect(await t.store.queue.list()).toEqual([]);
    expect(t.errors).toEqual([]);
    await t.close();
  });

  it('a paused queued job leaves the queue and holds nothing back; resumed, it is back at its old place', async () => {
    const t = await setup();
    const filler = await t.jobs.submit(job('filler', 7));
    const first = await t.jobs.submit(job('first', 6, 80));
    expect(first.status).toBe('pending');
    // Paused and resumed through another daemon, which gives the job's lease back each time.
    const other = new Coordinators({ store: t.store, holder: 'other', leaseMs: 60_000, renewMs: 10_000 });
    const paused = await controlJob(t.store, other, (await t.store.getJob(first.job_id))!, 'pause');
    expect(paused.status).toBe('paused');
    expect(await t.store.queue.list()).toEqual([]);
    // Nothing of higher or equal priority waits now: a small job starts at once.
    expect((await t.jobs.submit(job('small', 0.5, 50))).status).toBe('scheduled');
    const later = await t.jobs.submit(job('later', 6, 80));
    await controlJob(t.store, other, (await t.store.getJob(first.job_id))!, 'resume');
    expect((await t.store.getJob(first.job_id))!.status).toBe('pending');
    expect((await t.store.queue.list()).map((e) => e.job_id)).toEqual([first.job_id, later.job_id]);
    expect(await t.store.getLease(`job:${first.job_id}`)).toBeNull();
    // The leader's sweep can take it: with room for one, the resumed job (older) starts first.
    await t.coordinators.transition(filler.job_id, 'cancelled', 'job_cancelled');
    t.advance(10_000);
    await t.sweeper.tick();
    expect((await t.store.getJob(first.job_id))!.status).toBe('scheduled');
    expect((await t.store.getJob(later.job_id))!.status).toBe('pending');
    other.stop();
    await t.close();
  });

  it('counts the waiting jobs in /metrics (mn_jobs_queued)', async () => {
    const t = await setup();
    await t.jobs.submit(job('filler', 7));
    for (const id of ['q1', 'q2']) expect((await t.jobs.submit(job(id, 6))).status).toBe('pending');
    const gauges = await readClusterGauges(t.store, Date.now());
    expect(gauges.queuedJobs).toBe(2);
    expect((await scrapeMetrics(gauges, 'a@lab')).text).toMatch(/^mn_jobs_queued 2$/m);
    await t.close();
  });

  it('drops entries of jobs that no longer wait and puts back a lost entry of a queued record', async () => {
    const t = await setup();
    const filler = await t.jobs.submit(job('filler', 7));
    const gone = await t.jobs.submit(job('gone', 6));
    const lost = await t.jobs.submit(job('lost', 6, 10));
    // A job cancelled without going through the queue (its entry stays), and an entry lost.
    await t.coordinators.adopt(gone.job_id);
    await t.coordinators.transition(gone.job_id, 'cancelled', 'job_cancelled');
    expect(await t.store.queue.remove(lost.job_id)).toBe(true);
    t.advance(10_000);
    await t.sweeper.tick();
    expect((await t.store.queue.list()).map((e) => e.job_id)).toEqual([lost.job_id]);
    expect((await t.store.getJob(lost.job_id))!.status).toBe('pending');
    await t.coordinators.transition(filler.job_id, 'cancelled', 'job_cancelled');
    await t.sweeper.tick();
    expect((await t.store.getJob(lost.job_id))!.status).toBe('scheduled');
    expect(await t.store.queue.list()).toEqual([]);
    expect(t.errors).toEqual([]);
    await t.close();
  });
});
