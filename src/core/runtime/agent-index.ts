/**
 * The fan-out index of an agent, read back from its id: the inverse of the planner's `agentIdOf`
 * (`<node_id>-<i>` for a node with `count` > 1), also for system and sysbatch copies
 * (`<agent_id>@<machine>`).
 */
import type { NodeSpec } from '../manifest/types.js';

/** The copy index of `agentId` among `spec`'s agents, or null for a node without fan-out or an id that is not one of its copies. */
export function agentIndexOf(agentId: string, spec: Pick<NodeSpec, 'node_id' | 'count'>): number | null {
  if (spec.count <= 1) return null;
  const at = agentId.indexOf('@', spec.node_id.length);
  const base = at < 0 ? agentId : agentId.slice(0, at);
  if (!base.startsWith(`${spec.node_id}-`)) return null;
  const digits = base.slice(spec.node_id.length + 1);
  if (!/^(0|[1-9]\d*)$/.test(digits)) return null;
  const index = Number(digits);
  return index < spec.count ? index : null;
}
