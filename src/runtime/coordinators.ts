import { MnError, isMnError } from '../core/errors.js';
import { LeaseKeeper } from '../store/lease-keeper.js';
import { type Fence, type JobStatus, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

/** Lease name of a job's coordinator. */
export function jobLeaseName(jobId: string): string {
  return `job:${jobId}`;
}

export interface CoordinatorsOptions {
  store: Store;
  /** Unique per daemon incarnation. */
  holder: string;
  leaseMs: number;
  renewMs: number;
  /** Called once a coordinated job has reached a terminal status (its services are removed). */
  onEnded?: (jobId: string) => Promise<void>;
  onError?: (error: unknown) => void;
}

/**
 * The jobs this daemon coordinates. Each job has one coordinator, proven by the job lease and its
 * fencing token: every write a coordinator makes carries the fence, so a coordinator that stalled
 * past its lease and was replaced cannot overwrite its successor's decisions.
 */
export class Coordinators {
  private readonly keepers = new Map<string, LeaseKeeper>();

  constructor(private readonly options: CoordinatorsOptions) {}

  /** Job ids coordinated here. */
  get jobIds(): string[] {
    return [...this.keepers.keys()];
  }

  /**
   * Becomes the coordinator of `jobId` if its lease is free; returns the fence, or null when
   * another daemon holds it.
   */
  async adopt(jobId: string): Promise<Fence | null> {
    const existing = this.keepers.get(jobId);
    if (existing?.held) return existing.fence();
    const keeper = new LeaseKeeper({
      store: this.options.store,
      name: jobLeaseName(jobId),
      holder: this.options.holder,
      ttlMs: this.options.leaseMs,
      renewIntervalMs: this.options.renewMs,
      onLost: () => {
        if (this.keepers.get(jobId) === keeper) this.keepers.delete(jobId);
      },
    });
    if (!(await keeper.acquire())) return null;
    keeper.start();
    this.keepers.set(jobId, keeper);
    return keeper.fence();
  }

  /** The fence for `jobId`; throws `MN_E_LEASE_LOST` when this daemon does not coordinate it. */
  fence(jobId: string): Fence {
    const keeper = this.keepers.get(jobId);
    if (!keeper) throw new MnError('MN_E_LEASE_LOST', `this daemon does not coordinate job ${jobId}`, { details: { job_id: jobId } });
    return keeper.fence();
  }

  /**
   * Moves a coordinated job to a new status. A terminal status releases the job's placements and
   * its lease, in that order, under the fence.
   */
  async transition(jobId: string, status: JobStatus, event: string): Promise<void> {
    const { store } = this.options;
    const fence = this.fence(jobId);
    if (TERMINAL_JOB_STATUSES.has(status)) {
      await store.commitPlacements(jobId, { status, placements: [], mode: 'replace' }, fence);
    } else {
      await store.updateJob(jobId, { status }, { fence });
    }
    await store.appendEvent(jobId, { type: event, payload: { status } });
    if (TERMINAL_JOB_STATUSES.has(status)) {
      await this.release(jobId);
      await this.options.onEnded?.(jobId).catch((error: unknown) => this.options.onError?.(error));
    }
  }

  /** Gives a job's lease back (no-op when not held). */
  async release(jobId: string): Promise<void> {
    const keeper = this.keepers.get(jobId);
    this.keepers.delete(jobId);
    if (!keeper) return;
    try {
      await keeper.release();
    } catch (error) {
      if (!isMnError(error)) this.options.onError?.(error);
    }
  }

  /** Stops renewing every lease without releasing (a crash looks the same to the cluster). */
  stop(): void {
    for (const keeper of this.keepers.values()) keeper.stop();
    this.keepers.clear();
  }

  /** Releases every lease (graceful shutdown: other daemons may adopt the jobs at once). */
  async releaseAll(): Promise<void> {
    await Promise.all(this.jobIds.map((id) => this.release(id)));
  }
}
