/**
 * The Store contract: one suite, run against every implementation (contract.test.ts).
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { isMnError, type MnErrorCode } from '../../../src/core/errors.js';
import type { AgentPlacement, Store, StoredEvent } from '../../../src/store/store.js';
import { anyJob, anyPlan, rejection } from '../../helpers/records.js';

/** A store under test plus a way to let time pass for its TTLs. */
export interface StoreHarness {
  store: Store;
  /** Lets `ms` pass for lease and heartbeat TTLs (a fake clock, or real time for Redis). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Every store is created with these bounds. */
export const CONTRACT_MAX_EVENTS = 100;

/** Lease and heartbeat TTL used by the suite: short, so the Redis run stays fast. */
const TTL = 200;
const PAST_TTL = 300;

async function expectCode(promise: Promise<unknown>, code: MnErrorCode): Promise<Record<string, unknown>> {
  const error = await rejection(promise);
  if (!isMnError(error)) throw error;
  expect(error.code).toBe(code);
  return error.details as Record<string, unknown>;
}

function place(agent_id: string, node: string, cpu = 1, memory = 512): AgentPlacement {
  return { agent_id, node, resources: { cpu_cores: cpu, memory_mb: memory, disk_mb: 0, gpu_count: 0 } };
}

/**
 * A fresh store per test of the enclosing describe block, closed after it; the returned harness
 * is the current test's.
 */
export function freshStore(create: () => Promise<StoreHarness>): { readonly h: StoreHarness; readonly store: Store } {
  let current: StoreHarness | null = null;
  beforeEach(async () => {
    current = await create();
  });
  afterEach(async () => {
    await current?.close();
  });
  return {
    get h() {
      return current!;
    },
    get store() {
      return current!.store;
    },
  };
}

/** Registers the contract suite for one implementation. */
export function storeContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    const fresh = freshStore(create);
    let h: StoreHarness;
    let store: Store;
    beforeEach(() => {
      ({ h, store } = fresh);
    });

    describe('jobs', () => {
      it('creates, reads and lists jobs; a second create of the same id conflicts', async () => {
        const created = await store.createJob({ job_id: 'j1', manifest: { graph_id: 'g', nodes: [] }, job: anyJob({ agents: [] }), requested_policies: { recovery_mode: 'auto' } });
        expect(created).toMatchObject({ job_id: 'j1', status: 'pending', version: 1, plan: null, manifest: { graph_id: 'g', nodes: [] } });
        expect(created.created_at).toBe(created.updated_at);
        await store.createJob({ job_id: 'j2', manifest: {}, job: anyJob() });
        expect(await store.getJob('j1')).toEqual(created);
        expect(await store.getJob('missing')).toBeNull();
        expect((await store.listJobs()).map((j) => j.job_id).sort()).toEqual(['j1', 'j2']);
        await expectCode(store.createJob({ job_id: 'j1', manifest: {}, job: anyJob() }), 'MN_E_CONFLICT');
        expect((await store.getJob('j1'))!.version).toBe(1);
      });

      it('bumps the version by one per write and honours expectedVersion', async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        const v2 = await store.updateJob('j', { status: 'scheduled', plan: anyPlan({ placements: [] }) });
        expect(v2).toMatchObject({ version: 2, status: 'scheduled', plan: anyPlan({ placements: [] }) });
        const v3 = await store.updateJob('j', { details: { recovery_status: 'rescheduled' } }, { expectedVersion: 2 });
        expect(v3).toMatchObject({ version: 3, status: 'scheduled', details: { recovery_status: 'rescheduled' } });
        const details = await expectCode(store.updateJob('j', { status: 'running' }, { expectedVersion: 2 }), 'MN_E_CONFLICT');
        expect(details).toMatchObject({ currentVersion: 3, expectedVersion: 2 });
        expect(await store.getJob('j')).toEqual(v3);
      });

      it('rejects unknown jobs, unknown fields and malformed ids', async () => {
        await expectCode(store.updateJob('nope', { status: 'running' }), 'MN_E_NOT_FOUND');
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        await expectCode(store.updateJob('j', { version: 7 } as never), 'MN_E_INVALID_ARGUMENT');
        await expectCode(store.updateJob('j', { status: 'exploded' } as never), 'MN_E_INVALID_ARGUMENT');
        await expectCode(store.createJob({ job_id: 'a:agents', manifest: {}, job: anyJob() }), 'MN_E_INVALID_ARGUMENT');
        expect((await store.getJob('j'))!.version).toBe(1);
      });
    });

    describe('leases', () => {
      it('grants increasing fencing tokens and lets only the holder with the right token renew or release', async () => {
        const a = await store.acquireLease('job:j', 'daemon-a', TTL * 50);
        expect(a).not.toBeNull();
        expect(await store.acquireLease('job:j', 'daemon-b', TTL * 50)).toBeNull();
        // Re-acquiring by the holder keeps the token.
        expect((await store.acquireLease('job:j', 'daemon-a', TTL * 50))!.token).toBe(a!.token);
        expect(await store.getLease('job:j')).toMatchObject({ name: 'job:j', holder: 'daemon-a', token: a!.token });

        expect(await store.renewLease('job:j', 'daemon-b', a!.token, TTL)).toBe(false);
        expect(await store.renewLease('job:j', 'daemon-a', a!.token + 1, TTL)).toBe(false);
        expect(await store.renewLease('job:j', 'daemon-a', a!.token, TTL * 50)).toBe(true);
        expect(await store.releaseLease('job:j', 'daemon-b', a!.token)).toBe(false);
        expect(await store.releaseLease('job:j', 'daemon-a', a!.token + 1)).toBe(false);
        expect(await store.releaseLease('job:j', 'daemon-a', a!.token)).toBe(true);
        expect(await store.getLease('job:j')).toBeNull();

        const b = await store.acquireLease('job:j', 'daemon-b', TTL * 50);
        expect(b!.token).toBeGreaterThan(a!.token);
        // Tokens are per lease name.
        const other = await store.acquireLease('cluster:leader', 'daemon-a', TTL * 50);
        expect(other!.token).toBe(1);
      });

      it('lapses after its TTL unless renewed', async () => {
        const a = await store.acquireLease('cluster:leader', 'a', TTL);
        await h.advance(PAST_TTL);
        expect(await store.getLease('cluster:leader')).toBeNull();
        expect(await store.renewLease('cluster:leader', 'a', a!.token, TTL)).toBe(false);
        const b = await store.acquireLease('cluster:leader', 'b', TTL);
        expect(b!.token).toBe(a!.token + 1);
      });

      it('fences a holder whose lease was taken over: its writes are rejected, the new holder writes', async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        const a = (await store.acquireLease('job:j', 'holder-a', TTL * 50))!;
        await store.updateJob('j', { status: 'running' }, { fence: { lease: 'job:j', token: a.token } });
        expect(await store.renewLease('job:j', 'holder-a', a.token, TTL)).toBe(true);

        await h.advance(PAST_TTL); // A stalls past its TTL
        const b = (await store.acquireLease('job:j', 'holder-b', TTL * 50))!;
        expect(b.token).toBeGreaterThan(a.token);

        const details = await expectCode(store.updateJob('j', { status: 'failed' }, { fence: { lease: 'job:j', token: a.token } }), 'MN_E_FENCED');
        expect(details).toMatchObject({ lease: 'job:j', token: a.token, currentToken: b.token });
        await expectCode(store.commitPlacements('j', { placements: [place('x', 'n1')] }, { lease: 'job:j', token: a.token }), 'MN_E_FENCED');
        expect(await store.renewLease('job:j', 'holder-a', a.token, TTL)).toBe(false);

        const after = await store.updateJob('j', { status: 'paused' }, { fence: { lease: 'job:j', token: b.token } });
        expect(after).toMatchObject({ status: 'paused', version: 3 });
        expect(await store.listAgents('j')).toEqual([]);
      });

      it('rejects fenced writes once the lease lapsed, even if nobody took it over', async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        const a = (await store.acquireLease('job:j', 'holder-a', TTL))!;
        await h.advance(PAST_TTL);
        await expectCode(store.updateJob('j', { status: 'running' }, { fence: { lease: 'job:j', token: a.token } }), 'MN_E_LEASE_LOST');
        expect((await store.getJob('j'))!.status).toBe('pending');
      });
    });

    describe('nodes', () => {
      it('registers nodes with defaults, updates them and keeps versions', async () => {
        const n = await store.upsertNode({ name: 'gpu-a@lab', inventory: { resources: { cpu_cores: 32 } } });
        expect(n).toMatchObject({ name: 'gpu-a@lab', status: 'joining', scheduling_eligible: true, version: 1, inventory: { resources: { cpu_cores: 32 } } });
        const again = await store.upsertNode({ name: 'gpu-a@lab', inventory: { resources: { cpu_cores: 64 } } });
        expect(again).toMatchObject({ status: 'joining', version: 2, inventory: { resources: { cpu_cores: 64 } } });
        const drained = await store.updateNode('gpu-a@lab', { status: 'draining', scheduling_eligible: false, details: { drain: { status: 'draining' } } });
        expect(drained).toMatchObject({ status: 'draining', scheduling_eligible: false, version: 3, details: { drain: { status: 'draining' } } });
        await store.upsertNode({ name: 'cpu-b@lab', status: 'healthy' });
        expect((await store.listNodes()).map((v) => [v.name, v.status])).toEqual([
          ['cpu-b@lab', 'healthy'],
          ['gpu-a@lab', 'draining'],
        ]);
        await expectCode(store.updateNode('nope', { status: 'healthy' }), 'MN_E_NOT_FOUND');
        await expectCode(store.updateNode('cpu-b@lab', { status: 'sleepy' } as never), 'MN_E_INVALID_ARGUMENT');
      });

      it('shows a node alive only while its heartbeat TTL runs', async () => {
        await store.upsertNode({ name: 'n1', status: 'healthy' });
        expect(await store.getNode('n1')).toMatchObject({ alive: false, heartbeat_at: null });
        await store.heartbeat('n1', TTL * 50);
        const live = (await store.getNode('n1'))!;
        expect(live.alive).toBe(true);
        expect(typeof live.heartbeat_at).toBe('number');
        await store.heartbeat('n1', TTL);
        await h.advance(PAST_TTL);
        expect((await store.listNodes())[0]).toMatchObject({ name: 'n1', alive: false });
        await store.heartbeat('n1', TTL * 50);
        expect((await store.getNode('n1'))!.alive).toBe(true);
        await expectCode(store.heartbeat('ghost', TTL), 'MN_E_NOT_FOUND');
        expect(await store.getNode('ghost')).toBeNull();
      });
    });

    describe('placements', () => {
      const setup = async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        await store.upsertNode({ name: 'n1', status: 'healthy' });
        await store.upsertNode({ name: 'n2', status: 'healthy' });
        const lease = (await store.acquireLease('job:j', 'coordinator', TTL * 50))!;
        return { lease: 'job:j', token: lease.token };
      };
      const usage = async () => Object.fromEntries((await store.listNodes()).map((n) => [n.name, n.usage]));

      it('never lets two agents hold one port or device on a node; moves and removals give holds back', async () => {
        const fence = await setup();
        await store.createJob({ job_id: 'k', manifest: {}, job: anyJob() });
        const other = (await store.acquireLease('job:k', 'coordinator', TTL * 50))!;
        const fenceK = { lease: 'job:k', token: other.token };
        const res = { cpu_cores: 1, memory_mb: 1, disk_mb: 0, gpu_count: 0 };
        await store.commitPlacements('j', { placements: [{ agent_id: 'api', node: 'n1', resources: res, holds: ['port:tcp:8080', 'device:GPU-0'] }] }, fence);
        expect((await store.listAgents('j'))[0]!.holds).toEqual(['port:tcp:8080', 'device:GPU-0']);
        // Another job asking for the same port on the same node is refused, and nothing is written.
        await expect(
          store.commitPlacements('k', { placements: [{ agent_id: 'web', node: 'n1', resources: res, holds: ['port:tcp:8080'] }] }, fenceK),
        ).rejects.toMatchObject({ code: 'MN_E_CONFLICT', details: { node: 'n1', hold: 'port:tcp:8080' } });
        expect(await store.listAgents('k')).toEqual([]);
        // The same port on another node is fine; re-committing the holder in place is fine.
        await store.commitPlacements('k', { placements: [{ agent_id: 'web', node: 'n2', resources: res, holds: ['port:tcp:8080'] }] }, fenceK);
        await store.commitPlacements('j', { placements: [{ agent_id: 'api', node: 'n1', resources: res, holds: ['port:tcp:8080', 'device:GPU-0'] }] }, fence);
        // Moving the holder away gives n1's port back; removing it (replace with nothing) frees n2's device.
        await expect(
          store.commitPlacements('j', { placements: [{ agent_id: 'api', node: 'n2', resources: res, holds: ['port:tcp:8080'] }], mode: 'merge' }, fence),
        ).rejects.toMatchObject({ code: 'MN_E_CONFLICT', details: { node: 'n2' } });
        await store.commitPlacements('j', { placements: [{ agent_id: 'api', node: 'n2', resources: res, holds: ['device:GPU-0'] }], mode: 'merge' }, fence);
        await store.commitPlacements('k', { placements: [{ agent_id: 'web', node: 'n1', resources: res, holds: ['port:tcp:8080'] }] }, fenceK);
        await store.commitPlacements('j', { placements: [] }, fence);
        await store.commitPlacements('k', { placements: [{ agent_id: 'web', node: 'n2', resources: res, holds: ['device:GPU-0'] }] }, fenceK);
      });

      it('commits plan, agents and node usage together', async () => {
        const fence = await setup();
        const job = await store.commitPlacements(
          'j',
          { plan: anyPlan({ status: 'planned', placements: 3 }), status: 'scheduled', placements: [place('a', 'n1', 2, 1024), place('b', 'n1', 0.5, 256), place('c', 'n2')] },
          fence,
        );
        expect(job).toMatchObject({ status: 'scheduled', version: 2, plan: anyPlan({ status: 'planned', placements: 3 }) });
        expect((await store.listAgents('j')).map((a) => [a.agent_id, a.node, a.state, a.attempt, a.restarts])).toEqual([
          ['a', 'n1', 'pending', 1, 0],
          ['b', 'n1', 'pending', 1, 0],
          ['c', 'n2', 'pending', 1, 0],
        ]);
        expect(await usage()).toEqual({
          n1: { cpu_cores: 2.5, memory_mb: 1280, disk_mb: 0, gpu_count: 0, agents: 2 },
          n2: { cpu_cores: 1, memory_mb: 512, disk_mb: 0, gpu_count: 0, agents: 1 },
        });

        // An agent that runs and restarted keeps its counters when moved; usage moves with it.
        await store.updateAgent('j', 'a', { state: 'running', restarts: 2 }, { fence });
        await store.putPlacements('j', [place('a', 'n2', 2, 1024)], fence);
        const a = (await store.listAgents('j')).find((x) => x.agent_id === 'a')!;
        expect(a).toMatchObject({ node: 'n2', state: 'pending', restarts: 2, attempt: 2 });
        expect((await store.listAgents('j')).length).toBe(3);
        expect(await usage()).toMatchObject({ n1: { cpu_cores: 0.5, agents: 1 }, n2: { cpu_cores: 3, memory_mb: 1536, agents: 2 } });

        // Replacing with an empty set releases everything the job held.
        const released = await store.commitPlacements('j', { placements: [], status: 'completed' }, fence);
        expect(released).toMatchObject({ status: 'completed', version: 4, plan: { status: 'planned' } });
        expect(await store.listAgents('j')).toEqual([]);
        expect(await usage()).toEqual({
          n1: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0, agents: 0 },
          n2: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0, agents: 0 },
        });
      });

      it('keeps a big plan whole through commits, writes that keep it and writes that replace it', async () => {
        const fence = await setup();
        const resources = { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 };
        const allocations = { devices: [], ports: [], volumes: [], runtime_driver: 'host_local' };
        // More placements than one chunk of the chunked paths; the group's objects are shared.
        const rows = Array.from({ length: 12_001 }, (_, i) => ({ job: 'j', agent_id: `w-${i}`, source_node_id: 'w', node: i % 2 ? 'n1' : 'n2', resources, allocations, score: i / 12_001 }));
        const plan = anyPlan({ status: 'planned', strategy: 'binpack', placements: rows, failures: [], jobs: [{ job: 'j', placed: rows.length, failed: 0, availability: 'runnable_now' }], stats: { nodes: 2, agents: rows.length, placed: rows.length, elapsed_ms: 1, engine: 'js' } });
        const expected = JSON.parse(JSON.stringify(plan)) as unknown;
        const committed = await store.commitPlacements('j', { plan, status: 'scheduled', placements: rows.map((r) => ({ agent_id: r.agent_id, node: r.node, resources })) }, fence);
        expect(committed.plan).toEqual(expected);
        expect((await store.getJob('j'))!.plan).toEqual(expected);
        const kept = await store.updateJob('j', { status: 'running' }, { fence });
        expect(kept).toMatchObject({ status: 'running', version: 3 });
        expect(kept.plan).toEqual(expected);
        const smaller = anyPlan({ ...expected as object, placements: rows.slice(0, 7) });
        const replaced = await store.updateJob('j', { plan: smaller }, { fence });
        expect(replaced.plan!.placements).toHaveLength(7);
        expect((await store.getJob('j'))!.plan).toEqual(JSON.parse(JSON.stringify(smaller)));
        expect((await store.listAgents('j')).length).toBe(12_001);
      });

      it('writes nothing when a capacity re-check fails', async () => {
        const fence = await setup();
        await store.commitPlacements('j', { plan: anyPlan({ v: 1 }), placements: [place('a', 'n1', 3)] }, fence);
        const before = { job: await store.getJob('j'), agents: await store.listAgents('j'), usage: await usage() };

        const details = await expectCode(
          store.commitPlacements(
            'j',
            { plan: anyPlan({ v: 2 }), status: 'running', placements: [place('a', 'n1', 3), place('b', 'n2', 1), place('c', 'n1', 2)], capacity: { n1: { cpu_cores: 4 }, n2: { cpu_cores: 4 } } },
            fence,
          ),
          'MN_E_CONFLICT',
        );
        expect(details).toMatchObject({ node: 'n1', dimension: 'cpu_millis' });
        expect({ job: await store.getJob('j'), agents: await store.listAgents('j'), usage: await usage() }).toEqual(before);

        // Within capacity the same commit goes through; a node that only loses usage is never refused.
        await store.commitPlacements('j', { placements: [place('a', 'n2', 3), place('c', 'n1', 2)], capacity: { n1: { cpu_cores: 2 }, n2: { cpu_cores: 3 } } }, fence);
        expect(await usage()).toMatchObject({ n1: { cpu_cores: 2, agents: 1 }, n2: { cpu_cores: 3, agents: 1 } });
      });

      it('needs a fence and rejects placements for unknown jobs or duplicated agents', async () => {
        const fence = await setup();
        await expectCode(store.commitPlacements('other', { placements: [] }, fence), 'MN_E_NOT_FOUND');
        await expectCode(store.commitPlacements('j', { placements: [place('a', 'n1'), place('a', 'n2')] }, fence), 'MN_E_INVALID_ARGUMENT');
        await expectCode(store.updateAgent('j', 'ghost', { state: 'running' }), 'MN_E_NOT_FOUND');
        expect((await store.getJob('j'))!.version).toBe(1);
      });
    });

    describe('events', () => {
      it('appends to the job stream and the global stream, reads pages after an id', async () => {
        const e1 = await store.appendEvent('j1', { type: 'job_pending' });
        const e2 = await store.appendEvent('j2', { type: 'job_pending' });
        const e3 = await store.appendEvent('j1', { type: 'agent_recovered', agent_id: 'w-1', payload: { node: 'n2' } });
        expect(e3).toMatchObject({ job_id: 'j1', type: 'agent_recovered', agent_id: 'w-1', payload: { node: 'n2' } });
        expect((await store.readEvents('j1')).map((e) => e.id)).toEqual([e1.id, e3.id]);
        expect((await store.readEvents('j1', { afterId: e1.id })).map((e) => e.type)).toEqual(['agent_recovered']);
        expect((await store.readEvents('j1', { limit: 1 })).map((e) => e.id)).toEqual([e1.id]);
        expect((await store.readEvents(null)).map((e) => [e.job_id, e.type])).toEqual([
          ['j1', 'job_pending'],
          ['j2', 'job_pending'],
          ['j1', 'agent_recovered'],
        ]);
        expect(e2.job_id).toBe('j2');
        await expectCode(store.readEvents('j1', { afterId: 'yesterday' }), 'MN_E_INVALID_ARGUMENT');
      });

      it('keeps streams bounded to about maxEvents, always keeping the newest', async () => {
        const total = CONTRACT_MAX_EVENTS * 4;
        for (let i = 0; i < total; i++) await store.appendEvent('j', { type: 'tick', payload: { i } });
        for (const events of [await store.readEvents('j', { limit: total }), await store.readEvents(null, { limit: total })]) {
          // Redis trims whole stream nodes (100 entries), so up to one node more may remain.
          expect(events.length).toBeGreaterThanOrEqual(CONTRACT_MAX_EVENTS);
          expect(events.length).toBeLessThanOrEqual(CONTRACT_MAX_EVENTS * 2);
          const indexes = events.map((e) => e.payload['i'] as number);
          expect(indexes.at(-1)).toBe(total - 1);
          expect(indexes).toEqual(indexes.map((_, k) => total - events.length + k));
        }
      });

      it('follows a stream: the backlog after an id, then live events, until aborted', async () => {
        const first = await store.appendEvent('j', { type: 'job_pending' });
        await store.appendEvent('j', { type: 'job_scheduled' });
        await store.appendEvent('other', { type: 'noise' });
        const controller = new AbortController();
        const seen: StoredEvent[] = [];
        const done = (async () => {
          for await (const event of store.followEvents('j', { afterId: first.id, signal: controller.signal })) {
            seen.push(event);
            if (event.type === 'job_running') {
              // Appended while the follower is attached.
              await store.appendEvent('j', { type: 'job_completed' });
            }
            if (event.type === 'job_completed') controller.abort();
          }
        })();
        await store.appendEvent('j', { type: 'job_running' });
        await done;
        expect(seen.map((e) => e.type)).toEqual(['job_scheduled', 'job_running', 'job_completed']);
      });

      it('ends a follower without error when its signal aborts while it waits', async () => {
        const controller = new AbortController();
        const iterator = store.followEvents('quiet', { signal: controller.signal })[Symbol.asyncIterator]();
        const next = iterator.next();
        controller.abort();
        expect(await next).toEqual({ done: true, value: undefined });
      });
    });

    describe('settings and job removal', () => {
      it('stores cluster settings as JSON', async () => {
        expect(await store.getSetting('resource:limits')).toBeNull();
        await store.putSetting('resource:limits', { cpu: 75, memory: 100 });
        expect(await store.getSetting('resource:limits')).toEqual({ cpu: 75, memory: 100 });
      });

      it('removes only terminal jobs, with their agents and events', async () => {
        await store.createJob({ job_id: 'done', manifest: {}, job: anyJob() });
        await store.appendEvent('done', { type: 'job_pending' });
        await expect(store.deleteJob('done')).rejects.toMatchObject({ code: 'MN_E_CONFLICT' });
        await store.updateJob('done', { status: 'completed' });
        expect(await store.deleteJob('done')).toBe(true);
        expect(await store.getJob('done')).toBeNull();
        expect(await store.readEvents('done')).toEqual([]);
        expect((await store.listJobs()).map((j) => j.job_id)).not.toContain('done');
        expect(await store.deleteJob('done')).toBe(false);
      });

      it('refuses every call once closed, as an unavailable store', async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        await store.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['getJob', () => store.getJob('j')],
          ['listJobs', () => store.listJobs()],
          ['updateJob', () => store.updateJob('j', { status: 'running' })],
          ['createJob', () => store.createJob({ job_id: 'k', manifest: {}, job: anyJob() })],
          ['getSetting', () => store.getSetting('x')],
          ['putSetting', () => store.putSetting('x', 1)],
          ['deleteJob', () => store.deleteJob('j')],
          ['listNodes', () => store.listNodes()],
          ['acquireLease', () => store.acquireLease('l', 'h', TTL)],
          ['appendEvent', () => store.appendEvent('j', { type: 't' })],
          ['messageCounts', () => store.messageCounts('j')],
          ['listAgentsPage', () => store.listAgentsPage('j', { limit: 10 })],
          ['agentSummary', () => store.agentSummary('j')],
          ['services.list', () => store.services.list({})],
          ['deployments.current', () => store.deployments.current('k')],
          ['deployments.list', () => store.deployments.list()],
          ['deployments.versions', () => store.deployments.versions('k')],
          ['schedules.list', () => store.schedules.list()],
          ['schedules.due', () => store.schedules.due(0, 10)],
          ['schedules.listEvents', () => store.schedules.listEvents(10)],
          ['jobTemplates.list', () => store.jobTemplates.list()],
          ['queue.list', () => store.queue.list()],
          ['evaluations.list', () => store.evaluations.list()],
          ['warmPools.list', () => store.warmPools.list()],
          ['queue.enqueue', () => store.queue.enqueue({ job_id: 'j', priority: 50, since: 1, evaluation_id: 'ev-j' })],
          ['queue.remove', () => store.queue.remove('j')],
          ['queue.place', () => store.queue.place('j')],
          ['evaluations.record', () => store.evaluations.record({ id: 'ev-j', job_id: 'j', trigger: 'submit', status: 'complete', placed: 1, failed: 0, explanation: { summary: null, failures: [] }, queue: null })],
          ['evaluations.update', () => store.evaluations.update('ev-j', { status: 'complete' })],
          ['evaluations.get', () => store.evaluations.get('ev-j')],
          ['warmPools.put', () => store.warmPools.put({ pool: 'py', node: 'n1', provider: 'openai', job_id: 'j', agent_ids: ['py'], size: 1, idle: 1, in_use: 0, starting: 0, served_warm: 0, served_cold: 0, last_error: null })],
          ['warmPools.delete', () => store.warmPools.delete('py', 'n1')],
          ['commitPlacements with evictions', () => store.commitPlacements('j', { placements: [], evict: [{ job_id: 'k', agent_id: 'a', node: 'n1' }] }, { lease: 'job:j', token: 1 })],
        ];
        for (const [name, call] of calls) {
          const error = await rejection(call());
          expect(isMnError(error, 'MN_E_STORE_UNAVAILABLE'), `${name} after close`).toBe(true);
        }
      });
    });

    describe('agent writes', () => {
      const setupAgents = async () => {
        await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
        const job = (await store.acquireLease('job:j', 'coordinator', TTL * 50))!;
        await store.commitPlacements('j', { placements: [place('a', 'n1'), place('b', 'n2')] }, { lease: 'job:j', token: job.token });
        const host = (await store.acquireLease('host:n1', 'daemon-1', TTL * 50))!;
        return { jobFence: { lease: 'job:j', token: job.token }, hostFence: { lease: 'host:n1', token: host.token } };
      };

      it('writes an agent under the host lease only while the agent is on that node', async () => {
        const { hostFence } = await setupAgents();
        const ok = await store.updateAgent('j', 'a', { state: 'running' }, { fence: hostFence, node: 'n1' });
        expect(ok).toMatchObject({ agent_id: 'a', node: 'n1', state: 'running' });
        const moved = await expectCode(store.updateAgent('j', 'b', { state: 'running' }, { fence: hostFence, node: 'n1' }), 'MN_E_CONFLICT');
        expect(moved).toMatchObject({ reason: 'agent_moved', node: 'n2' });
        await expectCode(store.updateAgent('j', 'nobody', { state: 'running' }, { fence: hostFence, node: 'n1' }), 'MN_E_NOT_FOUND');
        expect((await store.listAgents('j')).map((x) => [x.agent_id, x.state])).toEqual([['a', 'running'], ['b', 'pending']]);
      });

      it('refuses a stale host: a daemon whose host lease was taken over cannot change an agent', async () => {
        const { hostFence } = await setupAgents();
        // The old daemon is presumed dead (its lease was freed) and a new incarnation took the node.
        await store.releaseLease('host:n1', 'daemon-1', hostFence.token);
        const successor = (await store.acquireLease('host:n1', 'daemon-2', TTL * 50))!;
        expect(successor.token).toBeGreaterThan(hostFence.token);
        await expectCode(store.updateAgent('j', 'a', { state: 'failed', restarts: 9 }, { fence: hostFence, node: 'n1' }), 'MN_E_FENCED');
        expect((await store.listAgents('j'))[0]).toMatchObject({ agent_id: 'a', state: 'pending', restarts: 0 });
        const fresh = await store.updateAgent('j', 'a', { restarts: 1 }, { fence: { lease: 'host:n1', token: successor.token }, node: 'n1' });
        expect(fresh.restarts).toBe(1);
      });
    });
  });
}
