import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../src/core/cluster/types.js';
import { toSnapshot, snapshotCapacity } from '../../../src/core/snapshot/build.js';
import { Committer, type PlacementJob } from '../../../src/solver/committer.js';
import { PlacementPool } from '../../../src/solver/pool.js';
import { builtWorkerFile } from './built-worker.js';
import { ensureWasm } from './ensure-wasm.js';

function cluster(n: number): ClusterState {
  return {
    nodes: Array.from({ length: n }, (_, i) => ({
      name: `n${i}`,
      status: 'healthy' as const,
      scheduling_eligible: true,
      resources: { cpu_cores: 4, memory_mb: 4096, disk_mb: 0, gpu_count: 0 },
      devices: [],
      attributes: {},
      capabilities: [],
      profiles: [],
      runtime_drivers: [],
      host_paths: [],
    })),
    allocations: [],
    services: [],
  };
}

describe('Committer', () => {
  let pool: PlacementPool;
  beforeAll(async () => {
    await ensureWasm();
    pool = new PlacementPool({ threads: 2, workerFile: builtWorkerFile() });
  });
  afterAll(() => pool.close());

  it('re-plans jobs whose parallel plans collide and never over-commits a node', async () => {
    const snap = toSnapshot(cluster(10), 1);
    const g = pool.publish(snap);
    const committer = new Committer(pool, snap, g);
    // Every job alone would binpack onto node 0 first: the plans collide.
    const jobs: PlacementJob[] = Array.from({ length: 8 }, (_, k) => ({
      id: `job-${k}`,
      calls: [{ ask: [1, 512, 0, 0], strategy: 0, count: 4, sampleK: 0, seed: 0 }],
    }));
    const outcomes = await committer.run(jobs);
    expect(outcomes.every((o) => o.placed === 4)).toBe(true);
    expect(committer.stats(jobs.length).conflicts).toBeGreaterThan(0);
    const { n } = snapshotCapacity(snap);
    const free = committer.freeCapacity();
    for (let i = 0; i < n; i++) expect(free[i]).toBeGreaterThanOrEqual(0);
    const perNode = new Map<number, number>();
    for (const o of outcomes) for (const i of o.outs[0]!) perNode.set(i, (perNode.get(i) ?? 0) + 1);
    for (const [i, c] of perNode) expect(c, `node ${i}`).toBeLessThanOrEqual(4);
    expect([...perNode.values()].reduce((a, b) => a + b, 0)).toBe(32);
  });

  it('commits non-conflicting plans as the workers made them', async () => {
    const snap = toSnapshot(cluster(6), 1);
    const g = pool.publish(snap);
    const committer = new Committer(pool, snap, g);
    const elig = (i: number): Uint8Array => Uint8Array.from({ length: 6 }, (_, k) => (k === i ? 1 : 0));
    const jobs: PlacementJob[] = [0, 1, 2].map((i) => ({
      id: `pinned-${i}`,
      calls: [{ ask: [1, 0, 0, 0], strategy: 0, count: 2, sampleK: 0, seed: 0, elig: elig(i) }],
    }));
    const outcomes = await committer.run(jobs);
    expect(outcomes.map((o) => [o.replanned, Array.from(o.outs[0]!)])).toEqual([
      [false, [0, 0]],
      [false, [1, 1]],
      [false, [2, 2]],
    ]);
    expect(committer.stats(3).conflicts).toBe(0);
  });
});
