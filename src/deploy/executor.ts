/**
 * The job side of a deployment, run by each job's coordinator (fenced by the job lease): it keeps
 * the job record in step with the key's current deployment. For an agent-level rollout it applies
 * the batches the controller started (the replaced agents run the target spec; agents whose
 * resources changed are placed again by the engine), finalises the job once the rollout
 * succeeded, and undoes it (the replaced agents go back to the job's version) once it failed. For
 * a blue-green candidate it makes the job primary once promoted. A coordinator that takes over
 * after a crash picks up where the record says; applying a batch twice changes nothing.
 */
import type { DeploymentRecord, JobDeployment, JobRollout } from '../core/deploy/records.js';
import type { Coordinators } from '../runtime/coordinators.js';
import type { Jobs } from '../runtime/jobs.js';
import { type JobRecord, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

export interface RolloutExecutorOptions {
  store: Store;
  jobs: Jobs;
  coordinators: Coordinators;
  onError?: (error: unknown) => void;
}

const ROLLING = new Set(['running', 'awaiting_promotion', 'paused']);

export class RolloutExecutor {
  constructor(private readonly o: RolloutExecutorOptions) {}

  async tick(): Promise<void> {
    for (const jobId of this.o.coordinators.jobIds) {
      try {
        await this.sync(jobId);
      } catch (error) {
        this.o.onError?.(error);
      }
    }
  }

  private async sync(jobId: string): Promise<void> {
    const { store } = this.o;
    const record = await store.getJob(jobId);
    const mine = record?.details.deployment;
    if (!record || !mine || TERMINAL_JOB_STATUSES.has(record.status)) return;
    const dep = await store.deployments.current(mine.deployment_key);
    const rollout = record.details.rollout;
    if (rollout && (!dep || dep.deployment_id !== rollout.deployment_id || dep.status === 'failed')) return this.undo(record);
    if (!dep || dep.target_job_id !== jobId) return;
    if (dep.mode === 'agent_level' && dep.target_spec) {
      if (ROLLING.has(dep.status)) return this.apply(record, dep);
      if (dep.status === 'successful' && rollout?.deployment_id === dep.deployment_id) return this.finalise(record, dep, rollout);
      return;
    }
    if (dep.mode === 'blue_green' && dep.status === 'successful' && (mine.deployment_role !== 'primary' || mine.deployment_id !== dep.deployment_id)) {
      await this.write(record, { ...record.details, deployment: { ...mine, deployment_id: dep.deployment_id, deployment_version: dep.target_version, deployment_role: 'primary' } });
    }
  }

  /** Replaces the agents the controller started that are not replaced yet. */
  private async apply(record: JobRecord, dep: DeploymentRecord): Promise<void> {
    const target = dep.target_spec!;
    const rollout: JobRollout = record.details.rollout ?? { deployment_id: dep.deployment_id, version: dep.target_version, target, applied: [], roles: {} };
    const canary = new Set(dep.rollout?.canary && !dep.rollout.promoted ? dep.canary_agent_ids : []);
    const wanted = dep.replaced_agent_ids.filter((id) => !rollout.applied.includes(id));
    const roles = { ...rollout.roles };
    let changedRole = false;
    for (const id of rollout.applied) {
      const role = canary.has(id) ? 'canary' : 'primary';
      if (roles[id] !== role) changedRole = true;
      roles[id] = role;
    }
    if (wanted.length === 0 && !changedRole) return;
    for (const id of wanted) roles[id] = canary.has(id) ? 'canary' : 'primary';
    const next: JobRollout = { ...rollout, applied: [...rollout.applied, ...wanted], roles };
    await this.write(record, { ...record.details, rollout: next });
    if (wanted.length === 0) return;
    // Agents whose node asks for other resources are placed again for the target spec.
    const sourceOf = new Map((record.plan?.placements ?? []).map((p) => [p.agent_id, p.source_node_id]));
    const moved = wanted.filter((id) => {
      const node = sourceOf.get(id) ?? id;
      const before = record.job.nodes.find((n) => n.node_id === node);
      const after = target.nodes.find((n) => n.node_id === node);
      return JSON.stringify([before?.resources, before?.constraints]) !== JSON.stringify([after?.resources, after?.constraints]);
    });
    if (moved.length > 0) {
      const fresh = (await this.o.store.getJob(record.job_id))!;
      const result = await this.o.jobs.relocate({ ...fresh, job: target }, moved, []);
      if (result.blocked.length > 0) await this.o.store.appendEvent(record.job_id, { type: 'rollout_placement_blocked', payload: { agents: result.blocked, reason: result.reason, deployment_id: dep.deployment_id } });
    }
    await this.o.store.appendEvent(record.job_id, { type: 'rollout_batch_applied', payload: { deployment_id: dep.deployment_id, version: dep.target_version, agents: wanted, replaced_again: moved } });
  }

  /** The rollout succeeded: the target becomes the job's spec and version. */
  private async finalise(record: JobRecord, dep: DeploymentRecord, rollout: JobRollout): Promise<void> {
    const { rollout: _done, ...rest } = record.details;
    const deployment: JobDeployment = { deployment_key: dep.deployment_key, deployment_id: dep.deployment_id, deployment_version: rollout.version, deployment_role: 'primary' };
    await this.o.store.updateJob(record.job_id, { job: rollout.target, details: { ...rest, deployment } }, { fence: this.o.coordinators.fence(record.job_id) });
    await this.o.store.appendEvent(record.job_id, { type: 'rollout_finalised', payload: { deployment_id: dep.deployment_id, version: rollout.version } });
  }

  /** The rollout failed or was superseded: its replaced agents go back to the job's own spec. */
  private async undo(record: JobRecord): Promise<void> {
    const { rollout, ...rest } = record.details;
    await this.o.store.updateJob(record.job_id, { details: rest }, { fence: this.o.coordinators.fence(record.job_id) });
    await this.o.store.appendEvent(record.job_id, { type: 'rollout_undone', payload: { deployment_id: rollout?.deployment_id ?? null, agents: rollout?.applied ?? [] } });
  }

  private async write(record: JobRecord, details: JobRecord['details']): Promise<void> {
    await this.o.store.updateJob(record.job_id, { details }, { fence: this.o.coordinators.fence(record.job_id) });
  }
}
