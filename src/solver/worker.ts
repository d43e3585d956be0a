/**
 * Placement worker entry (run by Piscina; the host is `pool.ts`). At start it instantiates the
 * placement core from the Module in `workerData` (falling back to the JS reference kernel) and
 * subscribes to snapshot generations. Plan tasks run the planner (`simulatePlan`) with that
 * kernel; kernel tasks call the kernel directly. Tasks name a generation; each generation is decoded once per
 * worker. Every outcome is returned as a `TaskResult`; nothing is thrown across the boundary.
 */
import { BroadcastChannel, workerData } from 'node:worker_threads';
import { JsKernel } from '../core/placement/kernel.js';
import type { PlacementKernel } from '../core/placement/kernel-types.js';
import type { ClusterState } from '../core/cluster/types.js';
import { isMnErrorCode } from '../core/errors.js';
import { decodeSnapshot } from '../core/snapshot/codec.js';
import { fromSnapshot, schedulableMask, snapshotCapacity } from '../core/snapshot/build.js';
import { simulatePlan } from '../core/placement/simulate.js';
import type { ClusterSnapshot } from '../core/snapshot/layout.js';
import type {
  ChannelMessage,
  KernelTask,
  KernelTaskValue,
  PlanTask,
  PlanTaskValue,
  PoolTask,
  TaskResult,
  WorkerInit,
} from './protocol.js';
import { WasmKernel } from './wasm-kernel.js';

/** How long a task waits for a generation it has not received yet. */
const GENERATION_WAIT_MS = 10_000;
/** Generations kept per worker: the newest and the one before it (tasks queued across a publish). */
const KEPT_GENERATIONS = 2;

interface Generation {
  snapshot: ClusterSnapshot;
  n: number;
  cap: Float64Array;
  free: Float64Array;
  schedulable: Uint8Array;
  cluster: ClusterState | null;
}

const init = workerData as WorkerInit;

function createKernel(): PlacementKernel {
  if (init.module) {
    try {
      return new WasmKernel(init.module);
    } catch {
      // Fall through to the reference kernel: same results, slower.
    }
  }
  return new JsKernel();
}

const kernel = createKernel();
const generations = new Map<number, Generation>();
const waiters = new Map<number, Array<() => void>>();
const channel = new BroadcastChannel(init.channel);
channel.unref();

channel.onmessage = (event: unknown): void => {
  const message = (event as { data: ChannelMessage }).data;
  if (message.type !== 'snapshot' || generations.has(message.generation)) return;
  try {
    generations.set(message.generation, loadGeneration(message.bytes));
    for (const g of [...generations.keys()].sort((a, b) => a - b).slice(0, -KEPT_GENERATIONS)) generations.delete(g);
  } catch {
    // An undecodable generation stays unavailable: its tasks answer MN_E_UNKNOWN_GENERATION.
  }
  const ready = waiters.get(message.generation);
  waiters.delete(message.generation);
  ready?.forEach((resolve) => resolve());
};

function loadGeneration(bytes: Uint8Array): Generation {
  const snapshot = decodeSnapshot(bytes);
  const { n, cap, free } = snapshotCapacity(snapshot);
  return { snapshot, n, cap, free, schedulable: schedulableMask(snapshot), cluster: null };
}

function generation(g: number): Promise<Generation | null> {
  const have = generations.get(g);
  if (have) return Promise.resolve(have);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), GENERATION_WAIT_MS);
    const list = waiters.get(g) ?? [];
    list.push(() => {
      clearTimeout(timer);
      resolve(generations.get(g) ?? null);
    });
    waiters.set(g, list);
    channel.postMessage({ type: 'want', generation: g } satisfies ChannelMessage);
  });
}

/** The cluster in row form, materialised once per generation for the planner. */
function clusterOf(gen: Generation): ClusterState {
  gen.cluster ??= fromSnapshot(gen.snapshot);
  return gen.cluster;
}

function runKernel(gen: Generation, task: KernelTask): KernelTaskValue {
  kernel.load(gen.cap, gen.free, gen.n);
  const placed: number[] = [];
  const outs: Int32Array[] = [];
  const ask = new Float64Array(4);
  for (const call of task.calls) {
    kernel.elig().set(call.elig ?? gen.schedulable);
    if (call.slots) kernel.slots().set(call.slots);
    else kernel.slots().fill(-1);
    ask.set(call.ask);
    const r = kernel.place({
      ask,
      strategy: call.strategy,
      count: call.count,
      sampleK: call.sampleK,
      seed: call.seed,
    });
    placed.push(r.placed);
    outs.push(r.out.slice());
  }
  return { engine: kernel.engine, placed, outs };
}

function runPlan(gen: Generation, task: PlanTask): PlanTaskValue {
  return simulatePlan({
    ...task.input.options,
    cluster: clusterOf(gen),
    jobs: task.input.jobs,
    kernel,
    clock: () => performance.now(),
  });
}

export default async function placementTask(task: PoolTask): Promise<TaskResult<unknown>> {
  try {
    const gen = await generation(task.generation);
    if (gen === null) {
      return { ok: false, code: 'MN_E_UNKNOWN_GENERATION', message: `snapshot generation ${task.generation} is not available` };
    }
    switch (task.kind) {
      case 'kernel':
        return { ok: true, generation: task.generation, value: runKernel(gen, task) };
      case 'plan':
        return { ok: true, generation: task.generation, value: runPlan(gen, task) };
      default:
        return { ok: false, code: 'MN_E_BAD_TASK', message: `unknown task kind ${String((task as { kind?: unknown }).kind)}` };
    }
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return {
      ok: false,
      code: isMnErrorCode(code) ? code : 'MN_E_TASK_FAILED',
      message: error instanceof Error ? error.message : String(error),
    };
  }
}
