/**
 * The contract between the planner (feasibility preparation, explanations) and a placement
 * kernel (scoring and selection over numeric columns). See docs/placement-kernel.md for the exact
 * semantics; the JS reference (`kernel.ts`) and the WebAssembly host (`src/solver/wasm-kernel.ts`)
 * both implement it and must return identical results.
 */

/** Number of scalar dimensions, in the order cpu, memory, disk, gpu. */
export const DIMENSIONS = 4;

export const STRATEGY_BINPACK = 0;
export const STRATEGY_SPREAD = 1;

/**
 * The scalar fit rule of one dimension, shared by both kernels (`fits` in kernel.ts and
 * assembly/kernel.ts), the planner's system-job check and the failure explanations: a zero ask
 * always fits; otherwise free capacity must be at least the ask. A NaN ask (or NaN free
 * capacity under a non-zero ask) never fits; a negative ask fits wherever free >= ask.
 */
export function fitsScalar(free: number, need: number): boolean {
  return need === 0 || free >= need;
}

/** Spread blocks for one kernel call (S blocks, up to V values each). */
export interface KernelSpread {
  blocks: number;
  maxValues: number;
  /** `i32[S*N]`: value index of node i for block b at `b*N+i`, -1 when absent. */
  values: Int32Array;
  /** `f64[S*V]`: current count per value; updated in place by the kernel. */
  counts: Float64Array;
  /** `f64[S*V]`: desired count per value (percentage targets) or all -1 (even spread). */
  desired: Float64Array;
  /** `f64[S]`: weight per block (0..100). */
  weights: Float64Array;
}

/** A `distinct_property` limit for one kernel call. */
export interface KernelPropertyLimit {
  /** `i32[N]`: value index per node, -1 when the node has no value (unconstrained). */
  values: Int32Array;
  /** `i32[V]`: remaining allowance per value; decremented in place by the kernel. */
  remaining: Int32Array;
}

export interface KernelPlaceOptions {
  /** `f64[4]` per-agent ask. */
  ask: Float64Array;
  strategy: number;
  count: number;
  /** 0 = exhaustive; k > 0 = sample k fitting nodes per agent. */
  sampleK: number;
  seed: number;
  spread?: KernelSpread | null;
  property?: KernelPropertyLimit | null;
}

/**
 * A stateful kernel bound to one set of capacity columns. The caller loads the columns once per
 * plan, fills `elig()` and `slots()` before each `place` call, and reads `free()` to see the
 * effect of placements. Views returned by the accessors may be invalidated by `load`.
 */
export interface PlacementKernel {
  /** Engine name reported in plan stats (`wasm` or `js`). */
  readonly engine: 'wasm' | 'js';
  /**
   * Copies `cap` and `free` (`f64[4*n]`, dimension-major) into the kernel. Throws a RangeError
   * when they are short or hold a value that is not finite.
   */
  load(cap: Float64Array, free: Float64Array, n: number): void;
  /** Node count of the loaded columns. */
  readonly nodeCount: number;
  /** `f64[4*n]` capacity view. */
  cap(): Float64Array;
  /** `f64[4*n]` free-capacity view (live; the kernel writes to it). */
  free(): Float64Array;
  /** `u8[n]` eligibility view for the next call. */
  elig(): Uint8Array;
  /** `i32[n]` discrete-slot view for the next call (-1 = unlimited). */
  slots(): Int32Array;
  /**
   * Places up to `count` identical agents. Returns the number placed; the chosen node indices
   * are in the returned view (`i32[count]`, -1 for unplaced), valid until the next call.
   */
  place(options: KernelPlaceOptions): { placed: number; out: Int32Array };
  /**
   * Tells the kernel that the caller changed node i's free capacity by writing to `free()` (the
   * kernel keeps an index and terms derived from free capacity; see docs/placement-kernel.md).
   * Throws a RangeError when a written value is not finite.
   */
  touch(i: number): void;
  /** Score of node i for `ask` under `strategy` (no spread boost), for explanations and tests. */
  score(i: number, ask: Float64Array, strategy: number): number;
}

/** Construction options shared by both kernels. */
export interface KernelOptions {
  /**
   * Build the state-group index (default true). `false` keeps every exhaustive call on the plain
   * pruned scan: identical results (the index is exact), used by the bench and tests to measure
   * and check the scan on its own.
   */
  stateIndex?: boolean;
}

const DIMENSION_NAMES = ['cpu', 'memory', 'disk', 'gpu'] as const;

/**
 * The checks every kernel's `load` makes: `cap` and `free` hold `4*n` values and every value is
 * finite (the exact-score shortcuts of both kernels rely on it; a snapshot never holds anything
 * else, so a non-finite value is a caller's bug, reported instead of placed around).
 */
export function checkKernelColumns(cap: Float64Array, free: Float64Array, n: number): void {
  const len = DIMENSIONS * n;
  if (cap.length < len || free.length < len) {
    throw new RangeError(`kernel load: cap and free need ${len} values for ${n} nodes`);
  }
  for (let k = 0; k < len; k++) {
    if (!Number.isFinite(cap[k]!) || !Number.isFinite(free[k]!)) {
      const column = Number.isFinite(cap[k]!) ? 'free' : 'cap';
      const value = column === 'cap' ? cap[k]! : free[k]!;
      throw new RangeError(`kernel load: ${column} ${DIMENSION_NAMES[Math.floor(k / n)]} of node ${k % n} is ${value}, not a finite number`);
    }
  }
}

/** The check of `touch(i)`: node i's free capacity, as the caller wrote it, is finite. */
export function checkKernelTouch(free: Float64Array, n: number, i: number): void {
  if (!(i >= 0 && i < n && Number.isInteger(i))) throw new RangeError(`kernel touch: node ${i} is not in 0..${n - 1}`);
  for (let d = 0; d < DIMENSIONS; d++) {
    const value = free[d * n + i]!;
    if (!Number.isFinite(value)) {
      throw new RangeError(`kernel touch: free ${DIMENSION_NAMES[d]} of node ${i} is ${value}, not a finite number`);
    }
  }
}
