/**
 * The Store contract for evictions (preemption): a placement commit that evicts agents of other
 * jobs changes both jobs atomically, or nothing at all.
 */
import { describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import type { AgentPlacement } from '../../../src/store/store.js';
import { anyJob } from '../../helpers/records.js';
import { freshStore, type StoreHarness } from './contract.js';

function place(agent_id: string, node: string, cpu: number, holds: string[] = []): AgentPlacement {
  return { agent_id, node, resources: { cpu_cores: cpu, memory_mb: 100, disk_mb: 0, gpu_count: 0 }, holds };
}

export function preemptionContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (evictions): ${name}`, () => {
    const ctx = freshStore(create);

    const setup = async () => {
      const { store } = ctx;
      await store.upsertNode({ name: 'n1', status: 'healthy' });
      await store.upsertNode({ name: 'n2', status: 'healthy' });
      const fences: Record<string, { lease: string; token: number }> = {};
      for (const id of ['low', 'hi']) {
        await store.createJob({ job_id: id, manifest: {}, job: anyJob() });
        fences[id] = { lease: `job:${id}`, token: (await store.acquireLease(`job:${id}`, 'coordinator', 60_000))!.token };
      }
      await store.commitPlacements('low', { status: 'running', placements: [place('v1', 'n1', 2, ['port:tcp:8080']), place('v2', 'n1', 1)] }, fences.low!);
      await store.updateAgent('low', 'v1', { state: 'running' }, { fence: fences.low! });
      return fences as { low: { lease: string; token: number }; hi: { lease: string; token: number } };
    };
    const usage = async () => Object.fromEntries((await ctx.store.listNodes()).map((n) => [n.name, { cpu: n.usage.cpu_cores, agents: n.usage.agents }]));

    it('evicts with the placement in one step: the victim is preempted, its usage and holds freed, its job version bumped', async () => {
      const { store } = ctx;
      const fences = await setup();
      const lowBefore = (await store.getJob('low'))!.version;
      await store.commitPlacements('hi', { placements: [place('x', 'n1', 2, ['port:tcp:8080'])], capacity: { n1: { cpu_cores: 3 } }, evict: [{ job_id: 'low', agent_id: 'v1', node: 'n1' }] }, fences.hi);
      expect(await usage()).toEqual({ n1: { cpu: 3, agents: 2 }, n2: { cpu: 0, agents: 0 } });
      const v1 = (await store.listAgents('low')).find((a) => a.agent_id === 'v1')!;
      expect(v1).toMatchObject({ node: 'n1', state: 'preempted', holds: [], resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 }, attempt: 1 });
      expect((await store.getJob('low'))!.version).toBe(lowBefore + 1);
      // The port is the preemptor's now: the victim cannot take it back on that node.
      await expect(store.commitPlacements('low', { placements: [place('v1', 'n1', 0, ['port:tcp:8080'])], mode: 'merge' }, fences.low)).rejects.toMatchObject({
        code: 'MN_E_CONFLICT',
        details: { hold: 'port:tcp:8080' },
      });
      // Evicting it twice is refused: it holds nothing any more.
      await expect(store.commitPlacements('hi', { placements: [place('x', 'n1', 2, ['port:tcp:8080'])], evict: [{ job_id: 'low', agent_id: 'v1', node: 'n1' }] }, fences.hi)).rejects.toMatchObject({
        code: 'MN_E_CONFLICT',
      });
      // Placed again elsewhere, it is a new attempt that starts pending; its old node is not charged twice.
      await store.commitPlacements('low', { placements: [place('v1', 'n2', 2, ['port:tcp:8080'])], mode: 'merge' }, fences.low);
      expect((await store.listAgents('low')).find((a) => a.agent_id === 'v1')).toMatchObject({ node: 'n2', state: 'pending', attempt: 2 });
      expect(await usage()).toEqual({ n1: { cpu: 3, agents: 2 }, n2: { cpu: 2, agents: 1 } });
      // Preempted again and placed back on the same node: pending again, not preempted.
      await store.commitPlacements('hi', { placements: [place('x', 'n1', 2, ['port:tcp:8080']), place('y', 'n2', 0)], evict: [{ job_id: 'low', agent_id: 'v1', node: 'n2' }] }, fences.hi);
      await store.commitPlacements('low', { placements: [place('v1', 'n2', 2)], mode: 'merge' }, fences.low);
      expect((await store.listAgents('low')).find((a) => a.agent_id === 'v1')).toMatchObject({ node: 'n2', state: 'pending', attempt: 3 });
      expect(await usage()).toEqual({ n1: { cpu: 3, agents: 2 }, n2: { cpu: 2, agents: 2 } });
      await store.commitPlacements('low', { placements: [] }, fences.low);
      expect(await usage()).toEqual({ n1: { cpu: 2, agents: 1 }, n2: { cpu: 0, agents: 1 } });
    });

    it('writes nothing when a victim is no longer where the plan saw it, and refuses evicting its own agent', async () => {
      const { store } = ctx;
      const fences = await setup();
      const before = { low: await store.getJob('low'), agents: await store.listAgents('low'), usage: await usage() };
      const error = await store
        .commitPlacements('hi', { placements: [place('x', 'n1', 2)], evict: [{ job_id: 'low', agent_id: 'v2', node: 'n1' }, { job_id: 'low', agent_id: 'v1', node: 'n2' }] }, fences.hi)
        .catch((e: unknown) => e);
      expect(isMnError(error, 'MN_E_CONFLICT')).toBe(true);
      expect((error as { details: { reason: string } }).details.reason).toBe('agent_moved');
      expect(await store.listAgents('hi')).toEqual([]);
      expect({ low: await store.getJob('low'), agents: await store.listAgents('low'), usage: await usage() }).toEqual(before);
      await expect(store.commitPlacements('low', { placements: [], evict: [{ job_id: 'low', agent_id: 'v1', node: 'n1' }] }, fences.low)).rejects.toMatchObject({
        code: 'MN_E_INVALID_ARGUMENT',
      });
      await expect(store.commitPlacements('hi', { placements: [], evict: [{ job_id: 'ghost', agent_id: 'v1', node: 'n1' }] }, fences.hi)).rejects.toMatchObject({ code: 'MN_E_CONFLICT' });
    });

    it('evicts nothing for a preemptor whose lease was taken over (a stale fence)', async () => {
      const { store, h } = ctx;
      const fences = await setup();
      const before = { low: await store.getJob('low'), agents: await store.listAgents('low'), usage: await usage() };
      // The lease lapses and another daemon takes it: the old holder's fence is stale.
      await store.releaseLease('job:hi', 'coordinator', fences.hi.token);
      await h.advance(10);
      const taken = (await store.acquireLease('job:hi', 'other', 60_000))!;
      expect(taken.token).not.toBe(fences.hi.token);
      await expect(
        store.commitPlacements('hi', { placements: [place('x', 'n1', 2)], evict: [{ job_id: 'low', agent_id: 'v1', node: 'n1' }] }, fences.hi),
      ).rejects.toMatchObject({ code: 'MN_E_FENCED' });
      expect(await store.listAgents('hi')).toEqual([]);
      expect({ low: await store.getJob('low'), agents: await store.listAgents('low'), usage: await usage() }).toEqual(before);
    });
  });
}
