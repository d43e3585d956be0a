import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { toSnapshot } from '../../../src/core/snapshot/build.js';
import { PlacementPool } from '../../../src/solver/pool.js';
import type { KernelCall } from '../../../src/solver/protocol.js';
import { snapshotCapacity } from '../../../src/core/snapshot/build.js';
import type { ClusterState } from '../../../src/core/cluster/types.js';
import { builtWorkerFile } from './built-worker.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import { ensureWasm } from './ensure-wasm.js';

function cluster(n: number, cpu: number): ClusterState {
  return {
    nodes: Array.from({ length: n }, (_, i) => ({
      name: `node-${i}`,
      status: i % 7 === 3 ? ('draining' as const) : ('healthy' as const),
      scheduling_eligible: true,
      resources: { cpu_cores: cpu + (i % 3), memory_mb: 8192, disk_mb: 0, gpu_count: 0 },
      devices: [],
      attributes: { zone: `z${i % 3}` },
      capabilities: [],
      profiles: [],
      runtime_drivers: ['process'],
      host_paths: [],
    })),
    allocations: [
      { job_id: 'old', agent_id: 'old-1', node: 'node-0', resources: { cpu_cores: 1.5, memory_mb: 512, disk_mb: 0, gpu_count: 0 }, devices: [], ports: [], priority: 50, job_type: 'batch' },
    ],
    services: [],
  };
}

const calls: KernelCall[] = [
  { ask: [1, 256, 0, 0], strategy: 0, count: 7, sampleK: 0, seed: 0 },
  { ask: [0.5, 128, 0, 0], strategy: 1, count: 5, sampleK: 0, seed: 0 },
  { ask: [1, 0, 0, 0], strategy: 0, count: 4, sampleK: 2, seed: 11 },
];

/** What a kernel computes directly for the same calls on the same snapshot. */
function expected(state: ClusterState): number[][] {
  const snap = toSnapshot(state, 1);
  const { n, cap, free } = snapshotCapacity(snap);
  const k = new JsKernel();
  k.load(cap, free, n);
  return calls.map((c) => {
    state.nodes.forEach((node, i) => (k.elig()[i] = node.status === 'healthy' ? 1 : 0));
    k.slots().fill(-1);
    return Array.from(k.place({ ...c, ask: Float64Array.from(c.ask) }).out);
  });
}

describe('PlacementPool', () => {
  let pool: PlacementPool;
  beforeAll(async () => {
    await ensureWasm();
    pool = new PlacementPool({ threads: 1, workerFile: builtWorkerFile() });
  });
  afterAll(() => pool.close());

  it('runs kernel tasks against a published generation with the WebAssembly engine', async () => {
    const state = cluster(20, 4);
    const g = pool.publish(toSnapshot(state, 0));
    const r = await pool.runKernel(calls, g);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.generation).toBe(g);
    const value = r.value;
    expect(value.engine).toBe('wasm');
    expect(value.outs.map((o) => Array.from(o))).toEqual(expected(state));
  });

  it('serves tasks of the newest and the previous generation', async () => {
    const a = cluster(10, 2);
    const b = cluster(30, 8);
    const ga = pool.publish(toSnapshot(a, 0));
    const gb = pool.publish(toSnapshot(b, 0));
    const [ra, rb] = await Promise.all([pool.runKernel(calls, ga), pool.runKernel(calls, gb)]);
    expect(ra.ok && ra.value.outs.map((o) => Array.from(o))).toEqual(expected(a));
    expect(rb.ok && rb.value.outs.map((o) => Array.from(o))).toEqual(expected(b));
  });

  it('returns a result, not an exception, when a worker exits, and keeps answering', async () => {
    const state = cluster(12, 4);
    const g = pool.publish(toSnapshot(state, 0));
    const crashed = await pool.run(
      { kind: 'kernel', generation: g, calls: [] },
      new URL('./fixtures/exit-worker.mjs', import.meta.url).pathname,
    );
    expect(crashed).toMatchObject({ ok: false, code: 'MN_E_WORKER_EXITED' });
    // The replacement worker never saw the broadcast and asks for the generation itself.
    const after = await pool.runKernel(calls, g);
    expect(after.ok).toBe(true);
    expect(after.ok && after.value.outs.map((o) => Array.from(o))).toEqual(expected(state));
  });

  it('plans manifests with the planner in a worker, as simulatePlan does on the main thread', async () => {
    const state = cluster(9, 4);
    const g = pool.publish(toSnapshot(state, 0));
    const manifest = {
      manifest_version: '1.0',
      graph_id: 'pool-plan',
      job_name: 'pool plan',
      nodes: [
        { node_id: 'root', agent_type: 'router', role: 'root', resources: { cpu_cores: 0.5, memory_mb: 128 } },
        { node_id: 'work', agent_type: 'executor', count: 12, resources: { cpu_cores: 1, memory_mb: 512 }, spread: [{ attribute: 'zone', weight: 100 }] },
      ],
      edges: [],
      policies: { job_type: 'batch' },
    };
    const r = await pool.runPlan({ jobs: [manifest], options: { strategy: 'binpack' } }, g);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.stats.engine).toBe('wasm');
    const direct = simulatePlan({ cluster: state, jobs: [manifest], strategy: 'binpack' });
    expect(r.value.placements).toEqual(direct.placements);
    expect(r.value.status).toBe(direct.status);
    expect(r.value.placements).toHaveLength(13);
  });

  it('returns planner errors with their codes', async () => {
    const g = pool.publish(toSnapshot(cluster(3, 1), 0));
    const r = await pool.runPlan({ jobs: [{ manifest_version: '1.0' }] }, g);
    expect(r).toMatchObject({ ok: false, code: 'MN_E_INVALID_MANIFEST' });
  });

  it('reports malformed tasks as results', async () => {
    const g = pool.publish(toSnapshot(cluster(3, 1), 0));
    const r = await pool.run({ kind: 'nope', generation: g } as never);
    expect(r).toMatchObject({ ok: false, code: 'MN_E_BAD_TASK' });
  });
});

describe('PlacementPool without WebAssembly', () => {
  it('falls back to the JS reference kernel with the same answers', async () => {
    const pool = new PlacementPool({ threads: 1, module: null, workerFile: builtWorkerFile() });
    try {
      const state = cluster(15, 3);
      const g = pool.publish(toSnapshot(state, 0));
      const r = await pool.runKernel(calls, g);
      expect(r.ok && r.value.engine).toBe('js');
      expect(r.ok && r.value.outs.map((o) => Array.from(o))).toEqual(expected(state));
    } finally {
      await pool.close();
    }
  });
});
