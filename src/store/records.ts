/**
 * Record builders and decoders shared by both stores, so that a record means the same in each:
 * the new-job record, the error context of a guarded write, and the one place where a stored
 * job's `job` and `plan` JSON become typed values.
 */
import { MnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { ScriptContext } from './script-codes.js';
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';
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

/** A deep copy of a JSON value. */
function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * A stored plan is frozen and shared by every read: plans are only ever replaced as a whole, and
 * a job of 100,000 agents has a plan of 100,000 placements that must not be copied on each read.
 */
export function frozen<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    Object.freeze(v);
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object' && !Object.isFrozen(child)) stack.push(child as object);
  }
  return value;
}

/**
 * Copies of plan placements, frozen. Placements that share their `resources` or `allocations`
 * object (a group's agents do) share one copy of it, as the planner made them: a 100,000-agent
 * plan stays small.
 */
function placementCopier(): (p: Plan['placements'][number]) => Plan['placements'][number] {
  const copies = new Map<object, object>();
  const shared = <T extends object>(value: T): T => {
    let c = copies.get(value);
    if (c === undefined) copies.set(value, (c = frozen(jsonCopy(value))));
    return c as T;
  };
  return (p) => {
    // The store keeps any JSON a caller commits: rows of another shape are copied whole.
    if (p === null || typeof p !== 'object' || typeof p.resources !== 'object' || p.resources === null || typeof p.allocations !== 'object' || p.allocations === null) return frozen(jsonCopy(p));
    return frozen({ ...jsonCopy({ ...p, resources: null, allocations: null }), resources: shared(p.resources), allocations: shared(p.allocations) });
  };
}

/** {@link frozen} of a copy of a plan (see {@link placementCopier}). */
export function frozenPlan(plan: Plan): Plan {
  if (!Array.isArray(plan.placements)) return frozen(jsonCopy(plan));
  const { placements, ...rest } = plan;
  return frozen({ ...jsonCopy(rest), placements: placements.map(placementCopier()) } as Plan);
}

/** {@link frozenPlan}, its placements copied a chunk per turn of the event loop. */
export async function frozenPlanChunked(plan: Plan): Promise<Plan> {
  if (!Array.isArray(plan.placements)) return frozen(jsonCopy(plan));
  const { placements, ...rest } = plan;
  const copyOne = placementCopier();
  const list: Plan['placements'] = [];
  for (let i = 0; i < placements.length; i += LOOP_CHUNK) {
    const end = Math.min(placements.length, i + LOOP_CHUNK);
    for (let k = i; k < end; k++) list.push(copyOne(placements[k]!));
    if (end < placements.length) await yieldToLoop();
  }
  return frozen({ ...jsonCopy(rest), placements: list } as Plan);
}
