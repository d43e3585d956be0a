/**
 * The service registry part of the Store contract (spec §5.5), run against every implementation
 * from contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import { serviceRecord, type ServiceRecord } from '../../../src/core/services/registry.js';
import { serviceInstance } from '../../../src/core/services/instance.js';
import type { ServiceSpec } from '../../../src/core/manifest/types.js';
import type { Store } from '../../../src/store/store.js';
import { freshStore, type StoreHarness } from './contract.js';

const spec = (name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name,
  id: null,
  address: '127.0.0.1',
  port: 8080,
  tags: [],
  meta: {},
  provider: 'mirror_neuron',
  origin: 'internal',
  required: true,
  checks: [],
  ...extra,
});

function record(name: string, job: string, agent: string | null, node: string, extra: Partial<ServiceSpec> = {}, deployment: Partial<ServiceRecord> = {}): ServiceRecord {
  return serviceRecord(serviceInstance(spec(name, extra), { job_id: job, agent_id: agent, node, env: {} }), deployment, 1000);
}

export function serviceContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (services): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('registers instances with every field of spec §5.5 and its defaults, and reads them back', async () => {
      const withChecks = record('vllm', 'j1', 'llm', 'gpu-a', { tags: ['embedding'], meta: { model: 'x' }, checks: [{ type: 'tcp', name: 'tcp', timeout_ms: 2000, interval_ms: 10_000, required: true, failures_before_critical: 1, address: null, port: null, url: null, scheme: 'http', path: null, method: 'GET', expected_status: [], contains: null, service: null, command: null }] });
      const plain = record('vector-db', 'j1', null, 'gpu-a');
      await store.services.register(withChecks);
      await store.services.register(plain);
      const got = await store.services.get('j1:llm:vllm');
      expect(got).toEqual(withChecks);
      expect(got).toMatchObject({
        id: 'j1:llm:vllm', name: 'vllm', job_id: 'j1', agent_id: 'llm', node: 'gpu-a', address: '127.0.0.1', port: 8080, tags: ['embedding'], meta: { model: 'x' },
        provider: 'mirror_neuron', origin: 'internal', status: 'warning', health: { status: 'warning', checks: [] }, last_check_at: null,
        deployment_key: null, deployment_id: null, deployment_version: null, deployment_role: 'primary',
      });
      expect((await store.services.get('j1:job:vector-db'))?.status).toBe('passing');
      expect(await store.services.get('nope')).toBeNull();
    });

    it('lists by name, node, job, agent, status, tags and role; hides canary and candidate instances unless asked', async () => {
      await store.services.register(record('vllm', 'j1', 'a', 'n1', { tags: ['gpu', 'fast'] }));
      await store.services.register(record('vllm', 'j2', 'a', 'n2', { tags: ['gpu'] }));
      await store.services.register(record('vllm', 'j3', 'a', 'n3', {}, { deployment_role: 'canary', deployment_key: 'k', deployment_version: 2 }));
      await store.services.register(record('redis', 'j1', 'b', 'n1'));
      const ids = async (q: Parameters<Store['services']['list']>[0]) => (await store.services.list(q)).map((r) => r.id);
      expect(await ids({})).toEqual(['j1:b:redis', 'j1:a:vllm', 'j2:a:vllm']);
      expect(await ids({ name: 'vllm' })).toEqual(['j1:a:vllm', 'j2:a:vllm']);
      expect(await ids({ name: 'vllm', include_candidates: true })).toEqual(['j1:a:vllm', 'j2:a:vllm', 'j3:a:vllm']);
      expect(await ids({ deployment_role: 'canary' })).toEqual(['j3:a:vllm']);
      expect(await ids({ node: 'n1' })).toEqual(['j1:b:redis', 'j1:a:vllm']);
      expect(await ids({ job_id: 'j1', agent_id: 'a' })).toEqual(['j1:a:vllm']);
      expect(await ids({ tags: ['gpu', 'fast'] })).toEqual(['j1:a:vllm']);
      expect(await ids({ name: 'nothing' })).toEqual([]);
      expect(await ids({ tags: ['nothing'] })).toEqual([]);
    });

    it('writes health only while the instance is registered on the checking node', async () => {
      await store.services.register(record('api', 'j', 'a', 'n1', { checks: [] }));
      const health = { status: 'critical' as const, health: { status: 'critical' as const, checks: [{ name: 'tcp', type: 'tcp', status: 'critical' as const, output: 'connection refused', checked_at: 2000, consecutive_failures: 1 }] }, last_check_at: 2000 };
      expect(await store.services.setHealth('j:a:api', 'n2', health)).toBeNull();
      expect(await store.services.setHealth('j:a:api', 'n1', health)).toEqual({ previous: 'passing' });
      expect(await store.services.get('j:a:api')).toMatchObject({ status: 'critical', last_check_at: 2000, health: { checks: [{ output: 'connection refused' }] } });
      expect((await store.services.list({ status: 'critical' })).map((r) => r.id)).toEqual(['j:a:api']);
      expect(await store.services.list({ name: 'api', passing_only: true })).toEqual([]);
      // A deregistered instance is never brought back by a late health write.
      await store.services.deregister(['j:a:api']);
      expect(await store.services.setHealth('j:a:api', 'n1', health)).toBeNull();
      expect(await store.services.get('j:a:api')).toBeNull();
    });

    it('moves an instance between nodes on re-registration, and a guarded deregister from the old node leaves it', async () => {
      await store.services.register(record('api', 'j', 'a', 'n1'));
      await store.services.register(record('api', 'j', 'a', 'n2'));
      expect((await store.services.list({ node: 'n1' })).map((r) => r.id)).toEqual([]);
      expect((await store.services.list({ node: 'n2' })).map((r) => r.id)).toEqual(['j:a:api']);
      expect(await store.services.deregister(['j:a:api'], { node: 'n1' })).toEqual([]);
      expect((await store.services.get('j:a:api'))?.node).toBe('n2');
      const removed = await store.services.deregister(['j:a:api', 'missing'], { node: 'n2' });
      expect(removed.map((r) => [r.id, r.node])).toEqual([['j:a:api', 'n2']]);
      expect(await store.services.list({})).toEqual([]);
      expect(await store.services.list({ name: 'api' })).toEqual([]);
      expect(await store.services.list({ job_id: 'j' })).toEqual([]);
    });

    it('changes deployment metadata of registered instances only', async () => {
      await store.services.register(record('api', 'j', 'a', 'n1', {}, { deployment_role: 'candidate', deployment_key: 'k', deployment_version: 2 }));
      expect(await store.services.setDeployment(['j:a:api', 'missing'], { deployment_role: 'primary' })).toBe(1);
      expect(await store.services.get('j:a:api')).toMatchObject({ deployment_role: 'primary', deployment_key: 'k', deployment_version: 2 });
      expect(await store.services.get('missing')).toBeNull();
    });

    it('fences a registration by the registering daemon lease, and rejects malformed records', async () => {
      const grant = (await store.acquireLease('host:n1', 'd1', 60_000))!;
      await store.services.register(record('api', 'j', 'a', 'n1'), { lease: 'host:n1', token: grant.token });
      await store.releaseLease('host:n1', 'd1', grant.token);
      await store.acquireLease('host:n1', 'd2', 60_000);
      const stale = await store.services.register(record('api', 'j', 'b', 'n1'), { lease: 'host:n1', token: grant.token }).catch((e: unknown) => e);
      expect(isMnError(stale, 'MN_E_FENCED')).toBe(true);
      expect(await store.services.get('j:b:api')).toBeNull();
      const bad = await store.services.register({ ...record('api', 'j', 'a', 'n1'), name: 'bad name' }).catch((e: unknown) => e);
      expect(isMnError(bad, 'MN_E_INVALID_ARGUMENT')).toBe(true);
    });
  });
}
