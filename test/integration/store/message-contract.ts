/**
 * The message part of the Store contract (inboxes, settle, retry, dead letters, back-pressure),
 * run against every implementation from contract.test.ts.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { isMnError, type MnErrorCode } from '../../../src/core/errors.js';
import type { Fence, InboxEntry, OutgoingMessage, Store } from '../../../src/store/store.js';
import type { StoreHarness } from './contract.js';
import { anyJob } from '../../helpers/records.js';

async function code(promise: Promise<unknown>): Promise<MnErrorCode> {
  try {
    await promise;
  } catch (error) {
    if (isMnError(error)) return error.code;
    throw error;
  }
  throw new Error('expected the call to fail');
}

const msg = (agent_id: string, message_id: string, node = 'n1', body = '{}'): OutgoingMessage => ({ job_id: 'j1', agent_id, node, message_id, message: body });
const read = (store: Store, node = 'n1', consumer = 'c1') => store.readInbox(node, consumer, { count: 100, blockMs: 0, claimIdleMs: 60_000 });

export function messageContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (messages): ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let fence: Fence;
    beforeEach(async () => {
      h = await create();
      store = h.store;
      const grant = await store.acquireLease('host:n1', 'daemon-a', 60_000);
      fence = { lease: 'host:n1', token: grant!.token };
      await store.createJob({ job_id: 'j1', manifest: {}, job: anyJob() });
      await store.commitPlacements('j1', { placements: ['a', 'b'].map((id) => ({ agent_id: id, node: 'n1', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } })) }, (await jobFence(store))!);
    });
    afterEach(async () => {
      await h.close();
    });

    it('sends idempotently by message id, counts outstanding messages, and reads each entry once', async () => {
      expect(await store.sendMessages([msg('a', 'm1', 'n1', '{"x":1}'), msg('b', 'm2')])).toEqual({ accepted: 2, duplicates: 0 });
      expect(await store.sendMessages([msg('a', 'm1', 'n1', '{"x":1}')])).toEqual({ accepted: 0, duplicates: 1 });
      expect(await code(store.sendMessages([msg('a', 'm1', 'n1', '{"x":2}')]))).toBe('MN_E_CONFLICT');
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 2, dead_letters: 0 });
      const got = await read(store);
      expect(got.map((e) => [e.agent_id, e.message_id, e.attempt, e.message])).toEqual([['a', 'm1', 1, '{"x":1}'], ['b', 'm2', 1, '{}']]);
      expect(await read(store)).toEqual([]);
      expect(await read(store, 'n2')).toEqual([]);
    });

    it('settles atomically: emitted messages, agent state and the first completion, then the entry is gone', async () => {
      await store.sendMessages([msg('a', 'm1')]);
      const [entry] = (await read(store)) as [InboxEntry];
      const r = await store.settleMessage(entry, { fence, send: [msg('b', 'm1.0', 'n2')], state: '{"n":1}', complete: '{"done":true}' });
      expect(r).toEqual({ accepted: 1, duplicates: 0 });
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 1, dead_letters: 0 });
      expect(await store.agentStates('j1')).toEqual({ a: '{"n":1}' });
      expect(await store.getCompletion('j1')).toMatchObject({ agent_id: 'a', result: '{"done":true}' });
      // A second settle of the same entry (a retried call) changes nothing.
      expect(await store.settleMessage(entry, { fence, send: [msg('b', 'm1.1', 'n2')], complete: '{"other":1}' })).toEqual({ accepted: 0, duplicates: 0 });
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 1, dead_letters: 0 });
      expect((await store.getCompletion('j1'))?.result).toBe('{"done":true}');
      expect((await read(store, 'n2')).map((e) => e.message_id)).toEqual(['m1.0']);
    });

    it('refuses to settle under a lost host lease or for an agent placed elsewhere', async () => {
      await store.sendMessages([msg('a', 'm1')]);
      const [entry] = (await read(store)) as [InboxEntry];
      expect(await code(store.settleMessage(entry, { fence: { lease: 'host:n1', token: fence.token + 7 } }))).toBe('MN_E_FENCED');
      const moved = { ...entry, node: 'n1' };
      await store.commitPlacements('j1', { placements: [{ agent_id: 'a', node: 'n2', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } }], mode: 'merge' }, (await jobFence(store))!);
      expect(await code(store.settleMessage(moved, { fence }))).toBe('MN_E_CONFLICT');
      await store.forwardMessage(entry, 'n2');
      const [there] = (await read(store, 'n2')) as [InboxEntry];
      expect([there.agent_id, there.message_id, there.attempt]).toEqual(['a', 'm1', 1]);
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 1, dead_letters: 0 });
    });

    it('refuses to forward, retry, dead-letter or drop an entry under a host lease that was taken over', async () => {
      await store.sendMessages([msg('a', 'm1'), msg('b', 'm2')]);
      const entries = await read(store);
      const stale: Fence = { lease: 'host:n1', token: fence.token };
      await store.releaseLease('host:n1', 'daemon-a', fence.token);
      const next = (await store.acquireLease('host:n1', 'daemon-b', 60_000))!;
      for (const entry of entries) {
        expect(await code(store.forwardMessage(entry, 'n2', stale))).toBe('MN_E_FENCED');
        expect(await code(store.retryMessage(entry, 0, stale))).toBe('MN_E_FENCED');
        expect(await code(store.deadLetter(entry, 'stale', stale))).toBe('MN_E_FENCED');
      }
      expect(await code(store.dropMessages(entries, stale))).toBe('MN_E_FENCED');
      // Nothing moved: both entries are still pending on n1, nothing reached n2 or the dead letters.
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 2, dead_letters: 0 });
      expect(await read(store, 'n2')).toEqual([]);
      // The current holder settles them.
      const current: Fence = { lease: 'host:n1', token: next.token };
      await store.forwardMessage(entries[0]!, 'n2', current);
      await store.deadLetter(entries[1]!, 'gone', current);
      expect((await read(store, 'n2')).map((e) => e.message_id)).toEqual(['m1']);
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 1, dead_letters: 1 });
    });

    it('refuses fenced entry settling once the host lease lapsed', async () => {
      await store.sendMessages([msg('a', 'm1')]);
      const [entry] = (await read(store)) as [InboxEntry];
      await store.releaseLease('host:n1', 'daemon-a', fence.token);
      expect(await code(store.forwardMessage(entry, 'n2', fence))).toBe('MN_E_LEASE_LOST');
      expect(await code(store.retryMessage(entry, 0, fence))).toBe('MN_E_LEASE_LOST');
      // Unfenced (the leader's rescue of an offline node's inbox) still works.
      await store.forwardMessage(entry, 'n2');
      expect((await read(store, 'n2')).map((e) => e.message_id)).toEqual(['m1']);
    });

    it('retries with a growing attempt count and dead-letters, which ends the message', async () => {
      await store.sendMessages([msg('a', 'm1', 'n1', '{"k":1}')]);
      let [entry] = (await read(store)) as [InboxEntry];
      await store.retryMessage(entry, 123);
      [entry] = (await read(store)) as [InboxEntry];
      expect([entry.attempt, entry.not_before, entry.message]).toEqual([2, 123, '{"k":1}']);
      await store.deadLetter(entry, 'handler failed: boom');
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 0, dead_letters: 1 });
      expect(await store.listDeadLetters('j1')).toEqual([expect.objectContaining({ agent_id: 'a', message_id: 'm1', attempts: 2, reason: 'handler failed: boom', message: '{"k":1}' })]);
      await store.deadLetter(entry, 'again');
      expect((await store.listDeadLetters('j1')).length).toBe(1);
    });

    it('applies back-pressure per agent and per job: refused once a backlog reaches its limit, all or nothing', async () => {
      const limits = { perAgent: 2, perJob: 3 };
      await store.sendMessages([msg('a', 'm1'), msg('a', 'm2')], { limits });
      expect(await code(store.sendMessages([msg('a', 'm3')], { limits }))).toBe('MN_E_RESOURCE_EXHAUSTED');
      // A batch that starts under the job's limit is taken whole...
      expect(await store.sendMessages([msg('b', 'm4'), msg('b', 'm5')], { limits })).toEqual({ accepted: 2, duplicates: 0 });
      // ...and then the job is over it: nothing more, not even for an idle agent, and nothing of a refused batch.
      expect(await code(store.sendMessages([msg('c', 'm6'), msg('a', 'm7')], { limits }))).toBe('MN_E_RESOURCE_EXHAUSTED');
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 4, dead_letters: 0 });
      const entries = await read(store);
      await store.settleMessage(entries[0]!, { fence });
      await store.settleMessage(entries[2]!, { fence });
      await store.sendMessages([msg('a', 'm3')], { limits });
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 3, dead_letters: 0 });
    });

    it('hands entries another consumer left unsettled to a new consumer after the idle time', async () => {
      await store.sendMessages([msg('a', 'm1')]);
      await store.readInbox('n1', 'crashed', { count: 10, blockMs: 0, claimIdleMs: 60_000 });
      expect(await store.readInbox('n1', 'fresh', { count: 10, blockMs: 0, claimIdleMs: 60_000 })).toEqual([]);
      await h.advance(300);
      const claimed = await store.readInbox('n1', 'fresh', { count: 10, blockMs: 0, claimIdleMs: 250 });
      expect(claimed.map((e) => e.message_id)).toEqual(['m1']);
    });

    it('collects values once per key and drops entries of ended jobs', async () => {
      expect(await store.collect('j1', 'agg', 'agent:w-1', '{"v":1}')).toEqual({ added: true, count: 1 });
      expect(await store.collect('j1', 'agg', 'agent:w-1', '{"v":9}')).toEqual({ added: false, count: 1 });
      expect(await store.collect('j1', 'agg', 'agent:w-2', '{"v":2}')).toEqual({ added: true, count: 2 });
      expect(await store.listCollected('j1', 'agg')).toEqual(['{"v":1}', '{"v":2}']);
      await store.sendMessages([msg('a', 'm1'), msg('b', 'm2')]);
      await store.dropMessages(await read(store));
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 0, dead_letters: 0 });
      await store.commitPlacements('j1', { status: 'completed', placements: [] }, (await jobFence(store))!);
      expect(await store.deleteJob('j1')).toBe(true);
      expect(await store.listCollected('j1', 'agg')).toEqual([]);
      expect(await store.messageCounts('j1')).toEqual({ outstanding: 0, dead_letters: 0 });
    });

    it('wakes a blocked reader when a message arrives', async () => {
      const waiting = store.readInbox('n1', 'c1', { count: 10, blockMs: 2000, claimIdleMs: 60_000 });
      await new Promise((r) => setTimeout(r, 50));
      await store.sendMessages([msg('a', 'late')]);
      expect((await waiting).map((e) => e.message_id)).toEqual(['late']);
    });
  });
}

async function jobFence(store: Store): Promise<Fence | null> {
  const grant = await store.acquireLease('job:j1', 'coordinator', 60_000);
  return grant ? { lease: 'job:j1', token: grant.token } : null;
}
