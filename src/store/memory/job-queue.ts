import { type QueueEntry, type QueuePlace, placeOf, sortQueue } from '../../core/queue/order.js';
import type { JobQueueStore } from '../job-queue.js';
import { checkQueueEntry } from '../queue-validate.js';
import { checkName } from '../validate.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's job queue (not durable, like the rest of the embedded store). */
export class MemoryJobQueue implements JobQueueStore {
  private readonly entries = new Map<string, QueueEntry>();

  constructor(private readonly core: MemoryCore) {}

  async enqueue(entry: QueueEntry): Promise<void> {
    this.core.open();
    checkQueueEntry(entry);
    this.entries.set(entry.job_id, copy(entry));
  }

  async remove(jobId: string): Promise<boolean> {
    this.core.open();
    checkName(jobId, 'job id');
    return this.entries.delete(jobId);
  }

  async list(): Promise<QueueEntry[]> {
    this.core.open();
    return copy(sortQueue([...this.entries.values()]));
  }

  async place(jobId: string): Promise<QueuePlace | null> {
    this.core.open();
    checkName(jobId, 'job id');
    if (!this.entries.has(jobId)) return null;
    return placeOf([...this.entries.values()], jobId);
  }
}
