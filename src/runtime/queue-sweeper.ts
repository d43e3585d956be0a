/**
 * The leader's queue sweep: starts queued jobs when capacity frees (the nodes' usage changed, a
 * job ended, a node joined) and also periodically, in queue order (priority, then age). The queue
 * and the job records live in the store, so a new leader carries on where a dead one stopped:
 * nothing is lost, and the claim on each entry (see `JobQueueStore.remove`) starts a job once.
 */
import { queueHeads } from '../core/queue/order.js';
import { type JobRecord, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from './coordinators.js';
import type { Jobs } from './jobs.js';
import { usageFingerprint } from './relocator.js';

export interface QueueSweeperOptions {
  store: Store;
  jobs: Jobs;
  /** Whether this daemon leads now (only the leader starts queued jobs). */
  isLeader: () => boolean;
  /** This daemon's coordinators: a daemon that stops leading gives back its queued jobs' leases. */
  coordinators?: Coordinators;
  /** Queue heads planned in one pass (default 16). */
  heads?: number;
  /** A pass runs at least this often while jobs wait, even when nothing changed (default 5000 ms). */
  periodMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

/** Passes between checks for queued records whose queue entry is missing (a daemon died in between). */
const REPAIR_EVERY = 10;

export class QueueSweeper {
  private lastCapacity = '';
  private lastSize = -1;
  private lastPass = 0;
  private passes = 0;
  private leading = false;
  private readonly now: () => number;

  constructor(private readonly options: QueueSweeperOptions) {
    this.now = options.now ?? Date.now;
  }

  async tick(): Promise<void> {
    const { store, jobs } = this.options;
    if (!this.options.isLeader()) {
      // A new term starts with a pass.
      this.lastCapacity = '';
      if (this.leading) await this.handOver();
      this.leading = false;
      return;
    }
    this.leading = true;
    const now = this.now();
    const periodic = now - this.lastPass >= (this.options.periodMs ?? 5000);
    if (periodic && this.passes++ % REPAIR_EVERY === 0) await this.repair();
    const entries = await store.queue.list();
    if (entries.length === 0) {
      this.lastSize = 0;
      return;
    }
    const capacity = usageFingerprint(await store.listNodes());
    if (!periodic && capacity === this.lastCapacity && entries.length === this.lastSize) return;
    this.lastCapacity = capacity;
    this.lastSize = entries.length;
    this.lastPass = now;
    const records: JobRecord[] = [];
    for (const entry of queueHeads(entries, this.options.heads ?? 16)) {
      const record = await store.getJob(entry.job_id);
      if (!record || TERMINAL_JOB_STATUSES.has(record.status) || record.plan !== null || (record.status !== 'pending' && record.status !== 'paused')) {
        // Started, cancelled or failed elsewhere: the entry has no job to start any more.
        await store.queue.remove(entry.job_id);
        continue;
      }
      // A paused queued job keeps its place but neither starts nor holds others back.
      if (record.status === 'paused') continue;
      records.push(record);
    }
    await jobs.startQueued(records, this.options.onError);
  }

  /**
   * Gives back the leases of the queued jobs this daemon coordinates (it adopted them as leader),
   * so that the new leader can start them without waiting for this daemon to stop.
   */
  private async handOver(): Promise<void> {
    const coordinators = this.options.coordinators;
    if (!coordinators) return;
    for (const jobId of coordinators.jobIds) {
      const record = await this.options.store.getJob(jobId);
      if (record && record.plan === null && record.details.queued && (record.status === 'pending' || record.status === 'paused')) await coordinators.release(jobId);
    }
  }

  /** Puts back queued records that lost their entry (their daemon died between the two writes). */
  private async repair(): Promise<void> {
    const { store } = this.options;
    const queued = new Set((await store.queue.list()).map((e) => e.job_id));
    for (const summary of await store.listJobs()) {
      if (summary.status !== 'pending' || queued.has(summary.job_id)) continue;
      const record = await store.getJob(summary.job_id);
      const entry = record?.details.queued;
      if (record && record.status === 'pending' && record.plan === null && entry) await store.queue.enqueue(entry);
    }
  }
}
