/** Seeded random kernel scenarios for the differential tests. */
import type { KernelPlaceOptions, PlacementKernel } from '../../../src/core/placement/kernel-types.js';

/** The fixtures' seeded PRNG (mulberry32), so tests and bench draw the same streams. */
import { rng } from '../../../bench/fixtures.js';

export { rng };

export interface Scenario {
  n: number;
  cap: Float64Array;
  free: Float64Array;
  elig: Uint8Array;
  slots: Int32Array;
  options: KernelPlaceOptions;
}

const CAPS = [0, 1, 2, 4, 8, 16, 0.3, 0.7, 3.1];
const ASKS = [0, 0, 0.1, 0.5, 1, 2, 3, 0.3];

export function randomScenario(seed: number, maxNodes = 40): Scenario {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const n = int(1, maxNodes);
  const cap = new Float64Array(4 * n);
  const free = new Float64Array(4 * n);
  const fineGrained = r() < 0.3;
  for (let k = 0; k < 4 * n; k++) {
    const c = fineGrained ? Math.round(r() * 1000) / 100 : pick(CAPS);
    cap[k] = c;
    free[k] = r() < 0.5 ? c : r() < 0.5 ? c * r() : Math.max(0, c - pick(ASKS) * int(0, 4));
    if (r() < 0.02) free[k] = -1;
  }
  const elig = new Uint8Array(n);
  const slots = new Int32Array(n);
  const eligP = r();
  for (let i = 0; i < n; i++) {
    elig[i] = r() < 0.3 + 0.7 * eligP ? 1 : 0;
    slots[i] = r() < 0.6 ? -1 : int(0, 3);
  }
  const ask = new Float64Array(4);
  for (let d = 0; d < 4; d++) ask[d] = fineGrained ? (r() < 0.3 ? 0 : Math.round(r() * 300) / 100) : pick(ASKS);
  const options: KernelPlaceOptions = {
    ask,
    strategy: int(0, 1),
    count: r() < 0.2 ? int(1, 2) : int(1, 80),
    sampleK: r() < 0.5 ? 0 : int(1, 4),
    seed: Math.floor(r() * 4294967296),
    spread: null,
    property: null,
  };
  if (r() < 0.4) {
    const blocks = int(1, 2);
    const maxValues = int(1, 4);
    const values = new Int32Array(blocks * n);
    for (let k = 0; k < values.length; k++) values[k] = int(-1, maxValues - 1);
    const counts = new Float64Array(blocks * maxValues);
    const desired = new Float64Array(blocks * maxValues);
    const weights = new Float64Array(blocks);
    for (let b = 0; b < blocks; b++) {
      weights[b] = pick([0, 50, 100, 33]);
      const even = r() < 0.5;
      for (let v = 0; v < maxValues; v++) {
        counts[b * maxValues + v] = int(0, 3);
        desired[b * maxValues + v] = even ? -1 : int(0, 20);
      }
    }
    options.spread = { blocks, maxValues, values, counts, desired, weights };
  }
  if (r() < 0.3) {
    const nv = int(1, 3);
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) values[i] = int(-1, nv - 1);
    const remaining = new Int32Array(nv);
    for (let v = 0; v < nv; v++) remaining[v] = int(0, 5);
    options.property = { values, remaining };
  }
  return { n, cap, free, elig, slots, options };
}

/** A deep copy of the options whose in-place counters (spread counts, property allowance) are fresh. */
export function cloneOptions(o: KernelPlaceOptions): KernelPlaceOptions {
  return {
    ...o,
    ask: o.ask.slice(),
    spread: o.spread
      ? { ...o.spread, values: o.spread.values.slice(), counts: o.spread.counts.slice(), desired: o.spread.desired.slice(), weights: o.spread.weights.slice() }
      : null,
    property: o.property ? { values: o.property.values.slice(), remaining: o.property.remaining.slice() } : null,
  };
}

export interface RunResult {
  placed: number;
  out: number[];
  free: number[];
  slots: number[];
  counts: number[];
  remaining: number[];
}

/** Loads a scenario into a kernel, runs one placement and captures everything it mutates. */
export function runScenario(kernel: PlacementKernel, s: Scenario): RunResult {
  kernel.load(s.cap, s.free, s.n);
  kernel.elig().set(s.elig);
  kernel.slots().set(s.slots);
  const o = cloneOptions(s.options);
  const r = kernel.place(o);
  return {
    placed: r.placed,
    out: Array.from(r.out),
    free: Array.from(kernel.free()),
    slots: Array.from(kernel.slots()),
    counts: o.spread ? Array.from(o.spread.counts) : [],
    remaining: o.property ? Array.from(o.property.remaining) : [],
  };
}
