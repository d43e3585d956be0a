import type { ClusterState } from '../core/cluster/types.js';
import { MnError, isMnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import { mergePlan } from '../core/placement/merge.js';
import type { Plan } from '../core/placement/plan-types.js';
import { type ClusterView, ClusterViewBuilder } from '../cluster/snapshot.js';
import { type Fence, type JobDetails, type JobRecord, type JobStatus, type NewJob, type Store } from '../store/store.js';
import type { ServiceRequirement } from '../core/manifest/types.js';
import type { PreflightReport } from '../core/services/preflight.js';
import type { Coordinators } from './coordinators.js';
import { controlJob, type JobAction } from './job-control.js';
import { capacityOf, jobPlan, newJobRecordOf, toAgentPlacements, toAgentPlacementsChunked } from './placement-commit.js';
import { newJobId, validateSubmission } from './submission.js';
import { bindWarmPools } from './warm-pool-binding.js';
import { DEFAULT_LIMITS, type Limits } from '../core/limits.js';
import type { PreemptionConfig } from '../core/placement/preemption-config.js';
import { readSchedulerConfig } from '../cluster/scheduler-config.js';
import { commitEvictions, recordPreemptions } from './preemption.js';
import { type QueueEntry, type QueuePlace, waitsBehind } from '../core/queue/order.js';
import { explainFailures } from '../core/queue/evaluation.js';
import type { PlacementFailure } from '../core/placement/plan-types.js';
import { recordEvaluation } from './evaluations.js';
import { type QueueContext, enqueueSubmission, startQueued } from './queued-jobs.js';


/** Plans jobs against a cluster snapshot; the daemon's implementation runs off the main thread. */
/** Planner options a daemon passes for partial re-plans. */
export interface PlanOptions {
  excludeNodes?: string[];
  onlyAgentIds?: string[];
  /** Job types that may evict lower-priority agents (the scheduler configuration). */
  preemption?: PreemptionConfig;
}

export interface PlanService {
  /** `fingerprint` identifies the cluster view; equal fingerprints mean an equal view. */
  plan(cluster: ClusterState, jobs: Job[], fingerprint?: string, options?: PlanOptions): Promise<Plan>;
}

export interface JobsOptions {
  store: Store;
  planner: PlanService;
  coordinators: Coordinators;
  /** Environment for `${env.*}` manifest templates. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Attempts when a commit loses a race for capacity (default 3). */
  commitAttempts?: number;
  /** Checks a job's `required_services` before it is accepted (spec §5.6); without it, none are checked. */
  preflight?: (requirements: readonly ServiceRequirement[]) => Promise<PreflightReport>;
  /** Request limits (default {@link DEFAULT_LIMITS}). */
  limits?: Limits;
  /** Called once a job's placements are committed (its coordinator may seed it at once). */
  onScheduled?: (jobId: string) => void;
}

/** How a job is submitted. */
export interface SubmitOptions {
  /** Skip the service preflight; the job records that it was skipped. */
  force?: boolean;
  /** More details for the new job record (a deployment's place: `deployment`). */
  details?: JobDetails;
  /** The preflight was run already (by a deploy), with this outcome. */
  preflightDone?: JobDetails['preflight'];
  /** A template dispatch: a manifest that declares `parameters` is accepted (its variables are filled in). */
  template?: boolean;
  /**
   * Refuse the job when it cannot start now (the behaviour before the queue): a `runnable_later`
   * job, or one that would have to wait behind queued jobs of higher or equal priority, is refused
   * with `MN_E_PLACEMENT_FAILED` instead of being queued.
   */
  noQueue?: boolean;
}

/** What a submission answers: the job, its status, its plan and, for a queued job, its place. */
export interface Submitted {
  job_id: string;
  status: JobStatus;
  plan: Plan;
  /** The job's place in the queue when it was queued (status `pending`). */
  queue?: QueuePlace | null;
  /** The evaluation that placed or queued the job. */
  evaluation_id?: string;
}

/** A submission waiting for the committer. */
export interface Pending {
  job: Job;
  jobId: string;
  manifest: unknown;
  /** Module agent sources by bundle path. */
  modules: Record<string, string>;
  /** What the service preflight found, or that it was skipped. */
  preflight: JobDetails['preflight'];
  /** More details for the new record (a deployment's place). */
  details: JobDetails;
  /** Times this submission was planned together with others and failed (then it is planned alone). */
  retries: number;
  /** Planned in a task of its own: its batch's plan failed in the worker (a crash), so no one else fails with it. */
  alone?: boolean;
  /**
   * A submission: true when it may wait in the queue (no `noQueue`), false when it is refused
   * instead. Undefined for a scheduled dispatch's record, placed (or failed) without the queue.
   */
  queueable?: boolean;
  resolve: (value: Submitted) => void;
  reject: (error: unknown) => void;
}

/** Most submissions planned in one solver task. */
const BATCH = 64;

/**
 * Job submission and control. Submissions queue for this daemon's single committer, which takes
 * every queued submission, plans them together (in arrival order) in one solver task against one
 * view of the cluster, and commits each job's placements atomically under its coordinator lease.
 * Planning in one pass keeps jobs of the same batch from double-booking ports and devices; the
 * store re-checks every touched node's capacity at commit, so a commit that lost a race with
 * another daemon is re-planned.
 */
export class Jobs {
  private readonly views: ClusterViewBuilder;
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(private readonly options: JobsOptions) {
    this.views = new ClusterViewBuilder(options.store);
  }

  /** The request limits submissions are held to. */
  get limits(): Limits {
    return this.options.limits ?? DEFAULT_LIMITS;
  }

  /**
   * Validates, plans and commits a job. `files` are the bundle's files by relative path; the
   * sources of module agents (`config.module`) among them travel with the job record to the
   * daemons that run those agents.
   */
  async submit(manifestJson: string, files: Readonly<Record<string, Buffer | string>> = {}, options: SubmitOptions = {}): Promise<Submitted> {
    const { job, modules } = this.validate(manifestJson, files);
    if (!options.template && Object.keys(job.parameters).length > 0) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `parameters: the manifest declares parameters (${Object.keys(job.parameters).join(', ')}), so it is a job template: register it with \`mn job register\` and start it with \`mn job dispatch ${job.job_name} --var NAME=VALUE\``, {
        details: { field: 'parameters' },
      });
    }
    // Consumers of a warm pool: refused when nobody declared it, else placed where it is kept.
    const bound = await bindWarmPools(this.options.store, job);
    const preflight = 'preflightDone' in options ? options.preflightDone : await this.preflight(bound, options);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: bound, jobId: newJobId(job.graph_id), manifest: JSON.parse(manifestJson) as unknown, modules, preflight, details: options.details ?? {}, retries: 0, queueable: options.noQueue !== true, resolve, reject });
      void this.drain();
    });
  }

  /**
   * The record a scheduled dispatch creates (status `pending`, no plan), built as a submission
   * would build it; the dispatch commits it atomically with its schedule's record, then
   * {@link placeExisting} plans and commits it like any other job.
   */
  async pendingRecord(jobId: string, job: Job, manifest: unknown, modules: Record<string, string>, details: JobDetails): Promise<NewJob> {
    // Cluster health from the node list alone: a dispatch must not cost a full cluster view.
    const nodes = (await this.options.store.listNodes()).map((n) => ({ status: n.status, alive: n.alive, profiles: Array.isArray(n.inventory.profiles) ? (n.inventory.profiles as string[]) : [] }));
    return newJobRecordOf({ jobId, job, manifest, modules, details }, nodes);
  }

  /**
   * Takes the coordinator lease of a job about to be created by a dispatch, so that the leader's
   * sweep does not adopt it (as an orphan) between its creation and its placement here; null
   * when another daemon holds it. {@link unreserve} gives it back when the job was not created.
   */
  reserve(jobId: string): Promise<Fence | null> {
    return this.options.coordinators.adopt(jobId);
  }

  unreserve(jobId: string): Promise<void> {
    return this.options.coordinators.release(jobId);
  }

  /**
   * Plans and commits a job whose record exists and is still pending without a plan (a
   * scheduled dispatch). A job that cannot be placed is failed, with the reason on its record.
   */
  async placeExisting(record: JobRecord): Promise<{ job_id: string; status: JobStatus }> {
    try {
      const job = await bindWarmPools(this.options.store, record.job);
      const placed = await new Promise<{ job_id: string; status: JobStatus; plan: Plan }>((resolve, reject) => {
        const modules = record.details.modules ?? {};
        this.queue.push({ job, jobId: record.job_id, manifest: record.manifest, modules, preflight: undefined, details: {}, retries: 0, resolve, reject });
        void this.drain();
      });
      return { job_id: placed.job_id, status: placed.status };
    } catch (error) {
      const fresh = await this.options.store.getJob(record.job_id).catch(() => null);
      if (fresh && fresh.status === 'pending' && (await this.options.coordinators.adopt(record.job_id).catch(() => null))) {
        const reason = error instanceof Error ? error.message : String(error);
        await this.options.store.updateJob(record.job_id, { details: { ...fresh.details, failure: { reason } } }, { fence: this.options.coordinators.fence(record.job_id) }).catch(() => undefined);
        await this.options.coordinators.transition(record.job_id, 'failed', 'job_failed').catch(() => undefined);
      }
      throw error;
    }
  }

  /** Validates a manifest and finds its module sources among `files`; an invalid one is refused naming every problem. */
  validate(manifestJson: string, files: Readonly<Record<string, Buffer | string>> = {}): { job: Job; modules: Record<string, string> } {
    return validateSubmission(manifestJson, files, this.options.env ?? {}, this.limits);
  }

  /**
   * The service preflight of a job with `required_services`: a job whose requirements are not met
   * is refused with `service_requirements_not_met` and the report; `force` skips it, on the record.
   */
  async preflight(job: Job, options: SubmitOptions): Promise<JobDetails['preflight']> {
    if (job.required_services.length === 0 || !this.options.preflight) return undefined;
    if (options.force) return { skipped: true, reason: 'forced' };
    const report = await this.options.preflight(job.required_services);
    if (!report.ok) {
      throw new MnError('MN_E_FAILED_PRECONDITION', `service_requirements_not_met: ${JSON.stringify(report)}`, { details: { reason: 'service_requirements_not_met', report } });
    }
    return { skipped: false, checked: report.checked };
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.nextBatch();
        try {
          await this.commitBatch(batch);
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Up to {@link BATCH} queued submissions in arrival order; one that must be planned alone comes alone. */
  private nextBatch(): Pending[] {
    const batch: Pending[] = [];
    while (batch.length < BATCH && this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.alone && batch.length > 0) break;
      batch.push(this.queue.shift()!);
      if (next.alone) break;
    }
    return batch;
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const view = await this.views.build();
    const { preemption } = await readSchedulerConfig(this.options.store, this.options.env ?? {});
    // No starvation: a job does not start while a queued job of higher or equal priority waits.
    // Read once per batch; jobs this batch queues join it.
    const waiting: QueueEntry[] = await this.options.store.queue.list();
    // Plan under the job ids: two submissions of one manifest share a graph id.
    let plan: Plan;
    try {
      plan = await this.options.planner.plan(view.cluster, batch.map((p) => ({ ...p.job, graph_id: p.jobId })), view.fingerprint, { preemption });
    } catch (error) {
      if (batch.length > 1) {
        // One submission may have broken the worker: plan each alone, so only that one fails.
        for (const p of batch) p.alone = true;
        this.queue.unshift(...batch);
        return;
      }
      const cause = isMnError(error) ? error.details.cause : undefined;
      if (cause === 'MN_E_WORKER_EXITED' || cause === 'MN_E_TASK_FAILED') {
        const message = error instanceof Error ? error.message : String(error);
        throw new MnError('MN_E_TASK_FAILED', `planning job ${batch[0]!.jobId} failed in its placement worker, which was replaced; other submissions are not affected (${message})`, {
          details: { job_id: batch[0]!.jobId, cause },
        });
      }
      throw error;
    }
    for (const p of batch) {
      const failures = plan.failures.filter((f) => f.job === p.jobId);
      if (failures.length > 0) {
        if (batch.length > 1 && p.retries === 0) {
          // Earlier jobs of the batch may have taken what this one needed; try it alone once.
          p.retries++;
          this.queue.unshift(p);
          continue;
        }
        const availability = plan.jobs.find((j) => j.job === p.jobId)?.availability;
        if (availability === 'runnable_later' && p.queueable) {
          await enqueueSubmission(this.queueContext(), p, plan, failures, null, view, waiting);
          continue;
        }
        const f = failures[0]!;
        const more = failures.length > 1 ? ` (and ${failures.length - 1} more groups)` : '';
        p.reject(
          new MnError('MN_E_PLACEMENT_FAILED', `${f.reason}${f.suggestion ? `; ${f.suggestion}` : ''}${more}`, {
            details: { failures: failures.map((x) => ({ ...x, job: p.job.graph_id })) },
          }),
        );
        continue;
      }
      const behind = waitsBehind(waiting, p.job.priority, p.jobId);
      if (behind && p.queueable !== undefined) {
        if (p.queueable) {
          await enqueueSubmission(this.queueContext(), p, plan, [], behind, view, waiting);
        } else {
          p.reject(
            new MnError('MN_E_PLACEMENT_FAILED', `queued_jobs_waiting: job ${behind.job_id} (priority ${behind.priority}) waits in the queue and a job never starts ahead of a waiting job of higher or equal priority; submit without no_queue to queue behind it`, {
              details: { reason: 'queued_jobs_waiting', waiting_behind: behind },
            }),
          );
        }
        continue;
      }
      const own = jobPlan(plan, p);
      try {
        await this.commitOne(p, own, view);
        const evaluation = await recordEvaluation(this.options.store, { job_id: p.jobId, trigger: 'submit', status: 'complete', placed: own.placements.length, failed: 0, explanation: explainFailures([]), queue: null });
        p.resolve({ job_id: p.jobId, status: 'scheduled', plan: own, ...(evaluation ? { evaluation_id: evaluation.id } : {}) });
      } catch (error) {
        if (isMnError(error, 'MN_E_CONFLICT') && p.retries < 3) {
          // Another daemon committed onto the same nodes first: plan again against the new state.
          p.retries++;
          this.queue.push(p);
        } else {
          // A job record that exists but will never be scheduled must not stay pending.
          if (await this.options.store.getJob(p.jobId).catch(() => null)) {
            await this.options.coordinators.transition(p.jobId, 'failed', 'job_failed').catch(() => undefined);
          }
          p.reject(error);
        }
      }
    }
  }

  /** Starts queued jobs (the leader's queue sweep): see {@link startQueued}. */
  startQueued(candidates: JobRecord[], onError?: (error: unknown) => void): Promise<{ started: string[]; blocked: string | null }> {
    return startQueued(this.queueContext(), candidates, onError);
  }

  private queueContext(): QueueContext {
    return { ...this.options, view: () => this.views.build(), commit: (p, plan, view) => this.commitOne(p, plan, view) };
  }

  private async commitOne(p: Pending, plan: Plan, view: ClusterView): Promise<void> {
    const { store, coordinators } = this.options;
    const { job, jobId } = p;
    if (!(await store.getJob(jobId))) {
      await store.createJob(newJobRecordOf({ ...p, details: { ...p.details, ...(p.preflight ? { preflight: p.preflight } : {}) } }, view.cluster.nodes));
      await store.appendEvent(jobId, { type: 'job_pending', payload: { graph_id: job.graph_id, agents: job.agent_count } });
      if (p.preflight?.skipped) await store.appendEvent(jobId, { type: 'service_preflight_skipped', payload: { reason: p.preflight.reason ?? 'forced', required_services: job.required_services.map((r) => r.name) } });
    }
    const fence = await coordinators.adopt(jobId);
    if (!fence) throw new MnError('MN_E_CONFLICT', `job ${jobId} was adopted by another daemon before its first commit`, { retryable: true, details: { reason: 'taken', job_id: jobId } });
    await store.commitPlacements(
      jobId,
      { plan, status: 'scheduled', placements: await toAgentPlacementsChunked(plan), mode: 'replace', capacity: capacityOf(view.cluster, plan), ...commitEvictions(plan) },
      fence,
    );
    await recordPreemptions(store, jobId, job, plan);
    if ((plan.preemptions ?? []).length > 0) {
      await recordEvaluation(store, { job_id: jobId, trigger: 'preemption', status: 'complete', placed: plan.placements.length, failed: 0, explanation: explainFailures([]), queue: null, agents: plan.preemptions!.map((e) => `${e.job}/${e.agent_id}`) });
    }
    await store.appendEvent(jobId, { type: 'job_scheduled', payload: { placed: plan.stats.placed, nodes: new Set(plan.placements.map((x) => x.node)).size } });
    this.options.onScheduled?.(jobId);
  }

  /**
   * Moves agents of a job this daemon coordinates to other nodes (drain, node loss): one partial
   * plan for all of them, avoiding `avoid` nodes, merged into the job's plan and committed under
   * the job's fence. Agents that fit nowhere stay where they are and are returned as blocked.
   */
  async relocate(record: JobRecord, agentIds: string[], avoid: string[]): Promise<{ moved: Array<{ agent_id: string; node: string }>; blocked: string[]; reason: string | null; failures: PlacementFailure[] }> {
    const { store, coordinators } = this.options;
    const job = record.job;
    const jobId = record.job_id;
    const view = await this.views.build();
    const partial = await this.options.planner.plan(view.cluster, [{ ...job, graph_id: jobId }], view.fingerprint, {
      excludeNodes: avoid,
      onlyAgentIds: agentIds,
    });
    const placed = partial.placements.filter((p) => p.job === jobId).map((p) => ({ ...p, job: job.graph_id }));
    const placedIds = new Set(placed.map((p) => p.agent_id));
    const blocked = agentIds.filter((id) => !placedIds.has(id));
    const reason = partial.failures[0]?.reason ?? null;
    if (placed.length > 0) {
      const current: Plan = record.plan ?? { ...partial, placements: [], failures: [], jobs: [] };
      const merged = mergePlan(current, { ...partial, placements: placed, failures: [], jobs: current.jobs });
      const own = { ...partial, placements: placed };
      await store.commitPlacements(
        jobId,
        { plan: merged, placements: toAgentPlacements(own), mode: 'merge', capacity: capacityOf(view.cluster, own) },
        coordinators.fence(jobId),
      );
    }
    const failures = partial.failures.filter((f) => f.job === jobId).map((f) => ({ ...f, job: job.graph_id }));
    return { moved: placed.map((p) => ({ agent_id: p.agent_id, node: p.node })), blocked, reason, failures };
  }

  /** The planner's current view of the cluster (per-agent allocations with their job's priority and type). */
  clusterView(): Promise<ClusterView> {
    return this.views.build();
  }

  async get(jobId: string): Promise<JobRecord> {
    const record = await this.options.store.getJob(jobId);
    if (!record) throw new MnError('MN_E_NOT_FOUND', `job ${jobId} not found`, { details: { job_id: jobId } });
    return record;
  }

  /** Pause, resume or cancel, performed by the job's coordinator (adopted here if it is free). */
  async control(jobId: string, action: JobAction): Promise<{ job_id: string; status: JobStatus }> {
    return controlJob(this.options.store, this.options.coordinators, await this.get(jobId), action);
  }
}
