import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../../src/core/services/due-queue.js';

describe('due queue', () => {
  it('hands out exactly the due items, earliest first, whatever the push order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 1000 }), (times, now) => {
        const q = new DueQueue<number>();
        times.forEach((t, i) => q.push(t, i));
        const out: number[] = [];
        for (let item = q.popDue(now); item !== null; item = q.popDue(now)) out.push(times[item]!);
        expect(out).toEqual(times.filter((t) => t <= now).sort((a, b) => a - b));
        expect(q.size).toBe(times.filter((t) => t > now).length);
        expect(q.peek()).toBe(q.size === 0 ? null : Math.min(...times.filter((t) => t > now)));
      }),
    );
  });
});
