/**
 * Record builders and decoders shared by both stores, so that a record means the same in each:
 * the new-job record, the error context of a guarded write, and the one place where a stored
 * job's `job` and `plan` JSON become typed values.
 */
import { MnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { ScriptContext } from './script-codes.js';
import type { AgentWriteGuard, JobDetails, JobRecord, NewJob, WriteGuard } from './store.js';

/** The record `createJob` writes for `input` at `now` (version 1). */
export function newJobRecord(input: NewJob, now: number): JobRecord {
  return {
    job_id: input.job_id,
    manifest: input.manifest ?? null,
    job: input.job,
    plan: input.plan ?? null,
    status: input.status ?? 'pending',
    requested_policies: input.requested_policies ?? {},
    effective_policies: input.effective_policies ?? {},
    details: input.details ?? {},
    created_at: now,
    updated_at: now,
    version: 1,
  };
}

/** What an error of a guarded write names: the object, and the lease and version it relied on. */
export function contextOf(object: string, guard: WriteGuard | AgentWriteGuard): ScriptContext {
  return {
    object,
    ...(guard.fence ? { lease: guard.fence.lease, token: guard.fence.token } : {}),
    ...('expectedVersion' in guard && guard.expectedVersion !== undefined ? { expectedVersion: guard.expectedVersion } : {}),
  };
}

/** Stored job fields as read back: JSON values by field name (absent fields are null). */
export type JobFields = (field: keyof JobRecord) => unknown;

/**
 * Decodes a stored job record. `job` and `plan` were written typed by this runtime; what is
 * checked here is only that they are still objects, so a damaged record fails loudly where it is
 * read instead of deep inside a caller.
 */
export function decodeJobRecord(field: JobFields): JobRecord {
  const jobId = String(field('job_id'));
  const job = field('job');
  const plan = field('plan');
  if (!isObject(job)) throw damaged(jobId, 'job');
  if (plan !== null && !isObject(plan)) throw damaged(jobId, 'plan');
  return {
    job_id: jobId,
    manifest: field('manifest'),
    job: job as unknown as Job,
    plan: plan as Plan | null,
    status: field('status') as JobRecord['status'],
    requested_policies: (field('requested_policies') ?? {}) as Record<string, unknown>,
    effective_policies: (field('effective_policies') ?? {}) as JobRecord['effective_policies'],
    details: (field('details') ?? {}) as JobDetails,
    created_at: Number(field('created_at')),
    updated_at: Number(field('updated_at')),
    version: Number(field('version')),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function damaged(jobId: string, field: string): MnError {
  return new MnError('MN_E_STORE_UNAVAILABLE', `stored job "${jobId}" is damaged: its ${field} is not an object`, { details: { object: `job "${jobId}"`, field } });
}
