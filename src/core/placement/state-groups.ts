/**
 * The node-state index shared by both placement kernels (docs/placement-kernel.md, "State
 * groups"): nodes whose capacity and free capacity are bit-identical in all four dimensions form
 * one group. Every member of a group has the same exact score for any ask and the same resource
 * fit, so an exhaustive scan may score one member per group and take the group's lowest-index
 * member that passes the per-node checks (eligibility, slots, property limit). A node leaves its
 * group for good the first time a placement (or the caller) changes its free capacity; from then
 * on it is scored on its own.
 *
 * Both kernels build the index with this one function (the WebAssembly host writes the arrays into
 * linear memory), so the groups, their order and their member order are the same in both.
 */
import { DIMENSIONS } from './kernel-types.js';

/** Arrays of a state-group index; all `i32`, sized for at least `n` entries. */
export interface StateGroupArrays {
  /** Group of node i while it is still an untouched member, else -1. */
  grp: Int32Array;
  /** Members of every group, groups one after the other, each in ascending node index. */
  mem: Int32Array;
  /** Range of group g in `mem`: `[start[g], end[g])`. */
  start: Int32Array;
  end: Int32Array;
}

/** Open-addressing table, reused across builds. */
let table = new Int32Array(0);

/**
 * Groups nodes by the bit pattern of `cap[d*n+i]` and `free[d*n+i]`, d = 0..3. Groups are numbered
 * in order of their lowest-index member. Returns the number of groups, or -1 when some capacity or
 * free value is not finite (the index is then not used: exact ties are only guaranteed for
 * finite columns).
 */
export function buildStateGroups(cap: Float64Array, free: Float64Array, n: number, out: StateGroupArrays): number {
  const len = DIMENSIONS * n;
  for (let k = 0; k < len; k++) {
    if (!Number.isFinite(cap[k]!) || !Number.isFinite(free[k]!)) return -1;
  }
  const cw = new Uint32Array(cap.buffer, cap.byteOffset, 2 * len);
  const fw = new Uint32Array(free.buffer, free.byteOffset, 2 * len);
  let size = 16;
  while (size < 2 * n) size <<= 1;
  if (table.length < size) table = new Int32Array(size);
  table.fill(-1, 0, size);
  const mask = size - 1;
  const { grp, mem, start, end } = out;
  // `start` holds each group's first member (its representative) during pass 1, `end` its size.
  let groups = 0;
  for (let i = 0; i < n; i++) {
    let h = 0x811c9dc5;
    for (let d = 0; d < DIMENSIONS; d++) {
      const w = 2 * (d * n + i);
      h = Math.imul(h ^ cw[w]!, 0x01000193);
      h = Math.imul(h ^ cw[w + 1]!, 0x01000193);
      h = Math.imul(h ^ fw[w]!, 0x01000193);
      h = Math.imul(h ^ fw[w + 1]!, 0x01000193);
    }
    h ^= h >>> 15;
    let slot = h & mask;
    let g = -1;
    for (;;) {
      const t = table[slot]!;
      if (t < 0) break;
      const r = start[t]!;
      let same = true;
      for (let d = 0; d < DIMENSIONS && same; d++) {
        const wi = 2 * (d * n + i);
        const wr = 2 * (d * n + r);
        same = cw[wi] === cw[wr] && cw[wi + 1] === cw[wr + 1] && fw[wi] === fw[wr] && fw[wi + 1] === fw[wr + 1];
      }
      if (same) {
        g = t;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (g < 0) {
      g = groups++;
      table[slot] = g;
      start[g] = i;
      end[g] = 0;
    }
    grp[i] = g;
    end[g] = end[g]! + 1;
  }
  // Pass 2: ranges by prefix sums, members in ascending node index.
  let offset = 0;
  for (let g = 0; g < groups; g++) {
    const count = end[g]!;
    start[g] = offset;
    end[g] = offset;
    offset += count;
  }
  for (let i = 0; i < n; i++) {
    const g = grp[i]!;
    mem[end[g]!] = i;
    end[g] = end[g]! + 1;
  }
  return groups;
}
