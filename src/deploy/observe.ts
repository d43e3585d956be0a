/**
 * What the deployment controller sees of the agents it rolls out: whether each is placed and
 * running, runs the target version, and whether every service it declares is registered (for
 * that version) and passing.
 */
import type { AgentObservation } from '../core/deploy/rollout.js';
import type { Job } from '../core/manifest/types.js';
import { type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

export async function observeAgents(store: Store, jobId: string, target: { version: number; spec: Job; agentLevel: boolean }): Promise<{ observed: Record<string, AgentObservation>; jobStatus: string | null }> {
  const [record, agents, instances] = await Promise.all([store.getJob(jobId), store.listAgents(jobId), store.services.list({ job_id: jobId, include_candidates: true })]);
  const observed: Record<string, AgentObservation> = {};
  if (!record) return { observed, jobStatus: null };
  const ended = TERMINAL_JOB_STATUSES.has(record.status);
  const rollout = record.details.rollout;
  const applied = new Set(rollout && rollout.version === target.version ? rollout.applied : []);
  const sourceOf = new Map((record.plan?.placements ?? []).map((p) => [p.agent_id, p.source_node_id]));
  const declared = new Map(target.spec.nodes.map((n) => [n.node_id, n.services.map((s) => s.name)]));
  for (const a of agents) {
    const names = declared.get(sourceOf.get(a.agent_id) ?? a.agent_id) ?? [];
    const mine = instances.filter((r) => r.agent_id === a.agent_id && (r.deployment_version ?? 0) === target.version);
    const services = names.length === 0 ? 'none' : names.every((n) => mine.some((r) => r.name === n && r.status === 'passing')) ? 'passing' : 'failing';
    observed[a.agent_id] = { running: !ended && a.state === 'running', current: target.agentLevel ? applied.has(a.agent_id) : true, services };
  }
  return { observed, jobStatus: record.status };
}
