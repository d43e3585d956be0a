/**
 * The job queue part of the {@link Store}: jobs accepted while the cluster had no room for them
 * (`runnable_later`), waiting as `pending` records until the leader starts them. One queue per
 * cluster, in the order of `src/core/queue/order.ts` (priority, then age). Both stores pass one
 * contract suite (`test/integration/store/queue-contract.ts`); the Redis one is durable, so a
 * leader that dies loses no queued job.
 */
import type { QueueEntry, QueuePlace } from '../core/queue/order.js';

export interface JobQueueStore {
  /** Adds a job to the queue, or replaces its entry (idempotent by job id). */
  enqueue(entry: QueueEntry): Promise<void>;
  /**
   * Takes a job off the queue; true when this call removed it. Starting a queued job claims it
   * this way, so two starters (an old and a new leader) never both start it.
   */
  remove(jobId: string): Promise<boolean>;
  /** Every entry in start order. */
  list(): Promise<QueueEntry[]>;
  /** The job's place in the queue, or null when it is not queued. */
  place(jobId: string): Promise<QueuePlace | null>;
}
