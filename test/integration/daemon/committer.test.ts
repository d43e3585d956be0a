import { describe, expect, it } from 'vitest';
import { Coordinators } from '../../../src/runtime/coordinators.js';
import { Jobs } from '../../../src/runtime/jobs.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { machine } from '../../helpers/jobs.js';

const wantsPort = (id: string) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: id,
    entrypoints: ['api'],
    nodes: [{ node_id: 'api', agent_type: 'executor', resources: { cpu_cores: 1, ports: [{ label: 'http', port: 8080 }] } }],
  });

describe('the single committer', () => {
  it('never double-books a port across concurrent submissions, and explains the one that cannot fit', async () => {
    const store = new MemoryStore();
    for (const name of ['a@lab', 'b@lab']) {
      await store.upsertNode({ name, status: 'healthy', inventory: machine(name) });
      await store.heartbeat(name, 60_000);
    }
    const coordinators = new Coordinators({ store, holder: 'test', leaseMs: 60_000, renewMs: 10_000 });
    const jobs = new Jobs({ store, planner: localPlanner(), coordinators });
    const results = await Promise.allSettled(['one', 'two', 'three'].map((id) => jobs.submit(wantsPort(id))));
    const ok = results.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<{ job_id: string }>>;
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: 'MN_E_PLACEMENT_FAILED' });
    expect(String(refused[0]!.reason.message)).toMatch(/devices, ports, volumes, or runtime driver not available/);
    const nodes = await Promise.all(ok.map(async (r) => (await store.listAgents(r.value.job_id))[0]!.node));
    expect(new Set(nodes)).toEqual(new Set(['a@lab', 'b@lab']));
    // Each job's stored plan is its own share of the batch, named by its graph id.
    const record = await store.getJob(ok[0]!.value.job_id);
    const plan = record!.plan as { placements: Array<{ job: string }>; status: string };
    expect(plan.status).toBe('planned');
    expect(plan.placements).toHaveLength(1);
    expect(['one', 'two', 'three']).toContain(plan.placements[0]!.job);
    coordinators.stop();
    await store.close();
  });
});
