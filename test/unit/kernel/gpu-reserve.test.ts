/**
 * GPU reserve (docs/placement-kernel.md): an agent asking no GPU ranks a machine whose GPUs are
 * all free 1 lower and one with some GPUs free 0.5 lower, so CPU-only work leaves GPU machines'
 * CPU and memory for GPU work. Ranking only: fit and the reported score are unchanged. Checked on
 * every engine and kernel path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import type { KernelPlaceOptions, PlacementKernel } from '../../../src/core/placement/kernel-types.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { compilePlacementBuild } from '../../../src/solver/wasm-module.js';
import { ensureWasm } from '../solver/ensure-wasm.js';
import { opts, setup } from './hand-setup.js';

beforeAll(ensureWasm);


const engines: Array<[string, () => PlacementKernel]> = [
  ['js', () => new JsKernel()],
  ['wasm scalar', () => new WasmKernel(compilePlacementBuild('scalar'))],
  ['wasm simd', () => new WasmKernel(compilePlacementBuild('simd'))],
];

// A GPU machine (8 GPUs, all free) three-quarters full on CPU and memory, a CPU machine, and a
// second CPU machine (odd node count: the SIMD scan's scalar tail is exercised too).
const GPU = [32, 256, 0, 8];
const CPU = [16, 64, 0, 0];
const caps = [GPU, CPU, CPU];
const busyGpu = [[8, 64, 0, 8], CPU, CPU];
const cpuAsk = [1, 1, 0, 0];

describe.each(engines)('%s: GPU reserve', (_name, make) => {
  it('a CPU-only agent goes to the CPU machine although the whole GPU machine scores higher (binpack)', () => {
    const k = make();
    setup(k, caps, busyGpu);
    const ask = Float64Array.from(cpuAsk);
    // Without the reserve binpack would take node 0: it is the fuller one.
    expect(k.score(0, ask, 0)).toBeGreaterThan(k.score(1, ask, 0));
    for (const count of [1, 2, 5]) {
      setup(k, caps, busyGpu);
      const r = k.place(opts(cpuAsk, count));
      expect(Array.from(r.out)).toEqual(new Array(count).fill(1));
    }
    setup(k, caps, busyGpu);
    expect(Array.from(k.place(opts(cpuAsk, 3, { sampleK: 3 })).out)).toEqual([1, 1, 1]);
  });

  it('spread too: an equal-or-better whole GPU machine loses to the CPU machines', () => {
    const k = make();
    setup(k, [GPU, CPU, CPU]); // all empty: every node has the same spread score before the reserve
    const ask = Float64Array.from([1, 0, 0, 0]);
    expect(k.score(0, ask, 1)).toBeGreaterThan(k.score(1, ask, 1));
    const r = k.place(opts([1, 0, 0, 0], 4, { strategy: 1 }));
    expect(Array.from(r.out)).toEqual([1, 2, 1, 2]);
  });

  it('no reserve once every GPU is in use; partly used GPU machines rank between', () => {
    const k = make();
    setup(k, caps, [[8, 64, 0, 0], CPU, CPU]);
    expect(Array.from(k.place(opts(cpuAsk, 1)).out)).toEqual([0]);
    // Spread alone would take the emptier whole machine (node 0); the partly used one ranks higher.
    setup(k, [GPU, GPU], [GPU, [32, 256, 0, 4]]);
    const ask = Float64Array.from(cpuAsk);
    expect(k.score(0, ask, 1)).toBeGreaterThan(k.score(1, ask, 1));
    expect(Array.from(k.place(opts(cpuAsk, 1, { strategy: 1 })).out)).toEqual([1]);
    // The partial reserve is half a point: a busy CPU machine beats a partly used GPU machine
    // that binpack alone would prefer.
    setup(k, [GPU, CPU], [[4, 32, 0, 1], [4, 16, 0, 0]]);
    expect(k.score(0, ask, 0)).toBeGreaterThan(k.score(1, ask, 0));
    expect(Array.from(k.place(opts(cpuAsk, 1)).out)).toEqual([1]);
  });

  it('agents that ask a GPU rank GPU machines by the plain score', () => {
    const k = make();
    // Two GPU machines: the GPU agent binpacks onto the fuller one, whole or not.
    setup(k, [GPU, GPU, CPU], [[8, 64, 0, 8], [32, 256, 0, 8], CPU]);
    expect(Array.from(k.place(opts([1, 1, 0, 1], 1)).out)).toEqual([0]);
    setup(k, [GPU, GPU], [GPU, [32, 256, 0, 4]]);
    expect(Array.from(k.place(opts([1, 1, 0, 1], 1, { strategy: 1 })).out)).toEqual([0]);
  });

  it('never refuses a feasible placement: overflow goes to the GPU machine', () => {
    const k = make();
    setup(k, [GPU, CPU], [[8, 64, 0, 8], CPU]);
    const r = k.place(opts([1, 1, 0, 0], 20));
    expect(r.placed).toBe(20);
    expect(Array.from(r.out)).toEqual([...new Array(16).fill(1), 0, 0, 0, 0]);
    // An ask only the GPU machine can hold.
    setup(k, [GPU, CPU]);
    expect(Array.from(k.place(opts([20, 1, 0, 0], 1)).out)).toEqual([0]);
  });

  it('even spread blocks (weight 100) still keep counts within one', () => {
    const k = make();
    // Value 0 only on the whole GPU machine, value 1 on the CPU machines.
    setup(k, [GPU, CPU, CPU]);
    const counts = new Float64Array(2);
    const r = k.place(
      opts([1, 1, 0, 0], 4, {
        spread: { blocks: 1, maxValues: 2, values: Int32Array.from([0, 1, 1]), counts, desired: Float64Array.from([-1, -1]), weights: Float64Array.from([100]) },
      }),
    );
    expect(r.placed).toBe(4);
    expect(Array.from(counts)).toEqual([2, 2]);
  });

  it('over fleets of identical machines (state-group index): CPU machines fill first', () => {
    const k = make();
    const rows: number[][] = [];
    // Smaller GPU machines: binpack alone would fill them first.
    for (let i = 0; i < 60; i++) rows.push(i % 2 === 0 ? [4, 16, 0, 4] : [8, 32, 0, 0]);
    setup(k, rows);
    const seen: number[] = [];
    for (let a = 0; a < 30 * 8; a++) seen.push(k.place(opts([1, 1, 0, 0], 1)).out[0]!);
    expect(seen.every((i) => i % 2 === 1)).toBe(true);
    // CPU machines are full now; the next agent goes to a GPU machine.
    expect(k.place(opts([1, 1, 0, 0], 1)).out[0]! % 2).toBe(0);
  });
});
