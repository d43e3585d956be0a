/**
 * Messages between the placement pool host (`pool.ts`) and its workers (`worker.ts`). Only plain
 * data crosses the thread boundary: results, never exceptions.
 */
import type { MnErrorCode } from '../core/errors.js';
import type { PlannerOptions } from '../core/placement/planner.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { CompiledModule } from './wasm-api.js';

/** `workerData` of every placement worker. */
export interface WorkerInit {
  /** The compiled placement core, or null to run the JS reference kernel. */
  module: CompiledModule | null;
  /** Name of the BroadcastChannel on which snapshot generations are published. */
  channel: string;
}

/** Host → workers, once per generation (and again only for a worker that asks for it). */
export interface SnapshotMessage {
  type: 'snapshot';
  generation: number;
  bytes: Uint8Array;
}

/** Worker → host: a worker (e.g. one started after a crash) lacks a generation. */
export interface WantMessage {
  type: 'want';
  generation: number;
}

export type ChannelMessage = SnapshotMessage | WantMessage;

/** One direct kernel call against the generation's capacity columns. */
export interface KernelCall {
  ask: [number, number, number, number];
  strategy: number;
  count: number;
  sampleK: number;
  seed: number;
  /** `u8[n]`; null = every node whose status and eligibility allow placements. */
  elig?: Uint8Array | null;
  /** `i32[n]`; null = unlimited. */
  slots?: Int32Array | null;
}

/**
 * Runs `calls` in order on one kernel loaded with the generation's free capacity (each task starts
 * from the generation's state; calls within the task see each other's placements).
 */
export interface KernelTask {
  kind: 'kernel';
  generation: number;
  calls: KernelCall[];
}

export interface KernelTaskValue {
  engine: 'wasm' | 'js';
  placed: number[];
  outs: Int32Array[];
}

/** Jobs (validated `Job`s or raw manifests) and planner options for one plan. */
export interface PlanJobsInput {
  jobs: unknown[];
  options?: Omit<PlannerOptions, 'clock'>;
}

/** Plans jobs with `simulatePlan` against the generation's cluster. */
export interface PlanTask {
  kind: 'plan';
  generation: number;
  input: PlanJobsInput;
}

export type PlanTaskValue = Plan;

export type PoolTask = KernelTask | PlanTask;

/**
 * Why a task failed: a pool code (`MN_E_WORKER_EXITED`, `MN_E_TASK_FAILED`,
 * `MN_E_UNKNOWN_GENERATION`, `MN_E_BAD_TASK`, `MN_E_POOL_CLOSED`) or the code of a runtime error
 * the planner raised (e.g. `MN_E_INVALID_MANIFEST`).
 */
export type TaskErrorCode = MnErrorCode;

export type TaskResult<T> =
  | { ok: true; generation: number; value: T }
  | { ok: false; code: TaskErrorCode; message: string };
