import { isObject } from './context.js';
import type { AgentSpec, Job, NodeSpec } from './types.js';

/** Agent id of copy `index` of a node with `count` copies (DESIGN §4.3). */
export function agentId(node: Pick<NodeSpec, 'node_id' | 'count'>, index: number): string {
  return node.count > 1 ? `${node.node_id}-${index}` : node.node_id;
}

/**
 * Expands a job's nodes into agents: a node with `count: N` (N > 1) becomes agents
 * `<node_id>-<i>` carrying `source_node_id`, with `${index}` and `${count}` substituted in its
 * config. Agents of one node share the node's resources and constraints (one equivalence class);
 * the config is shared too unless it holds `${index}`/`${count}`.
 */
export function expandAgents(job: Pick<Job, 'nodes'>): AgentSpec[] {
  const total = job.nodes.reduce((sum, n) => sum + n.count, 0);
  const out: AgentSpec[] = new Array(total);
  let k = 0;
  for (const node of job.nodes) {
    if (node.count <= 1) {
      out[k++] = { agent_id: node.node_id, source_node_id: node.node_id, index: null, node, config: node.config };
      continue;
    }
    const templated = hasFanOutTemplate(node.config);
    for (let i = 0; i < node.count; i++) {
      out[k++] = {
        agent_id: `${node.node_id}-${i}`,
        source_node_id: node.node_id,
        index: i,
        node,
        config: templated ? (substitute(node.config, i, node.count) as Record<string, unknown>) : node.config,
      };
    }
  }
  return out;
}

/** The config of copy `index` of a node: `${index}`/`${count}` substituted (the node's own config when it has none). */
export function agentConfig(node: Pick<NodeSpec, 'config' | 'count'>, index: number | null): Record<string, unknown> {
  if (index === null || node.count <= 1 || !hasFanOutTemplate(node.config)) return node.config;
  return substitute(node.config, index, node.count) as Record<string, unknown>;
}

function hasFanOutTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${index}') || value.includes('${count}');
  if (Array.isArray(value)) return value.some(hasFanOutTemplate);
  if (isObject(value)) return Object.values(value).some(hasFanOutTemplate);
  return false;
}

/** Copies `value`, replacing `${index}`/`${count}`; a string that is only the template becomes a number. */
function substitute(value: unknown, index: number, count: number): unknown {
  if (typeof value === 'string') {
    if (value === '${index}') return index;
    if (value === '${count}') return count;
    if (!value.includes('${')) return value;
    return value.replaceAll('${index}', String(index)).replaceAll('${count}', String(count));
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, index, count));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, index, count);
    return out;
  }
  return value;
}
