/**
 * The cluster queue's side of job submission: a submission that cannot start now is accepted
 * and queued with a blocked evaluation, and the leader's queue sweep starts queued jobs in
 * priority order, then age (README "Priorities and the queue").
 */
import { isMnError } from '../core/errors.js';
import type { Plan, PlacementFailure } from '../core/placement/plan-types.js';
import { explainFailures, failedCount } from '../core/queue/evaluation.js';
import type { QueueEntry } from '../core/queue/order.js';
import { readSchedulerConfig } from '../cluster/scheduler-config.js';
import type { ClusterView } from '../cluster/snapshot.js';
import type { JobRecord } from '../store/store.js';
import { newEvaluationId, recordEvaluation } from './evaluations.js';
import type { JobsOptions, Pending } from './jobs.js';
import { jobPlan, newJobRecordOf } from './placement-commit.js';

/** What the queue's steps use of {@link Jobs}: its options, a fresh cluster view and its committer. */
export interface QueueContext extends JobsOptions {
  view(): Promise<ClusterView>;
  commit(p: Pending, plan: Plan, view: ClusterView): Promise<void>;
}

/**
 * Accepts a submission that cannot start now: its record is created `pending` (no plan) with
 * its queue entry, and a blocked evaluation explains why. The coordinator lease stays free:
 * the leader adopts queued jobs and starts them from the queue.
 */
export async function enqueueSubmission(ctx: QueueContext, p: Pending, plan: Plan, failures: PlacementFailure[], behind: QueueEntry | null, view: ClusterView, waiting: QueueEntry[]): Promise<void> {
  const { store } = ctx;
  try {
    const entry: QueueEntry = { job_id: p.jobId, priority: p.job.priority, since: Date.now(), evaluation_id: newEvaluationId() };
    if (!(await store.getJob(p.jobId))) {
      await store.createJob(newJobRecordOf({ ...p, details: { ...p.details, ...(p.preflight ? { preflight: p.preflight } : {}), queued: entry } }, view.cluster.nodes));
      await store.appendEvent(p.jobId, { type: 'job_pending', payload: { graph_id: p.job.graph_id, agents: p.job.agent_count } });
    }
    await store.queue.enqueue(entry);
    waiting.push(entry);
    const place = await store.queue.place(p.jobId);
    const own = failures.map((f) => ({ ...f, job: p.job.graph_id }));
    const explanation = explainFailures(own, behind);
    await store.appendEvent(p.jobId, { type: 'job_queued', payload: { status: 'pending', priority: entry.priority, position: place?.position ?? null, total: place?.total ?? null, evaluation_id: entry.evaluation_id, reason: explanation.summary } });
    await recordEvaluation(ctx.store, { id: entry.evaluation_id!, job_id: p.jobId, trigger: 'submit', status: 'blocked', placed: 0, failed: failures.length > 0 ? failedCount(failures) : 0, explanation, queue: place });
    const shown = jobPlan(plan, p);
    p.resolve({ job_id: p.jobId, status: 'pending', plan: { ...shown, status: 'failed', placements: [], failures: own, stats: { ...shown.stats, placed: 0 } }, queue: place, evaluation_id: entry.evaluation_id! });
  } catch (error) {
    // Refused after all: a record that exists must not wait (or be started later) unseen.
    await store.queue.remove(p.jobId).catch(() => false);
    if ((await store.getJob(p.jobId).catch(() => null)) && (await ctx.coordinators.adopt(p.jobId).catch(() => null))) {
      await ctx.coordinators.transition(p.jobId, 'failed', 'job_failed').catch(() => undefined);
    }
    p.reject(error);
  }
}

/**
 * Starts queued jobs (the leader's queue sweep): one plan for `records` (the queue's heads, in
 * start order); each that fully fits is claimed from the queue and committed under its
 * coordinator lease, in order, and the pass stops at the first that does not fit, so a smaller
 * job never overtakes a waiting bigger one. Returns the jobs started and the one that blocked.
 */
export async function startQueued(ctx: QueueContext, candidates: JobRecord[], onError?: (error: unknown) => void): Promise<{ started: string[]; blocked: string | null }> {
  const { store, coordinators } = ctx;
  const started: string[] = [];
  // Only records still waiting: pending, without a plan, with their queue entry.
  const records = candidates.filter((r) => r.status === 'pending' && r.plan === null && r.details.queued !== undefined);
  if (records.length === 0) return { started, blocked: null };
  const view = await ctx.view();
  const { preemption } = await readSchedulerConfig(store, ctx.env ?? {});
  const plan = await ctx.planner.plan(view.cluster, records.map((r) => ({ ...r.job, graph_id: r.job_id })), view.fingerprint, { preemption });
  for (const record of records) {
    const jobId = record.job_id;
    const entry = record.details.queued;
    const failures = plan.failures.filter((f) => f.job === jobId);
    if (failures.length > 0) {
      // Still waiting: refresh its blocked evaluation's explanation and place (no new record per pass).
      if (entry?.evaluation_id) {
        const own = failures.map((f) => ({ ...f, job: record.job.graph_id }));
        const place = await store.queue.place(jobId).catch(() => null);
        await store.evaluations.update(entry.evaluation_id, { explanation: explainFailures(own), failed: failedCount(failures), queue: place }).catch(() => undefined);
      }
      return { started, blocked: jobId };
    }
    if (!(await coordinators.adopt(jobId))) return { started, blocked: jobId };
    const fresh = await store.getJob(jobId);
    if (!fresh || fresh.status !== 'pending' || fresh.plan !== null) {
      await store.queue.remove(jobId);
      continue;
    }
    // The claim: exactly one starter removes the entry; a cancel that removed it first wins.
    if (!(await store.queue.remove(jobId))) continue;
    // Then the record, at the version read above: a cancel written since (by a daemon that
    // could not take the lease) makes this fail, and the job is not started.
    const { queued: _queued, ...details } = fresh.details;
    try {
      await store.updateJob(jobId, { details }, { fence: coordinators.fence(jobId), expectedVersion: fresh.version });
    } catch (error) {
      const now = await store.getJob(jobId).catch(() => null);
      if (entry && now?.status === 'pending' && now.plan === null && now.details.queued) await store.queue.enqueue(entry).catch(onError);
      if (!isMnError(error, 'MN_E_CONFLICT')) onError?.(error);
      continue;
    }
    const p: Pending = { job: fresh.job, jobId, manifest: fresh.manifest, modules: fresh.details.modules ?? {}, preflight: undefined, details: {}, retries: 0, resolve: () => undefined, reject: () => undefined };
    const own = jobPlan(plan, p);
    try {
      await ctx.commit(p, own, view);
    } catch (error) {
      // Lost a race for the capacity (or the lease): back in the queue at its old place.
      if (entry) {
        const now = await store.getJob(jobId).catch(() => null);
        if (now?.status === 'pending' && now.plan === null) {
          await store.updateJob(jobId, { details: { ...now.details, queued: entry } }, { fence: coordinators.fence(jobId) }).catch(onError);
          await store.queue.enqueue(entry).catch(onError);
        }
      }
      if (!isMnError(error, 'MN_E_CONFLICT')) onError?.(error);
      return { started, blocked: jobId };
    }
    // A cancel that landed between the versioned write and the commit is carried out now.
    if ((await store.readEvents(jobId)).some((e) => e.type === 'job_cancelled')) {
      await coordinators.transition(jobId, 'cancelled', 'job_cancelled').catch(onError);
      continue;
    }
    started.push(jobId);
    if (entry?.evaluation_id) await store.evaluations.update(entry.evaluation_id, { status: 'complete', queue: null }).catch(() => undefined);
    const waited = entry ? Date.now() - entry.since : null;
    await recordEvaluation(store, { job_id: jobId, trigger: 'queue', status: 'complete', placed: own.placements.length, failed: 0, explanation: explainFailures([]), queue: null }, onError);
    await store.appendEvent(jobId, { type: 'job_dequeued', payload: { priority: fresh.job.priority, waited_ms: waited } });
  }
  return { started, blocked: null };
}
