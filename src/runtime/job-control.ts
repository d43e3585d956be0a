/** An operator's pause, resume or cancel of a job, performed by its coordinator. */
import { MnError } from '../core/errors.js';
import { type JobRecord, type JobStatus, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from './coordinators.js';

export type JobAction = 'pause' | 'resume' | 'cancel';

/** Job statuses an operator may pause, resume or cancel from. */
const PAUSABLE: ReadonlySet<JobStatus> = new Set(['pending', 'scheduled', 'running']);

/**
 * Applies `action` to a job: as its coordinator when this daemon holds (or can adopt) its lease;
 * otherwise the decision is recorded and the live coordinator carries it out (the placements of
 * a cancelled job are released by its fenced commit).
 */
export async function controlJob(store: Store, coordinators: Coordinators, record: JobRecord, action: JobAction): Promise<{ job_id: string; status: JobStatus }> {
  const jobId = record.job_id;
  const from = record.status;
  const target: JobStatus = action === 'pause' ? 'paused' : action === 'resume' ? (record.plan ? 'scheduled' : 'pending') : 'cancelled';
  if (TERMINAL_JOB_STATUSES.has(from)) {
    throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is already ${from}`, { details: { job_id: jobId, status: from } });
  }
  if (action === 'pause' && !PAUSABLE.has(from)) throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is ${from} and cannot be paused`);
  if (action === 'resume' && from !== 'paused') throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is ${from}, not paused`);
  // A queued job leaves the queue first (cancel, pause): a queue sweep that has not claimed it
  // yet never will, and a paused one holds no later submission back. Resume puts it back at
  // its old place (its entry is kept on the record).
  const queued = record.plan === null ? record.details.queued : undefined;
  if (action === 'cancel' || (action === 'pause' && queued)) await store.queue.remove(jobId);
  const fence = await coordinators.adopt(jobId);
  if (fence) {
    await coordinators.transition(jobId, target, `job_${target}`);
    // The leader starts queued jobs under their lease: a daemon that took it only to pause or
    // resume one gives it back (a queue sweep that cannot take it would wait behind it).
    if (queued && !TERMINAL_JOB_STATUSES.has(target)) await coordinators.release(jobId);
  } else {
    await store.updateJob(jobId, { status: target });
    await store.appendEvent(jobId, { type: `job_${target}`, payload: { status: target, requested: true } });
  }
  if (action === 'resume' && queued) await store.queue.enqueue(queued);
  return { job_id: jobId, status: target };
}
