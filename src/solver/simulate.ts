/**
 * The library's `simulatePlan` (package entry): the pure planner of `core/placement/simulate.ts`
 * run on the WebAssembly placement core (SIMD build where the runtime validates it), with the JS
 * reference kernel as the fallback and as an explicit choice. `simulatePlanAsync` runs the same
 * plan in a Piscina worker over the msgpack cluster snapshot, for callers that must not block
 * their event loop.
 */
import { isClusterState, parseClusterFile } from '../core/cluster/parse.js';
import type { ClusterState } from '../core/cluster/types.js';
import { MnError } from '../core/errors.js';
import { JsKernel } from '../core/placement/kernel.js';
import type { PlacementKernel } from '../core/placement/kernel-types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { simulatePlan as planOnKernel, type SimulateOptions as CoreSimulateOptions } from '../core/placement/simulate.js';
import { toSnapshot } from '../core/snapshot/build.js';
import { PlacementPool } from './pool.js';
import { WasmKernel } from './wasm-kernel.js';
import { tryPlacementModule } from './wasm-module.js';

/**
 * Which placement kernel runs the plan: `auto` (default) the WebAssembly core when it loads, else
 * the JS reference; `wasm` the WebAssembly core or an `MN_E_SOLVER_UNAVAILABLE` error; `js` the JS
 * reference. Both kernels return identical plans; `plan.stats.engine` says which one ran.
 */
export type SimulateEngine = 'auto' | 'wasm' | 'js';

export interface SimulateOptions extends CoreSimulateOptions {
  /** Kernel choice when `kernel` is not given (default `auto`). */
  engine?: SimulateEngine;
}

export interface SimulateAsyncOptions extends Omit<SimulateOptions, 'kernel' | 'clock'> {
  /**
   * The pool to plan in (its workers run the WebAssembly core unless it was made without one).
   * Default: one shared pool of one worker, started on first use and closed by `closeSimulatePool`.
   * `engine` does not apply to a given pool: its workers' kernel decides.
   */
  pool?: PlacementPool;
}

/** One kernel per engine per thread, reused across calls (a plan is synchronous: no overlap). */
let wasmKernel: WasmKernel | null | undefined;
let jsKernel: JsKernel | undefined;

function wasmOrNull(): WasmKernel | null {
  if (wasmKernel === undefined) {
    const module = tryPlacementModule();
    try {
      wasmKernel = module ? new WasmKernel(module) : null;
    } catch {
      wasmKernel = null;
    }
  }
  return wasmKernel;
}

/** The kernel for an engine choice; throws `MN_E_SOLVER_UNAVAILABLE` for `wasm` without a core. */
export function kernelFor(engine: SimulateEngine = 'auto'): PlacementKernel {
  if (engine !== 'auto' && engine !== 'wasm' && engine !== 'js') {
    throw new MnError('MN_E_INVALID_ARGUMENT', `engine must be one of auto, wasm, js (got ${JSON.stringify(engine)})`, { details: { field: 'engine' } });
  }
  if (engine !== 'js') {
    const wasm = wasmOrNull();
    if (wasm) return wasm;
    if (engine === 'wasm') {
      throw new MnError('MN_E_SOLVER_UNAVAILABLE', 'engine "wasm": the WebAssembly placement core is not available (missing build/placement.wasm or no WebAssembly in this runtime)');
    }
  }
  return (jsKernel ??= new JsKernel());
}

/**
 * Places `jobs` in order onto `cluster` and returns the plan, on the kernel `options.engine`
 * selects (WebAssembly by default). Throws `ClusterFileError` for an invalid cluster file and
 * `InvalidManifestError` for an invalid manifest.
 */
export function simulatePlan(options: SimulateOptions): Plan {
  const { engine, ...rest } = options;
  return planOnKernel({ ...rest, kernel: options.kernel ?? kernelFor(engine) });
}

let sharedPool: PlacementPool | null = null;
/** Snapshot generation of each cluster published to the shared pool. */
const published = new WeakMap<PlacementPool, WeakMap<ClusterState, number>>();

function poolFor(options: SimulateAsyncOptions): PlacementPool {
  if (options.pool) return options.pool;
  if (sharedPool === null) {
    const engine = options.engine ?? 'auto';
    const module = engine === 'js' ? null : tryPlacementModule();
    if (engine === 'wasm' && module === null) {
      throw new MnError('MN_E_SOLVER_UNAVAILABLE', 'engine "wasm": the WebAssembly placement core is not available');
    }
    sharedPool = new PlacementPool({ threads: 1, module });
  }
  return sharedPool;
}

/** The pool's generation holding `cluster`, publishing its snapshot when the pool lacks it. */
function generationFor(pool: PlacementPool, cluster: ClusterState): number {
  let byCluster = published.get(pool);
  if (!byCluster) {
    byCluster = new WeakMap();
    published.set(pool, byCluster);
  }
  const have = byCluster.get(cluster);
  // The pool keeps the newest two generations.
  if (have !== undefined && have >= pool.currentGeneration - 1) return have;
  const generation = pool.publish(toSnapshot(cluster, pool.currentGeneration + 1));
  byCluster.set(cluster, generation);
  return generation;
}

/**
 * `simulatePlan` in a worker thread: the cluster is encoded once as a msgpack snapshot and
 * published to the pool (again only when the pool no longer holds it), the worker plans on its
 * WebAssembly core, and the promise resolves to the same plan `simulatePlan` returns. Rejects with
 * `ClusterFileError` for an invalid cluster file (checked here), and with an `MnError` carrying the
 * worker's code otherwise (`MN_E_INVALID_MANIFEST` for an invalid manifest).
 */
export async function simulatePlanAsync(options: SimulateAsyncOptions): Promise<Plan> {
  const cluster: ClusterState = isClusterState(options.cluster) ? options.cluster : parseClusterFile(options.cluster);
  const pool = poolFor(options);
  const generation = generationFor(pool, cluster);
  const { pool: _p, cluster: _c, jobs, engine: _e, ...plannerOptions } = options;
  const result = await pool.runPlan({ jobs: [...jobs], options: plannerOptions }, generation);
  if (!result.ok) throw new MnError(result.code, result.message);
  return result.value;
}

/** Closes the shared pool of `simulatePlanAsync` (a later call starts a new one). */
export async function closeSimulatePool(): Promise<void> {
  const pool = sharedPool;
  sharedPool = null;
  await pool?.close();
}
