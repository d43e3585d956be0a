/**
 * What changed between two versions of a job (spec §6.4): its topology, and which of its nodes
 * (hence agents) run differently. Pure.
 */
import type { Job, NodeSpec } from '../manifest/types.js';

const sortedJson = (values: readonly unknown[]): string => JSON.stringify(values.map((v) => JSON.stringify(v)).sort());

/**
 * Whether the topology differs: the node ids (with their fan-out counts, which name the agents),
 * the edges (from, to, message type, routing mode), the entrypoints, or the job type. A topology
 * change is deployed blue-green; otherwise agents are replaced in place.
 */
export function topologyChanged(a: Job, b: Job): boolean {
  const nodes = (j: Job) => sortedJson(j.nodes.map((n) => [n.node_id, n.count]));
  const edges = (j: Job) => sortedJson(j.edges.map((e) => [e.from_node, e.to_node, e.message_type, e.routing_mode]));
  return nodes(a) !== nodes(b) || edges(a) !== edges(b) || sortedJson(a.entrypoints) !== sortedJson(b.entrypoints) || a.policies.job_type !== b.policies.job_type;
}

/** What of a node makes its agents run differently (spec §6.4: type, config, resources, constraints, services, ...). */
function runtimeShape(n: NodeSpec): string {
  const { node_id: _id, count: _count, ...rest } = n;
  return JSON.stringify(rest);
}

/** Node ids of `b` whose agents run differently than in `a` (same topology assumed). */
export function changedNodes(a: Job, b: Job): string[] {
  const before = new Map(a.nodes.map((n) => [n.node_id, runtimeShape(n)]));
  return b.nodes.filter((n) => before.get(n.node_id) !== runtimeShape(n)).map((n) => n.node_id);
}

/** Whether anything that reaches the running job differs (a deploy of an equal manifest is a no-op). */
export function jobChanged(a: Job, b: Job): boolean {
  return topologyChanged(a, b) || changedNodes(a, b).length > 0 || JSON.stringify(a.services) !== JSON.stringify(b.services) || JSON.stringify(a.initial_inputs) !== JSON.stringify(b.initial_inputs);
}
