/**
 * The daemon's side of preemption: a plan's evictions travel with the preemptor's placement
 * commit (one atomic store step), and both sides get an event. The victims' coordinators see
 * `preempted` agents and place them again through the reschedule policy (relocator.ts).
 */
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { EvictedAgent, Store } from '../store/store.js';

/** The `evict` part of a placement commit for one job's plan (nothing when it evicts nobody). */
export function commitEvictions(plan: Plan): { evict?: EvictedAgent[] } {
  const list = plan.preemptions ?? [];
  if (list.length === 0) return {};
  return { evict: list.map((e) => ({ job_id: e.job, agent_id: e.agent_id, node: e.node })) };
}

/**
 * After the commit: `agent_preempted` on every victim job (which agent, where, by whom) and one
 * `agents_preempted` event on the preemptor listing what it evicted.
 */
export async function recordPreemptions(store: Store, jobId: string, job: Job, plan: Plan): Promise<void> {
  const list = plan.preemptions ?? [];
  if (list.length === 0) return;
  for (const e of list) {
    await store.appendEvent(e.job, {
      type: 'agent_preempted',
      agent_id: e.agent_id,
      payload: { node: e.node, priority: e.priority, preempted_by: jobId, preemptor_priority: job.priority },
    });
  }
  await store.appendEvent(jobId, {
    type: 'agents_preempted',
    payload: { priority: job.priority, evicted: list.map((e) => ({ job_id: e.job, agent_id: e.agent_id, node: e.node, priority: e.priority })) },
  });
}
