/**
 * The WebAssembly placement kernel host: owns one instance of the placement core, lays the
 * capacity columns out in its linear memory and implements `PlacementKernel` over them.
 *
 * Memory plan: on `load`, the node region (cap, free, elig, slots, score and heap scratch, ask,
 * reciprocal columns)
 * is allocated once for the node count and reused while the count fits; after it comes a
 * grow-only per-call region (output, spread and property inputs). Views over `memory.buffer` are
 * re-created whenever an allocation grew memory, since growth detaches the old buffer.
 *
 * `cap()` is for reading: the reciprocal columns the pruned scan uses are derived from capacity
 * in `load`, so capacity changes go through `load`.
 */
import {
  checkKernelColumns,
  checkKernelTouch,
  DIMENSIONS,
  type KernelOptions,
  type KernelPlaceOptions,
  type PlacementKernel,
} from '../core/placement/kernel-types.js';
import { buildStateGroups } from '../core/placement/state-groups.js';
import { requireWasmApi, type CompiledModule, type WasmMemory } from './wasm-api.js';
import { placementModule } from './wasm-module.js';

interface PlacementExports {
  memory: WasmMemory;
  alloc(bytes: number): number;
  reset(): void;
  top(): number;
  release(mark: number): void;
  bind(
    n: number,
    cap: number,
    free: number,
    elig: number,
    slots: number,
    score: number,
    heap: number,
    invCap: number,
    uCol: number,
    wCol: number,
    invDims: number,
    slackCol: number,
    reserveCol: number,
  ): void;
  prepare(): void;
  bindIndex(
    grp: number,
    mem: number,
    end: number,
    head: number,
    touched: number,
    dFree: number,
    dU: number,
    dW: number,
    dInvDims: number,
    dSlack: number,
    dReserve: number,
  ): void;
  setIndex(groups: number): void;
  touch(i: number): void;
  place(
    ask: number,
    strategy: number,
    count: number,
    out: number,
    sampleK: number,
    seed: number,
    blocks: number,
    maxValues: number,
    spreadVal: number,
    spreadCount: number,
    spreadDesired: number,
    spreadWeight: number,
    scratch: number,
    propVal: number,
    propRem: number,
  ): number;
  score(i: number, ask: number, strategy: number): number;
}

const align = (bytes: number): number => (bytes + 15) & ~15;

const EMPTY_F64: Float64Array = new Float64Array(0);
const EMPTY_I32: Int32Array = new Int32Array(0);
const EMPTY_U8: Uint8Array = new Uint8Array(0);

export class WasmKernel implements PlacementKernel {
  readonly engine = 'wasm' as const;

  private readonly wasm: PlacementExports;
  private buffer: ArrayBuffer | null = null;
  private u8 = EMPTY_U8;
  private i32 = EMPTY_I32;
  private f64 = EMPTY_F64;

  private n = 0;
  private capacity = -1;
  private capPtr = 0;
  private freePtr = 0;
  private eligPtr = 0;
  private slotsPtr = 0;
  private askPtr = 0;
  private invCapPtr = 0;
  /** Pass-1 terms per node: w (f32 × 4), Σu, 1/dims, slack, reserve (f32). */
  private termsPtr = 0;
  /** State-group index regions (i32 per node each): grp, mem, start, end, head, touched. */
  private indexPtr = 0;
  /** The detached nodes' compact columns (see `detachedRegions`). */
  private detachedPtr = 0;
  /** Group count of the built index; -2 = not built since the last load, -1 = not usable. */
  private indexGroups = -2;
  private mark = 0;
  private callPtr = 0;
  private callBytes = 0;

  private capView = EMPTY_F64;
  private freeView = EMPTY_F64;
  private eligView = EMPTY_U8;
  private slotsView = EMPTY_I32;
  private outView = EMPTY_I32;
  private readonly result = { placed: 0, out: EMPTY_I32 };

  private readonly stateIndex: boolean;

  /** `options.stateIndex: false` disables the state-group index (see `KernelOptions`). */
  constructor(module?: CompiledModule, options: KernelOptions = {}) {
    this.stateIndex = options.stateIndex ?? true;
    const instance = new (requireWasmApi().Instance)(module ?? placementModule(), {
      env: {
        abort(): never {
          throw new Error('placement core aborted');
        },
      },
    });
    this.wasm = instance.exports as unknown as PlacementExports;
  }

  get nodeCount(): number {
    return this.n;
  }

  load(cap: Float64Array, free: Float64Array, n: number): void {
    checkKernelColumns(cap, free, n);
    const len = DIMENSIONS * n;
    if (n > this.capacity) this.layout(Math.max(n, this.capacity * 2, 16));
    this.n = n;
    const w = this.wasm;
    const t = this.termsPtr;
    const f32Cols = align(DIMENSIONS * this.capacity * 4);
    const f32Node = align(this.capacity * 4);
    // terms: w (f32 × 4 per node) | Σu | 1/dims | slack | reserve (f32 per node)
    w.bind(n, this.capPtr, this.freePtr, this.eligPtr, this.slotsPtr, this.scorePtr(), this.heapPtr(), this.invCapPtr, t + f32Cols, t, t + f32Cols + f32Node, t + f32Cols + 2 * f32Node, t + f32Cols + 3 * f32Node);
    const d = this.detachedRegions();
    w.bindIndex(this.indexRegion(0), this.indexRegion(1), this.indexRegion(3), this.indexRegion(4), this.indexRegion(5), d[0]!, d[1]!, d[2]!, d[3]!, d[4]!, d[5]!);
    this.indexGroups = -2;
    this.refresh(true);
    this.capView.set(cap.subarray(0, len));
    this.freeView.set(free.subarray(0, len));
    w.prepare();
    this.eligView.fill(0);
    this.slotsView.fill(-1);
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
    checkKernelTouch(this.freeView, this.n, i);
    this.wasm.touch(i);
  }

  score(i: number, ask: Float64Array, strategy: number): number {
    this.writeAsk(ask);
    return this.wasm.score(i, this.askPtr, strategy);
  }

  place(options: KernelPlaceOptions): { placed: number; out: Int32Array } {
    const count = Math.max(0, options.count | 0);
    const n = this.n;
    const spread = options.spread && options.spread.blocks > 0 ? options.spread : null;
    const property = options.property ?? null;
    const blocks = spread ? spread.blocks : 0;
    const maxValues = spread ? spread.maxValues : 0;
    const sn = blocks * n;
    const sv = blocks * maxValues;
    const pv = property ? property.remaining.length : 0;

    // Per-call region: out | spreadVal | spreadCount | spreadDesired | spreadWeight | scratch | propVal | propRem
    const outBytes = align(count * 4);
    const svBytes = align(sn * 4);
    const countBytes = align(sv * 8);
    const weightBytes = align(blocks * 8);
    const scratchBytes = align(blocks * 8 + blocks * (maxValues + 1) * 8 + sv);
    const propValBytes = property ? align(n * 4) : 0;
    const propRemBytes = align(pv * 4);
    const need = outBytes + svBytes + 2 * countBytes + weightBytes + scratchBytes + propValBytes + propRemBytes;
    if (need > this.callBytes) {
      const w = this.wasm;
      w.release(this.mark);
      const bytes = Math.max(need, this.callBytes * 2, 1024);
      const ptr = w.alloc(bytes);
      if (ptr === 0) throw new RangeError(`placement core out of memory allocating ${bytes} bytes`);
      this.callPtr = ptr;
      this.callBytes = bytes;
      this.refresh(false);
    }
    const outPtr = this.callPtr;
    const svPtr = outPtr + outBytes;
    const countPtr = svPtr + svBytes;
    const desiredPtr = countPtr + countBytes;
    const weightPtr = desiredPtr + countBytes;
    const scratchPtr = weightPtr + weightBytes;
    const propValPtr = scratchPtr + scratchBytes;
    const propRemPtr = propValPtr + propValBytes;

    if (this.stateIndex && (options.sampleK | 0) === 0 && blocks === 0 && count <= 2 && this.indexGroups === -2) this.buildIndex();
    this.writeAsk(options.ask);
    const i32 = this.i32;
    const f64 = this.f64;
    if (spread) {
      i32.set(spread.values.length === sn ? spread.values : spread.values.subarray(0, sn), svPtr >> 2);
      f64.set(spread.counts.length === sv ? spread.counts : spread.counts.subarray(0, sv), countPtr >> 3);
      f64.set(spread.desired.length === sv ? spread.desired : spread.desired.subarray(0, sv), desiredPtr >> 3);
      for (let b = 0; b < blocks; b++) f64[(weightPtr >> 3) + b] = spread.weights[b]!;
    }
    if (property) {
      i32.set(property.values.length === n ? property.values : property.values.subarray(0, n), propValPtr >> 2);
      i32.set(property.remaining, propRemPtr >> 2);
    }

    const placed = this.wasm.place(
      this.askPtr,
      options.strategy | 0,
      count,
      outPtr,
      options.sampleK | 0,
      options.seed >>> 0,
      blocks,
      maxValues,
      svPtr,
      countPtr,
      desiredPtr,
      weightPtr,
      scratchPtr,
      property ? propValPtr : 0,
      propRemPtr,
    );

    if (spread) {
      const counts = spread.counts;
      const base = countPtr >> 3;
      for (let k = 0; k < sv; k++) counts[k] = f64[base + k]!;
    }
    if (property) {
      const remaining = property.remaining;
      const base = propRemPtr >> 2;
      for (let k = 0; k < pv; k++) remaining[k] = i32[base + k]!;
    }
    let out = this.outView;
    if (out.length !== count || out.byteOffset !== outPtr || out.buffer !== this.buffer) {
      out = new Int32Array(this.buffer!, outPtr, count);
      this.outView = out;
    }
    const result = this.result;
    result.placed = placed;
    result.out = out;
    return result;
  }

  /**
   * Builds the state-group index from the current columns with the same code as the JS kernel
   * (the core uses it for exhaustive single-agent scans; see docs/placement-kernel.md).
   */
  private buildIndex(): void {
    const buffer = this.buffer!;
    const n = this.n;
    const arrays = {
      grp: new Int32Array(buffer, this.indexRegion(0), n),
      mem: new Int32Array(buffer, this.indexRegion(1), n),
      start: new Int32Array(buffer, this.indexRegion(2), n),
      end: new Int32Array(buffer, this.indexRegion(3), n),
    };
    const groups = buildStateGroups(this.capView, this.freeView, n, arrays);
    if (groups > 0) new Int32Array(buffer, this.indexRegion(4), groups).set(arrays.start.subarray(0, groups));
    this.wasm.setIndex(groups);
    this.indexGroups = groups;
  }

  /** Region k of the index: 0 grp, 1 mem, 2 start, 3 end, 4 head, 5 touched. */
  private indexRegion(k: number): number {
    return this.indexPtr + k * align(this.capacity * 4);
  }

  /**
   * The detached nodes' compact columns: free and w (f32 × 4 per node each), then per node Σu,
   * 1/dims, slack and GPU reserve (f32 each).
   */
  private detachedRegions(): number[] {
    const f32Cols = align(DIMENSIONS * this.capacity * 4);
    const node = align(this.capacity * 4);
    const free = this.detachedPtr;
    const w = free + f32Cols;
    const u = w + f32Cols;
    return [free, u, w, u + node, u + 2 * node, u + 3 * node];
  }

  private scorePtr(): number {
    return this.slotsPtr + align(this.capacity * 4);
  }

  private heapPtr(): number {
    return this.scorePtr() + align(this.capacity * 8);
  }

  /** Allocates the node region for `capacity` nodes (dropping everything else). */
  private layout(capacity: number): void {
    const w = this.wasm;
    w.reset();
    const f64Cols = align(DIMENSIONS * capacity * 8);
    const f32Cols = align(DIMENSIONS * capacity * 4);
    const i32Node = align(capacity * 4);
    const f64Node = align(capacity * 8);
    // cap, free | elig (with room past the last node for the sentinel of the detached pass) |
    // slots | score | heap | ask | invCap | terms (w, Σu, 1/dims, slack, reserve) | index (6 × i32) |
    // detached columns (free, w, Σu, 1/dims, slack, reserve).
    const eligBytes = align(capacity + 16);
    const termsBytes = f32Cols + 4 * i32Node;
    const detachedBytes = 2 * f32Cols + 4 * i32Node;
    const bytes = 2 * f64Cols + eligBytes + i32Node + f64Node + i32Node + 32 + f64Cols + termsBytes + 6 * i32Node + detachedBytes;
    const base = w.alloc(bytes);
    if (base === 0) throw new RangeError(`placement core out of memory for ${capacity} nodes`);
    this.capacity = capacity;
    this.capPtr = base;
    this.freePtr = base + f64Cols;
    this.eligPtr = this.freePtr + f64Cols;
    this.slotsPtr = this.eligPtr + eligBytes;
    this.askPtr = this.heapPtr() + i32Node;
    this.invCapPtr = this.askPtr + 32;
    this.termsPtr = this.invCapPtr + f64Cols;
    this.indexPtr = this.termsPtr + termsBytes;
    this.detachedPtr = this.indexPtr + 6 * i32Node;
    this.mark = w.top();
    this.callPtr = 0;
    this.callBytes = 0;
  }

  /** Re-creates views after memory growth (or a new layout when `force`). */
  private refresh(force: boolean): void {
    const buffer = this.wasm.memory.buffer;
    if (!force && buffer === this.buffer) return;
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    const len = DIMENSIONS * this.n;
    this.capView = new Float64Array(buffer, this.capPtr, len);
    this.freeView = new Float64Array(buffer, this.freePtr, len);
    this.eligView = new Uint8Array(buffer, this.eligPtr, this.n);
    this.slotsView = new Int32Array(buffer, this.slotsPtr, this.n);
  }

  private writeAsk(ask: Float64Array): void {
    const f64 = this.f64;
    const k = this.askPtr >> 3;
    f64[k] = ask[0]!;
    f64[k + 1] = ask[1]!;
    f64[k + 2] = ask[2]!;
    f64[k + 3] = ask[3]!;
  }
}
