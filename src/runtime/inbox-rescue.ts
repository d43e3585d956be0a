import { effectiveStatus } from '../cluster/snapshot.js';
import { type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

/**
 * Moves the messages left in the inboxes of offline nodes to the nodes their agents were moved
 * to, and drops those of ended jobs (run by the leader). Messages of agents that have not moved
 * yet stay until the reconciler moves them; an agent that may not move (its reschedule policy is
 * exhausted) is marked lost, which ends its job.
 */
export async function rescueInboxes(store: Store, consumer: string): Promise<number> {
  let moved = 0;
  for (const node of await store.listNodes()) {
    if (effectiveStatus(node) !== 'offline') continue;
    const entries = await store.readInbox(node.name, consumer, { count: 1000, blockMs: 0, claimIdleMs: 0 });
    if (entries.length === 0) continue;
    const placements = new Map<string, Map<string, string> | null>();
    for (const entry of entries) {
      let agents = placements.get(entry.job_id);
      if (agents === undefined) {
        const job = await store.getJob(entry.job_id);
        agents = job && !TERMINAL_JOB_STATUSES.has(job.status) ? new Map((await store.listAgents(entry.job_id)).map((a) => [a.agent_id, a.node])) : null;
        placements.set(entry.job_id, agents);
      }
      const target = agents?.get(entry.agent_id);
      if (agents === null || target === undefined) await store.dropMessages([entry]);
      else if (target !== node.name) {
        await store.forwardMessage(entry, target);
        moved++;
      }
    }
  }
  return moved;
}
