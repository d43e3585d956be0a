/**
 * The deployment controller, run by the leader (fenced by its lease): it drives every running
 * deployment one step at a time from what its agents do. It starts batches (the job's
 * coordinator applies them), counts agents healthy once they run the target version and pass
 * their checks for `min_healthy_ms`, waits for promotion after a canary batch or candidate job,
 * and fails a rollout whose agents miss `healthy_deadline_ms` or that makes no progress for
 * `progress_deadline_ms` (then `auto_revert` restores the last stable version). Every step is a
 * write guarded by the record's version, so a leader that lost its lease or a concurrent
 * operator verb never applies a step twice; a new leader continues from the record.
 */
import type { DeploymentEvent, DeploymentRecord } from '../core/deploy/records.js';
import { rolloutStep } from '../core/deploy/rollout.js';
import type { DeploymentPatch } from '../store/deployments.js';
import { commit, fail, succeed, type DeployContext } from './actions.js';
import { observeAgents } from './observe.js';

const ENDED_BADLY = new Set(['failed', 'cancelled']);

export class DeploymentController {
  constructor(private readonly ctx: DeployContext) {}

  /** One pass over the running deployments. */
  async tick(): Promise<void> {
    for (const dep of await this.ctx.store.deployments.list({ status: 'running' })) {
      try {
        await this.drive(dep);
      } catch (error) {
        this.ctx.onError?.(error);
      }
    }
  }

  /** One step of one deployment; public for tests. */
  async drive(dep: DeploymentRecord): Promise<DeploymentRecord | null> {
    const { store } = this.ctx;
    if (!dep.rollout || !dep.target_job_id) return null;
    const agentLevel = dep.mode === 'agent_level';
    const spec = dep.target_spec ?? (await store.getJob(dep.target_job_id))?.job;
    if (!spec) return fail(this.ctx, dep, `deployment job ${dep.target_job_id} no longer exists`);
    const { observed, jobStatus } = await observeAgents(store, dep.target_job_id, { version: dep.target_version, spec, agentLevel });
    if (jobStatus === null || ENDED_BADLY.has(jobStatus)) return fail(this.ctx, dep, `deployment job ${dep.target_job_id} reached ${jobStatus ?? 'deletion'}`);
    // A run-to-completion job deployed for the first time succeeds when it completes.
    if (jobStatus === 'completed' && !agentLevel) return succeed(this.ctx, dep, 'deployment job completed');
    const now = this.ctx.now();
    const step = rolloutStep(dep.rollout, dep.policy, observed, now, dep.rollout.promoted || dep.policy.auto_promote);
    const watched = Object.keys(step.rollout.agents);
    const health = { job_status: jobStatus, healthy: watched.filter((id) => step.rollout.agents[id]!.healthy).length, total: dep.changed_agent_ids.length, updated_at: now };
    const candidate = dep.mode === 'blue_green';
    // Agents that turned healthy in this step, whatever the step does next.
    const newlyHealthy = watched.filter((id) => step.rollout.agents[id]!.healthy && !dep.rollout!.agents[id]?.healthy);
    const events: Array<Omit<DeploymentEvent, 'timestamp'>> = newlyHealthy.length > 0 ? [{ type: 'deployment_agents_healthy', reason: `healthy for min_healthy_ms (${dep.policy.min_healthy_ms} ms)`, agents: newlyHealthy }] : [];
    switch (step.kind) {
      case 'wait': {
        const sameRollout = JSON.stringify(step.rollout) === JSON.stringify(dep.rollout);
        const sameHealth = dep.health.healthy === health.healthy && dep.health.job_status === health.job_status;
        if (sameRollout && sameHealth) return dep;
        return commit(this.ctx, dep, { rollout: step.rollout, health }, events);
      }
      case 'start_batch': {
        const patch: DeploymentPatch = { rollout: step.rollout, health };
        if (agentLevel) {
          const started = new Set(step.agents);
          patch.replaced_agent_ids = [...dep.replaced_agent_ids, ...step.agents.filter((id) => !dep.replaced_agent_ids.includes(id))];
          patch.remaining_agent_ids = dep.remaining_agent_ids.filter((id) => !started.has(id));
          if (step.index === 0 && step.rollout.canary) patch.canary_agent_ids = step.agents;
        }
        const what = agentLevel ? (step.index === 0 && step.rollout.canary ? 'canary batch' : `batch ${step.index + 1} of ${step.rollout.batches.length}`) : candidate ? 'candidate job' : 'deployment job';
        const reason = step.index === 0 ? `${what} started` : `batch ${step.index} healthy; ${what} started`;
        return commit(this.ctx, dep, patch, [...events, { type: 'deployment_batch_started', reason, batch: step.index + 1, batches: step.rollout.batches.length, agents: step.agents }]);
      }
      case 'await_promotion': {
        const reason = candidate ? 'candidate job healthy; awaiting promotion' : 'canary batch healthy; awaiting promotion';
        return commit(this.ctx, dep, { status: 'awaiting_promotion', description: reason, rollout: step.rollout, health }, [...events, { type: candidate ? 'deployment_candidate_ready' : 'deployment_canary_ready', reason }]);
      }
      case 'complete': {
        const written = await commit(this.ctx, dep, { rollout: step.rollout, health }, events);
        if (!written) return null;
        const reason = dep.mode === 'initial' ? 'initial deployment completed' : candidate ? 'blue/green deployment promoted' : 'every batch healthy';
        return succeed(this.ctx, written, reason);
      }
      case 'fail': {
        const written = await commit(this.ctx, dep, { rollout: step.rollout, health }, events);
        return written ? fail(this.ctx, written, step.reason) : null;
      }
    }
  }
}
