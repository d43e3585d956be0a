import type { ResourceLimits } from '../core/config.js';
import { DEFAULT_RESOURCE_LIMITS } from '../core/config.js';
import type { ClusterState } from '../core/cluster/types.js';
import { parseClusterFile } from '../core/cluster/index.js';
import type { ServiceRecord } from '../core/services/registry.js';
import type { AgentResources, JobRecord, NodeView, Store } from '../store/store.js';
import { ALLOCATION_JOB_TYPES, DEFAULT_ALLOCATION_JOB_TYPE, DEFAULT_ALLOCATION_PRIORITY } from '../core/cluster/types.js';

/** Job statuses whose placements hold capacity (spec §3.1). */
export const ACTIVE_JOB_STATUSES = new Set(['pending', 'scheduled', 'running', 'paused']);

/** The setting that holds the resource limit percentages. */
export const RESOURCE_LIMITS_SETTING = 'resource:limits';

/** Pseudo job id of the aggregated scalar usage of a node in the planner's view. */
export const USAGE_JOB_ID = '__usage__';

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
 * What one job holds, per agent. Jobs up to {@link PREEMPTIBLE_AGENT_LIMIT} agents are read from
 * their agent records (resources, ports and devices, with the job's priority and type: the
 * preempting pass may evict them one by one); bigger jobs only contribute their ports and devices
 * from the plan (their scalar usage stays in the node counters, where nothing evicts it).
 */
interface DiscreteHoldings {
  version: number;
  /** True when `allocations` carry each agent's resources (the job is preemptible per agent). */
  scalar: boolean;
  priority: number;
  job_type: string;
  allocations: Array<{ agent_id: string; node: string; resources?: AgentResources; devices: string[]; ports: Array<{ port: number; protocol: string }>; finished?: boolean }>;
}

/** Agents that ended their work but still hold their capacity until their job ends: never evicted (they would run again). */
const FINISHED_AGENT_STATES = new Set(['completed', 'failed', 'stopped', 'lost']);

/** Jobs with more agents than this are not offered to the preempting pass agent by agent. */
export const PREEMPTIBLE_AGENT_LIMIT = 5000;

/** Priority of the node-usage pseudo allocations: above every job's reach, so never evicted. */
const UNEVICTABLE_PRIORITY = 100;

/** The planner's view of the cluster and a fingerprint that changes whenever the view does. */
export interface ClusterView {
  cluster: ClusterState;
  fingerprint: string;
}

/**
 * Builds the planner's view of the cluster from the store. Scalar usage per node comes from the
 * store's usage counters, which every placement commit updates atomically; ports and devices come
 * from the plans of active jobs, re-read only when a job's version changes. `ignoreJobIds` are left
 * out of the discrete holdings (their scalar usage is in the counters, which is what a re-plan of a
 * job that already holds capacity would double count; such re-plans pass `ignoreUsageOf`).
 */
export class ClusterViewBuilder {
  private readonly holdings = new Map<string, DiscreteHoldings>();

  constructor(private readonly store: Store) {}

  async build(options: { ignoreJobIds?: ReadonlySet<string> } = {}): Promise<ClusterView> {
    const { store } = this;
    const [nodes, limits, jobs, instances] = await Promise.all([store.listNodes(), readResourceLimits(store), store.listJobs(), store.services.list({ include_candidates: true })]);
    const active = jobs.filter((j) => ACTIVE_JOB_STATUSES.has(j.status) && !options.ignoreJobIds?.has(j.job_id));
    const activeIds = new Set(active.map((j) => j.job_id));
    for (const id of this.holdings.keys()) if (!activeIds.has(id)) this.holdings.delete(id);
    const stale = active.filter((j) => this.holdings.get(j.job_id)?.version !== j.version);
    const records = await Promise.all(stale.map((j) => store.getJob(j.job_id)));
    const agentLists = await Promise.all(records.map((r) => (r && (r.job?.agent_count ?? 0) <= PREEMPTIBLE_AGENT_LIMIT ? store.listAgents(r.job_id) : Promise.resolve(null))));
    records.forEach((record, k) => {
      if (!record) return;
      const agents = agentLists[k];
      const allocations: DiscreteHoldings['allocations'] = [];
      if (agents) {
        // Agent records are the truth: a preempted agent holds nothing, a moved one holds where it is now.
        for (const a of agents) {
          if (a.state === 'preempted') continue;
          const { devices, ports } = holdsToAllocation(a.holds);
          allocations.push({ agent_id: a.agent_id, node: a.node, resources: a.resources, devices, ports, ...(FINISHED_AGENT_STATES.has(a.state) ? { finished: true } : {}) });
        }
      } else {
        for (const p of record.plan?.placements ?? []) {
          if (p.allocations.devices.length === 0 && p.allocations.ports.length === 0) continue;
          allocations.push({ agent_id: p.agent_id, node: p.node, devices: p.allocations.devices.map((d) => d.id), ports: p.allocations.ports.map((x) => ({ port: x.port, protocol: x.protocol })) });
        }
      }
      this.holdings.set(record.job_id, { version: record.version, scalar: agents !== null, priority: jobPriorityOf(record.job), job_type: jobTypeOf(record.job), allocations });
    });

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
    const zero = { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 };
    const allocations: unknown[] = [];
    // Per-agent usage of preemptible jobs, taken out of the node counters' remainder below.
    const perAgent = new Map<string, AgentResources>();
    // Devices an agent holds that its node no longer lists are left out (the file would be refused).
    const deviceIds = new Map<string, Set<string>>();
    for (const n of nodes) {
      const devs = (n.inventory as { devices?: unknown }).devices;
      deviceIds.set(n.name, new Set(Array.isArray(devs) ? devs.map((d) => (d && typeof d === 'object' ? String((d as { id?: unknown }).id) : '')) : []));
    }
    for (const [jobId, h] of this.holdings) {
      if (options.ignoreJobIds?.has(jobId)) continue;
      for (const a of h.allocations) {
        if (!names.has(a.node)) continue;
        const known = deviceIds.get(a.node);
        const devices = a.devices.length === 0 || !known ? a.devices : a.devices.filter((d) => known.has(d));
        const resources = h.scalar && a.resources ? a.resources : zero;
        if (h.scalar && a.resources) {
          const sum = perAgent.get(a.node) ?? { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 };
          sum.cpu_cores += resources.cpu_cores;
          sum.memory_mb += resources.memory_mb;
          sum.disk_mb += resources.disk_mb;
          sum.gpu_count += resources.gpu_count;
          perAgent.set(a.node, sum);
        }
        allocations.push({ job_id: jobId, agent_id: a.agent_id, node: a.node, resources, devices, ports: a.ports, priority: a.finished ? UNEVICTABLE_PRIORITY : h.priority, job_type: h.job_type });
      }
    }
    for (const n of nodes) {
      const u = n.usage;
      const known = perAgent.get(n.name);
      // Counters are kept in whole millicores: what is left after the per-agent usage is rounding or other jobs.
      const rest = (have: number, taken: number | undefined, unit: number): number => {
        const r = have - (taken ?? 0);
        return r > unit / 2 ? r : 0;
      };
      const left = { cpu_cores: rest(u.cpu_cores, known?.cpu_cores, 0.001), memory_mb: rest(u.memory_mb, known?.memory_mb, 1), disk_mb: rest(u.disk_mb, known?.disk_mb, 1), gpu_count: rest(u.gpu_count, known?.gpu_count, 1) };
      if (left.cpu_cores > 0 || left.memory_mb > 0 || left.disk_mb > 0 || left.gpu_count > 0) {
        allocations.push({ job_id: USAGE_JOB_ID, agent_id: n.name, node: n.name, resources: left, devices: [], ports: [], priority: UNEVICTABLE_PRIORITY, job_type: 'system' });
      }
    }
    const fingerprint = [
      JSON.stringify(limits),
      ...nodes.map((n) => `${n.name}|${n.version}|${effectiveStatus(n)}|${n.usage.cpu_cores}|${n.usage.memory_mb}|${n.usage.disk_mb}|${n.usage.gpu_count}`),
      ...[...this.holdings].filter(([id]) => !options.ignoreJobIds?.has(id)).map(([id, h]) => `${id}@${h.version}`),
      servicesFingerprint(instances),
    ].join('\n');
    const services = instances.filter((r) => names.has(r.node)).map(clusterService);
    return { cluster: parseClusterFile({ nodes: rawNodes, allocations, services }), fingerprint };
  }
}

/**
 * A registry instance as the placement filter sees it (spec §3.3 filter 4: `requires_services`
 * needs a passing instance on the machine).
 */
export function clusterService(r: ServiceRecord): { name: string; node: string; tags: string[]; status: string; origin: string } {
  return { name: r.name, node: r.node, tags: r.tags, status: r.status, origin: r.origin };
}

/** What of the registry placement depends on: where each service is and whether it passes. */
export function servicesFingerprint(records: readonly ServiceRecord[]): string {
  return records
    .map((r) => `${r.name}@${r.node}:${r.status}:${r.tags.join(',')}:${r.origin}`)
    .sort()
    .join(';');
}

function scale(value: number | undefined, percent: number): number {
  return ((value ?? 0) * percent) / 100;
}

/** An agent's hold keys (`port:tcp:8080`, `device:GPU-0`) as a cluster-file allocation's ports and devices. */
export function holdsToAllocation(holds: readonly string[] | undefined): { devices: string[]; ports: Array<{ port: number; protocol: string }> } {
  const devices: string[] = [];
  const ports: Array<{ port: number; protocol: string }> = [];
  for (const h of Array.isArray(holds) ? holds : []) {
    if (h.startsWith('device:')) devices.push(h.slice('device:'.length));
    else if (h.startsWith('port:')) {
      const [, protocol, port] = h.split(':');
      const n = Number(port);
      if (Number.isInteger(n) && n >= 1 && n <= 65535) ports.push({ port: n, protocol: protocol === 'udp' ? 'udp' : 'tcp' });
    }
  }
  return { devices, ports };
}

/** A record's job priority and type as the cluster view reports them (defaults for a record that lacks them). */
function jobPriorityOf(job: Partial<JobRecord['job']> | undefined): number {
  const p = job?.priority;
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 100 ? p : DEFAULT_ALLOCATION_PRIORITY;
}

function jobTypeOf(job: Partial<JobRecord['job']> | undefined): string {
  const t = job?.policies?.job_type;
  return typeof t === 'string' && (ALLOCATION_JOB_TYPES as readonly string[]).includes(t) ? t : DEFAULT_ALLOCATION_JOB_TYPE;
}
