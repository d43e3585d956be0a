import { describe, expect, it } from 'vitest';
import { decideRelocation, drainProgress, type NodeState } from '../../../src/core/policy/relocation.js';

const drain = { reason: 'kernel upgrade', deadline_at: 1_000, ignore_system_jobs: true };
const nodes = new Map<string, NodeState>([
  ['a', { status: 'healthy', drain: null }],
  ['d', { status: 'draining', drain }],
  ['x', { status: 'offline', drain: null }],
]);
const agents = [
  { agent_id: 'w-0', node: 'a', state: 'pending' },
  { agent_id: 'w-1', node: 'd', state: 'running' },
  { agent_id: 'w-2', node: 'x', state: 'running' },
  { agent_id: 'w-3', node: 'x', state: 'completed' },
];

describe('decideRelocation', () => {
  it('moves preempted agents wherever they are (system copies excepted)', () => {
    const evicted = [...agents, { agent_id: 'w-4', node: 'a', state: 'preempted' }];
    const d = decideRelocation({ job_type: 'batch', requested_recovery: 'local_restart', agents: evicted, nodes, now: 0 });
    expect(d.move).toContainEqual({ agent_id: 'w-4', from: 'a', cause: 'preempted' });
    expect(decideRelocation({ job_type: 'system', requested_recovery: 'auto', agents: evicted, nodes, now: 0 }).move).toEqual([]);
  });

  it('moves service agents off a draining node at once and agents of lost nodes', () => {
    const d = decideRelocation({ job_type: 'service', requested_recovery: 'auto', agents, nodes, now: 0 });
    expect(d.move).toEqual([
      { agent_id: 'w-1', from: 'd', cause: 'drain' },
      { agent_id: 'w-2', from: 'x', cause: 'node_lost' },
    ]);
  });

  it('lets batch agents finish on a draining node until the deadline', () => {
    expect(decideRelocation({ job_type: 'batch', requested_recovery: 'cluster_recover', agents, nodes, now: 999 }).move.map((m) => m.agent_id)).toEqual(['w-2']);
    expect(decideRelocation({ job_type: 'batch', requested_recovery: 'cluster_recover', agents, nodes, now: 1000 }).move.map((m) => m.agent_id)).toEqual(['w-1', 'w-2']);
  });

  it('never moves system copies, and holds work whose recovery mode forbids moving', () => {
    expect(decideRelocation({ job_type: 'system', requested_recovery: 'auto', agents, nodes, now: 5000 })).toEqual({ move: [], held: [] });
    const local = decideRelocation({ job_type: 'service', requested_recovery: 'local_restart', agents, nodes, now: 0 });
    expect(local.move.map((m) => m.agent_id)).toEqual(['w-1']);
    expect(local.held.map((h) => h.agent_id)).toEqual(['w-2']);
    const manual = decideRelocation({ job_type: 'service', requested_recovery: 'manual_recover', agents, nodes, now: 0 });
    expect(manual.move).toEqual([]);
  });
});

describe('drainProgress', () => {
  const job = (job_id: string, job_type: 'service' | 'batch' | 'system', extra: Partial<{ blocked: string[]; requested_recovery: 'auto' | 'manual_recover' }> = {}) => ({
    job_id,
    job_type,
    requested_recovery: extra.requested_recovery ?? ('auto' as const),
    agents: [{ agent_id: `${job_id}-0`, node: 'd', state: 'running' }],
    blocked: extra.blocked ?? [],
  });

  it('reports actions and the overall status in the spec order', () => {
    expect(drainProgress('d', drain, [job('s', 'service'), job('b', 'batch'), job('y', 'system')], 0)).toEqual({
      status: 'draining',
      actions: [
        { job_id: 's', status: 'migrating', agents: 1 },
        { job_id: 'b', status: 'waiting', agents: 1 },
        { job_id: 'y', status: 'ignored', agents: 1 },
      ],
    });
    expect(drainProgress('d', drain, [job('s', 'service', { blocked: ['s-0'] }), job('m', 'service', { requested_recovery: 'manual_recover' })], 0).status).toBe('blocked_no_placement');
    expect(drainProgress('d', drain, [job('m', 'service', { requested_recovery: 'manual_recover' })], 0).status).toBe('paused_for_review');
    expect(drainProgress('d', drain, [job('y', 'system')], 0).status).toBe('complete');
    expect(drainProgress('d', { ...drain, ignore_system_jobs: false }, [job('y', 'system')], 0).status).toBe('paused_for_review');
  });
});
