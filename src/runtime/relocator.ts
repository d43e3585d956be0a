import { createHash } from 'node:crypto';
import { attemptDecision, clusterHealthFor, effectivePolicies, recordAttempt, reschedulePolicyFor } from '../core/policy/lifecycle.js';
import { type NodeState, blockedRetryDelay, decideRelocation, drainOf } from '../core/policy/relocation.js';
import { effectiveStatus, servicesFingerprint } from '../cluster/snapshot.js';
import { type NodeView, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from './coordinators.js';
import type { Jobs } from './jobs.js';
import { recordEvaluation } from './evaluations.js';
import { explainFailures } from '../core/queue/evaluation.js';

/**
 * What changes when capacity frees or is taken: every node's schedulability and committed usage.
 * Equal texts mean no placement decision can have a different outcome for capacity reasons.
 */
export function usageFingerprint(nodes: readonly NodeView[]): string {
  return nodes.map((n) => `${n.name}|${effectiveStatus(n)}|${n.scheduling_eligible}|${n.usage.cpu_cores}|${n.usage.memory_mb}|${n.usage.disk_mb}|${n.usage.gpu_count}|${n.usage.agents}`).join('\n');
}

export interface RelocatorOptions {
  store: Store;
  jobs: Jobs;
  coordinators: Coordinators;
  now?: () => number;
  onError?: (error: unknown) => void;
}


/**
 * Keeps the jobs this daemon coordinates off draining and lost nodes. One evaluation per job per
 * tick (never one per agent): the agents that must move are re-planned together and committed
 * under the job's fence. Node loss respects the agent's reschedule policy; an evaluation that
 * cannot place everything is recorded as blocked and retried with backoff.
 */
export class Relocator {
  private readonly now: () => number;

  constructor(private readonly options: RelocatorOptions) {
    this.now = options.now ?? Date.now;
  }

  async tick(): Promise<void> {
    const ids = this.options.coordinators.jobIds;
    if (ids.length === 0) return;
    const [nodes, instances] = await Promise.all([this.options.store.listNodes(), this.options.store.services.list({ include_candidates: true })]);
    const states = new Map<string, NodeState>(nodes.map((n) => [n.name, { status: effectiveStatus(n), drain: n.status === 'draining' ? drainOf(n.details) : null }]));
    const health = nodes.map((n) => ({ status: n.status, alive: n.alive, profiles: ((n.inventory as { profiles?: string[] }).profiles ?? []) }));
    // Blocked evaluations are retried at once when capacity changes (or a service they need turns
    // passing), not only on their backoff.
    const capacity = createHash('sha1').update(usageFingerprint(nodes)).update(servicesFingerprint(instances)).digest('hex');
    for (const jobId of ids) {
      try {
        await this.evaluate(jobId, states, health, capacity);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }

  private async evaluate(jobId: string, nodes: ReadonlyMap<string, NodeState>, health: Parameters<typeof clusterHealthFor>[1], capacity: string): Promise<void> {
    const { store, jobs } = this.options;
    const record = await store.getJob(jobId);
    if (!record || TERMINAL_JOB_STATUSES.has(record.status) || record.status === 'paused') return;
    const now = this.now();
    const blocked = record.details.blocked;
    if (blocked?.retry_at !== undefined && blocked.retry_at > now && blocked.capacity === capacity) return;
    const job = record.job;
    // The reliability observer (spec §4.3): the effective mode follows the cluster's health.
    const observed = effectivePolicies(job, clusterHealthFor(job, health));
    const recorded = record.effective_policies;
    if (recorded.recovery_mode !== observed.recovery_mode || recorded.reliability_degraded !== observed.reliability_degraded) {
      await store.updateJob(jobId, { effective_policies: { ...observed } }, { fence: this.options.coordinators.fence(jobId) });
      await store.appendEvent(jobId, { type: 'recovery_mode_changed', payload: { from: recorded.recovery_mode ?? null, to: observed.recovery_mode, reasons: observed.reliability.reasons } });
    }
    const agents = await store.listAgents(jobId);
    const decision = decideRelocation({ job_type: job.policies.job_type, requested_recovery: job.policies.recovery_mode, agents, nodes, now });
    if (decision.move.length === 0) {
      if (blocked) await store.updateJob(jobId, { details: { ...record.details, blocked: undefined } }, { fence: this.options.coordinators.fence(jobId) });
      return;
    }

    // Node loss obeys the effective recovery mode and the reschedule policy; a drain always moves.
    const effective = observed.recovery_mode;
    let history = record.details.reschedule_history ?? [];
    const sources = new Map((record.plan?.placements ?? []).map((p) => [p.agent_id, p.source_node_id]));
    const movers: string[] = [];
    const exhausted: string[] = [];
    // Preempted agents count an attempt only once they are placed again: waiting for room is not one.
    const preempted = new Set<string>();
    for (const m of decision.move) {
      if (m.cause === 'drain') {
        movers.push(m.agent_id);
        continue;
      }
      const source = sources.get(m.agent_id) ?? m.agent_id;
      const node = job.nodes.find((n) => n.node_id === source) ?? null;
      // An eviction is the scheduler's doing, not the cluster's health: the job's requested mode applies.
      const mode = m.cause === 'preempted' && job.policies.recovery_mode !== 'auto' ? job.policies.recovery_mode : effective;
      const policy = reschedulePolicyFor(job.policies, node, mode);
      const mine = history.filter((h) => h.reason === m.agent_id);
      const verdict = attemptDecision('reschedule', policy, mine, now);
      if (verdict.decision === 'allowed') {
        movers.push(m.agent_id);
        if (m.cause === 'preempted') preempted.add(m.agent_id);
        else history = recordAttempt(history, { action: 'reschedule', reason: m.agent_id, at: now });
      } else exhausted.push(m.agent_id);
    }
    const fence = this.options.coordinators.fence(jobId);
    for (const id of exhausted) await store.updateAgent(jobId, id, { state: 'lost' }, { fence });
    if (exhausted.length > 0) await store.appendEvent(jobId, { type: 'reschedule_exhausted', payload: { agents: exhausted } });
    if (movers.length === 0) return;

    // A preempted agent may come back to the machine it left, once there is room again.
    const avoid = [...new Set(decision.move.filter((m) => m.cause !== 'preempted').map((m) => m.from))];
    const result = await jobs.relocate(record, movers, avoid);
    for (const moved of result.moved) if (preempted.has(moved.agent_id)) history = recordAttempt(history, { action: 'reschedule', reason: moved.agent_id, at: now });
    const causes = new Set(decision.move.map((m) => m.cause));
    await recordEvaluation(store, {
      job_id: jobId,
      trigger: blocked ? 'blocked_retry' : causes.has('drain') && causes.size === 1 ? 'drain' : causes.has('preempted') && causes.size === 1 ? 'preemption' : 'node_loss',
      status: result.blocked.length > 0 ? 'blocked' : 'complete',
      placed: result.moved.length,
      failed: result.blocked.length,
      explanation: result.failures.length > 0 ? explainFailures(result.failures) : { summary: result.blocked.length > 0 ? result.reason : null, failures: [] },
      queue: null,
      agents: movers,
    }, this.options.onError);
    const fresh = (await store.getJob(jobId))!;
    const details: Record<string, unknown> = { ...fresh.details, reschedule_history: history };
    if (result.blocked.length > 0) {
      const attempt = (blocked?.attempt ?? 0) + 1;
      details.blocked = { agents: result.blocked, reason: result.reason, attempt, retry_at: now + blockedRetryDelay(attempt), capacity };
      await store.appendEvent(jobId, { type: 'evaluation_blocked', payload: { agents: result.blocked, reason: result.reason, attempt } });
    } else {
      delete details.blocked;
    }
    await store.updateJob(jobId, { details }, { fence: this.options.coordinators.fence(jobId) });
    if (result.moved.length > 0) {
      await store.appendEvent(jobId, { type: 'agents_relocated', payload: { moved: result.moved, from: avoid, causes: [...new Set(decision.move.map((m) => m.cause))] } });
    }
  }
}
