/**
 * `mn node list --json` as a cluster file (DESIGN §4.2): the nodes as registered, their
 * committed usage as allocations, and the services registered on them, so that a plan made
 * offline from a live cluster's export places like the daemon would. Ports and devices held by
 * running agents are not part of the export.
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
    const used = (k: string): number => (typeof usage[k] === 'number' ? usage[k] : 0);
    if (['cpu_cores', 'memory_mb', 'disk_mb', 'gpu_count'].some((k) => used(k) > 0)) {
      allocations.push({ job_id: EXPORTED_USAGE_JOB, agent_id: `usage@${n.name}`, node: n.name, resources: { cpu_cores: used('cpu_cores'), memory_mb: used('memory_mb'), disk_mb: used('disk_mb'), gpu_count: used('gpu_count') }, devices: [], ports: [] });
    }
    if (Array.isArray(n.services)) services.push(...n.services);
    const inventory = isObject(n.inventory) ? n.inventory : {};
    return { ...inventory, name: n.name, status: n.status, scheduling_eligible: n.scheduling_eligible };
  });
  return { nodes: out, allocations, services };
}
