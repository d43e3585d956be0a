import { beforeAll, describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import type { KernelPlaceOptions, PlacementKernel } from '../../../src/core/placement/kernel-types.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { ensureWasm } from '../solver/ensure-wasm.js';
import { opts, setup } from './hand-setup.js';

beforeAll(ensureWasm);


const engines: Array<[string, () => PlacementKernel]> = [
  ['js', () => new JsKernel()],
  ['wasm', () => new WasmKernel()],
];

describe.each(engines)('%s kernel semantics', (_name, make) => {
  it('binpack picks the fullest fitting node; ties go to the lowest index', () => {
    const k = make();
    setup(k, [[4, 4, 0, 0], [4, 4, 0, 0], [4, 4, 0, 0]], [[4, 4, 0, 0], [2, 2, 0, 0], [2, 2, 0, 0]]);
    const r = k.place(opts([1, 1, 0, 0], 1));
    expect(r.placed).toBe(1);
    expect(Array.from(r.out)).toEqual([1]);
  });

  it('binpack fills the best node before moving on, then fails the rest together', () => {
    const k = make();
    setup(k, [[4, 8, 0, 0], [2, 8, 0, 0]]);
    const r = k.place(opts([1, 1, 0, 0], 8));
    // node 1 scores higher (1/2 of cpu vs 1/4); it takes 2, node 0 takes 4, two agents fail.
    expect(Array.from(r.out)).toEqual([1, 1, 0, 0, 0, 0, -1, -1]);
    expect(r.placed).toBe(6);
    expect(Array.from(k.free())).toEqual([0, 0, 4, 6, 0, 0, 0, 0]);
  });

  it('spread alternates between equally empty nodes', () => {
    const k = make();
    setup(k, [[4, 4, 0, 0], [4, 4, 0, 0], [4, 4, 0, 0]]);
    const r = k.place(opts([1, 1, 0, 0], 5, { strategy: 1 }));
    expect(Array.from(r.out)).toEqual([0, 1, 2, 0, 1]);
  });

  it('respects eligibility and slots; -1 slots stay unlimited', () => {
    const k = make();
    setup(k, [[8, 8, 0, 0], [8, 8, 0, 0], [8, 8, 0, 0]]);
    k.elig()[0] = 0;
    k.slots()[1] = 1;
    const r = k.place(opts([1, 1, 0, 0], 3));
    expect(Array.from(r.out)).toEqual([1, 2, 2]);
    expect(Array.from(k.slots())).toEqual([-1, 0, -1]);
  });

  it('a zero ask always fits, even against negative free capacity', () => {
    const k = make();
    setup(k, [[4, 4, 4, 0]], [[4, 4, -1, 0]]);
    expect(k.place(opts([1, 0, 0, 0], 1)).placed).toBe(1);
    expect(k.place(opts([0, 0, 1, 0], 1)).placed).toBe(0);
  });

  it('scores only dimensions with capacity; none gives binpack 0 and spread 1', () => {
    const k = make();
    setup(k, [[4, 0, 0, 0], [0, 0, 0, 0]], [[2, 0, 0, 0], [0, 0, 0, 0]]);
    const ask = Float64Array.from([1, 0, 0, 0]);
    expect(k.score(0, ask, 0)).toBe(0.75);
    expect(k.score(0, ask, 1)).toBe(0.25);
    expect(k.score(1, ask, 0)).toBe(0);
    expect(k.score(1, ask, 1)).toBe(1);
  });

  it('sampling with k=1 walks the fitting nodes round-robin from seed % N', () => {
    const k = make();
    setup(k, [[9, 9, 0, 0], [9, 9, 0, 0], [9, 9, 0, 0], [9, 9, 0, 0]]);
    k.elig()[3] = 0;
    const r = k.place(opts([1, 1, 0, 0], 5, { sampleK: 1, seed: 6 }));
    expect(Array.from(r.out)).toEqual([2, 0, 1, 2, 0]);
  });

  it('sampling with k=2 picks the better of the next two fitting nodes', () => {
    const k = make();
    setup(k, [[4, 4, 0, 0], [4, 4, 0, 0], [4, 4, 0, 0]], [[4, 4, 0, 0], [1, 1, 0, 0], [3, 3, 0, 0]]);
    const r = k.place(opts([1, 1, 0, 0], 2, { sampleK: 2, seed: 0 }));
    // agent 0 sees nodes 0,1 -> 1 (fuller); cursor 2: sees 2,0 -> 2.
    expect(Array.from(r.out)).toEqual([1, 2]);
  });

  it('even spread with weight 100 keeps per-value counts within one', () => {
    const k = make();
    setup(k, [[8, 8, 0, 0], [8, 8, 0, 0], [8, 8, 0, 0], [8, 8, 0, 0]]);
    const spread = {
      blocks: 1,
      maxValues: 2,
      values: Int32Array.from([0, 0, 0, 1]),
      counts: new Float64Array(2),
      desired: Float64Array.from([-1, -1]),
      weights: Float64Array.from([100]),
    };
    const r = k.place(opts([1, 1, 0, 0], 6, { spread }));
    expect(Array.from(r.out).filter((i) => i === 3)).toHaveLength(3);
    expect(Array.from(spread.counts)).toEqual([3, 3]);
  });

  it('percentage targets steer agents toward the desired counts', () => {
    const k = make();
    setup(k, [[99, 99, 0, 0], [99, 99, 0, 0]]);
    const spread = {
      blocks: 1,
      maxValues: 2,
      values: Int32Array.from([0, 1]),
      counts: new Float64Array(2),
      desired: Float64Array.from([3, 1]),
      weights: Float64Array.from([100]),
    };
    k.place(opts([1, 1, 0, 0], 4, { spread }));
    expect(Array.from(spread.counts)).toEqual([3, 1]);
  });

  it('a distinct_property limit caps agents per value; nodes without a value are free', () => {
    const k = make();
    setup(k, [[8, 8, 0, 0], [8, 8, 0, 0], [8, 8, 0, 0]]);
    const property = { values: Int32Array.from([0, 0, -1]), remaining: Int32Array.from([1]) };
    const r = k.place(opts([4, 4, 0, 0], 4, { property }));
    expect(Array.from(r.out)).toEqual([0, 2, 2, -1]);
    expect(Array.from(property.remaining)).toEqual([0]);
  });
});
