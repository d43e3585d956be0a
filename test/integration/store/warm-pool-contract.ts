/**
 * The warm pool part of the Store contract (what each machine reports of its pools), run
 * against every implementation from contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import type { Store } from '../../../src/store/store.js';
import type { NewWarmPoolState } from '../../../src/store/warm-pools.js';
import { freshStore, type StoreHarness } from './contract.js';

const state = (pool: string, node: string, extra: Partial<NewWarmPoolState> = {}): NewWarmPoolState => ({
  pool,
  node,
  provider: 'openai',
  job_id: 'pools-1',
  agent_ids: ['py'],
  size: 3,
  idle: 2,
  in_use: 1,
  starting: 0,
  served_warm: 7,
  served_cold: 1,
  last_error: null,
  ...extra,
});

export function warmPoolContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (warm pools): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('keeps one record per pool and machine, listed by pool then machine, with every field', async () => {
      expect(await store.warmPools.list()).toEqual([]);
      const put = await store.warmPools.put(state('py', 'gpu-b@lab'));
      expect(put).toMatchObject(state('py', 'gpu-b@lab'));
      expect(typeof put.updated_at).toBe('string');
      await store.warmPools.put(state('py', 'gpu-a@lab', { idle: 3, in_use: 0 }));
      await store.warmPools.put(state('anthropic-pool', 'gpu-b@lab', { provider: 'anthropic', last_error: 'member anthropic-pool-1 exited with 1' }));
      const listed = await store.warmPools.list();
      expect(listed.map((r) => [r.pool, r.node])).toEqual([
        ['anthropic-pool', 'gpu-b@lab'],
        ['py', 'gpu-a@lab'],
        ['py', 'gpu-b@lab'],
      ]);
      expect(listed[0]).toMatchObject({ provider: 'anthropic', last_error: 'member anthropic-pool-1 exited with 1' });
      expect(listed[2]).toEqual(put);
    });

    it('replaces the record of a pool on a machine, and removes it', async () => {
      await store.warmPools.put(state('py', 'n1'));
      await fresh.h.advance(5);
      const second = await store.warmPools.put(state('py', 'n1', { idle: 0, in_use: 3, served_warm: 10 }));
      expect(await store.warmPools.list()).toEqual([second]);
      expect(await store.warmPools.delete('py', 'n1')).toBe(true);
      expect(await store.warmPools.delete('py', 'n1')).toBe(false);
      expect(await store.warmPools.list()).toEqual([]);
    });

    it('refuses a bad record, naming the field', async () => {
      const bad: Array<[string, NewWarmPoolState]> = [
        ['pool', state('bad name', 'n1')],
        ['node', state('py', 'has space')],
        ['size', state('py', 'n1', { size: -1 })],
        ['idle', state('py', 'n1', { idle: 1.5 })],
        ['agent_ids', state('py', 'n1', { agent_ids: [3 as unknown as string] })],
      ];
      for (const [field, record] of bad) {
        const error = await store.warmPools.put(record).then(() => null, (e: unknown) => e);
        expect(isMnError(error, 'MN_E_INVALID_ARGUMENT'), field).toBe(true);
        expect((error as Error).message).toContain(`${field}:`);
      }
      expect(await store.warmPools.list()).toEqual([]);
    });
  });
}
