import { type ValidationContext, describeType, isObject, joinPath } from './context.js';
import type { Edge, RouteCondition, RouteConditionOperator, RoutingMode } from './types.js';

const ROUTING_MODES: readonly RoutingMode[] = ['broadcast', 'first_match', 'all_match'];
const CONDITION_OPS: readonly RouteConditionOperator[] = ['==', '!=', '>', '>=', '<', '<=', 'contains', 'in', 'exists'];
const EXPRESSION_RE = /^\s*\$\{([^}]+)\}\s*(==|!=|>=|<=|>|<|contains|in|exists)\s*(.*?)\s*$/;

/** Parses the edge list (spec §1.3); `nodeIds` are the known manifest node ids. */
export function parseEdges(ctx: ValidationContext, raw: unknown, nodeIds: ReadonlySet<string>): Edge[] {
  const path = 'edges';
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.error(path, `edges must be a list, got ${describeType(raw)}`);
    return [];
  }
  const seen = new Set<string>();
  const out: Edge[] = [];
  raw.forEach((entry, i) => {
    const p = joinPath(path, i);
    if (!isObject(entry)) {
      ctx.error(p, `${p} must be an object, got ${describeType(entry)}`);
      return;
    }
    const explicitId = ctx.optionalString(entry, 'edge_id', p, { nonEmpty: true });
    const id = explicitId ?? `edge-${i}`;
    if (explicitId !== null) {
      if (seen.has(explicitId)) ctx.error(joinPath(p, 'edge_id'), `duplicate edge_id ${explicitId}`);
      seen.add(explicitId);
    }
    const endpoint = (key: 'from_node' | 'to_node'): string | null => {
      const v = entry[key];
      if (typeof v !== 'string' || v === '') {
        ctx.error(joinPath(p, key), `edge ${id} must define ${key}`);
        return null;
      }
      if (!nodeIds.has(v)) {
        ctx.error(joinPath(p, key), `edge ${id} references missing ${key} ${v}`);
        return null;
      }
      return v;
    };
    const from = endpoint('from_node');
    const to = endpoint('to_node');
    const messageType = entry.message_type;
    if (typeof messageType !== 'string' || messageType === '') {
      ctx.error(joinPath(p, 'message_type'), `edge ${id} must define message_type`);
    }
    const routing = ctx.enumValue(entry, 'routing_mode', p, ROUTING_MODES, 'broadcast', {
      message: (v) => `edge ${id} has unsupported routing_mode ${JSON.stringify(v)}; use broadcast, first_match or all_match`,
    });
    let conditions: RouteCondition | null = null;
    if (entry.conditions !== undefined && entry.conditions !== null) {
      const problems: string[] = [];
      conditions = parseCondition(entry.conditions, problems);
      if (problems.length > 0) {
        ctx.error(joinPath(p, 'conditions'), `edge ${id} has invalid conditions: ${problems.join('; ')}`);
        conditions = null;
      }
    }
    if (from !== null && to !== null && typeof messageType === 'string' && messageType !== '') {
      out.push({ edge_id: id, from_node: from, to_node: to, message_type: messageType, routing_mode: routing, conditions });
    }
  });
  return out;
}

/**
 * Parses a condition tree: `{all:[...]}`, `{any:[...]}`, `{not: c}`, `"${path} OP value"` or
 * `{path, op, value}`. Problems are appended to `problems`.
 */
export function parseCondition(raw: unknown, problems: string[]): RouteCondition {
  if (typeof raw === 'string') {
    const m = EXPRESSION_RE.exec(raw);
    if (!m) {
      problems.push(`expression ${JSON.stringify(raw)} must look like "\${path} OP value"`);
      return { all: [] };
    }
    const op = m[2] as RouteConditionOperator;
    const valueText = m[3]!;
    if (op !== 'exists' && valueText === '') problems.push(`expression ${JSON.stringify(raw)} has no value`);
    return { path: m[1]!.trim(), op, value: op === 'exists' ? null : parseLiteral(valueText) };
  }
  if (!isObject(raw)) {
    problems.push(`condition must be an object or an expression string, got ${describeType(raw)}`);
    return { all: [] };
  }
  if ('all' in raw || 'any' in raw) {
    const key = 'all' in raw ? 'all' : 'any';
    const list = raw[key];
    if (!Array.isArray(list)) {
      problems.push(`${key} must be a list of conditions`);
      return { all: [] };
    }
    const items = list.map((c) => parseCondition(c, problems));
    return key === 'all' ? { all: items } : { any: items };
  }
  if ('not' in raw) return { not: parseCondition(raw.not, problems) };
  const path = raw.path;
  const op = raw.op ?? raw.operator ?? '==';
  if (typeof path !== 'string' || path === '') problems.push('condition path must be a non-empty string');
  if (typeof op !== 'string' || !(CONDITION_OPS as readonly string[]).includes(op)) {
    problems.push(`condition op ${JSON.stringify(op)} is not one of ${CONDITION_OPS.join(', ')}`);
    return { all: [] };
  }
  return { path: String(path ?? ''), op: op as RouteConditionOperator, value: raw.value ?? null };
}

function parseLiteral(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.replace(/^'(.*)'$/, '$1');
  }
}
