/**
 * A literal transcription of docs/placement-kernel.md with no shortcuts: every agent rescans every
 * node. The optimised kernels (JS heap/fill paths, WebAssembly) are checked against it.
 */
import type { KernelPlaceOptions } from '../../../src/core/placement/kernel-types.js';

export interface NaiveState {
  n: number;
  cap: Float64Array;
  free: Float64Array;
  elig: Uint8Array;
  slots: Int32Array;
}

export function naiveScore(s: NaiveState, i: number, ask: Float64Array, strategy: number): number {
  let sum = 0;
  let dims = 0;
  for (let d = 0; d < 4; d++) {
    const c = s.cap[d * s.n + i]!;
    if (c > 0) {
      sum += (c - s.free[d * s.n + i]! + ask[d]!) / c;
      dims++;
    }
  }
  const u = dims > 0 ? sum / dims : 0;
  return strategy === 0 ? u : 1 - u;
}

export function naivePlace(s: NaiveState, o: KernelPlaceOptions): { placed: number; out: Int32Array } {
  const { n } = s;
  const out = new Int32Array(o.count).fill(-1);
  const fits = (i: number): boolean => {
    if (s.elig[i] !== 1 || s.slots[i] === 0) return false;
    for (let d = 0; d < 4; d++) {
      if (o.ask[d] !== 0 && !(s.free[d * n + i]! >= o.ask[d]!)) return false;
    }
    if (o.property) {
      const v = o.property.values[i]!;
      if (v >= 0 && !(o.property.remaining[v]! > 0)) return false;
    }
    return true;
  };
  const finalScore = (i: number): number => {
    let base = naiveScore(s, i, o.ask, o.strategy);
    // GPU reserve (no GPU asked): 1 when all the node's GPUs are free, 0.5 when some are.
    const c = s.cap[3 * n + i]!;
    const g = s.free[3 * n + i]!;
    if (o.ask[3] === 0 && c > 0) {
      if (g >= c) base -= 1;
      else if (g > 0) base -= 0.5;
    }
    const sp = o.spread;
    if (!sp || sp.blocks === 0) return base;
    let boost = 0;
    for (let b = 0; b < sp.blocks; b++) {
      const w = sp.weights[b]! / 100;
      const v = sp.values[b * n + i]!;
      if (v < 0) {
        boost += -1 * w;
        continue;
      }
      const want = sp.desired[b * sp.maxValues + v]!;
      const have = sp.counts[b * sp.maxValues + v]!;
      if (want > 0) boost += ((want - (have + 1)) / want) * w;
      else if (want < 0) {
        let min = Infinity;
        for (let u = 0; u < sp.maxValues; u++) {
          let present = false;
          for (let k = 0; k < n; k++) if (s.elig[k] === 1 && sp.values[b * n + k] === u) present = true;
          if (present) min = Math.min(min, sp.counts[b * sp.maxValues + u]!);
        }
        if (min === Infinity) min = 0;
        boost += -2 * (have - min) * w;
      } else boost += -1 * w;
    }
    return base + boost;
  };
  const commit = (i: number): void => {
    for (let d = 0; d < 4; d++) s.free[d * n + i] = s.free[d * n + i]! - o.ask[d]!;
    if (s.slots[i]! > 0) s.slots[i] = s.slots[i]! - 1;
    const sp = o.spread;
    if (sp) {
      for (let b = 0; b < sp.blocks; b++) {
        const v = sp.values[b * n + i]!;
        if (v >= 0) sp.counts[b * sp.maxValues + v] = sp.counts[b * sp.maxValues + v]! + 1;
      }
    }
    if (o.property) {
      const v = o.property.values[i]!;
      if (v >= 0) o.property.remaining[v] = o.property.remaining[v]! - 1;
    }
  };
  let cursor = n > 0 ? (o.seed >>> 0) % n : 0;
  let placed = 0;
  for (let j = 0; j < o.count && n > 0; j++) {
    let best = -Infinity;
    let chosen = -1;
    if (o.sampleK > 0) {
      let found = 0;
      let i = cursor;
      for (let visited = 0; visited < n; visited++) {
        if (fits(i)) {
          const sc = finalScore(i);
          if (chosen < 0 || sc > best) {
            best = sc;
            chosen = i;
          }
          found++;
        }
        i = (i + 1) % n;
        if (found === o.sampleK) break;
      }
      cursor = i;
    } else {
      for (let i = 0; i < n; i++) {
        if (!fits(i)) continue;
        const sc = finalScore(i);
        if (chosen < 0 || sc > best) {
          best = sc;
          chosen = i;
        }
      }
    }
    if (chosen < 0) break;
    commit(chosen);
    out[j] = chosen;
    placed++;
  }
  return { placed, out };
}
