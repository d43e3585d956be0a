/**
 * `mn node list --json` as a cluster file (DESIGN §4.2): the nodes as registered, their
 * committed usage as allocations, and the services registered on them, so that a plan made
 * offline from a live cluster's export places like the daemon would. The agents on each node
 * come with their resources, ports, devices and their job's priority and type, so an offline plan
 * shows what it would preempt; usage no listed agent explains is never evicted.
 */
import { isObject } from '../core/manifest/context.js';

/** Job id of the allocations that stand for a node's committed usage in an export. */
export const EXPORTED_USAGE_JOB = 'live-usage';

/** The cluster-file document for an exported node list; anything that is not a node is passed on for the validator to name. */
export function clusterFileFromNodeList(nodes: readonly unknown[]): Record<string, unknown> {
  const allocations: unknown[] = [];
  const services: unknown[] = [];
  const out = nodes.map((n) => {
    if (!isObject(n) || typeof n.name !== 'string') return n;
    const usage = isObject(n.usage) ? n.usage : {};
    // The agents the daemon listed (with their job's priority and type: an offline plan may preempt
    // them); what of the usage they do not explain stays one allocation nothing may evict.
    const listed: Record<string, number> = { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 };
    for (const a of Array.isArray(n.allocations) ? n.allocations : []) {
      if (!isObject(a)) continue;
      allocations.push({ ...a, node: n.name });
      const r = isObject(a.resources) ? a.resources : {};
      for (const k of Object.keys(listed)) if (typeof r[k] === 'number') listed[k]! += r[k];
    }
    const used = (k: string): number => {
      const rest = (typeof usage[k] === 'number' ? usage[k] : 0) - listed[k]!;
      return rest > (k === 'cpu_cores' ? 0.0005 : 0.5) ? rest : 0;
    };
    if (['cpu_cores', 'memory_mb', 'disk_mb', 'gpu_count'].some((k) => used(k) > 0)) {
      allocations.push({
        job_id: EXPORTED_USAGE_JOB,
        agent_id: `usage@${n.name}`,
        node: n.name,
        resources: { cpu_cores: used('cpu_cores'), memory_mb: used('memory_mb'), disk_mb: used('disk_mb'), gpu_count: used('gpu_count') },
        devices: [],
        ports: [],
        priority: 100,
        job_type: 'system',
      });
    }
    if (Array.isArray(n.services)) services.push(...n.services);
    const inventory = isObject(n.inventory) ? n.inventory : {};
    return { ...inventory, name: n.name, status: n.status, scheduling_eligible: n.scheduling_eligible };
  });
  return { nodes: out, allocations, services };
}
