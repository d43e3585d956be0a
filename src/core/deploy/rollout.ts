/**
 * Health gates of a rollout, enforced (spec §6.1 policy; the original stored them only): an
 * agent is healthy once it runs the target version and, with `health_check: checks`, every
 * service it declares passes, and it has stayed so for `min_healthy_ms`. A batch advances only
 * when its agents are healthy; an agent not healthy within `healthy_deadline_ms` of its
 * replacement, or no progress for `progress_deadline_ms`, fails the rollout. Pure.
 */
import type { UpdatePolicy } from '../manifest/types.js';
import type { RolloutState } from './records.js';

/** What the controller sees of one agent of the rollout. */
export interface AgentObservation {
  /** Placed and running. */
  running: boolean;
  /** Runs the target version. */
  current: boolean;
  /** Its declared services: all registered and passing, some not, or none declared. */
  services: 'passing' | 'failing' | 'none';
}

export type RolloutStep =
  | { kind: 'wait'; rollout: RolloutState; newlyHealthy: string[] }
  | { kind: 'start_batch'; rollout: RolloutState; index: number; agents: string[] }
  | { kind: 'await_promotion'; rollout: RolloutState }
  | { kind: 'complete'; rollout: RolloutState }
  | { kind: 'fail'; rollout: RolloutState; reason: string };

/** Whether an agent is healthy right now (before `min_healthy_ms` is applied). */
export function healthyNow(o: AgentObservation | undefined, check: UpdatePolicy['health_check']): boolean {
  if (!o || !o.running || !o.current) return false;
  return check === 'agent_states' || o.services !== 'failing';
}

/** A new rollout over `batches`, started at `now`. */
export function newRollout(batches: string[][], canary: boolean, now: number): RolloutState {
  return { batches, next_batch: 0, canary, started_at: now, batch_started_at: now, last_progress_at: now, agents: {}, promoted: false };
}

/**
 * The next step. `promoted` says the operator (or `auto_promote`) allowed the rollout past its
 * canary batch or candidate job.
 */
export function rolloutStep(state: RolloutState, policy: UpdatePolicy, observed: Readonly<Record<string, AgentObservation>>, now: number, promoted: boolean): RolloutStep {
  const rollout: RolloutState = { ...state, agents: { ...state.agents } };
  if (rollout.next_batch === 0) return startBatch(rollout, 0, now);
  const newlyHealthy: string[] = [];
  for (const [id, a] of Object.entries(rollout.agents)) {
    const ok = healthyNow(observed[id], policy.health_check);
    const since = ok ? (a.healthy_since ?? now) : null;
    const healthy = since !== null && now - since >= policy.min_healthy_ms;
    if (healthy && !a.healthy) newlyHealthy.push(id);
    rollout.agents[id] = { ...a, healthy_since: since, healthy };
  }
  if (newlyHealthy.length > 0) rollout.last_progress_at = now;
  const index = rollout.next_batch - 1;
  const batch = rollout.batches[index] ?? [];
  const waiting = batch.filter((id) => !rollout.agents[id]?.healthy);
  if (waiting.length > 0) {
    const late = waiting.find((id) => now - (rollout.agents[id]?.replaced_at ?? rollout.batch_started_at) > policy.healthy_deadline_ms);
    if (late !== undefined) return { kind: 'fail', rollout, reason: `agent ${late} was not healthy within healthy_deadline_ms (${policy.healthy_deadline_ms} ms)${describe(observed[late], policy)}` };
    if (policy.progress_deadline_ms > 0 && now - rollout.last_progress_at > policy.progress_deadline_ms) {
      return { kind: 'fail', rollout, reason: `no progress for progress_deadline_ms (${policy.progress_deadline_ms} ms): ${waiting.length} agent(s) of batch ${index + 1} not healthy` };
    }
    return { kind: 'wait', rollout, newlyHealthy };
  }
  if (index === 0 && rollout.canary && !promoted) return { kind: 'await_promotion', rollout };
  if (rollout.next_batch < rollout.batches.length) return startBatch(rollout, rollout.next_batch, now);
  return { kind: 'complete', rollout };
}

function startBatch(rollout: RolloutState, index: number, now: number): RolloutStep {
  const agents = rollout.batches[index] ?? [];
  for (const id of agents) rollout.agents[id] = { replaced_at: now, healthy_since: null, healthy: false };
  rollout.next_batch = index + 1;
  rollout.batch_started_at = now;
  rollout.last_progress_at = now;
  return { kind: 'start_batch', rollout, index, agents };
}

function describe(o: AgentObservation | undefined, policy: UpdatePolicy): string {
  if (!o) return ': it is not placed';
  if (!o.running) return ': it is not running';
  if (!o.current) return ': it does not run the target version yet';
  if (policy.health_check === 'checks' && o.services === 'failing') return ': its service checks are not passing';
  return `: it was not healthy for min_healthy_ms (${policy.min_healthy_ms} ms) in a row`;
}
