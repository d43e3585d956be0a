import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { expandAgents } from '../../../src/core/manifest/expand.js';
import type { Job, RouteCondition } from '../../../src/core/manifest/types.js';
import type { AgentAction } from '../../../src/core/runtime/actions.js';
import { childMessageId, normaliseMessage, type Message } from '../../../src/core/runtime/message.js';
import { agentsBySource, evaluateCondition, resolvePath, routeActions, type RouteInput } from '../../../src/core/runtime/routing.js';

const NOW = Date.parse('2026-05-24T10:00:00.000Z');

function msg(body: unknown, envelope: Record<string, unknown> = {}, headers: Record<string, unknown> = {}): Message {
  return normaliseMessage({ envelope: { message_id: 'p1', correlation_id: 'c1', type: 'job', from: 'src', ...envelope }, headers, body, artifacts: [{ uri: 'a://1' }] }, { jobId: 'j', to: 'x', messageId: 'gen', now: NOW });
}

function job(m: Record<string, unknown>): Job {
  const r = validateManifest({ manifest_version: '1.0', graph_id: 'g', entrypoints: ['src'], ...m });
  expect(r.errors).toEqual([]);
  return r.job!;
}

/** Agents of a non-system job, all on machine m1 unless `machineOf` says otherwise. */
function agentsOf(j: Job, machineOf: (agentId: string) => string = () => 'm1') {
  return agentsBySource(expandAgents(j).map((a) => ({ agent_id: a.agent_id, source_node_id: a.source_node_id, node: machineOf(a.agent_id) })));
}

function route(j: Job, actions: AgentAction[], parent = msg({}), extra: Partial<RouteInput> = {}) {
  return routeActions({ job: j, from: { agent_id: 'src', source_node_id: 'src', node: 'm1' }, parent, actions, agents: agentsOf(j), now: NOW, ...extra });
}

const emit = (type: string, body: unknown = {}): AgentAction => ({ kind: 'emit', type, body });
const targets = (r: ReturnType<typeof route>) => r.deliveries.map((d) => `${d.edge_id}:${d.agent_id}`);

const router = (id: string, extra: Record<string, unknown> = {}) => ({ node_id: id, agent_type: 'router', ...extra });

describe('resolvePath', () => {
  const m = msg({ score: 7, items: [{ id: 'a' }, { id: 'b' }], type: 'in-body' }, { priority: 3 }, { tenant: 't1' });
  it('selects body, headers, envelope, artifacts, bare envelope fields and array indexes', () => {
    expect(resolvePath(m, 'score')).toBe(7);
    expect(resolvePath(m, 'body.score')).toBe(7);
    expect(resolvePath(m, 'items.1.id')).toBe('b');
    expect(resolvePath(m, 'body.items.0.id')).toBe('a');
    expect(resolvePath(m, 'headers.tenant')).toBe('t1');
    expect(resolvePath(m, 'envelope.correlation_id')).toBe('c1');
    expect(resolvePath(m, 'artifacts.0.uri')).toBe('a://1');
    expect(resolvePath(m, 'type')).toBe('job');
    expect(resolvePath(m, 'body.type')).toBe('in-body');
    expect(resolvePath(m, 'priority')).toBe(3);
    expect(resolvePath(m, 'message_id')).toBe('p1');
  });
  it('is undefined for missing paths, non-numeric array segments and prototype keys', () => {
    expect(resolvePath(m, 'nope')).toBeUndefined();
    expect(resolvePath(m, 'score.deeper')).toBeUndefined();
    expect(resolvePath(m, 'items.x')).toBeUndefined();
    expect(resolvePath(m, 'items.9.id')).toBeUndefined();
    expect(resolvePath(m, 'constructor')).toBeUndefined();
  });
});

describe('evaluateCondition', () => {
  const m = msg({ score: 7, name: 'alpha', tags: ['x', 'y'], n: '5', obj: { a: [1, 2] }, nil: null });
  const c = (path: string, op: string, value: unknown): RouteCondition => ({ path, op, value } as RouteCondition);
  const ev = (path: string, op: string, value: unknown) => evaluateCondition(c(path, op, value), m);

  it('== and != compare JSON deeply with loose number/string equality', () => {
    expect(ev('score', '==', 7)).toBe(true);
    expect(ev('score', '==', '7')).toBe(true);
    expect(ev('n', '==', 5)).toBe(true);
    expect(ev('name', '==', 'beta')).toBe(false);
    expect(ev('obj', '==', { a: [1, 2] })).toBe(true);
    expect(ev('obj', '==', { a: [1] })).toBe(false);
    expect(ev('tags', '==', ['x', 'y'])).toBe(true);
    expect(ev('nil', '==', null)).toBe(true);
    expect(ev('score', '!=', 8)).toBe(true);
    expect(ev('score', '!=', '7')).toBe(false);
  });
  it('ordering is numeric when both sides are numeric, else string order', () => {
    expect(ev('score', '>', 5)).toBe(true);
    expect(ev('score', '>=', 7)).toBe(true);
    expect(ev('score', '<', 7)).toBe(false);
    expect(ev('score', '<=', '10')).toBe(true); // numeric: 7 <= 10 although "7" > "10" as text
    expect(ev('name', '<', 'beta')).toBe(true);
    expect(ev('name', '>', 'beta')).toBe(false);
    expect(ev('obj', '>', 1)).toBe(false);
  });
  it('contains, in and exists', () => {
    expect(ev('name', 'contains', 'lph')).toBe(true);
    expect(ev('name', 'contains', 'zz')).toBe(false);
    expect(ev('tags', 'contains', 'y')).toBe(true);
    expect(ev('tags', 'contains', 'z')).toBe(false);
    expect(ev('score', 'contains', 7)).toBe(false);
    expect(ev('name', 'in', ['alpha', 'beta'])).toBe(true);
    expect(ev('score', 'in', ['7'])).toBe(true);
    expect(ev('name', 'in', ['gamma'])).toBe(false);
    expect(ev('name', 'in', 'alphabet')).toBe(false);
    expect(ev('score', 'exists', null)).toBe(true);
    expect(ev('nil', 'exists', null)).toBe(false);
  });
  it('a missing path makes every operator false except !=', () => {
    for (const op of ['==', '>', '>=', '<', '<=', 'contains', 'in', 'exists']) expect(ev('missing', op, op === 'in' ? [null] : 1)).toBe(false);
    expect(ev('missing', '!=', 1)).toBe(true);
  });
  it('all / any / not trees with empty identities', () => {
    expect(evaluateCondition({ all: [] }, m)).toBe(true);
    expect(evaluateCondition({ any: [] }, m)).toBe(false);
    expect(evaluateCondition({ all: [c('score', '>', 5), c('name', '==', 'alpha')] }, m)).toBe(true);
    expect(evaluateCondition({ all: [c('score', '>', 5), c('name', '==', 'x')] }, m)).toBe(false);
    expect(evaluateCondition({ any: [c('score', '>', 50), c('name', '==', 'alpha')] }, m)).toBe(true);
    expect(evaluateCondition({ not: c('score', '>', 5) }, m)).toBe(false);
    expect(evaluateCondition({ not: { any: [] } }, m)).toBe(true);
  });
  it('evaluates conditions parsed from manifest expression strings', () => {
    const j = job({ nodes: [router('src'), router('a')], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'a', message_type: 'x', conditions: { all: ['${score} >= 7', '${headers.tenant} == "t1"'] } }] });
    const cond = j.edges[0]!.conditions!;
    expect(evaluateCondition(cond, msg({ score: 7 }, {}, { tenant: 't1' }))).toBe(true);
    expect(evaluateCondition(cond, msg({ score: 6 }, {}, { tenant: 't1' }))).toBe(false);
  });
});

describe('routeActions: routing modes', () => {
  const nodes = [router('src'), router('a'), router('b'), router('c'), router('d')];

  it('broadcast delivers on every edge of the emitted type, and * edges match every type', () => {
    const j = job({
      nodes,
      edges: [
        { edge_id: 'e1', from_node: 'src', to_node: 'a', message_type: 'x' },
        { edge_id: 'e2', from_node: 'src', to_node: 'b', message_type: 'x' },
        { edge_id: 'e3', from_node: 'src', to_node: 'c', message_type: 'y' },
        { edge_id: 'e4', from_node: 'src', to_node: 'd', message_type: '*' },
        { edge_id: 'e5', from_node: 'a', to_node: 'b', message_type: 'x' },
      ],
    });
    expect(targets(route(j, [emit('x')]))).toEqual(['e1:a', 'e2:b', 'e4:d']);
    expect(targets(route(j, [emit('y')]))).toEqual(['e3:c', 'e4:d']);
    expect(targets(route(j, [emit('zzz')]))).toEqual(['e4:d']);
  });

  it('no matching edge is not an error', () => {
    const j = job({ nodes, edges: [{ edge_id: 'e1', from_node: 'src', to_node: 'a', message_type: 'x' }] });
    expect(route(j, [emit('other')])).toEqual({ deliveries: [], problems: [] });
  });

  it('conditions filter broadcast edges, evaluated on the emitted message', () => {
    const j = job({
      nodes,
      edges: [
        { edge_id: 'hi', from_node: 'src', to_node: 'a', message_type: 'x', conditions: '${score} > 5' },
        { edge_id: 'lo', from_node: 'src', to_node: 'b', message_type: 'x', conditions: '${score} <= 5' },
      ],
    });
    // The parent's body does not matter: the emitted body is what is routed.
    expect(targets(route(j, [emit('x', { score: 9 })], msg({ score: 1 })))).toEqual(['hi:a']);
    expect(targets(route(j, [emit('x', { score: 2 })]))).toEqual(['lo:b']);
  });

  it('first_match delivers only on the first edge in declaration order whose conditions hold', () => {
    const j = job({
      nodes,
      edges: [
        { edge_id: 'big', from_node: 'src', to_node: 'a', message_type: 'x', routing_mode: 'first_match', conditions: '${score} > 100' },
        { edge_id: 'mid', from_node: 'src', to_node: 'b', message_type: 'x', routing_mode: 'first_match', conditions: '${score} > 10' },
        { edge_id: 'any', from_node: 'src', to_node: 'c', message_type: 'x', routing_mode: 'first_match' },
        { edge_id: 'tap', from_node: 'src', to_node: 'd', message_type: 'x' },
      ],
    });
    expect(targets(route(j, [emit('x', { score: 500 })]))).toEqual(['big:a', 'tap:d']);
    expect(targets(route(j, [emit('x', { score: 50 })]))).toEqual(['mid:b', 'tap:d']);
    expect(targets(route(j, [emit('x', { score: 1 })]))).toEqual(['any:c', 'tap:d']);
    // Each emit is its own first_match group.
    expect(targets(route(j, [emit('x', { score: 500 }), emit('x', { score: 1 })]))).toEqual(['big:a', 'tap:d', 'any:c', 'tap:d']);
  });

  it('all_match delivers on every edge whose conditions hold', () => {
    const j = job({
      nodes,
      edges: [
        { edge_id: 'e1', from_node: 'src', to_node: 'a', message_type: 'x', routing_mode: 'all_match', conditions: '${score} > 1' },
        { edge_id: 'e2', from_node: 'src', to_node: 'b', message_type: 'x', routing_mode: 'all_match', conditions: '${score} > 10' },
        { edge_id: 'e3', from_node: 'src', to_node: 'c', message_type: 'x', routing_mode: 'all_match', conditions: { path: 'tag', op: 'exists', value: null } },
      ],
    });
    expect(targets(route(j, [emit('x', { score: 50 })]))).toEqual(['e1:a', 'e2:b']);
    expect(targets(route(j, [emit('x', { score: 5, tag: 't' })]))).toEqual(['e1:a', 'e3:c']);
    expect(targets(route(j, [emit('x', { score: 0 })]))).toEqual([]);
  });
});

describe('routeActions: targets and messages', () => {
  it('fans out to every agent of a count group', () => {
    const j = job({ nodes: [router('src'), { node_id: 'w', agent_type: 'executor', count: 4 }], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'w', message_type: 'x' }] });
    expect(route(j, [emit('x')]).deliveries.map((d) => d.agent_id)).toEqual(['w-0', 'w-1', 'w-2', 'w-3']);
  });

  it('emit_to reaches a node (all copies), a single agent, or reports an unknown target', () => {
    const j = job({ nodes: [router('src'), { node_id: 'w', agent_type: 'executor', count: 3 }], edges: [] });
    const to = (t: string): AgentAction => ({ kind: 'emit_to', to: t, type: 'direct', body: { t } });
    expect(route(j, [to('w')]).deliveries.map((d) => [d.agent_id, d.edge_id])).toEqual([['w-0', null], ['w-1', null], ['w-2', null]]);
    expect(route(j, [to('w-1')]).deliveries.map((d) => d.agent_id)).toEqual(['w-1']);
    expect(route(j, [to('ghost')])).toEqual({ deliveries: [], problems: [{ type: 'emit_to_unknown_target', payload: { to: 'ghost', message_type: 'direct' } }] });
  });

  it('in system jobs delivers only to the copies on the sender machine', () => {
    const j = job({ policies: { job_type: 'system' }, nodes: [router('src'), router('w')], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'w', message_type: 'x' }] });
    const placements = ['m1', 'm2', 'm3'].flatMap((m) => [
      { agent_id: `src@${m}`, source_node_id: 'src', node: m },
      { agent_id: `w@${m}`, source_node_id: 'w', node: m },
    ]);
    const agents = agentsBySource(placements);
    const from = { agent_id: 'src@m2', source_node_id: 'src', node: 'm2' };
    const r = routeActions({ job: j, from, parent: msg({}), actions: [emit('x'), { kind: 'emit_to', to: 'w', type: 'd', body: null }, { kind: 'emit_to', to: 'w@m3', type: 'd', body: null }], agents, now: NOW });
    expect(r.deliveries.map((d) => [d.agent_id, d.node])).toEqual([['w@m2', 'm2'], ['w@m2', 'm2'], ['w@m3', 'm3']]);
    // A batch job with the same placements reaches every copy.
    const batch = { ...j, policies: { ...j.policies, job_type: 'batch' as const } };
    expect(routeActions({ job: batch, from, parent: msg({}), actions: [emit('x')], agents, now: NOW }).deliveries).toHaveLength(3);
  });

  it('builds child messages: correlation, causation, options, per-target envelope', () => {
    const j = job({ nodes: [router('src'), router('a')], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'a', message_type: 'x' }] });
    const r = route(j, [{ kind: 'emit', type: 'x', body: { v: 1 }, options: { headers: { h: 1 }, class: 'command', priority: 9 } }]);
    const m = r.deliveries[0]!.message;
    expect(m.envelope).toMatchObject({ to: 'a', from: 'src', type: 'x', correlation_id: 'c1', causation_id: 'p1', class: 'command', priority: 9, attempt: 1, timestamp: '2026-05-24T10:00:00.000Z' });
    expect(m.headers).toEqual({ h: 1 });
    expect(m.body).toEqual({ v: 1 });
  });

  it('message ids are deterministic, counted per target, and equal across two calls', () => {
    const j = job({
      nodes: [router('src'), router('a'), router('b')],
      edges: [
        { edge_id: 'e1', from_node: 'src', to_node: 'a', message_type: 'x' },
        { edge_id: 'e2', from_node: 'src', to_node: 'b', message_type: 'x' },
      ],
    });
    const actions = [emit('x', 1), emit('x', 2), { kind: 'emit_to', to: 'a', type: 'y', body: 3 } as AgentAction];
    const first = route(j, actions);
    const second = route(j, actions);
    expect(second).toEqual(first);
    expect(first.deliveries.map((d) => [d.agent_id, d.message.envelope.message_id])).toEqual([
      ['a', childMessageId('p1', 'src', 'a', 0)],
      ['b', childMessageId('p1', 'src', 'b', 0)],
      ['a', childMessageId('p1', 'src', 'a', 1)],
      ['b', childMessageId('p1', 'src', 'b', 1)],
      ['a', childMessageId('p1', 'src', 'a', 2)],
    ]);
    expect(new Set(first.deliveries.map((d) => d.message.envelope.message_id)).size).toBe(5);
    // Another parent gives other ids.
    const other = route(j, actions, msg({}, { message_id: 'p2' }));
    expect(other.deliveries[0]!.message.envelope.message_id).not.toBe(first.deliveries[0]!.message.envelope.message_id);
  });

  it('ignores non-emit actions', () => {
    const j = job({ nodes: [router('src'), router('a')], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'a', message_type: '*' }] });
    const r = route(j, [{ kind: 'event', type: 'x', payload: {} }, { kind: 'next_state', state: 1 }, { kind: 'complete_job', result: null }]);
    expect(r).toEqual({ deliveries: [], problems: [] });
  });

  it('fans out to 10,000 agents in one call without quadratic cost', () => {
    const j = job({ nodes: [router('src'), { node_id: 'w', agent_type: 'executor', count: 10_000 }], edges: [{ edge_id: 'e', from_node: 'src', to_node: 'w', message_type: 'x' }] });
    const agents = agentsOf(j);
    const input = { job: j, from: { agent_id: 'src', source_node_id: 'src', node: 'm1' }, parent: msg({}), agents, now: NOW };
    const t0 = performance.now();
    const r = routeActions({ ...input, actions: [emit('x'), { kind: 'emit_to', to: 'w-9999', type: 'y', body: null }] });
    expect(r.deliveries).toHaveLength(10_001);
    expect(r.deliveries[10_000]!.agent_id).toBe('w-9999');
    // Many workers each addressing one agent: the agent index is built once, not per call.
    for (let i = 0; i < 2000; i++) routeActions({ ...input, actions: [{ kind: 'emit_to', to: `w-${i}`, type: 'y', body: null }] });
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
