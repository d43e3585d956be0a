/**
 * The lease keeper decides on its own monotonic clock whether its owner may still act, so a
 * holder stops acting once its deadline passes even while the store would still accept it.
 */
import { describe, expect, it } from 'vitest';
import { isMnError, MnError } from '../../../src/core/errors.js';
import { LeaseKeeper, type LeaseLossReason } from '../../../src/store/lease-keeper.js';
import { MemoryStore } from '../../../src/store/memory-store.js';

function setup(ttlMs = 1000) {
  let wall = 1_750_000_000_000;
  let mono = 0;
  const store = new MemoryStore({ clock: () => wall });
  const losses: LeaseLossReason[] = [];
  const keeper = (holder: string) =>
    new LeaseKeeper({ store, name: 'cluster:leader', holder, ttlMs, driftMs: 10, now: () => mono, onLost: (r) => losses.push(r) });
  return {
    store,
    keeper,
    losses,
    tick: (ms: number) => {
      mono += ms;
    },
    tickWall: (ms: number) => {
      wall += ms;
    },
  };
}

describe('LeaseKeeper', () => {
  it('stops acting at its local deadline even though the store still holds the lease', async () => {
    const t = setup();
    const a = t.keeper('a');
    expect(await a.acquire()).toBe(true);
    expect(a.fence()).toEqual({ lease: 'cluster:leader', token: 1 });
    t.tick(989); // ttl - drift - 1
    expect(a.held).toBe(true);
    t.tick(1);
    expect(a.held).toBe(false);
    expect(a.signal.aborted).toBe(true);
    expect(t.losses).toEqual(['deadline_passed']);
    let error: unknown;
    try {
      a.fence();
    } catch (e) {
      error = e;
    }
    expect(isMnError(error, 'MN_E_LEASE_LOST')).toBe(true);
    // The store (wall clock unchanged) still lists the lease: the local deadline is what stopped A.
    expect(await t.store.getLease('cluster:leader')).toMatchObject({ holder: 'a', token: 1 });
    expect(await a.renew()).toBe(false);
  });

  it('extends the deadline from the moment a renewal was sent', async () => {
    const t = setup();
    const a = t.keeper('a');
    await a.acquire();
    t.tick(600);
    expect(await a.renew()).toBe(true);
    t.tick(900);
    expect(a.held).toBe(true);
    t.tick(100);
    expect(a.held).toBe(false);
  });

  it('loses the lease when a renewal finds it taken over', async () => {
    const t = setup();
    const a = t.keeper('a');
    await a.acquire();
    t.tickWall(1500); // the store's TTL ran out while A was stalled
    const b = t.keeper('b');
    expect(await b.acquire()).toBe(true);
    expect(b.fence().token).toBe(2);
    expect(await a.renew()).toBe(false);
    expect(a.lossReason).toBe('not_owner');
    expect(a.signal.reason).toBeInstanceOf(MnError);
  });

  it('tolerates isolated store failures but gives up after maxRenewFailures in a row', async () => {
    const t = setup();
    let fail = true;
    const flaky = {
      acquireLease: t.store.acquireLease.bind(t.store),
      releaseLease: t.store.releaseLease.bind(t.store),
      renewLease: async (...args: Parameters<MemoryStore['renewLease']>) => {
        if (fail) throw new MnError('MN_E_STORE_UNAVAILABLE', 'down', { retryable: true });
        return t.store.renewLease(...args);
      },
    };
    const a = new LeaseKeeper({ store: flaky, name: 'job:j', holder: 'a', ttlMs: 1000, maxRenewFailures: 3, now: () => 0 });
    await a.acquire();
    expect(await a.renew()).toBe(true);
    expect(await a.renew()).toBe(true);
    fail = false;
    expect(await a.renew()).toBe(true); // success resets the count
    fail = true;
    await a.renew();
    await a.renew();
    expect(await a.renew()).toBe(false);
    expect(a.lossReason).toBe('renew_failed');
  });

  it('releases in the store and can be re-acquired with a new token', async () => {
    const t = setup();
    const a = t.keeper('a');
    await a.acquire();
    expect(await a.release()).toBe(true);
    expect(a.held).toBe(false);
    expect(t.losses).toEqual([]);
    expect(await t.store.getLease('cluster:leader')).toBeNull();
    expect(await a.acquire()).toBe(true);
    expect(a.currentToken).toBe(2);
    expect(a.signal.aborted).toBe(false);
  });
});
