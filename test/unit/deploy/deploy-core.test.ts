import { describe, expect, it } from 'vitest';
import { changedNodes, jobChanged, topologyChanged } from '../../../src/core/deploy/diff.js';
import { deploymentKey } from '../../../src/core/deploy/key.js';
import { deploymentId, rollbackTarget, withEvent, MAX_DEPLOYMENT_EVENTS, type VersionRecord } from '../../../src/core/deploy/records.js';
import { routeDeploy, rolloutBatches } from '../../../src/core/deploy/route.js';
import { newRollout, rolloutStep, type AgentObservation } from '../../../src/core/deploy/rollout.js';
import type { Job, UpdatePolicy } from '../../../src/core/manifest/types.js';
import { validateManifest } from '../../../src/core/manifest/validate.js';

function job(extra: Record<string, unknown> = {}, nodes?: unknown[]): Job {
  const r = validateManifest({
    manifest_version: '1',
    graph_id: 'api',
    type: 'service',
    entrypoints: ['w'],
    nodes: nodes ?? [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['serve'], v: 1 } }],
    ...extra,
  });
  expect(r.errors).toEqual([]);
  return r.job!;
}
const policy = (extra: Partial<UpdatePolicy> = {}): UpdatePolicy => ({ strategy: 'rolling', max_parallel: 1, canary: 0, min_healthy_ms: 1000, healthy_deadline_ms: 10_000, progress_deadline_ms: 20_000, health_check: 'checks', auto_promote: false, auto_revert: false, ...extra });

describe('deployment keys and ids (spec §6.2, §6.3)', () => {
  it('takes the first non-empty of the explicit key, metadata, deployment.key, policies.deployment_key, job_name, graph_id', () => {
    expect(deploymentKey(job(), 'explicit')).toBe('explicit');
    expect(deploymentKey(job({ metadata: { mn_cli: { deployment_key: 'cli' } }, deployment: { key: 'dk' } }))).toBe('cli');
    expect(deploymentKey(job({ metadata: { deployment_key: 'meta' }, deployment: { key: 'dk' } }))).toBe('meta');
    expect(deploymentKey(job({ deployment: { key: 'agent-api' } }))).toBe('agent-api');
    expect(deploymentKey(job({ job_name: 'named' }))).toBe('named');
    expect(deploymentKey(job())).toBe('api');
    expect(deploymentKey(job(), '   ')).toBe('api');
  });

  it('makes ids from a safe form of the key', () => {
    expect(deploymentId('agent-api', 3)).toBe('dep_agent-api_3');
    expect(deploymentId('my app / v2!', 7)).toBe('dep_my-app-v2_7');
  });
});

describe('what changed between versions', () => {
  it('a config change is a change of that node only; counts, nodes and edges are topology', () => {
    const a = job();
    expect(topologyChanged(a, job())).toBe(false);
    expect(jobChanged(a, job())).toBe(false);
    const b = job({}, [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['serve'], v: 2 } }]);
    expect(topologyChanged(a, b)).toBe(false);
    expect(changedNodes(a, b)).toEqual(['w']);
    expect(topologyChanged(a, job({}, [{ node_id: 'w', agent_type: 'executor', count: 4, config: { command: ['serve'], v: 1 } }]))).toBe(true);
    expect(topologyChanged(a, job({}, [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['serve'], v: 1 } }, { node_id: 'x', agent_type: 'router' }]))).toBe(true);
  });
});

describe('deploy routes (spec §6.4)', () => {
  const running = { job: job(), status: 'running' };
  it('first deploy, batch rerun, no-op, agent-level, blue-green', () => {
    expect(routeDeploy({ source: null, target: job(), policy: policy() }).kind).toBe('initial');
    const batch = job({ type: 'batch' });
    expect(routeDeploy({ source: { job: batch, status: 'completed' }, target: batch, policy: policy() }).kind).toBe('rerun');
    expect(routeDeploy({ source: running, target: job(), policy: policy() })).toEqual({ kind: 'noop', reason: 'deployment contained no runtime changes' });
    const v2 = job({}, [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['serve'], v: 2 } }]);
    expect(routeDeploy({ source: running, target: v2, policy: policy() })).toMatchObject({ kind: 'agent_level', nodes: ['w'] });
    const grown = job({}, [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['serve'] } }, { node_id: 'extra', agent_type: 'router' }]);
    expect(routeDeploy({ source: running, target: grown, policy: policy() })).toMatchObject({ kind: 'blue_green', candidate: false });
    expect(routeDeploy({ source: running, target: grown, policy: policy({ canary: 1 }) })).toMatchObject({ kind: 'blue_green', candidate: true });
    expect(routeDeploy({ source: { ...running, status: 'failed' }, target: v2, policy: policy() })).toMatchObject({ kind: 'blue_green', reason: 'the source job is failed' });
    expect(routeDeploy({ source: running, target: v2, policy: policy({ strategy: 'blue-green' }) }).kind).toBe('blue_green');
  });

  it('batches: a canary batch of min(canary, n), then batches of max_parallel', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(rolloutBatches(ids, policy({ max_parallel: 2 }))).toEqual({ batches: [['a', 'b'], ['c', 'd'], ['e', 'f']], canary: false });
    expect(rolloutBatches(ids, policy({ max_parallel: 2, canary: 1 }))).toEqual({ batches: [['a'], ['b', 'c'], ['d', 'e'], ['f']], canary: true });
    expect(rolloutBatches(ids, policy({ strategy: 'canary', max_parallel: 4 }))).toEqual({ batches: [['a'], ['b', 'c', 'd', 'e'], ['f']], canary: true });
    expect(rolloutBatches(['a'], policy({ canary: 5 }))).toEqual({ batches: [['a']], canary: true });
    expect(rolloutBatches(ids, policy({ max_parallel: 0 })).batches).toHaveLength(6);
  });
});

describe('rollout health gates (enforced)', () => {
  const healthy: AgentObservation = { running: true, current: true, services: 'passing' };
  const obs = (ids: string[], o: AgentObservation) => Object.fromEntries(ids.map((id) => [id, o]));

  it('starts a batch, advances only after its agents stayed healthy for min_healthy_ms, then completes', () => {
    const p = policy({ max_parallel: 2 });
    let state = newRollout([['a', 'b'], ['c']], false, 0);
    let step = rolloutStep(state, p, {}, 0, false);
    expect(step).toMatchObject({ kind: 'start_batch', index: 0, agents: ['a', 'b'] });
    state = step.rollout;
    step = rolloutStep(state, p, obs(['a', 'b'], healthy), 500, false);
    expect(step.kind).toBe('wait');
    state = step.rollout;
    step = rolloutStep(state, p, obs(['a', 'b'], healthy), 1400, false);
    expect(step).toMatchObject({ kind: 'wait' }); // healthy since 500: not yet 1000 ms
    state = step.rollout;
    step = rolloutStep(state, p, obs(['a', 'b'], healthy), 1600, false);
    expect(step).toMatchObject({ kind: 'start_batch', index: 1, agents: ['c'] });
    state = step.rollout;
    step = rolloutStep(state, p, obs(['c'], healthy), 1700, false);
    state = step.rollout;
    expect(rolloutStep(state, p, obs(['c'], healthy), 2800, false).kind).toBe('complete');
  });

  it('a break in health restarts min_healthy_ms; with health_check agent_states service checks do not count', () => {
    const p = policy();
    let state = rolloutStep(newRollout([['a']], false, 0), p, {}, 0, false).rollout;
    state = rolloutStep(state, p, { a: healthy }, 100, false).rollout;
    state = rolloutStep(state, p, { a: { ...healthy, services: 'failing' } }, 600, false).rollout;
    expect(state.agents.a?.healthy_since).toBeNull();
    state = rolloutStep(state, p, { a: healthy }, 700, false).rollout;
    expect(rolloutStep(state, p, { a: healthy }, 1600, false).kind).toBe('wait');
    expect(rolloutStep(state, p, { a: healthy }, 1700, false).kind).toBe('complete');
    const lax = policy({ health_check: 'agent_states', min_healthy_ms: 0 });
    const s2 = rolloutStep(newRollout([['a']], false, 0), lax, {}, 0, false).rollout;
    expect(rolloutStep(s2, lax, { a: { ...healthy, services: 'failing' } }, 1, false).kind).toBe('complete');
  });

  it('awaits promotion after a canary batch unless promoted', () => {
    const p = policy({ min_healthy_ms: 0 });
    const state = rolloutStep(newRollout([['a'], ['b']], true, 0), p, {}, 0, false).rollout;
    expect(rolloutStep(state, p, { a: healthy }, 10, false).kind).toBe('await_promotion');
    expect(rolloutStep(state, p, { a: healthy }, 10, true)).toMatchObject({ kind: 'start_batch', agents: ['b'] });
  });

  it('fails an agent not healthy within healthy_deadline_ms, and a rollout without progress for progress_deadline_ms, naming why', () => {
    const p = policy({ healthy_deadline_ms: 5000, progress_deadline_ms: 3000 });
    let state = rolloutStep(newRollout([['a']], false, 0), p, {}, 0, false).rollout;
    expect(rolloutStep(state, { ...p, progress_deadline_ms: 0 }, { a: { ...healthy, services: 'failing' } }, 5001, false)).toMatchObject({
      kind: 'fail',
      reason: 'agent a was not healthy within healthy_deadline_ms (5000 ms): its service checks are not passing',
    });
    state = rolloutStep(state, p, { a: { running: false, current: true, services: 'none' } }, 1000, false).rollout;
    expect(rolloutStep(state, p, {}, 3001, false)).toMatchObject({ kind: 'fail', reason: expect.stringContaining('no progress for progress_deadline_ms (3000 ms)') });
  });
});

describe('version history', () => {
  const v = (version: number, stable: boolean, tag: string | null = null): VersionRecord => ({ deployment_key: 'k', version, deployment_id: `d${version}`, job_id: null, manifest: {}, files: {}, submitted_at: version, stable, tag, cause: 'deploy' });
  it('rolls back to the asked version or tag, else the newest stable one that is not current', () => {
    const versions = [v(1, true, 'first'), v(2, true), v(3, false)];
    expect(rollbackTarget(versions, 3, {})?.version).toBe(2);
    expect(rollbackTarget(versions, 2, {})?.version).toBe(1);
    expect(rollbackTarget(versions, 3, { version: 1 })?.version).toBe(1);
    expect(rollbackTarget(versions, 3, { tag: 'first' })?.version).toBe(1);
    expect(rollbackTarget([v(1, true)], 1, {})).toBeNull();
    expect(rollbackTarget(versions, 3, { version: 9 })).toBeNull();
  });

  it('keeps the newest events', () => {
    let events: Parameters<typeof withEvent>[0] = [];
    for (let i = 0; i < MAX_DEPLOYMENT_EVENTS + 5; i++) events = withEvent(events, { type: 'x', timestamp: i, reason: 'r' });
    expect(events).toHaveLength(MAX_DEPLOYMENT_EVENTS);
    expect(events[0]?.timestamp).toBe(5);
  });
});

describe('update policy with overrides (spec §11.7)', async () => {
  const { updatePolicyWith } = await import('../../../src/core/deploy/policy.js');
  it('#71: defaults', () => {
    expect(job().policies.update).toEqual({ strategy: 'rolling', max_parallel: 1, canary: 0, min_healthy_ms: 10_000, healthy_deadline_ms: 300_000, progress_deadline_ms: 600_000, health_check: 'checks', auto_promote: false, auto_revert: false });
  });

  it('#72: the manifest policy with a deploy-time override', () => {
    const j = job({ deployment: { key: 'agent-api' }, policies: { update: { strategy: 'canary', canary: 1, max_parallel: 2, min_healthy_ms: 0 } } });
    expect(deploymentKey(j)).toBe('agent-api');
    expect(updatePolicyWith(j.policies.update, { auto_revert: true })).toEqual({ ok: true, policy: { ...j.policies.update, strategy: 'canary', canary: 1, max_parallel: 2, min_healthy_ms: 0, auto_revert: true } });
  });

  it('names a bad override', () => {
    const r = updatePolicyWith(job().policies.update, { max_parallel: -2, strategy: 'teleport' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path).sort()).toEqual(['update_policy.max_parallel', 'update_policy.strategy']);
  });
});
