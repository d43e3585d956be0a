import { describe, expect, it } from 'vitest';
import { daemonConfigFromEnv } from '../../../src/core/config.js';
import { Slots } from '../../../src/runtime/exec/slots.js';

describe('executor slots', () => {
  it('hands out at most the limit, first come first served, with multi-slot requests', async () => {
    const slots = new Slots(3);
    const order: string[] = [];
    const a = await slots.acquire(2);
    const b = await slots.acquire(1);
    const waitingBig = slots.acquire(2).then((r) => (order.push('big'), r));
    const waitingSmall = slots.acquire(1).then((r) => (order.push('small'), r));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    b();
    b(); // releasing twice gives back nothing more
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]); // 1 free: the 2-slot request at the head still waits, and nobody overtakes it
    a();
    const big = await waitingBig;
    const small = await waitingSmall;
    expect(order).toEqual(['big', 'small']);
    big();
    small();
    const capped = await slots.acquire(10); // a request larger than the pool takes the whole pool
    capped();
  });

  it('reads pool capacities from MN_EXECUTOR_POOL_CAPACITIES and names bad entries', () => {
    const ok = daemonConfigFromEnv({ MN_EXECUTOR_MAX_CONCURRENCY: '6', MN_EXECUTOR_POOL_CAPACITIES: 'gpu=1, long=20' }, { hostname: 'h', homeDir: '/h' });
    expect(ok.problems).toEqual([]);
    expect([ok.config.executorConcurrency, ok.config.executorPools]).toEqual([6, { gpu: 1, long: 20 }]);
    const bad = daemonConfigFromEnv({ MN_EXECUTOR_POOL_CAPACITIES: 'gpu=0,oops' }, { hostname: 'h', homeDir: '/h' });
    expect(bad.problems.map((p) => p.variable)).toEqual(['MN_EXECUTOR_POOL_CAPACITIES', 'MN_EXECUTOR_POOL_CAPACITIES']);
    expect(bad.problems[1]!.message).toMatch(/"oops"/);
  });
});
