/**
 * The deployment part of the Store contract (spec §6.3), run against every implementation from
 * contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import type { DeploymentRecord } from '../../../src/core/deploy/records.js';
import type { UpdatePolicy } from '../../../src/core/manifest/types.js';
import type { Store } from '../../../src/store/store.js';
import { freshStore, type StoreHarness } from './contract.js';

const POLICY: UpdatePolicy = { strategy: 'rolling', max_parallel: 1, canary: 0, min_healthy_ms: 10_000, healthy_deadline_ms: 300_000, progress_deadline_ms: 600_000, health_check: 'checks', auto_promote: false, auto_revert: false };

function deployment(id: string, key: string, status: DeploymentRecord['status'] = 'running'): DeploymentRecord {
  return {
    deployment_id: id, deployment_key: key, status, description: '', strategy: 'rolling', policy: POLICY, mode: 'initial',
    current_job_id: 'j1', stable_job_id: null, source_job_id: null, target_job_id: 'j1', current_version: null, stable_version: null, target_version: 1, rollback_of: null, target_spec: null, paused_from: null, paused_at: null,
    changed_agent_ids: [], remaining_agent_ids: [], canary_agent_ids: [], replaced_agent_ids: [],
    health: { job_status: null, healthy: 0, total: 0, updated_at: 0 }, rollout: null, events: [], created_at: 0, updated_at: 0, version: 0,
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

export function deploymentContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (deployments): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('creates deployments at version 1 as their key\'s current one, and lists them newest first', async () => {
      const d = await store.deployments.create(deployment('dep_api_1', 'agent-api'));
      expect(d).toMatchObject({ deployment_id: 'dep_api_1', deployment_key: 'agent-api', status: 'running', version: 1, policy: POLICY });
      expect(await store.deployments.get('dep_api_1')).toEqual(d);
      expect((await store.deployments.current('agent-api'))?.deployment_id).toBe('dep_api_1');
      expect(await store.deployments.current('other')).toBeNull();
      await store.deployments.create(deployment('dep_web_1', 'web', 'successful'));
      expect((await store.deployments.list()).map((x) => x.deployment_id).sort()).toEqual(['dep_api_1', 'dep_web_1']);
      expect((await store.deployments.list({ deployment_key: 'web' })).map((x) => x.deployment_id)).toEqual(['dep_web_1']);
      expect((await store.deployments.list({ status: 'running' })).map((x) => x.deployment_id)).toEqual(['dep_api_1']);
    });

    it('refuses a second deployment of a key while the current one is active, and allows it once it ended', async () => {
      await store.deployments.create(deployment('dep_api_1', 'agent-api', 'awaiting_promotion'));
      const busy = await failure(store.deployments.create(deployment('dep_api_2', 'agent-api')));
      expect(isMnError(busy, 'MN_E_CONFLICT')).toBe(true);
      expect((busy as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'state', busy: 'dep_api_1', status: 'awaiting_promotion' });
      const again = await failure(store.deployments.create(deployment('dep_api_1', 'agent-api')));
      expect((again as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'exists' });
      await store.deployments.update('dep_api_1', { status: 'successful' });
      await store.deployments.create(deployment('dep_api_2', 'agent-api'));
      expect((await store.deployments.current('agent-api'))?.deployment_id).toBe('dep_api_2');
    });

    it('updates with optimistic versions and fences, keeping what the patch leaves out', async () => {
      await store.deployments.create(deployment('dep_a_1', 'a'));
      const v2 = await store.deployments.update('dep_a_1', { status: 'awaiting_promotion', remaining_agent_ids: ['x-1', 'x-2'], events: [{ type: 'deployment_canary_ready', timestamp: 5, reason: 'canary healthy' }] }, { expectedVersion: 1 });
      expect(v2).toMatchObject({ version: 2, status: 'awaiting_promotion', remaining_agent_ids: ['x-1', 'x-2'], deployment_key: 'a', mode: 'initial' });
      const stale = await failure(store.deployments.update('dep_a_1', { status: 'failed' }, { expectedVersion: 1 }));
      expect((stale as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'version', currentVersion: 2 });
      const grant = (await store.acquireLease('leader', 'd1', 60_000))!;
      await store.deployments.update('dep_a_1', { description: 'fenced' }, { fence: { lease: 'leader', token: grant.token } });
      await store.releaseLease('leader', 'd1', grant.token);
      await store.acquireLease('leader', 'd2', 60_000);
      const fenced = await failure(store.deployments.update('dep_a_1', { status: 'failed' }, { fence: { lease: 'leader', token: grant.token } }));
      expect(isMnError(fenced, 'MN_E_FENCED')).toBe(true);
      expect((await store.deployments.get('dep_a_1'))).toMatchObject({ status: 'awaiting_promotion', description: 'fenced', version: 3 });
      expect(isMnError(await failure(store.deployments.update('missing', { status: 'failed' })), 'MN_E_NOT_FOUND')).toBe(true);
    });

    it('numbers versions per key from 1 and never rewrites them; stable is the only change', async () => {
      const v1 = await store.deployments.addVersion({ deployment_key: 'a', deployment_id: 'dep_a_1', job_id: 'j1', manifest: { graph_id: 'g' }, files: { 'agents/m.js': 'x' }, submitted_at: 1, tag: null, cause: 'deploy' });
      const v2 = await store.deployments.addVersion({ deployment_key: 'a', deployment_id: 'dep_a_2', job_id: 'j2', manifest: { graph_id: 'g2' }, files: {}, submitted_at: 2, tag: 'canary-test', cause: 'deploy' });
      const other = await store.deployments.addVersion({ deployment_key: 'b', deployment_id: 'dep_b_1', job_id: null, manifest: {}, files: {}, submitted_at: 3, tag: null, cause: 'deploy' });
      expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
      expect(v1.stable).toBe(false);
      await store.deployments.markStable('a', 1);
      const versions = await store.deployments.versions('a');
      expect(versions.map((v) => [v.version, v.stable, v.job_id, v.tag])).toEqual([[1, true, 'j1', null], [2, false, 'j2', 'canary-test']]);
      expect(versions[0]).toMatchObject({ manifest: { graph_id: 'g' }, files: { 'agents/m.js': 'x' }, cause: 'deploy' });
      expect(isMnError(await failure(store.deployments.markStable('a', 9)), 'MN_E_NOT_FOUND')).toBe(true);
      expect(await store.deployments.versions('none')).toEqual([]);
    });

    it('numbers concurrent versions without gaps or repeats', async () => {
      const made = await Promise.all(Array.from({ length: 20 }, (_, i) => store.deployments.addVersion({ deployment_key: 'c', deployment_id: `dep_c_${i}`, job_id: null, manifest: {}, files: {}, submitted_at: i, tag: null, cause: 'deploy' })));
      expect(made.map((v) => v.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });
  });
}
