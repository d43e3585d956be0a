/**
 * Agents a page at a time and their summary: one suite, run against every store (contract.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentRecord, Store } from '../../../src/store/store.js';
import { anyJob, anyPlan } from '../../helpers/records.js';
import { type StoreHarness, freshStore } from './contract.js';

export function pagingContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (agent pages): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      ({ store } = fresh);
    });

    it('pages through every agent once, in agent id order, and counts them by state and node', async () => {
      await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
      await store.upsertNode({ name: 'n1', status: 'healthy' });
      await store.upsertNode({ name: 'n2', status: 'healthy' });
      const lease = (await store.acquireLease('job:j', 'coordinator', 60_000))!;
      const fence = { lease: 'job:j', token: lease.token };
      const ids = Array.from({ length: 2500 }, (_, i) => `w-${String(i).padStart(5, '0')}`);
      const shuffled = [...ids].sort(() => Math.random() - 0.5);
      await store.commitPlacements('j', { placements: shuffled.map((agent_id, i) => ({ agent_id, node: i % 5 === 0 ? 'n2' : 'n1', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } })) }, fence);
      await store.updateAgent('j', 'w-00007', { state: 'running' }, { fence });
      await store.updateAgent('j', 'w-02499', { state: 'failed' }, { fence });

      const seen: AgentRecord[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await store.listAgentsPage('j', { ...(after !== undefined ? { after } : {}), limit: 1000 });
        expect(page.total).toBe(2500);
        seen.push(...page.agents);
        pages++;
        if (page.next === null) break;
        expect(page.next).toBe(page.agents[page.agents.length - 1]!.agent_id);
        after = page.next;
      }
      expect(pages).toBe(3);
      // Listing them all (a big job: read in chunks) gives the same agents in the same order.
      expect((await store.listAgents('j')).map((a) => a.agent_id)).toEqual(ids);
      expect(seen.map((a) => a.agent_id)).toEqual(ids);
      expect(seen.find((a) => a.agent_id === 'w-00007')!.state).toBe('running');
      // A page that ends exactly at the last agent says so.
      const last = await store.listAgentsPage('j', { after: 'w-01499', limit: 1000 });
      expect(last.agents).toHaveLength(1000);
      expect(last.next).toBeNull();

      expect(await store.agentSummary('j')).toEqual({ total: 2500, by_state: { pending: 2498, running: 1, failed: 1 }, by_node: { n1: 2000, n2: 500 } });
      // A big plan is read back whole after every kind of write, and a new plan replaces it.
      const plan = anyPlan({ status: 'planned', placements: ids.map((agent_id) => ({ agent_id, node: 'n1', job: 'g', source_node_id: 'w' })), failures: [], jobs: [], stats: {} });
      await store.commitPlacements('j', { plan, placements: shuffled.map((agent_id) => ({ agent_id, node: 'n1', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } })) }, fence);
      expect((await store.getJob('j'))!.plan).toEqual(plan);
      await store.updateJob('j', { status: 'running' }, { fence });
      expect(await store.getJob('j')).toMatchObject({ status: 'running', plan });
      expect((await store.getJob('j'))!.plan).toEqual(plan);
      const smaller = anyPlan({ status: 'planned', placements: ids.slice(0, 2000).map((agent_id) => ({ agent_id, node: 'n2', job: 'g', source_node_id: 'w' })), failures: [], jobs: [], stats: {} });
      await store.updateJob('j', { plan: smaller }, { fence });
      expect((await store.getJob('j'))!.plan).toEqual(smaller);
      expect(await store.listAgentsPage('none', { limit: 10 })).toEqual({ agents: [], next: null, total: 0 });
      expect(await store.agentSummary('none')).toEqual({ total: 0, by_state: {}, by_node: {} });
    });
  });
}
