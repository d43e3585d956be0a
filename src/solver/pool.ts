/**
 * The placement worker pool host. The placement core is compiled once here and handed to every
 * worker in `workerData`. Snapshot generations are encoded once and published to the workers on a
 * BroadcastChannel, so tasks carry only a generation number and their jobs. A worker that misses a
 * generation (for instance one started after a crash) asks for it on the same channel.
 *
 * Every call resolves to a `TaskResult`: worker exits and task failures come back as
 * `{ ok: false, code, message }`, and Piscina replaces a worker that died.
 */
import { builtFile } from '../built-file.js';
import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { Piscina } from 'piscina';
import { encodeSnapshot } from '../core/snapshot/codec.js';
import type { ClusterSnapshot } from '../core/snapshot/layout.js';
import type {
  ChannelMessage,
  KernelCall,
  KernelTaskValue,
  PlanJobsInput,
  PlanTaskValue,
  PoolTask,
  TaskResult,
  WorkerInit,
} from './protocol.js';
import type { CompiledModule } from './wasm-api.js';
import { tryPlacementModule } from './wasm-module.js';

export interface PlacementPoolOptions {
  /** Worker threads (default: available parallelism − 1, at least 1). */
  threads?: number;
  /** The compiled core; `null` forces the JS reference kernel; default: build/placement.wasm. */
  module?: CompiledModule | null;
  /** Worker entry file (default: `worker.js` of the built package). */
  workerFile?: string;
  /** Queued tasks before `run` starts failing fast (default 1024). */
  maxQueue?: number;
}

/** Generations the host keeps for workers that ask late. */
const KEPT_GENERATIONS = 2;

/** The built worker entry: next to this module in `dist/`, or the package's `dist/` from `src/`. */
export function defaultWorkerFile(): string {
  return builtFile(import.meta.url, 'worker.js');
}

export class PlacementPool {
  readonly engine: 'wasm' | 'js';
  private readonly piscina: Piscina<PoolTask, TaskResult<unknown>>;
  private readonly channel: BroadcastChannel;
  private readonly published = new Map<number, Uint8Array>();
  private generation = 0;
  private closed = false;

  constructor(options: PlacementPoolOptions = {}) {
    const threads = Math.max(1, options.threads ?? availableParallelism() - 1);
    const module = options.module === undefined ? tryPlacementModule() : options.module;
    this.engine = module ? 'wasm' : 'js';
    const channelName = `mn-placement-${randomUUID()}`;
    this.channel = new BroadcastChannel(channelName);
    this.channel.unref();
    this.channel.onmessage = (event: unknown): void => {
      const message = (event as { data: ChannelMessage }).data;
      if (message.type !== 'want') return;
      const bytes = this.published.get(message.generation);
      if (bytes) this.post(message.generation, bytes);
    };
    const workerData: WorkerInit = { module, channel: channelName };
    this.piscina = new Piscina({
      filename: options.workerFile ?? defaultWorkerFile(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
      maxQueue: options.maxQueue ?? 1024,
      workerData,
    });
  }

  /** The latest published generation (0 before the first `publish`). */
  get currentGeneration(): number {
    return this.generation;
  }

  /** Encodes and publishes a snapshot as the next generation; returns its number. */
  publish(snapshot: ClusterSnapshot): number {
    const generation = Math.max(this.generation + 1, snapshot.generation);
    const bytes = encodeSnapshot({ ...snapshot, generation });
    this.generation = generation;
    this.published.set(generation, bytes);
    for (const g of [...this.published.keys()].sort((a, b) => a - b).slice(0, -KEPT_GENERATIONS)) this.published.delete(g);
    this.post(generation, bytes);
    return generation;
  }

  /** Runs kernel calls against a generation (default: the latest). */
  runKernel(calls: KernelCall[], generation = this.generation): Promise<TaskResult<KernelTaskValue>> {
    return this.run({ kind: 'kernel', generation, calls }) as Promise<TaskResult<KernelTaskValue>>;
  }

  /** Plans jobs with the planner in a worker against a generation (default: the latest). */
  runPlan(input: PlanJobsInput, generation = this.generation): Promise<TaskResult<PlanTaskValue>> {
    return this.run({ kind: 'plan', generation, input }) as Promise<TaskResult<PlanTaskValue>>;
  }

  /** Runs a task; resolves to a result even when the worker dies. `filename` overrides the entry. */
  async run(task: PoolTask, filename?: string): Promise<TaskResult<unknown>> {
    if (this.closed) return { ok: false, code: 'MN_E_POOL_CLOSED', message: 'placement pool is closed' };
    try {
      return await this.piscina.run(task, filename ? { filename } : {});
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, code: 'MN_E_WORKER_EXITED', message: `placement worker failed: ${message}` };
    }
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
    await this.piscina.destroy();
  }

  private post(generation: number, bytes: Uint8Array): void {
    this.channel.postMessage({ type: 'snapshot', generation, bytes } satisfies ChannelMessage);
  }
}
