import type { ResourceLimits } from '../core/config.js';
import { DEFAULT_RESOURCE_LIMITS } from '../core/config.js';
import type { ClusterState } from '../core/cluster/types.js';
import { parseClusterFile } from '../core/cluster/index.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { NodeView, Store } from '../store/store.js';

/** Job statuses whose placements hold capacity (spec §3.1). */
export const ACTIVE_JOB_STATUSES = new Set(['pending', 'scheduled', 'running', 'paused']);

/** The setting that holds the resource limit percentages. */
export const RESOURCE_LIMITS_SETTING = 'resource:limits';

/** Reads the cluster's resource limits (defaults: 100% of everything). */
export async function readResourceLimits(store: Store): Promise<ResourceLimits> {
  const stored = await store.getSetting(RESOURCE_LIMITS_SETTING);
  return { ...DEFAULT_RESOURCE_LIMITS, ...(stored && typeof stored === 'object' ? (stored as Partial<ResourceLimits>) : {}) };
}

/**
 * A node's status as the planner should see it: a node whose heartbeat lapsed is `disconnected`
 * whatever its recorded status says.
 */
export function effectiveStatus(node: NodeView): NodeView['status'] {
  if (!node.alive && (node.status === 'healthy' || node.status === 'joining')) return 'disconnected';
  return node.status;
}

/**
 * Builds the planner's view of the cluster from the store: registered nodes (capacity scaled by
 * the resource limits) and the placements of every active job except `ignoreJobIds`.
 */
export async function clusterStateFromStore(store: Store, options: { ignoreJobIds?: ReadonlySet<string> } = {}): Promise<ClusterState> {
  const [nodes, limits, jobs] = await Promise.all([store.listNodes(), readResourceLimits(store), store.listJobs()]);
  const names = new Set(nodes.map((n) => n.name));
  const rawNodes = nodes.map((n) => {
    const inv = n.inventory as Record<string, unknown>;
    const res = (inv.resources ?? {}) as Record<string, number>;
    return {
      ...inv,
      name: n.name,
      status: effectiveStatus(n),
      scheduling_eligible: n.scheduling_eligible,
      resources: {
        cpu_cores: scale(res.cpu_cores, limits.cpu),
        memory_mb: Math.floor(scale(res.memory_mb, limits.memory)),
        disk_mb: Math.floor(scale(res.disk_mb, limits.disk)),
        ...(res.gpu_count !== undefined ? { gpu_count: Math.floor(scale(res.gpu_count, limits.gpu)) } : {}),
      },
    };
  });
  const allocations: unknown[] = [];
  const active = jobs.filter((j) => ACTIVE_JOB_STATUSES.has(j.status) && !options.ignoreJobIds?.has(j.job_id));
  const records = await Promise.all(active.map((j) => store.getJob(j.job_id)));
  for (const record of records) {
    const plan = record?.plan as Plan | null | undefined;
    if (!plan || !Array.isArray(plan.placements)) continue;
    for (const p of plan.placements) {
      if (!names.has(p.node)) continue;
      allocations.push({
        job_id: record!.job_id,
        agent_id: p.agent_id,
        node: p.node,
        resources: p.resources,
        devices: p.allocations.devices.map((d) => d.id),
        ports: p.allocations.ports.map((port) => ({ port: port.port, protocol: port.protocol })),
      });
    }
  }
  return parseClusterFile({ nodes: rawNodes, allocations, services: [] });
}

function scale(value: number | undefined, percent: number): number {
  return ((value ?? 0) * percent) / 100;
}
