/**
 * The planner's view of a live cluster carries the registry's instances (spec §3.3 filter 4), and
 * its fingerprint changes when one turns passing, so a blocked placement is tried again at once.
 */
import { describe, expect, it } from 'vitest';
import { ClusterViewBuilder, servicesFingerprint } from '../../../src/cluster/snapshot.js';
import { serviceInstance } from '../../../src/core/services/instance.js';
import { serviceRecord } from '../../../src/core/services/registry.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { anyJob } from '../../helpers/records.js';
import { machine } from '../../helpers/jobs.js';

describe('the cluster view and the service registry', () => {
  it('lists every instance with its status, and its fingerprint follows their health', async () => {
    const store = new MemoryStore();
    await store.upsertNode({ name: 'gpu@lab', status: 'healthy', inventory: machine('gpu@lab') });
    await store.heartbeat('gpu@lab', 60_000);
    await store.createJob({ job_id: 'j', manifest: {}, job: anyJob(), status: 'running' });
    const instance = serviceInstance(
      { name: 'ollama', id: null, address: null, port: null, tags: ['gpu'], meta: {}, provider: 'mirror_neuron', origin: 'internal', required: true, checks: [] },
      { job_id: 'j', agent_id: 'a', node: 'gpu@lab', env: {} },
    );
    const record = { ...serviceRecord(instance, {}, 0), status: 'critical' as const };
    await store.services.register(record);
    const views = new ClusterViewBuilder(store);
    const critical = await views.build();
    expect(critical.cluster.services).toEqual([{ name: 'ollama', node: 'gpu@lab', tags: ['gpu'], status: 'critical', origin: 'internal' }]);
    await store.services.setHealth(record.id, 'gpu@lab', { status: 'passing', health: { status: 'passing', checks: [] }, last_check_at: 1 });
    const passing = await views.build();
    expect(passing.cluster.services[0]?.status).toBe('passing');
    expect(passing.fingerprint).not.toBe(critical.fingerprint);
    expect(servicesFingerprint(await store.services.list({ include_candidates: true }))).toBe('ollama@gpu@lab:passing:gpu:internal');
  });
});
