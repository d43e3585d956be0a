/**
 * The job queue and evaluation parts of the Store contract, run against every implementation
 * from contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import type { NewEvaluation } from '../../../src/core/queue/evaluation.js';
import { EVALUATIONS_PER_JOB } from '../../../src/store/evaluations.js';
import type { Store } from '../../../src/store/store.js';
import { freshStore, type StoreHarness } from './contract.js';
import { rejection } from '../../helpers/records.js';

const entry = (job_id: string, priority: number, since: number) => ({ job_id, priority, since, evaluation_id: `ev-${job_id}` });

const evaluation = (id: string, job_id: string, extra: Partial<NewEvaluation> = {}): NewEvaluation => ({
  id,
  job_id,
  trigger: 'submit',
  status: 'blocked',
  placed: 0,
  failed: 2,
  explanation: {
    summary: 'placement_failed: no node has 4 free cpu cores',
    failures: [{ agent_id: 'w-0', source_node_id: 'w', count: 2, reason: 'placement_failed: no node has 4 free cpu cores', filtered: { cpu: 3 }, nearest: [{ node: 'a', shortfall: { cpu: 'needs 4, has 1' } }], suggestion: 'add a node with >= 4 free cpu cores' }],
  },
  queue: { position: 1, total: 1, priority: 50, since: 1000, evaluation_id: id },
  ...extra,
});

export function queueContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (job queue): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('lists entries by priority (higher first), then age, then job id', async () => {
      await store.queue.enqueue(entry('p30', 30, 100));
      await store.queue.enqueue(entry('p80-late', 80, 300));
      await store.queue.enqueue(entry('p50', 50, 200));
      await store.queue.enqueue(entry('p80-early', 80, 250));
      await store.queue.enqueue(entry('p80-b', 80, 300));
      expect((await store.queue.list()).map((e) => e.job_id)).toEqual(['p80-early', 'p80-b', 'p80-late', 'p50', 'p30']);
      expect((await store.queue.list())[0]).toEqual(entry('p80-early', 80, 250));
    });

    it('gives each job its 1-based place among all waiting jobs', async () => {
      await store.queue.enqueue(entry('a', 50, 100));
      await store.queue.enqueue(entry('b', 90, 200));
      await store.queue.enqueue(entry('c', 50, 50));
      expect(await store.queue.place('a')).toEqual({ position: 3, total: 3, priority: 50, since: 100, evaluation_id: 'ev-a' });
      expect(await store.queue.place('b')).toMatchObject({ position: 1, total: 3 });
      expect(await store.queue.place('c')).toMatchObject({ position: 2, total: 3 });
      expect(await store.queue.place('nope')).toBeNull();
    });

    it('enqueue of a queued job replaces its entry (and its place)', async () => {
      await store.queue.enqueue(entry('a', 50, 100));
      await store.queue.enqueue(entry('b', 50, 200));
      await store.queue.enqueue(entry('b', 60, 200));
      expect((await store.queue.list()).map((e) => [e.job_id, e.priority])).toEqual([['b', 60], ['a', 50]]);
    });

    it('remove claims a job once: the first call answers true, a second (or an unknown job) false', async () => {
      await store.queue.enqueue(entry('a', 50, 100));
      await store.queue.enqueue(entry('b', 50, 200));
      const claims = await Promise.all([store.queue.remove('a'), store.queue.remove('a')]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.queue.remove('zzz')).toBe(false);
      expect((await store.queue.list()).map((e) => e.job_id)).toEqual(['b']);
      expect(await store.queue.place('a')).toBeNull();
      expect(await store.queue.place('b')).toMatchObject({ position: 1, total: 1 });
    });

    it('refuses entries it could not order, naming the field', async () => {
      for (const [bad, field] of [[entry('a', 0, 1), 'priority'], [entry('a', 101, 1), 'priority'], [entry('a', 50.5, 1), 'priority'], [entry('a', 50, -1), 'since'], [entry('a b', 50, 1), 'job id']] as const) {
        const error = await rejection(store.queue.enqueue(bad));
        expect(isMnError(error, 'MN_E_INVALID_ARGUMENT')).toBe(true);
        expect((error as Error).message).toContain(field);
      }
      expect(await store.queue.list()).toEqual([]);
    });
  });

  describe(`Store contract (evaluations): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('records an evaluation with every field and reads it back; unknown ids read as null', async () => {
      const rec = await store.evaluations.record(evaluation('e1', 'j1'));
      expect(rec).toMatchObject(evaluation('e1', 'j1'));
      expect(rec.created_at).toBe(rec.updated_at);
      expect(typeof rec.created_at).toBe('number');
      expect(await store.evaluations.get('e1')).toEqual(rec);
      expect(await store.evaluations.get('nope')).toBeNull();
      expect(isMnError(await rejection(store.evaluations.record(evaluation('e1', 'j1'))), 'MN_E_CONFLICT')).toBe(true);
    });

    it('updates the outcome and the updated time; an unknown evaluation is not found', async () => {
      const rec = await store.evaluations.record(evaluation('e1', 'j1'));
      await fresh.h.advance(5);
      const updated = await store.evaluations.update('e1', { status: 'complete', placed: 2, failed: 0 });
      expect(updated).toMatchObject({ status: 'complete', placed: 2, failed: 0, trigger: 'submit', created_at: rec.created_at });
      expect(updated.updated_at).toBeGreaterThan(rec.updated_at);
      expect(await store.evaluations.get('e1')).toEqual(updated);
      expect(isMnError(await rejection(store.evaluations.update('nope', { status: 'complete' })), 'MN_E_NOT_FOUND')).toBe(true);
    });

    it('lists newest first, per job or for every job, a page at a time', async () => {
      for (let i = 0; i < 5; i++) await store.evaluations.record(evaluation(`a${i}`, 'ja'));
      for (let i = 0; i < 3; i++) await store.evaluations.record(evaluation(`b${i}`, 'jb'));
      expect((await store.evaluations.list({ job_id: 'ja' })).evaluations.map((e) => e.id)).toEqual(['a4', 'a3', 'a2', 'a1', 'a0']);
      expect((await store.evaluations.list({ job_id: 'none' })).evaluations).toEqual([]);
      const all = await store.evaluations.list();
      expect(all.evaluations.map((e) => e.id)).toEqual(['b2', 'b1', 'b0', 'a4', 'a3', 'a2', 'a1', 'a0']);
      expect(all.next).toBeNull();
      const first = await store.evaluations.list({ job_id: 'ja', limit: 2 });
      expect(first.evaluations.map((e) => e.id)).toEqual(['a4', 'a3']);
      expect(first.next).not.toBeNull();
      const second = await store.evaluations.list({ job_id: 'ja', limit: 2, after: first.next! });
      expect(second.evaluations.map((e) => e.id)).toEqual(['a2', 'a1']);
      const third = await store.evaluations.list({ job_id: 'ja', limit: 2, after: second.next! });
      expect(third.evaluations.map((e) => e.id)).toEqual(['a0']);
      expect(third.next).toBeNull();
      expect(isMnError(await rejection(store.evaluations.list({ after: 'x' })), 'MN_E_INVALID_ARGUMENT')).toBe(true);
    });

    it(`keeps the newest ${EVALUATIONS_PER_JOB} evaluations of a job; older ones are gone everywhere`, async () => {
      for (let i = 0; i < EVALUATIONS_PER_JOB + 3; i++) await store.evaluations.record(evaluation(`e${i}`, 'j'));
      await store.evaluations.record(evaluation('other', 'k'));
      const own = await store.evaluations.list({ job_id: 'j', limit: 1000 });
      expect(own.evaluations).toHaveLength(EVALUATIONS_PER_JOB);
      expect(own.evaluations.at(-1)!.id).toBe('e3');
      expect(await store.evaluations.get('e0')).toBeNull();
      const all = await store.evaluations.list({ limit: 1000 });
      expect(all.evaluations.map((e) => e.id)).not.toContain('e2');
      expect(all.evaluations).toHaveLength(EVALUATIONS_PER_JOB + 1);
    });

    it('refuses an unknown trigger or status and bad counts, naming the field', async () => {
      for (const [bad, field] of [
        [evaluation('x', 'j', { trigger: 'whim' as never }), 'trigger'],
        [evaluation('x', 'j', { status: 'maybe' as never }), 'status'],
        [evaluation('x', 'j', { placed: -1 }), 'placed'],
        [evaluation('x y', 'j'), 'evaluation id'],
      ] as const) {
        const error = await rejection(store.evaluations.record(bad));
        expect(isMnError(error, 'MN_E_INVALID_ARGUMENT')).toBe(true);
        expect((error as Error).message).toContain(field);
      }
      expect((await store.evaluations.list()).evaluations).toEqual([]);
    });
  });
}
