import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import {
  attemptDecision,
  clusterHealthFor,
  defaultReschedulePolicy,
  effectivePolicies,
  defaultRestartPolicy,
  delayFor,
  recordAttempt,
  reschedulePolicyFor,
  resolveRecoveryMode,
  restartPolicyFor,
} from '../../../src/core/policy/lifecycle.js';

function job(policies: Record<string, unknown>, nodePolicies?: Record<string, unknown>) {
  const r = validateManifest({
    manifest_version: '1',
    graph_id: 'g',
    entrypoints: ['worker'],
    nodes: [{ node_id: 'worker', agent_type: 'executor', ...(nodePolicies ? { policies: nodePolicies } : {}) }],
    policies,
  });
  expect(r.errors).toEqual([]);
  return r.job!;
}

describe('restart and reschedule defaults (spec §11.4)', () => {
  it('#44: service + cluster_recover', () => {
    expect(defaultRestartPolicy('service', 'cluster_recover')).toEqual({
      enabled: true, attempts: 3, interval_ms: 600_000, delay_ms: 1000, delay_function: 'exponential', max_delay_ms: 30_000, mode: 'fail',
    });
    expect(defaultReschedulePolicy('service', 'cluster_recover')).toMatchObject({ unlimited: true, delay_function: 'exponential', max_delay_ms: 300_000 });
  });

  it('#45: service + local_restart restarts in delay mode', () => {
    expect(defaultRestartPolicy('service', 'local_restart').mode).toBe('delay');
    expect(defaultReschedulePolicy('service', 'local_restart').enabled).toBe(false);
  });

  it('#46: batch + cluster_recover', () => {
    expect(defaultRestartPolicy('batch', 'cluster_recover')).toMatchObject({ attempts: 3, interval_ms: 86_400_000, mode: 'fail' });
    expect(defaultReschedulePolicy('batch', 'cluster_recover')).toMatchObject({ attempts: 1, unlimited: false, delay_function: 'constant' });
  });

  it('#47: manual_recover disables both', () => {
    for (const type of ['service', 'batch', 'system', 'sysbatch'] as const) {
      expect(defaultRestartPolicy(type, 'manual_recover').enabled).toBe(false);
      expect(defaultReschedulePolicy(type, 'manual_recover').enabled).toBe(false);
    }
  });

  it('#48: the legacy max_agent_restart_attempts applies only without restart.attempts', () => {
    expect(restartPolicyFor(job({ max_agent_restart_attempts: 7 }).policies, null, 'cluster_recover').attempts).toBe(7);
    expect(restartPolicyFor(job({ max_agent_restart_attempts: 7, restart: { attempts: 2 } }).policies, null, 'cluster_recover').attempts).toBe(2);
  });

  it('#49: an agent override wins over the job policy', () => {
    const j = job({ restart: { attempts: 5 } }, { restart: { attempts: 1, delay_ms: 25 } });
    expect(restartPolicyFor(j.policies, j.nodes[0]!, 'cluster_recover')).toMatchObject({ attempts: 1, delay_ms: 25 });
    expect(restartPolicyFor(j.policies, null, 'cluster_recover').attempts).toBe(5);
    const r = job({ reschedule: { attempts: 4 } });
    expect(reschedulePolicyFor(r.policies, r.nodes[0]!, 'cluster_recover')).toMatchObject({ attempts: 4, unlimited: false });
  });

  it('raises max_delay_ms to at least delay_ms', () => {
    const j = job({ restart: { delay_ms: 60_000, max_delay_ms: 10 } });
    expect(restartPolicyFor(j.policies, null, 'local_restart').max_delay_ms).toBe(60_000);
  });
});

describe('delays and attempt decisions', () => {
  const now = Date.parse('2026-05-24T10:00:00.000Z');
  const policy = { enabled: true, attempts: 2, interval_ms: 1000, delay_ms: 10, delay_function: 'exponential' as const, max_delay_ms: 50, mode: 'fail' as const };

  it('#50: exhausted inside the window, allowed once the attempts left it', () => {
    const busy = attemptDecision('restart', policy, [{ action: 'restart', reason: 'exit 1', at: now - 100 }, { action: 'restart', reason: 'exit 1', at: now - 200 }], now);
    expect(busy).toMatchObject({ decision: 'exhausted', wait_until: now - 200 + 1000 });
    const old = attemptDecision('restart', policy, [{ action: 'restart', reason: 'exit 1', at: now - 2000 }], now);
    expect(old).toEqual({ decision: 'allowed', attempt: 1, delay_ms: 10, attempts_remaining: 1 });
    expect(delayFor(policy, 4)).toBe(50);
  });

  it('#51: fibonacci', () => {
    const fib = { delay_ms: 10, delay_function: 'fibonacci' as const, max_delay_ms: 30 };
    expect([1, 2, 3, 4, 5].map((n) => delayFor(fib, n))).toEqual([10, 10, 20, 30, 30]);
    expect([1, 2, 3, 4, 5, 6].map((n) => delayFor({ ...fib, max_delay_ms: 1000 }, n))).toEqual([10, 10, 20, 30, 50, 80]);
  });

  it('#52: exponential 1000/30000', () => {
    const exp = { delay_ms: 1000, delay_function: 'exponential' as const, max_delay_ms: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => delayFor(exp, n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(delayFor(exp, 5000)).toBe(30000);
  });

  it('a disabled policy is exhausted; unlimited never is', () => {
    expect(attemptDecision('reschedule', defaultReschedulePolicy('batch', 'local_restart'), [], now)).toEqual({
      decision: 'exhausted', reason: 'reschedule policy is disabled', wait_until: null,
    });
    const unlimited = defaultReschedulePolicy('service', 'cluster_recover');
    const history = Array.from({ length: 40 }, (_, i) => ({ action: 'reschedule', reason: 'node lost', at: now - i }));
    expect(attemptDecision('reschedule', unlimited, history, now)).toMatchObject({ decision: 'allowed', attempt: 41, delay_ms: 300_000, attempts_remaining: null });
  });

  it('keeps the newest 50 history entries', () => {
    let h: Array<{ action: string; reason: string; at: number }> = [];
    for (let i = 0; i < 60; i++) h = recordAttempt(h, { action: 'restart', reason: 'x', at: i });
    expect(h).toHaveLength(50);
    expect(h[0]!.at).toBe(10);
  });
});

describe('recovery mode resolution (spec §4.3)', () => {
  const healthy = { stableHealthyNodes: 3, bundleArchived: true, profilesWithoutAlternate: [] };
  const lonely = { stableHealthyNodes: 1, bundleArchived: true, profilesWithoutAlternate: ['mlx'] };

  it('follows the table', () => {
    expect(resolveRecoveryMode('auto', healthy)).toMatchObject({ effective: 'cluster_recover', reliability_degraded: false });
    expect(resolveRecoveryMode('auto', lonely)).toMatchObject({ effective: 'local_restart', reliability_degraded: false });
    expect(resolveRecoveryMode('cluster_recover', healthy)).toMatchObject({ effective: 'cluster_recover', reliability_degraded: false });
    expect(resolveRecoveryMode('cluster_recover', lonely)).toMatchObject({ effective: 'local_restart', reliability_degraded: true });
    expect(resolveRecoveryMode('local_restart', healthy).effective).toBe('local_restart');
    expect(resolveRecoveryMode('manual_recover', lonely)).toMatchObject({ effective: 'manual_recover', reliability_degraded: false });
  });

  it('records why the cluster cannot recover', () => {
    expect(resolveRecoveryMode('cluster_recover', { stableHealthyNodes: 1, bundleArchived: false, profilesWithoutAlternate: ['mlx-metal'] }).reasons).toEqual([
      'fewer than 2 healthy connected runtime nodes observed',
      'recovery bundle is not archived in durable cluster storage',
      'no alternate healthy runtime node advertises execution profile mlx-metal',
    ]);
  });
});

describe('effective policies (spec §4.3 reliability record)', () => {
  const of = (recovery_mode: 'auto' | 'cluster_recover') => job({ recovery_mode });

  it('counts live healthy nodes and the profiles without an alternate node', () => {
    const nodes = [
      { status: 'healthy', profiles: ['gpu'] },
      { status: 'joining', profiles: [] },
      { status: 'healthy', alive: false, profiles: ['gpu'] },
      { status: 'draining', profiles: ['gpu'] },
    ];
    const gpuJob = { nodes: [{ ...of('auto').nodes[0]!, execution_profile: 'gpu' }] };
    expect(clusterHealthFor(gpuJob, nodes)).toEqual({ stableHealthyNodes: 2, bundleArchived: true, profilesWithoutAlternate: ['gpu'] });
  });

  it('degrades cluster_recover to local_restart on a cluster that cannot recover, and records why', () => {
    const one = clusterHealthFor(of('cluster_recover'), [{ status: 'healthy', profiles: [] }]);
    const p = effectivePolicies(of('cluster_recover'), one);
    expect(p).toMatchObject({ recovery_mode: 'local_restart', reliability_degraded: true, reliability: { requested: 'cluster_recover', healthy_nodes: 1 } });
    expect(p.reliability.reasons).toEqual(['fewer than 2 healthy connected runtime nodes observed']);
    expect(p.reschedule.enabled).toBe(false);
    const two = clusterHealthFor(of('auto'), [{ status: 'healthy', profiles: [] }, { status: 'healthy', profiles: [] }]);
    expect(effectivePolicies(of('auto'), two)).toMatchObject({ recovery_mode: 'cluster_recover', reliability_degraded: false, restart: { attempts: 3, mode: 'fail' }, reschedule: { enabled: true } });
  });
});
