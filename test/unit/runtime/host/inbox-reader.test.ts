import { afterEach, describe, expect, it } from 'vitest';
import { InboxReader } from '../../../../src/runtime/host/inbox-reader.js';
import { MemoryStore } from '../../../../src/store/memory-store.js';
import type { InboxEntry, Store } from '../../../../src/store/store.js';
import { anyJob } from '../../../helpers/records.js';
import { eventually } from '../../../helpers/daemon.js';

describe("the host's inbox reader", () => {
  let reader: InboxReader | null = null;
  afterEach(() => reader?.stop());

  const setup = async (n: number) => {
    const store = new MemoryStore();
    await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
    await store.sendMessages(Array.from({ length: n }, (_, i) => ({ job_id: 'j', agent_id: 'a', node: 'n1', message_id: `m${i}`, message: '{}' })));
    return store;
  };

  it('reads only while it may, in batches, and pauses while too many entries are in flight', async () => {
    const store = await setup(10);
    const got: InboxEntry[] = [];
    let may = false;
    reader = new InboxReader({
      store,
      node: 'n1',
      consumer: 'c',
      messages: { pollMs: 20, ackTimeoutMs: 60_000 },
      canRead: () => may,
      onEntry: async (e) => void got.push(e),
      onError: (e) => {
        throw e;
      },
      maxInFlight: 3,
      batchSize: 2,
      pauseMs: 5,
    });
    reader.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([]);
    may = true;
    // Batches of 2 until more than 3 are in flight: 4 read, then it waits.
    await eventually(async () => got.length === 4, 2000, 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(4);
    expect(reader.size).toBe(4);
    for (const e of got.splice(0)) reader.release(e.id);
    await eventually(async () => got.length === 4, 2000, 5);
    expect(got.map((e) => e.message_id)).toEqual(['m4', 'm5', 'm6', 'm7']);
  });

  it('hands an entry that the store hands out again only once while it is in flight', async () => {
    const same: InboxEntry = { id: '1-0', node: 'n1', job_id: 'j', agent_id: 'a', message_id: 'm0', attempt: 1, not_before: 0, message: '{}' };
    // A store that hands the unsettled entry out on every read (an ack timeout shorter than its handling).
    const store = { readInbox: async () => (await new Promise((r) => setTimeout(r, 2)), [{ ...same }]) } as unknown as Store;
    const got: InboxEntry[] = [];
    reader = new InboxReader({ store, node: 'n1', consumer: 'c', messages: { pollMs: 10, ackTimeoutMs: 0 }, canRead: () => true, onEntry: async (e) => void got.push(e), onError: () => undefined, pauseMs: 5 });
    reader.start();
    await eventually(async () => got.length === 1, 2000, 5);
    await new Promise((r) => setTimeout(r, 60));
    expect(got.length).toBe(1);
    reader.release(got[0]!.id);
    await eventually(async () => got.length === 2, 2000, 5);
    expect(got[1]!.message_id).toBe('m0');
  });
});
