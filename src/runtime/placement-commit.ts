/** How a plan becomes a placement commit: one job's share of a batch plan, its agents' holds and the capacity the store re-checks. */
import type { ClusterState } from '../core/cluster/types.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { clusterHealthFor, effectivePolicies } from '../core/policy/lifecycle.js';
import type { AgentPlacement, JobDetails, NewJob } from '../store/store.js';
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';

/** The new (pending, unplanned) record of a job: its policies as requested and as effective on this cluster, and its module sources. */
export function newJobRecordOf(p: { jobId: string; job: Job; manifest: unknown; modules: Record<string, string>; details: JobDetails }, nodes: Parameters<typeof clusterHealthFor>[1]): NewJob {
  const { job } = p;
  return {
    job_id: p.jobId,
    manifest: p.manifest,
    job,
    status: 'pending',
    requested_policies: { recovery_mode: job.policies.recovery_mode, job_type: job.policies.job_type, strategy: job.policies.strategy },
    effective_policies: { ...effectivePolicies(job, clusterHealthFor(job, nodes)) },
    details: { ...p.details, ...(Object.keys(p.modules).length > 0 ? { modules: p.modules } : {}) },
  };
}

/** One job's share of a batch plan, in the plan document's shape (rows name the graph id). */
export function jobPlan(plan: Plan, p: { jobId: string; job: Job }): Plan {
  const placements = plan.placements.filter((x) => x.job === p.jobId).map((x) => ({ ...x, job: p.job.graph_id }));
  return {
    ...plan,
    status: 'planned',
    placements,
    failures: [],
    preemptions: (plan.preemptions ?? []).filter((e) => e.preempted_by === p.jobId),
    jobs: plan.jobs.filter((j) => j.job === p.jobId).map((j) => ({ ...j, job: p.job.graph_id })),
    stats: { ...plan.stats, agents: p.job.agent_count, placed: placements.length },
  };
}

export function toAgentPlacements(plan: Plan): AgentPlacement[] {
  return plan.placements.map((p) => ({ agent_id: p.agent_id, node: p.node, resources: { ...p.resources }, holds: holdsOf(p) }));
}

/** {@link toAgentPlacements} a chunk per turn of the event loop (a big job's commit). */
export async function toAgentPlacementsChunked(plan: Plan): Promise<AgentPlacement[]> {
  const out: AgentPlacement[] = [];
  for (let i = 0; i < plan.placements.length; i += LOOP_CHUNK) {
    for (const p of plan.placements.slice(i, i + LOOP_CHUNK)) out.push({ agent_id: p.agent_id, node: p.node, resources: { ...p.resources }, holds: holdsOf(p) });
    if (plan.placements.length > LOOP_CHUNK) await yieldToLoop();
  }
  return out;
}

/**
 * The exclusive resources a placement takes on its node, as the store's hold keys. Ports follow
 * the planner's rule: tcp, http and grpc share the tcp space, udp has its own.
 */
export function holdsOf(p: Plan['placements'][number]): string[] {
  return [
    ...p.allocations.ports.map((x) => `port:${x.protocol === 'udp' ? 'udp' : 'tcp'}:${x.port}`),
    ...p.allocations.devices.map((d) => `device:${d.id}`),
  ];
}

/** Per-node capacity of the touched nodes, re-checked by the store at commit time. */
export function capacityOf(cluster: ClusterState, plan: Plan): Record<string, { cpu_cores: number; memory_mb: number; disk_mb: number; gpu_count: number }> {
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
