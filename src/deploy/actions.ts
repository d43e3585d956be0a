/**
 * The deployment decisions both the leader's controller and the operator verbs carry out: ending a
 * deployment (successful or failed), promoting a blue-green candidate, and the automatic revert
 * of a failed deployment to the last stable version (a new version: history is never rewritten).
 * Every change is an event on the deployment with its reason.
 */
import { rollbackTarget, withEvent, type DeploymentEvent, type DeploymentRecord } from '../core/deploy/records.js';
import { MnError, isMnError } from '../core/errors.js';
import type { Jobs } from '../runtime/jobs.js';
import type { DeploymentPatch } from '../store/deployments.js';
import { type Fence, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

export interface DeployContext {
  store: Store;
  jobs: Jobs;
  now(): number;
  /**
   * The fence of writes: the leader's lease for the controller (null once it is lost: then
   * nothing is written); none for operator verbs, which check versions only.
   */
  fence?: () => Fence | null;
  onError?: (error: unknown) => void;
}

/** Writes a deployment change unless the record moved on meanwhile (then the caller looks again). */
export async function commit(ctx: DeployContext, dep: DeploymentRecord, patch: DeploymentPatch, events: Array<Omit<DeploymentEvent, 'timestamp'>> = []): Promise<DeploymentRecord | null> {
  const fence = ctx.fence ? ctx.fence() : undefined;
  if (fence === null) throw new MnError('MN_E_LEASE_LOST', `deployment ${dep.deployment_id} is driven by the leader, and this daemon no longer leads`);
  let list = dep.events;
  for (const e of events) list = withEvent(list, { ...e, timestamp: ctx.now() } as DeploymentEvent);
  try {
    return await ctx.store.deployments.update(dep.deployment_id, { ...patch, ...(events.length > 0 ? { events: list } : {}) }, { expectedVersion: dep.version, ...(fence ? { fence } : {}) });
  } catch (error) {
    if (isMnError(error, 'MN_E_CONFLICT')) return null;
    throw error;
  }
}

/** Cancels a job unless it already ended. */
async function cancel(ctx: DeployContext, jobId: string | null): Promise<void> {
  if (!jobId) return;
  const record = await ctx.store.getJob(jobId);
  if (!record || TERMINAL_JOB_STATUSES.has(record.status)) return;
  try {
    await ctx.jobs.control(jobId, 'cancel');
  } catch (error) {
    if (!isMnError(error, 'MN_E_FAILED_PRECONDITION')) throw error;
  }
}

/** Makes every instance of the deployment's target (job, or replaced agents) primary in discovery. */
async function promoteInstances(ctx: DeployContext, dep: DeploymentRecord): Promise<void> {
  if (!dep.target_job_id) return;
  const instances = await ctx.store.services.list({ job_id: dep.target_job_id, include_candidates: true });
  const ids = instances.filter((r) => (r.deployment_version ?? null) === dep.target_version && r.deployment_role !== 'primary').map((r) => r.id);
  if (ids.length > 0) await ctx.store.services.setDeployment(ids, { deployment_role: 'primary', deployment_id: dep.deployment_id, deployment_version: dep.target_version });
}

/** The rollout reached its end: the target version is stable and primary; a blue-green source job is retired. */
export async function succeed(ctx: DeployContext, dep: DeploymentRecord, reason: string): Promise<DeploymentRecord | null> {
  await promoteInstances(ctx, dep);
  if (dep.mode === 'blue_green' && dep.source_job_id && dep.source_job_id !== dep.target_job_id) await cancel(ctx, dep.source_job_id);
  await ctx.store.deployments.markStable(dep.deployment_key, dep.target_version);
  return commit(
    ctx,
    dep,
    { status: 'successful', description: reason, current_job_id: dep.target_job_id, stable_job_id: dep.target_job_id, current_version: dep.target_version, stable_version: dep.target_version, remaining_agent_ids: [] },
    [{ type: dep.mode === 'blue_green' ? 'deployment_promoted' : 'deployment_successful', reason, version: dep.target_version }],
  );
}

/**
 * The deployment failed: a blue-green candidate is cancelled (the old job keeps serving), an
 * agent-level rollout is undone by the job's coordinator (its replaced agents go back to the
 * job's version), and with `auto_revert` the last stable version is recorded again as a new one.
 */
export async function fail(ctx: DeployContext, dep: DeploymentRecord, reason: string, options: { revert?: boolean } = {}): Promise<DeploymentRecord | null> {
  if (dep.mode === 'blue_green' && dep.target_job_id !== dep.source_job_id) await cancel(ctx, dep.target_job_id);
  const failed = await commit(ctx, dep, { status: 'failed', description: reason, paused_from: null, paused_at: null }, [{ type: 'deployment_failed', reason, version: dep.target_version }]);
  if (!failed) return null;
  if (options.revert ?? dep.policy.auto_revert) return (await revert(ctx, failed, reason)) ?? failed;
  return failed;
}

/** `auto_revert`: the last stable version other than the failed one becomes the key's current deployment, as a new version. */
async function revert(ctx: DeployContext, failed: DeploymentRecord, reason: string): Promise<DeploymentRecord | null> {
  const versions = await ctx.store.deployments.versions(failed.deployment_key);
  const target = rollbackTarget(versions, failed.target_version, {});
  if (!target) {
    await commit(ctx, failed, {}, [{ type: 'deployment_revert_skipped', reason: `no stable version to revert to for deployment key ${failed.deployment_key}` }]);
    return null;
  }
  const serving = failed.mode === 'blue_green' ? failed.source_job_id : (failed.current_job_id ?? failed.source_job_id);
  const now = ctx.now();
  const id = `${failed.deployment_id}_revert`;
  const version = await ctx.store.deployments.addVersion({ deployment_key: failed.deployment_key, deployment_id: id, job_id: serving, manifest: target.manifest, files: target.files, submitted_at: now, tag: target.tag, cause: 'auto_revert' });
  await ctx.store.deployments.markStable(failed.deployment_key, version.version);
  const description = `reverted to version ${target.version} (as version ${version.version}) after: ${reason}`;
  const record: DeploymentRecord = {
    ...failed,
    deployment_id: id,
    status: 'successful',
    description,
    mode: 'revert',
    current_job_id: serving,
    stable_job_id: serving,
    source_job_id: failed.target_job_id,
    target_job_id: serving,
    current_version: version.version,
    stable_version: version.version,
    target_version: version.version,
    rollback_of: target.version,
    changed_agent_ids: failed.replaced_agent_ids,
    remaining_agent_ids: [],
    canary_agent_ids: [],
    replaced_agent_ids: [],
    rollout: null,
    paused_from: null,
    paused_at: null,
    events: [{ type: 'deployment_reverted', timestamp: now, reason: description, from_version: failed.target_version, to_version: target.version, failed_deployment: failed.deployment_id }],
  };
  try {
    return await ctx.store.deployments.create(record);
  } catch (error) {
    throw new MnError('MN_E_CONFLICT', `deployment ${failed.deployment_id} failed but could not be reverted: ${(error as Error).message}`, { details: { reason: 'state', deployment_id: failed.deployment_id }, cause: error });
  }
}
