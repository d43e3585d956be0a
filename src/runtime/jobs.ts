import { randomBytes } from 'node:crypto';
import type { ClusterState } from '../core/cluster/types.js';
import { MnError, isMnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import { validateManifest } from '../core/manifest/validate.js';
import type { Plan } from '../core/placement/plan-types.js';
import { clusterStateFromStore } from '../cluster/snapshot.js';
import { type AgentPlacement, type JobRecord, type JobStatus, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from './coordinators.js';

/** Plans jobs against a cluster snapshot; the daemon's implementation runs off the main thread. */
export interface PlanService {
  plan(cluster: ClusterState, jobs: Job[]): Promise<Plan>;
}

export interface JobsOptions {
  store: Store;
  planner: PlanService;
  coordinators: Coordinators;
  /** Environment for `${env.*}` manifest templates. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Attempts when a commit loses a race for capacity (default 3). */
  commitAttempts?: number;
}

/** Job statuses an operator may pause, resume or cancel from. */
const PAUSABLE: ReadonlySet<JobStatus> = new Set(['pending', 'scheduled', 'running']);

/**
 * Job submission and control. Submission validates the manifest, plans it against the current
 * cluster, and commits the placements atomically under the new job's coordinator lease; if
 * another commit took the capacity in between (the store re-checks every touched node), it
 * re-plans against the new state.
 */
export class Jobs {
  constructor(private readonly options: JobsOptions) {}

  async submit(manifestJson: string): Promise<{ job_id: string; status: JobStatus; plan: Plan }> {
    const { store, coordinators } = this.options;
    const result = validateManifest(manifestJson, { env: this.options.env ?? {} });
    if (!result.ok || !result.job) {
      const first = result.errors.slice(0, 10).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
      throw new MnError('MN_E_INVALID_ARGUMENT', `invalid manifest: ${first.join('; ')}${result.errors.length > 10 ? ` (and ${result.errors.length - 10} more)` : ''}`, {
        details: { errors: result.errors },
      });
    }
    const job = result.job;
    const jobId = newJobId(job.graph_id);

    let plan = await this.plan(job, jobId);
    await store.createJob({
      job_id: jobId,
      manifest: JSON.parse(manifestJson) as unknown,
      job,
      status: 'pending',
      requested_policies: { recovery_mode: job.policies.recovery_mode, job_type: job.policies.job_type, strategy: job.policies.strategy },
    });
    const fence = await coordinators.adopt(jobId);
    if (!fence) throw new MnError('MN_E_CONFLICT', `job ${jobId} was adopted by another daemon before its first commit`, { retryable: true });
    await store.appendEvent(jobId, { type: 'job_pending', payload: { graph_id: job.graph_id, agents: job.agent_count } });

    const attempts = this.options.commitAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const cluster = await clusterStateFromStore(store, { ignoreJobIds: new Set([jobId]) });
      try {
        await store.commitPlacements(
          jobId,
          { plan, status: 'scheduled', placements: toAgentPlacements(plan), mode: 'replace', capacity: capacityOf(cluster, plan) },
          coordinators.fence(jobId),
        );
        break;
      } catch (error) {
        if (!isMnError(error, 'MN_E_CONFLICT') || attempt >= attempts) {
          await coordinators.transition(jobId, 'failed', 'job_failed').catch(() => undefined);
          throw error;
        }
        plan = await this.plan(job, jobId);
      }
    }
    await store.appendEvent(jobId, { type: 'job_scheduled', payload: { placed: plan.stats.placed, nodes: new Set(plan.placements.map((p) => p.node)).size } });
    return { job_id: jobId, status: 'scheduled', plan };
  }

  /** Plans one job against the live cluster; a job that cannot be placed fully is refused. */
  private async plan(job: Job, jobId: string): Promise<Plan> {
    const cluster = await clusterStateFromStore(this.options.store, { ignoreJobIds: new Set([jobId]) });
    const plan = await this.options.planner.plan(cluster, [job]);
    if (plan.failures.length > 0) {
      const f = plan.failures[0]!;
      const more = plan.failures.length > 1 ? ` (and ${plan.failures.length - 1} more groups)` : '';
      throw new MnError('MN_E_PLACEMENT_FAILED', `${f.reason}${f.suggestion ? `; ${f.suggestion}` : ''}${more}`, {
        details: { failures: plan.failures, jobs: plan.jobs },
      });
    }
    return plan;
  }

  async get(jobId: string): Promise<JobRecord> {
    const record = await this.options.store.getJob(jobId);
    if (!record) throw new MnError('MN_E_NOT_FOUND', `job ${jobId} not found`, { details: { job_id: jobId } });
    return record;
  }

  /** Pause, resume or cancel, performed by the job's coordinator (adopted here if it is free). */
  async control(jobId: string, action: 'pause' | 'resume' | 'cancel'): Promise<{ job_id: string; status: JobStatus }> {
    const record = await this.get(jobId);
    const from = record.status;
    const target: JobStatus = action === 'pause' ? 'paused' : action === 'resume' ? (record.plan ? 'scheduled' : 'pending') : 'cancelled';
    if (TERMINAL_JOB_STATUSES.has(from)) {
      throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is already ${from}`, { details: { job_id: jobId, status: from } });
    }
    if (action === 'pause' && !PAUSABLE.has(from)) throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is ${from} and cannot be paused`);
    if (action === 'resume' && from !== 'paused') throw new MnError('MN_E_FAILED_PRECONDITION', `job ${jobId} is ${from}, not paused`);
    const fence = await this.options.coordinators.adopt(jobId);
    if (fence) {
      await this.options.coordinators.transition(jobId, target, `job_${target}`);
    } else {
      // Another live daemon coordinates the job: record the operator's decision; placements of a
      // cancelled job are released by its coordinator's fenced commit.
      await this.options.store.updateJob(jobId, { status: target });
      await this.options.store.appendEvent(jobId, { type: `job_${target}`, payload: { status: target, requested: true } });
    }
    return { job_id: jobId, status: target };
  }
}

/** A job id: the graph id (made safe for keys) and a random suffix. */
export function newJobId(graphId: string): string {
  const base = graphId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64) || 'job';
  return `${base}-${randomBytes(4).toString('hex')}`;
}

function toAgentPlacements(plan: Plan): AgentPlacement[] {
  return plan.placements.map((p) => ({ agent_id: p.agent_id, node: p.node, resources: { ...p.resources } }));
}

/** Per-node capacity of the touched nodes, re-checked by the store at commit time. */
function capacityOf(cluster: ClusterState, plan: Plan): Record<string, { cpu_cores: number; memory_mb: number; disk_mb: number; gpu_count: number }> {
  const touched = new Set(plan.placements.map((p) => p.node));
  const out: Record<string, { cpu_cores: number; memory_mb: number; disk_mb: number; gpu_count: number }> = {};
  for (const node of cluster.nodes) {
    if (!touched.has(node.name)) continue;
    out[node.name] = {
      cpu_cores: node.resources.cpu_cores,
      memory_mb: node.resources.memory_mb,
      disk_mb: node.resources.disk_mb,
      gpu_count: Math.max(node.resources.gpu_count, node.devices.filter((d) => d.kind === 'gpu').length),
    };
  }
  return out;
}
