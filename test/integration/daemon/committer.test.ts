import { describe, expect, it } from 'vitest';
import { Coordinators } from '../../../src/runtime/coordinators.js';
import { Jobs } from '../../../src/runtime/jobs.js';
import { controlJob } from '../../../src/runtime/job-control.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { machine } from '../../helpers/jobs.js';

const wantsPort = (id: string) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: id,
    entrypoints: ['api'],
    nodes: [{ node_id: 'api', agent_type: 'executor', resources: { cpu_cores: 1, ports: [{ label: 'http', port: 8080 }] } }],
  });

describe('the single committer', () => {
  it('never double-books a port across concurrent submissions, and explains the one that cannot fit', async () => {
    const store = new MemoryStore();
    for (const name of ['a@lab', 'b@lab']) {
      await store.upsertNode({ name, status: 'healthy', inventory: machine(name) });
      await store.heartbeat(name, 60_000);
    }
    const coordinators = new Coordinators({ store, holder: 'test', leaseMs: 60_000, renewMs: 10_000 });
    const jobs = new Jobs({ store, planner: localPlanner(), coordinators });
    const results = await Promise.allSettled(['one', 'two', 'three'].map((id) => jobs.submit(wantsPort(id), {}, { noQueue: true })));
    const ok = results.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<{ job_id: string }>>;
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: 'MN_E_PLACEMENT_FAILED' });
    expect(String(refused[0]!.reason.message)).toMatch(/devices, ports, volumes, or runtime driver not available/);
    const nodes = await Promise.all(ok.map(async (r) => (await store.listAgents(r.value.job_id))[0]!.node));
    expect(new Set(nodes)).toEqual(new Set(['a@lab', 'b@lab']));
    // Each job's stored plan is its own share of the batch, named by its graph id.
    const record = await store.getJob(ok[0]!.value.job_id);
    const plan = record!.plan as { placements: Array<{ job: string }>; status: string };
    expect(plan.status).toBe('planned');
    expect(plan.placements).toHaveLength(1);
    expect(['one', 'two', 'three']).toContain(plan.placements[0]!.job);
    coordinators.stop();
    await store.close();
  });

  it('queues the one that cannot fit now (a blocked evaluation explains it) and starts it once the port is free', async () => {
    const store = new MemoryStore();
    for (const name of ['a@lab', 'b@lab']) {
      await store.upsertNode({ name, status: 'healthy', inventory: machine(name) });
      await store.heartbeat(name, 60_000);
    }
    const coordinators = new Coordinators({ store, holder: 'test', leaseMs: 60_000, renewMs: 10_000 });
    const jobs = new Jobs({ store, planner: localPlanner(), coordinators });
    const results = await Promise.all(['one', 'two', 'three'].map((id) => jobs.submit(wantsPort(id))));
    expect(results.map((r) => r.status).sort()).toEqual(['pending', 'scheduled', 'scheduled']);
    const queued = results.find((r) => r.status === 'pending')!;
    expect(queued.queue).toMatchObject({ position: 1, total: 1, priority: 50 });
    expect((await store.queue.list()).map((e) => e.job_id)).toEqual([queued.job_id]);
    const record = (await store.getJob(queued.job_id))!;
    expect(record).toMatchObject({ status: 'pending', plan: null });
    expect(record.details.queued).toMatchObject({ job_id: queued.job_id, priority: 50, evaluation_id: queued.evaluation_id });
    const blocked = (await store.evaluations.get(queued.evaluation_id!))!;
    expect(blocked).toMatchObject({ job_id: queued.job_id, trigger: 'submit', status: 'blocked', failed: 1 });
    expect(blocked.explanation.summary).toMatch(/ports/);

    // Nothing freed: the queue's head stays queued.
    expect(await jobs.startQueued([record])).toEqual({ started: [], blocked: queued.job_id });
    const other = results.find((r) => r.status === 'scheduled')!;
    await coordinators.transition(other.job_id, 'cancelled', 'job_cancelled');
    expect(await jobs.startQueued([(await store.getJob(queued.job_id))!])).toEqual({ started: [queued.job_id], blocked: null });
    const started = (await store.getJob(queued.job_id))!;
    expect(started.status).toBe('scheduled');
    expect(started.details.queued).toBeUndefined();
    expect(await store.queue.list()).toEqual([]);
    expect((await store.evaluations.get(queued.evaluation_id!))!.status).toBe('complete');
    expect((await store.evaluations.list({ job_id: queued.job_id })).evaluations[0]).toMatchObject({ trigger: 'queue', status: 'complete', placed: 1 });
    // A second start finds nothing to claim: the job is started once.
    expect(await jobs.startQueued([started])).toEqual({ started: [], blocked: null });
    expect((await store.readEvents(queued.job_id)).filter((e) => e.type === 'job_scheduled')).toHaveLength(1);
    coordinators.stop();
    await store.close();
  });

  it('never starts a queued job that another daemon cancelled, even from a stale read', async () => {
    const store = new MemoryStore();
    await store.upsertNode({ name: 'a@lab', status: 'healthy', inventory: machine('a@lab') });
    await store.heartbeat('a@lab', 60_000);
    const leader = new Coordinators({ store, holder: 'leader', leaseMs: 60_000, renewMs: 10_000 });
    const other = new Coordinators({ store, holder: 'other', leaseMs: 60_000, renewMs: 10_000 });
    const jobs = new Jobs({ store, planner: localPlanner(), coordinators: leader });
    const first = await jobs.submit(wantsPort('one'));
    const queued = await jobs.submit(wantsPort('two'));
    expect(queued.status).toBe('pending');
    const stale = (await store.getJob(queued.job_id))!;
    // The leader coordinates the queued job; a cancel through another daemon is recorded unfenced.
    expect(await leader.adopt(queued.job_id)).not.toBeNull();
    expect(await controlJob(store, other, stale, 'cancel')).toEqual({ job_id: queued.job_id, status: 'cancelled' });
    expect(await store.queue.list()).toEqual([]);
    await leader.transition(first.job_id, 'cancelled', 'job_cancelled');
    expect((await jobs.startQueued([stale])).started).toEqual([]);
    expect((await store.getJob(queued.job_id))!.status).toBe('cancelled');
    expect(await store.listAgents(queued.job_id)).toEqual([]);
    leader.stop();
    other.stop();
    await store.close();
  });
});
