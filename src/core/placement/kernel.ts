/**
 * The JavaScript reference placement kernel. It implements docs/placement-kernel.md over the same
 * columnar layout as the WebAssembly kernel (`assembly/kernel.ts`) and must return identical
 * results; the differential tests hold the two together. It is also the fallback engine when
 * WebAssembly is unavailable.
 *
 * Buffers are grow-only and reused across calls, so a `place` call allocates nothing per agent.
 * `cap()` is for reading: the reciprocal columns the pruned scan uses are derived from capacity in
 * `load`, so capacity changes go through `load`.
 */
import {
  checkKernelColumns,
  checkKernelTouch,
  DIMENSIONS,
  fitsScalar,
  STRATEGY_BINPACK,
  type KernelOptions,
  type KernelPlaceOptions,
  type PlacementKernel,
} from './kernel-types.js';
import { buildStateGroups, type StateGroupArrays } from './state-groups.js';

const EMPTY_F64: Float64Array = new Float64Array(0);
const EMPTY_I32: Int32Array = new Int32Array(0);
const EMPTY_U8: Uint8Array = new Uint8Array(0);

/**
 * Tolerance of the pruning pass (see `bestPruned`): the reciprocal-multiplied score differs from
 * the exact score by at most ~13 ulp of (1 + Σ|terms|); 2^-40 leaves a margin of several hundred.
 */
const PRUNE_TOL = 2 ** -40;

/**
 * GPU reserve (docs/placement-kernel.md): when the agent asks no GPU, subtracted from the ranking
 * score of a node with GPU capacity: `GPU_RESERVE` when all its GPUs are free, `GPU_RESERVE_PARTIAL`
 * when some are. CPU-only work fills machines without free GPUs first, then partly used GPU
 * machines, and whole GPU machines last, so their CPU and memory stay for GPU work. Ranking only:
 * it never changes fit, and `score()` (the reported score) leaves it out.
 */
export const GPU_RESERVE = 1;
export const GPU_RESERVE_PARTIAL = 0.5;

/** The GPU reserve of a node with GPU capacity `c` (> 0) and free GPUs `g`. */
function gpuReserve(c: number, g: number): number {
  return g >= c ? GPU_RESERVE : g > 0 ? GPU_RESERVE_PARTIAL : 0;
}

/** `groups` before the state-group index is built for the loaded columns. */
const INDEX_NONE = -2;

/** Buffer capacity for `need` elements: grow geometrically so repeated loads stay amortised. */
function grown(current: number, need: number): number {
  return Math.max(need, current * 2, 16);
}

export class JsKernel implements PlacementKernel {
  readonly engine = 'js' as const;

  private n = 0;
  private capBuf = EMPTY_F64;
  private freeBuf = EMPTY_F64;
  /** 1/cap where cap > 0 (else 0), and 1/(dimensions with cap > 0) (or 0): pruning only. */
  private invCapBuf = EMPTY_F64;
  private invDimsBuf = EMPTY_F64;
  private eligBuf = EMPTY_U8;
  /** `eligBuf` read four nodes at a time (the pruned scan skips all-zero words). */
  private elig32: Uint32Array = new Uint32Array(0);
  private slotsBuf = EMPTY_I32;
  private capView = EMPTY_F64;
  private freeView = EMPTY_F64;
  private eligView = EMPTY_U8;
  private slotsView = EMPTY_I32;

  /** Per-call scratch: output, node scores and a binary heap of node indices. */
  private outBuf = EMPTY_I32;
  private outView = EMPTY_I32;
  private scoreBuf = EMPTY_F64;
  private heapBuf = EMPTY_I32;
  /** Spread scratch: per-block weight, per-(block, value) boost term, per-value presence on eligible nodes. */
  private weightBuf = EMPTY_F64;
  private termBuf = EMPTY_F64;
  private presentBuf = EMPTY_U8;

  /** The state of the current `place` call, held in fields so helpers need no arguments. */
  private a0 = 0;
  private a1 = 0;
  private a2 = 0;
  private a3 = 0;
  private strategy = STRATEGY_BINPACK;
  private blocks = 0;
  private maxValues = 0;
  private spreadVal = EMPTY_I32;
  private spreadCount = EMPTY_F64;
  private spreadDesired = EMPTY_F64;
  private propVal: Int32Array | null = null;
  private propRem = EMPTY_I32;

  /**
   * State-group index (see state-groups.ts): built lazily by the first exhaustive single-agent
   * call after `load`; `groups` is INDEX_NONE before that and -1 when the columns cannot be
   * indexed. `head[g]` skips members that left group g; `touched` lists nodes that left a group.
   */
  private groups = INDEX_NONE;
  private index: StateGroupArrays = { grp: EMPTY_I32, mem: EMPTY_I32, start: EMPTY_I32, end: EMPTY_I32 };
  private headBuf = EMPTY_I32;
  private touchedBuf = EMPTY_I32;
  private touchedCount = 0;

  private readonly result = { placed: 0, out: EMPTY_I32 };
  private readonly stateIndex: boolean;

  constructor(options: KernelOptions = {}) {
    this.stateIndex = options.stateIndex ?? true;
  }

  get nodeCount(): number {
    return this.n;
  }

  load(cap: Float64Array, free: Float64Array, n: number): void {
    checkKernelColumns(cap, free, n);
    const len = DIMENSIONS * n;
    if (this.capBuf.length < len) {
      const size = grown(this.capBuf.length, len);
      this.capBuf = new Float64Array(size);
      this.freeBuf = new Float64Array(size);
      this.invCapBuf = new Float64Array(size);
    }
    if (this.eligBuf.length < n) {
      const size = grown(this.eligBuf.length, n + 3) & ~3;
      this.eligBuf = new Uint8Array(size);
      this.elig32 = new Uint32Array(this.eligBuf.buffer, 0, size >> 2);
      this.slotsBuf = new Int32Array(size);
      this.scoreBuf = new Float64Array(size);
      this.heapBuf = new Int32Array(size);
      this.invDimsBuf = new Float64Array(size);
      this.index = { grp: new Int32Array(size), mem: new Int32Array(size), start: new Int32Array(size), end: new Int32Array(size) };
      this.headBuf = new Int32Array(size);
      this.touchedBuf = new Int32Array(size);
    }
    this.groups = INDEX_NONE;
    this.touchedCount = 0;
    this.n = n;
    this.capView = this.capBuf.subarray(0, len);
    this.freeView = this.freeBuf.subarray(0, len);
    this.eligView = this.eligBuf.subarray(0, n);
    this.slotsView = this.slotsBuf.subarray(0, n);
    this.capView.set(cap.subarray(0, len));
    this.freeView.set(free.subarray(0, len));
    this.eligView.fill(0);
    this.slotsView.fill(-1);
    const capBuf = this.capBuf;
    const inv = this.invCapBuf;
    for (let i = 0; i < n; i++) {
      let dims = 0;
      for (let d = 0; d < DIMENSIONS; d++) {
        const c = capBuf[d * n + i]!;
        inv[d * n + i] = c > 0 ? 1 / c : 0;
        if (c > 0) dims++;
      }
      this.invDimsBuf[i] = dims > 0 ? 1 / dims : 0;
    }
  }

  cap(): Float64Array {
    return this.capView;
  }

  free(): Float64Array {
    return this.freeView;
  }

  elig(): Uint8Array {
    return this.eligView;
  }

  slots(): Int32Array {
    return this.slotsView;
  }

  touch(i: number): void {
    checkKernelTouch(this.freeBuf, this.n, i);
    if (this.groups >= 0) this.detach(i);
  }

  score(i: number, ask: Float64Array, strategy: number): number {
    const n = this.n;
    const cap = this.capBuf;
    const free = this.freeBuf;
    let sum = 0;
    let dims = 0;
    for (let d = 0; d < DIMENSIONS; d++) {
      const c = cap[d * n + i]!;
      if (c > 0) {
        sum += (c - free[d * n + i]! + ask[d]!) / c;
        dims++;
      }
    }
    const u = dims > 0 ? sum / dims : 0;
    return strategy === STRATEGY_BINPACK ? u : 1 - u;
  }

  place(options: KernelPlaceOptions): { placed: number; out: Int32Array } {
    const count = Math.max(0, options.count | 0);
    const out = this.outputView(count);
    out.fill(-1);
    const result = this.result;
    result.out = out;
    result.placed = 0;
    const n = this.n;
    if (count === 0 || n === 0) return result;

    const ask = options.ask;
    this.a0 = ask[0]!;
    this.a1 = ask[1]!;
    this.a2 = ask[2]!;
    this.a3 = ask[3]!;
    this.strategy = options.strategy | 0;

    const spread = options.spread;
    this.blocks = spread && spread.blocks > 0 ? spread.blocks : 0;
    if (this.blocks > 0) {
      this.prepareSpread(spread!.values, spread!.counts, spread!.desired, spread!.weights, spread!.maxValues);
    } else {
      this.spreadVal = EMPTY_I32;
      this.spreadCount = EMPTY_F64;
      this.spreadDesired = EMPTY_F64;
    }
    const property = options.property;
    this.propVal = property ? property.values : null;
    this.propRem = property ? property.remaining : EMPTY_I32;

    const sampleK = options.sampleK | 0;
    if (this.stateIndex && sampleK === 0 && this.blocks === 0 && count <= 2 && this.groups === INDEX_NONE) this.buildIndex();
    let placed: number;
    if (sampleK > 0) {
      placed = this.placeSampled(out, count, sampleK, options.seed >>> 0);
    } else if (this.blocks > 0 || count <= 2) {
      placed = this.placeScan(out, count);
    } else {
      placed = this.placeHeap(out, count);
    }
    result.placed = placed;
    this.spreadVal = EMPTY_I32;
    this.spreadCount = EMPTY_F64;
    this.spreadDesired = EMPTY_F64;
    this.propVal = null;
    this.propRem = EMPTY_I32;
    return result;
  }

  private outputView(count: number): Int32Array {
    if (this.outView.length === count) return this.outView;
    if (this.outBuf.length < count) this.outBuf = new Int32Array(grown(this.outBuf.length, count));
    this.outView = this.outBuf.subarray(0, count);
    return this.outView;
  }

  private prepareSpread(
    values: Int32Array,
    counts: Float64Array,
    desired: Float64Array,
    weights: Float64Array,
    maxValues: number,
  ): void {
    const blocks = this.blocks;
    const n = this.n;
    this.spreadVal = values;
    this.spreadCount = counts;
    this.spreadDesired = desired;
    this.maxValues = maxValues;
    if (this.weightBuf.length < blocks) {
      this.weightBuf = new Float64Array(grown(this.weightBuf.length, blocks));
    }
    if (this.termBuf.length < blocks * (maxValues + 1)) {
      this.termBuf = new Float64Array(grown(this.termBuf.length, blocks * (maxValues + 1)));
    }
    const sv = blocks * maxValues;
    if (this.presentBuf.length < sv) this.presentBuf = new Uint8Array(grown(this.presentBuf.length, sv));
    const present = this.presentBuf;
    present.fill(0, 0, sv);
    const elig = this.eligBuf;
    for (let b = 0; b < blocks; b++) {
      this.weightBuf[b] = weights[b]! / 100;
      const base = b * n;
      const vbase = b * maxValues;
      for (let i = 0; i < n; i++) {
        const v = values[base + i]!;
        if (v >= 0 && elig[i] === 1) present[vbase + v] = 1;
      }
    }
  }

  /**
   * Recomputes, per block, the even-spread minimum (smallest count among values present on an
   * eligible node) and then the boost term of every value (slot 0: node lacks the attribute). A
   * node's boost is the sum of its values' terms in block order: the same expressions as
   * evaluating them per node, so the doubles are identical.
   */
  private refreshSpreadTerms(): void {
    const blocks = this.blocks;
    const maxValues = this.maxValues;
    const stride = maxValues + 1;
    const counts = this.spreadCount;
    const desired = this.spreadDesired;
    const present = this.presentBuf;
    const terms = this.termBuf;
    for (let b = 0; b < blocks; b++) {
      const vbase = b * maxValues;
      let min = Infinity;
      for (let v = 0; v < maxValues; v++) {
        if (present[vbase + v] === 1) {
          const c = counts[vbase + v]!;
          if (c < min) min = c;
        }
      }
      if (min === Infinity) min = 0;
      const w = this.weightBuf[b]!;
      const t = b * stride;
      terms[t] = -1 * w;
      for (let v = 0; v < maxValues; v++) {
        const want = desired[vbase + v]!;
        const have = counts[vbase + v]!;
        terms[t + v + 1] =
          want > 0 ? ((want - (have + 1)) / want) * w : want < 0 ? -2 * (have - min) * w : -1 * w;
      }
    }
  }

  /** Sum of the spread boosts of node i over all blocks, in block order. */
  private boost(i: number): number {
    const n = this.n;
    const stride = this.maxValues + 1;
    const values = this.spreadVal;
    const terms = this.termBuf;
    let total = 0;
    for (let b = 0; b < this.blocks; b++) total += terms[b * stride + values[b * n + i]! + 1]!;
    return total;
  }

  private fits(i: number): boolean {
    if (this.eligBuf[i] !== 1 || this.slotsBuf[i] === 0) return false;
    const n = this.n;
    const free = this.freeBuf;
    if (!fitsScalar(free[i]!, this.a0)) return false;
    if (!fitsScalar(free[n + i]!, this.a1)) return false;
    if (!fitsScalar(free[2 * n + i]!, this.a2)) return false;
    if (!fitsScalar(free[3 * n + i]!, this.a3)) return false;
    const pv = this.propVal;
    if (pv !== null) {
      const v = pv[i]!;
      if (v >= 0 && !(this.propRem[v]! > 0)) return false;
    }
    return true;
  }

  private baseScore(i: number): number {
    const n = this.n;
    const cap = this.capBuf;
    const free = this.freeBuf;
    let sum = 0;
    let dims = 0;
    let c = cap[i]!;
    if (c > 0) {
      sum += (c - free[i]! + this.a0) / c;
      dims++;
    }
    c = cap[n + i]!;
    if (c > 0) {
      sum += (c - free[n + i]! + this.a1) / c;
      dims++;
    }
    c = cap[2 * n + i]!;
    if (c > 0) {
      sum += (c - free[2 * n + i]! + this.a2) / c;
      dims++;
    }
    c = cap[3 * n + i]!;
    const g = free[3 * n + i]!;
    if (c > 0) {
      sum += (c - g + this.a3) / c;
      dims++;
    }
    const u = dims > 0 ? sum / dims : 0;
    const s = this.strategy === STRATEGY_BINPACK ? u : 1 - u;
    // GPU reserve: an agent asking no GPU ranks machines with free GPUs lower.
    if (this.a3 === 0 && c > 0) {
      const r = gpuReserve(c, g);
      if (r !== 0) return s - r;
    }
    return s;
  }

  private finalScore(i: number): number {
    const base = this.baseScore(i);
    return this.blocks > 0 ? base + this.boost(i) : base;
  }

  private commit(i: number): void {
    const n = this.n;
    const free = this.freeBuf;
    free[i] = free[i]! - this.a0;
    free[n + i] = free[n + i]! - this.a1;
    free[2 * n + i] = free[2 * n + i]! - this.a2;
    free[3 * n + i] = free[3 * n + i]! - this.a3;
    const s = this.slotsBuf[i]!;
    if (s > 0) this.slotsBuf[i] = s - 1;
    const blocks = this.blocks;
    if (blocks > 0) {
      const values = this.spreadVal;
      const counts = this.spreadCount;
      for (let b = 0; b < blocks; b++) {
        const v = values[b * n + i]!;
        if (v >= 0) counts[b * this.maxValues + v] = counts[b * this.maxValues + v]! + 1;
      }
    }
    const pv = this.propVal;
    if (pv !== null) {
      const v = pv[i]!;
      if (v >= 0) this.propRem[v] = this.propRem[v]! - 1;
    }
    if (this.groups >= 0) this.detach(i);
  }

  private buildIndex(): void {
    this.groups = buildStateGroups(this.capBuf, this.freeBuf, this.n, this.index);
    this.touchedCount = 0;
    if (this.groups > 0) this.headBuf.set(this.index.start.subarray(0, this.groups));
  }

  /** Node i's free capacity changed: it leaves its group and is scored on its own from now on. */
  private detach(i: number): void {
    const grp = this.index.grp;
    if (grp[i]! >= 0) {
      grp[i] = -1;
      this.touchedBuf[this.touchedCount++] = i;
    }
  }

  /** The index pays off while groups plus detached nodes stay well below the node count. */
  private indexWorth(): boolean {
    return this.groups >= 0 && (this.groups + this.touchedCount) * 3 <= this.n;
  }

  /**
   * `bestScan` over the state-group index: every detached node is scored exactly; every group is
   * scored once (all its members have the same exact score and resource fit) and contributes its
   * lowest-index member that fits. The result is the plain scan's: highest score, lowest index.
   */
  private bestIndexed(): number {
    const { grp, mem, end } = this.index;
    const head = this.headBuf;
    const touched = this.touchedBuf;
    let best = -Infinity;
    let chosen = -1;
    for (let t = 0; t < this.touchedCount; t++) {
      const i = touched[t]!;
      if (!this.fits(i)) continue;
      const s = this.baseScore(i);
      if (chosen < 0 || s > best || (s === best && i < chosen)) {
        best = s;
        chosen = i;
      }
    }
    const n = this.n;
    const free = this.freeBuf;
    for (let g = 0; g < this.groups; g++) {
      let h = head[g]!;
      const e = end[g]!;
      while (h < e && grp[mem[h]!] !== g) h++;
      head[g] = h;
      if (h === e) continue;
      const r = mem[h]!;
      if (!fitsScalar(free[r]!, this.a0)) continue;
      if (!fitsScalar(free[n + r]!, this.a1)) continue;
      if (!fitsScalar(free[2 * n + r]!, this.a2)) continue;
      if (!fitsScalar(free[3 * n + r]!, this.a3)) continue;
      const s = this.baseScore(r);
      if (chosen >= 0 && s < best) continue;
      const tie = chosen >= 0 && s === best;
      for (let k = h; k < e; k++) {
        const m = mem[k]!;
        if (tie && m > chosen) break;
        if (grp[m] === g && this.fits(m)) {
          best = s;
          chosen = m;
          break;
        }
      }
    }
    return chosen;
  }

  /** Exhaustive sequential greedy: one full scan per agent (per node for binpack fills). */
  private placeScan(out: Int32Array, count: number): number {
    const fill = this.blocks === 0 && this.strategy === STRATEGY_BINPACK;
    const prune = this.blocks === 0 && this.propVal === null;
    let j = 0;
    while (j < count) {
      if (this.blocks > 0) this.refreshSpreadTerms();
      const chosen =
        this.blocks === 0 && this.indexWorth() ? this.bestIndexed() : prune ? this.bestPruned() : this.bestScan();
      if (chosen < 0) break;
      // Binpack without spread: the chosen node's score only rises as it fills and no other
      // node's score changes, so it stays the best until it stops fitting.
      do {
        this.commit(chosen);
        out[j++] = chosen;
      } while (fill && j < count && this.fits(chosen));
    }
    return j;
  }

  /** The best fitting node by final score, ties to the lowest index; -1 when none fits. */
  private bestScan(): number {
    const n = this.n;
    let best = -Infinity;
    let chosen = -1;
    for (let i = 0; i < n; i++) {
      if (!this.fits(i)) continue;
      const s = this.finalScore(i);
      if (chosen < 0 || s > best) {
        best = s;
        chosen = i;
      }
    }
    return chosen;
  }

  /**
   * `bestScan` without spread blocks or property limits, in two passes. Pass 1 scores every fitting
   * node with reciprocals (no division) and an error bound e: the exact score lies in [a - e, a + e],
   * and L = max(a - e) is a lower bound of the best exact score. Pass 2 computes exact scores only
   * for nodes with a + e >= L: every other node is strictly worse than the best, so the choice
   * (and its tie-break) equals the plain scan's.
   */
  private bestPruned(): number {
    const n = this.n;
    const cap = this.capBuf;
    const free = this.freeBuf;
    const inv = this.invCapBuf;
    const invDims = this.invDimsBuf;
    const hiBuf = this.scoreBuf;
    const a0 = this.a0;
    const a1 = this.a1;
    const a2 = this.a2;
    const a3 = this.a3;
    const binpack = this.strategy === STRATEGY_BINPACK;
    const elig32 = this.elig32;
    const words = n >> 2;
    let lower = -Infinity;
    let anyFit = false;
    for (let i = 0; i < n; i++) {
      // Four ineligible nodes in a row (common for selective constraints): skip them whole.
      if ((i & 3) === 0 && (i >> 2) < words && elig32[i >> 2] === 0) {
        hiBuf[i] = hiBuf[i + 1] = hiBuf[i + 2] = hiBuf[i + 3] = -Infinity;
        i += 3;
        continue;
      }
      let hi = -Infinity;
      if (this.fits(i)) {
        anyFit = true;
        const t0 = (cap[i]! - free[i]! + a0) * inv[i]!;
        const t1 = (cap[n + i]! - free[n + i]! + a1) * inv[n + i]!;
        const t2 = (cap[2 * n + i]! - free[2 * n + i]! + a2) * inv[2 * n + i]!;
        const t3 = (cap[3 * n + i]! - free[3 * n + i]! + a3) * inv[3 * n + i]!;
        let a = (t0 + t1 + t2 + t3) * invDims[i]!;
        if (!binpack) a = 1 - a;
        // GPU reserve, as in baseScore (its rounding, ≤ 1 ulp of 1, is far inside the bound e).
        if (a3 === 0 && cap[3 * n + i]! > 0) {
          const r = gpuReserve(cap[3 * n + i]!, free[3 * n + i]!);
          if (r !== 0) a = a - r;
        }
        const e = PRUNE_TOL * (1 + (Math.abs(t0) + Math.abs(t1) + Math.abs(t2) + Math.abs(t3)));
        const lo = a - e;
        hi = a + e;
        if (hi !== hi) hi = Infinity;
        if (lo > lower) lower = lo;
      }
      hiBuf[i] = hi;
    }
    if (!anyFit) return -1;
    if (lower === -Infinity) return this.bestScan();
    let best = -Infinity;
    let chosen = -1;
    for (let i = 0; i < n; i++) {
      if (hiBuf[i]! >= lower) {
        // Same capacity and free capacity as the chosen node: same exact score, and the higher
        // index loses the tie. Keeps pass 2 short on fleets of identical, untouched nodes.
        if (
          chosen >= 0 &&
          free[i] === free[chosen] &&
          free[n + i] === free[n + chosen] &&
          free[2 * n + i] === free[2 * n + chosen] &&
          free[3 * n + i] === free[3 * n + chosen] &&
          cap[i] === cap[chosen] &&
          cap[n + i] === cap[n + chosen] &&
          cap[2 * n + i] === cap[2 * n + chosen] &&
          cap[3 * n + i] === cap[3 * n + chosen]
        ) {
          continue;
        }
        const s = this.baseScore(i);
        if (chosen < 0 || s > best) {
          best = s;
          chosen = i;
        }
      }
    }
    return chosen;
  }

  /**
   * Exhaustive greedy without spread blocks through a heap ordered by (score desc, index asc).
   * Placing on a node changes only that node's score, and a node that stops fitting never fits
   * again within the call, so the heap top (after discarding nodes that no longer fit) is exactly
   * the node the sequential scan would choose.
   */
  private placeHeap(out: Int32Array, count: number): number {
    const n = this.n;
    const heap = this.heapBuf;
    const score = this.scoreBuf;
    let size = 0;
    for (let i = 0; i < n; i++) {
      if (!this.fits(i)) continue;
      score[i] = this.baseScore(i);
      heap[size++] = i;
    }
    for (let k = (size >> 1) - 1; k >= 0; k--) this.siftDown(k, size);
    const binpack = this.strategy === STRATEGY_BINPACK;
    let j = 0;
    while (j < count && size > 0) {
      const top = heap[0]!;
      if (!this.fits(top)) {
        heap[0] = heap[--size]!;
        this.siftDown(0, size);
        continue;
      }
      if (binpack) {
        do {
          this.commit(top);
          out[j++] = top;
        } while (j < count && this.fits(top));
        heap[0] = heap[--size]!;
        this.siftDown(0, size);
      } else {
        this.commit(top);
        out[j++] = top;
        if (this.fits(top)) {
          score[top] = this.baseScore(top);
        } else {
          heap[0] = heap[--size]!;
        }
        this.siftDown(0, size);
      }
    }
    return j;
  }

  private siftDown(k: number, size: number): void {
    const heap = this.heapBuf;
    const score = this.scoreBuf;
    const item = heap[k]!;
    const s = score[item]!;
    for (;;) {
      let c = 2 * k + 1;
      if (c >= size) break;
      let cs = score[heap[c]!]!;
      const r = c + 1;
      if (r < size) {
        const rs = score[heap[r]!]!;
        if (rs > cs || (rs === cs && heap[r]! < heap[c]!)) {
          c = r;
          cs = rs;
        }
      }
      if (cs > s || (cs === s && heap[c]! < item)) {
        heap[k] = heap[c]!;
        k = c;
      } else {
        break;
      }
    }
    heap[k] = item;
  }

  /** Nomad-style sampling: score the first k fitting nodes from a moving cursor. */
  private placeSampled(out: Int32Array, count: number, k: number, seed: number): number {
    const n = this.n;
    const elig = this.eligBuf;
    const elig32 = this.elig32;
    let cursor = seed % n;
    let j = 0;
    while (j < count) {
      if (this.blocks > 0) this.refreshSpreadTerms();
      let best = -Infinity;
      let chosen = -1;
      let found = 0;
      let i = cursor;
      for (let visited = 0; visited < n; ) {
        if (elig[i] !== 1) {
          // Four ineligible nodes in a row (one aligned word) are passed over whole.
          if ((i & 3) === 0 && i + 4 <= n && visited + 4 <= n && elig32[i >> 2] === 0) {
            i += 4;
            visited += 4;
            if (i === n) i = 0;
            continue;
          }
        } else if (this.fits(i)) {
          const s = this.finalScore(i);
          if (chosen < 0 || s > best) {
            best = s;
            chosen = i;
          }
          found++;
        }
        visited++;
        i = i + 1 === n ? 0 : i + 1;
        if (found === k) break;
      }
      cursor = i;
      if (chosen < 0) break;
      this.commit(chosen);
      out[j++] = chosen;
    }
    return j;
  }
}
