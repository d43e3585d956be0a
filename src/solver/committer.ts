/**
 * Optimistic parallel planning (Omega/Nomad style). Several jobs are planned at once by the pool
 * workers against one snapshot generation; this single committer on the main thread owns the
 * authoritative free capacity. For each plan that comes back it re-checks every touched node
 * with the kernel's fit rules against the state as committed so far; a plan that still fits is
 * committed, a plan that conflicts is re-planned here against the updated state.
 */
import { JsKernel } from '../core/placement/kernel.js';
import { DIMENSIONS, type PlacementKernel } from '../core/placement/kernel-types.js';
import { schedulableMask, snapshotCapacity } from '../core/snapshot/build.js';
import type { ClusterSnapshot } from '../core/snapshot/layout.js';
import type { PlacementPool } from './pool.js';
import type { KernelCall } from './protocol.js';

/** A job as the kernel sees it: its agent classes, placed in order. */
export interface PlacementJob {
  id: string;
  calls: KernelCall[];
}

export interface JobOutcome {
  id: string;
  /** Node per agent for each call (-1 = not placed). */
  outs: Int32Array[];
  placed: number;
  /** True when the worker's plan conflicted with an earlier commit and the job was re-planned. */
  replanned: boolean;
  /** Set when the job could not be planned at all (worker failure and local re-plan failure). */
  error?: { code: string; message: string };
}

export interface CommitStats {
  jobs: number;
  conflicts: number;
  /** Conflicting plans / plans checked. */
  conflictRate: number;
}

export class Committer {
  readonly n: number;
  private readonly cap: Float64Array;
  private readonly free: Float64Array;
  private readonly schedulable: Uint8Array;
  private readonly kernel: PlacementKernel;
  private conflicts = 0;
  private checked = 0;

  constructor(
    private readonly pool: PlacementPool,
    snapshot: ClusterSnapshot,
    private readonly generation: number,
    kernel: PlacementKernel = new JsKernel(),
  ) {
    const { n, cap, free } = snapshotCapacity(snapshot);
    this.n = n;
    this.cap = cap;
    this.free = free;
    this.schedulable = schedulableMask(snapshot);
    this.kernel = kernel;
  }

  /** Committed free capacity (`f64[4*n]`, dimension-major). */
  freeCapacity(): Float64Array {
    return this.free;
  }

  stats(jobs: number): CommitStats {
    return { jobs, conflicts: this.conflicts, conflictRate: this.checked > 0 ? this.conflicts / this.checked : 0 };
  }

  /** Plans all jobs in parallel on the pool and commits them in completion order. */
  async run(jobs: readonly PlacementJob[]): Promise<JobOutcome[]> {
    const outcomes = new Array<JobOutcome>(jobs.length);
    await Promise.all(
      jobs.map(async (job, k) => {
        const result = await this.pool.runKernel(job.calls, this.generation);
        // Commits run synchronously between awaits, so the main thread serialises them.
        outcomes[k] = result.ok ? this.commitOrReplan(job, result.value.outs) : this.replan(job, { code: result.code, message: result.message });
      }),
    );
    return outcomes;
  }

  /** Re-checks a worker plan against the committed state; commits it or re-plans the job. */
  commitOrReplan(job: PlacementJob, outs: readonly Int32Array[]): JobOutcome {
    this.checked++;
    if (this.fitsNow(job, outs)) {
      let placed = 0;
      job.calls.forEach((call, c) => {
        for (const i of outs[c]!) {
          if (i < 0) continue;
          this.take(i, call.ask);
          placed++;
        }
      });
      return { id: job.id, outs: outs.map((o) => o.slice()), placed, replanned: false };
    }
    this.conflicts++;
    return this.replan(job);
  }

  /**
   * The worker's plan still holds when, applying its placements in order to the committed state,
   * every placement passes the kernel's fit rule (eligibility, slots, free >= ask per asked
   * dimension).
   */
  private fitsNow(job: PlacementJob, outs: readonly Int32Array[]): boolean {
    const n = this.n;
    const used = new Map<number, Float64Array>();
    for (let c = 0; c < job.calls.length; c++) {
      const call = job.calls[c]!;
      const elig = call.elig ?? this.schedulable;
      const slotsUsed = new Map<number, number>();
      for (const i of outs[c]!) {
        if (i < 0) continue;
        if (i >= n || elig[i] !== 1) return false;
        const slots = call.slots ? call.slots[i]! : -1;
        const s = (slotsUsed.get(i) ?? 0) + 1;
        if (slots >= 0 && s > slots) return false;
        slotsUsed.set(i, s);
        let u = used.get(i);
        if (!u) used.set(i, (u = new Float64Array(DIMENSIONS)));
        for (let d = 0; d < DIMENSIONS; d++) {
          const a = call.ask[d]!;
          const f = this.free[d * n + i]! - u[d]!;
          if (a !== 0 && !(f >= a)) return false;
          u[d] = u[d]! + a;
        }
      }
    }
    return true;
  }

  private take(i: number, ask: readonly number[]): void {
    const n = this.n;
    for (let d = 0; d < DIMENSIONS; d++) this.free[d * n + i] = this.free[d * n + i]! - ask[d]!;
  }

  /** Plans the job on the main thread against the committed state and commits the result. */
  private replan(job: PlacementJob, error?: { code: string; message: string }): JobOutcome {
    const k = this.kernel;
    k.load(this.cap, this.free, this.n);
    const outs: Int32Array[] = [];
    let placed = 0;
    const ask = new Float64Array(DIMENSIONS);
    for (const call of job.calls) {
      k.elig().set(call.elig ?? this.schedulable);
      if (call.slots) k.slots().set(call.slots);
      else k.slots().fill(-1);
      ask.set(call.ask);
      const r = k.place({ ask, strategy: call.strategy, count: call.count, sampleK: call.sampleK, seed: call.seed });
      outs.push(r.out.slice());
      placed += r.placed;
    }
    this.free.set(k.free());
    const outcome: JobOutcome = { id: job.id, outs, placed, replanned: true };
    if (error && placed === 0) outcome.error = error;
    return outcome;
  }
}
