/**
 * Edge routing (spec §1.3, §2.2): which agents receive the messages a handler emits. Pure: the
 * caller passes the job, the plan's agents and the time, and gets back deliveries to write.
 */
import type { Edge, Job, RouteCondition } from '../manifest/types.js';
import type { AgentAction } from './actions.js';
import { type Message, childMessage, childMessageId } from './message.js';

/** Envelope fields a bare path segment selects (`type` means `envelope.type`, not `body.type`). */
const ENVELOPE_FIELDS = new Set([
  'spec_version', 'message_id', 'job_id', 'from', 'to', 'type', 'class', 'timestamp', 'correlation_id',
  'causation_id', 'attempt', 'priority', 'ttl_ms', 'content_type', 'content_encoding',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function step(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) {
    if (!/^\d+$/.test(segment)) return undefined;
    return value[Number(segment)];
  }
  // Own properties only: a path like `body.constructor` must not reach the prototype.
  if (isRecord(value) && Object.hasOwn(value, segment)) return value[segment];
  return undefined;
}

/**
 * The value a condition path names in `message`, or `undefined` when it is missing. The first
 * segment `body`, `headers`, `envelope` or `artifacts` selects that part; a bare envelope field
 * name selects the envelope field; any other path is looked up in the body, so `${score}` reads
 * `body.score`. Numeric segments index arrays.
 */
export function resolvePath(message: Message, path: string): unknown {
  const segments = path.split('.');
  const head = segments[0] ?? '';
  let value: unknown;
  let rest: string[];
  if (head === 'body' || head === 'headers' || head === 'artifacts' || head === 'envelope') {
    value = message[head];
    rest = segments.slice(1);
  } else if (ENVELOPE_FIELDS.has(head)) {
    value = (message.envelope as unknown as Record<string, unknown>)[head];
    rest = segments.slice(1);
  } else {
    value = message.body;
    rest = segments;
  }
  for (const segment of rest) {
    if (value === undefined) return undefined;
    value = step(value, segment);
  }
  return value;
}

/** A number, or a string that reads as one; otherwise null. */
function numeric(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * Deep equality on JSON values where a number equals a string that reads as it (`"5" == 5`):
 * manifests are written by hand and routed values often come from text (stdout, headers).
 */
export function looseEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number')) {
    const x = numeric(a);
    const y = numeric(b);
    return x !== null && x === y;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => looseEqual(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && looseEqual(a[k], b[k]));
  }
  return false;
}

function compare(a: unknown, b: unknown): number | null {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== null && y !== null) return x - y;
  const scalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (!scalar(a) || !scalar(b)) return null;
  // Code-unit order, not localeCompare: routing must not depend on the host's locale.
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

/**
 * Whether `cond` holds for `message`. `{all: []}` holds and `{any: []}` does not (the usual
 * identities). A missing path makes every operator false except `!=`, so an edge guarded by
 * `status == "ok"` does not fire for a message without a status.
 */
export function evaluateCondition(cond: RouteCondition, message: Message): boolean {
  if ('all' in cond) return cond.all.every((c) => evaluateCondition(c, message));
  if ('any' in cond) return cond.any.some((c) => evaluateCondition(c, message));
  if ('not' in cond) return !evaluateCondition(cond.not, message);
  const actual = resolvePath(message, cond.path);
  if (actual === undefined) return cond.op === '!=';
  const expected = cond.value;
  switch (cond.op) {
    case '==':
      return looseEqual(actual, expected);
    case '!=':
      return !looseEqual(actual, expected);
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const c = compare(actual, expected);
      if (c === null) return false;
      return cond.op === '>' ? c > 0 : cond.op === '>=' ? c >= 0 : cond.op === '<' ? c < 0 : c <= 0;
    }
    case 'contains':
      if (typeof actual === 'string') return (typeof expected === 'string' || typeof expected === 'number') && actual.includes(String(expected));
      if (Array.isArray(actual)) return actual.some((v) => looseEqual(v, expected));
      return false;
    case 'in':
      return Array.isArray(expected) && expected.some((v) => looseEqual(v, actual));
    case 'exists':
      return actual !== null;
  }
}

/** One agent of a plan as routing sees it: its id and the machine it runs on. */
export interface RoutedAgent {
  agent_id: string;
  node: string;
}

/**
 * Groups a plan's placements by manifest node id, keeping plan order. Routing treats the result
 * (and its arrays) as immutable and memoises indexes over it, so build it once per plan.
 */
export function agentsBySource(placements: ReadonlyArray<{ agent_id: string; source_node_id: string; node: string }>): Map<string, RoutedAgent[]> {
  const out = new Map<string, RoutedAgent[]>();
  for (const p of placements) {
    let group = out.get(p.source_node_id);
    if (!group) {
      group = [];
      out.set(p.source_node_id, group);
    }
    group.push({ agent_id: p.agent_id, node: p.node });
  }
  return out;
}

/** Input of {@link routeActions}. */
export interface RouteInput {
  job: Pick<Job, 'edges' | 'nodes' | 'policies'>;
  /** The handling agent: its id, manifest node id and the machine it runs on. */
  from: { agent_id: string; source_node_id: string; node: string };
  /** The message being handled. */
  parent: Message;
  actions: readonly AgentAction[];
  /** Agents by manifest node id, from {@link agentsBySource}. */
  agents: ReadonlyMap<string, RoutedAgent[]>;
  now: number;
}

/** One message to write to one agent's queue; `edge_id` is null for `emit_to`. */
export interface Delivery {
  agent_id: string;
  node: string;
  edge_id: string | null;
  message: Message;
}

/** Something in the actions that could not be routed, reported as a job event. */
export interface RouteProblem {
  type: string;
  payload: Record<string, unknown>;
}

// Memoised indexes over immutable inputs. Keyed weakly so a replaced plan or job frees them;
// the results depend only on the key, so routing stays a function of its arguments.
const outboundCache = new WeakMap<readonly Edge[], Map<string, Edge[]>>();
const agentIndexCache = new WeakMap<ReadonlyMap<string, RoutedAgent[]>, Map<string, RoutedAgent>>();
const byMachineCache = new WeakMap<readonly RoutedAgent[], Map<string, RoutedAgent[]>>();

function outbound(edges: readonly Edge[], nodeId: string): readonly Edge[] {
  let index = outboundCache.get(edges);
  if (!index) {
    index = new Map();
    for (const e of edges) {
      const list = index.get(e.from_node);
      if (list) list.push(e);
      else index.set(e.from_node, [e]);
    }
    outboundCache.set(edges, index);
  }
  return index.get(nodeId) ?? [];
}

function agentById(agents: ReadonlyMap<string, RoutedAgent[]>, agentId: string): RoutedAgent | undefined {
  let index = agentIndexCache.get(agents);
  if (!index) {
    index = new Map();
    for (const group of agents.values()) for (const a of group) index.set(a.agent_id, a);
    agentIndexCache.set(agents, index);
  }
  return index.get(agentId);
}

function onMachine(group: readonly RoutedAgent[], machine: string): readonly RoutedAgent[] {
  let index = byMachineCache.get(group);
  if (!index) {
    index = new Map();
    for (const a of group) {
      const list = index.get(a.node);
      if (list) list.push(a);
      else index.set(a.node, [a]);
    }
    byMachineCache.set(group, index);
  }
  return index.get(machine) ?? [];
}

/**
 * Turns the `emit`/`emit_to` actions of one handled message into deliveries (spec §1.3, §2.2).
 * `emit` follows the sender node's outbound edges whose `message_type` is the emitted type or
 * `"*"`; conditions are evaluated on the emitted message and filter every mode; of the
 * `first_match` edges only the first whose conditions hold delivers, while `broadcast` and
 * `all_match` edges each deliver when they hold. An edge reaches every agent of its target node,
 * except in `system`/`sysbatch` jobs where each machine runs its own copy of the graph and only
 * the copies on the sender's machine receive. `emit_to` names an agent, or a node (all its agents,
 * same machine rule). Message ids are {@link childMessageId}s, so handling a redelivered parent
 * produces the same deliveries. Other actions are ignored. Cost is linear in deliveries; delivered
 * messages share their body, headers and artifacts objects, which callers must not mutate.
 */
export function routeActions(input: RouteInput): { deliveries: Delivery[]; problems: RouteProblem[] } {
  const { job, from, parent, agents, now } = input;
  const nodeScoped = job.policies.job_type === 'system' || job.policies.job_type === 'sysbatch';
  const deliveries: Delivery[] = [];
  const problems: RouteProblem[] = [];
  // Per-target counters make ids depend on the order of sends to that target only.
  const sent = new Map<string, number>();
  const parentId = parent.envelope.message_id;

  const deliver = (targets: readonly RoutedAgent[], edgeId: string | null, base: Message): void => {
    for (const t of targets) {
      const n = sent.get(t.agent_id) ?? 0;
      sent.set(t.agent_id, n + 1);
      const message: Message = { ...base, envelope: { ...base.envelope, to: t.agent_id, message_id: childMessageId(parentId, from.agent_id, t.agent_id, n) } };
      deliveries.push({ agent_id: t.agent_id, node: t.node, edge_id: edgeId, message });
    }
  };
  const groupTargets = (nodeId: string): readonly RoutedAgent[] | undefined => {
    const group = agents.get(nodeId);
    if (!group) return undefined;
    return nodeScoped ? onMachine(group, from.node) : group;
  };

  for (const action of input.actions) {
    if (action.kind === 'emit') {
      const base = childMessage({ parent, from: from.agent_id, to: '', type: action.type, body: action.body, options: action.options, messageId: '', now });
      let firstMatched = false;
      for (const edge of outbound(job.edges, from.source_node_id)) {
        if (edge.message_type !== action.type && edge.message_type !== '*') continue;
        if (edge.routing_mode === 'first_match' && firstMatched) continue;
        if (edge.conditions !== null) {
          const probe: Message = { ...base, envelope: { ...base.envelope, to: edge.to_node } };
          if (!evaluateCondition(edge.conditions, probe)) continue;
        }
        if (edge.routing_mode === 'first_match') firstMatched = true;
        deliver(groupTargets(edge.to_node) ?? [], edge.edge_id, base);
      }
    } else if (action.kind === 'emit_to') {
      const base = childMessage({ parent, from: from.agent_id, to: action.to, type: action.type, body: action.body, options: action.options, messageId: '', now });
      // A node id wins over an agent id: for a node with one copy they name the same agent.
      const group = groupTargets(action.to);
      const agent = group === undefined ? agentById(agents, action.to) : undefined;
      if (group !== undefined) deliver(group, null, base);
      else if (agent !== undefined) deliver([agent], null, base);
      else problems.push({ type: 'emit_to_unknown_target', payload: { to: action.to, message_type: action.type } });
    }
  }
  return { deliveries, problems };
}
