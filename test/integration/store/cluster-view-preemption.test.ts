/**
 * The planner's view of a live cluster offers each agent of a job to the preempting pass with its
 * resources, holds and its job's priority and type; preempted agents hold nothing, finished ones
 * are never offered, and usage no agent explains stays unevictable.
 */
import { describe, expect, it } from 'vitest';
import { ClusterViewBuilder, USAGE_JOB_ID } from '../../../src/cluster/snapshot.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { anyJob } from '../../helpers/records.js';
import { machine } from '../../helpers/jobs.js';

describe('the cluster view and preemption', () => {
  it('lists agents with their job priority and type; preempted ones are gone, finished ones unevictable, unknown devices dropped', async () => {
    const store = new MemoryStore();
    const gpu = { id: 'GPU-0', kind: 'gpu', vendor: 'nvidia', driver: 'cuda', memory_mb: 1024, capabilities: [], api_version: null };
    await store.upsertNode({ name: 'a@lab', status: 'healthy', inventory: { ...machine('a@lab'), devices: [gpu] } });
    await store.heartbeat('a@lab', 60_000);
    await store.createJob({ job_id: 'low', manifest: {}, job: anyJob({ priority: 40, agent_count: 3, policies: { job_type: 'service' } }), status: 'running' });
    await store.createJob({ job_id: 'hi', manifest: {}, job: anyJob({ priority: 90, agent_count: 1, policies: { job_type: 'batch' } }), status: 'running' });
    const fence = async (id: string) => ({ lease: `job:${id}`, token: (await store.acquireLease(`job:${id}`, 'c', 60_000))!.token });
    const res = (cpu: number) => ({ cpu_cores: cpu, memory_mb: 10, disk_mb: 0, gpu_count: 0 });
    const low = await fence('low');
    await store.commitPlacements('low', { placements: [
      { agent_id: 'x', node: 'a@lab', resources: res(1), holds: ['port:tcp:8080', 'device:GPU-0', 'device:GONE'] },
      { agent_id: 'y', node: 'a@lab', resources: res(2) },
      { agent_id: 'z', node: 'a@lab', resources: res(0.5) },
    ] }, low);
    await store.updateAgent('low', 'z', { state: 'completed' }, { fence: low });
    await store.commitPlacements('hi', { placements: [{ agent_id: 'h', node: 'a@lab', resources: res(1) }], evict: [{ job_id: 'low', agent_id: 'y', node: 'a@lab' }] }, await fence('hi'));

    const view = await new ClusterViewBuilder(store).build();
    const rows = view.cluster.allocations.map((a) => [a.job_id, a.agent_id, a.resources.cpu_cores, a.priority, a.job_type, a.ports.map((p) => p.port), a.devices]);
    expect(rows.sort((p, q) => String(p[1]).localeCompare(String(q[1])))).toEqual([
      ['hi', 'h', 1, 90, 'batch', [], []],
      ['low', 'x', 1, 40, 'service', [8080], ['GPU-0']],
      ['low', 'z', 0.5, 100, 'service', [], []],
    ]);
    expect(view.cluster.allocations.some((a) => a.job_id === USAGE_JOB_ID)).toBe(false);
  });
});
