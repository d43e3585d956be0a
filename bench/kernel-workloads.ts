/**
 * Drives a placement kernel through the SB workloads and measures throughput, per-placement
 * latency and placement quality (checked independently of the kernel).
 */
import type { PlacementKernel } from '../src/core/placement/kernel-types.js';
import type { KernelClass } from './fixtures.js';

export interface Columns {
  n: number;
  cap: Float64Array;
  free: Float64Array;
}

export interface StreamResult {
  placements: number;
  requested: number;
  /** Time inside `place` calls only. */
  totalMs: number;
  perPlacementUs: { p50: number; p99: number; max: number };
  placementsPerSec: number;
  /** Node per agent, in order. */
  nodes: Int32Array;
  freeAfter: Float64Array;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Places each class (count 1 each, usually) in order with one kernel call per class. */
export function runStream(
  kernel: PlacementKernel,
  cols: Columns,
  classes: readonly KernelClass[],
  strategy: number,
  sampleK: number,
  seed = 1,
): StreamResult {
  return runStreams([kernel], cols, classes, strategy, sampleK, seed)[0]!;
}

/**
 * `runStream` for several kernels at once, each on its own copy of the state, taking turns every
 * `chunk` classes (the order rotates per chunk). On a noisy machine this pairs the engines' times
 * closely, while each still runs a chunk with its own data in cache.
 */
export function runStreams(
  kernels: readonly PlacementKernel[],
  cols: Columns,
  classes: readonly KernelClass[],
  strategy: number,
  sampleK: number,
  seed = 1,
  chunk = 250,
): StreamResult[] {
  const total = classes.reduce((s, c) => s + c.count, 0);
  const state = kernels.map((kernel) => {
    kernel.load(cols.cap, cols.free, cols.n);
    return { kernel, times: new Float64Array(classes.length), nodes: new Int32Array(total).fill(-1), placed: 0, j: 0 };
  });
  for (let from = 0, turn = 0; from < classes.length; from += chunk, turn++) {
    const to = Math.min(classes.length, from + chunk);
    for (let e = 0; e < state.length; e++) {
      const st = state[(e + turn) % state.length]!;
      const kernel = st.kernel;
      for (let k = from; k < to; k++) {
        const c = classes[k]!;
        kernel.elig().set(c.elig);
        if (c.slots) kernel.slots().set(c.slots);
        else kernel.slots().fill(-1);
        const s = performance.now();
        const r = kernel.place({ ask: c.ask, strategy, count: c.count, sampleK, seed: seed + k * 7919 });
        st.times[k] = performance.now() - s;
        st.placed += r.placed;
        st.nodes.set(r.out, st.j);
        st.j += c.count;
      }
    }
  }
  return state.map(({ kernel, times, nodes, placed }) => {
    const placeMs = times.reduce((a, b) => a + b, 0);
    times.sort();
    return {
      placements: placed,
      requested: total,
      totalMs: placeMs,
      perPlacementUs: { p50: percentile(times, 0.5) * 1000, p99: percentile(times, 0.99) * 1000, max: times[times.length - 1]! * 1000 },
      placementsPerSec: placeMs > 0 ? (placed / placeMs) * 1000 : 0,
      nodes,
      freeAfter: kernel.free().slice(),
    };
  });
}

export interface Quality {
  /** Hard-rule breaches found by `checkPlacements` (must be 0). */
  violations: number;
  placed: number;
  requested: number;
  nodesUsed: number;
  /** 1 − Σ cpu capacity of used nodes / Σ cpu capacity. */
  capacityUntouched: number;
  /** 1 − placed cpu demand / cpu capacity: no placement can leave more cpu capacity untouched. */
  capacityUntouchedBound: number;
  gpuNodes: number;
  /** GPU nodes with every GPU free after placement. */
  gpuNodesWhole: number;
}

/**
 * Independent check of a kernel run: every placed agent went to an eligible node within its slots,
 * and on every node the placed asks fit the initial free capacity in each asked dimension.
 */
export function checkPlacements(cols: Columns, classes: readonly KernelClass[], nodes: Int32Array): Quality {
  const { n, cap, free } = cols;
  const demand = new Float64Array(4 * n);
  let violations = 0;
  let j = 0;
  let placed = 0;
  const total = new Float64Array(4);
  for (const c of classes) {
    const slotUse = new Map<number, number>();
    for (let a = 0; a < c.count; a++, j++) {
      const i = nodes[j]!;
      if (i < 0) continue;
      placed++;
      if (c.elig[i] !== 1) violations++;
      if (c.slots) {
        const u = (slotUse.get(i) ?? 0) + 1;
        slotUse.set(i, u);
        if (c.slots[i]! >= 0 && u > c.slots[i]!) violations++;
      }
      for (let d = 0; d < 4; d++) {
        demand[d * n + i] = demand[d * n + i]! + c.ask[d]!;
        total[d] = total[d]! + c.ask[d]!;
      }
    }
  }
  let nodesUsed = 0;
  let capUsed = 0;
  let capAll = 0;
  const capSum = new Float64Array(4);
  let gpuNodes = 0;
  let gpuWhole = 0;
  for (let i = 0; i < n; i++) {
    let used = false;
    for (let d = 0; d < 4; d++) {
      capSum[d] = capSum[d]! + cap[d * n + i]!;
      const dem = demand[d * n + i]!;
      if (dem > 0) used = true;
      if (dem > 0 && dem > free[d * n + i]! * (1 + 1e-12) + 1e-9) violations++;
    }
    capAll += cap[i]!;
    if (used) {
      nodesUsed++;
      capUsed += cap[i]!;
    }
    if (cap[3 * n + i]! > 0) {
      gpuNodes++;
      if (demand[3 * n + i] === 0 && free[3 * n + i] === cap[3 * n + i]) gpuWhole++;
    }
  }
  return {
    violations,
    placed,
    requested: j,
    nodesUsed,
    capacityUntouched: capAll > 0 ? 1 - capUsed / capAll : 0,
    capacityUntouchedBound: capSum[0]! > 0 ? 1 - total[0]! / capSum[0]! : 1,
    gpuNodes,
    gpuNodesWhole: gpuWhole,
  };
}
