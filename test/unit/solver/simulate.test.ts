/**
 * The library's simulatePlan: the WebAssembly core by default, the JS reference on request, the
 * same plan either way; simulatePlanAsync plans in a pool worker over the snapshot and returns the
 * same plan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';
import { InvalidManifestError, simulatePlan, simulatePlanAsync, type SimulateEngine } from '../../../src/lib.js';
import { PlacementPool } from '../../../src/solver/pool.js';
import { builtWorkerFile } from './built-worker.js';
import { ensureWasm } from './ensure-wasm.js';

const raw = {
  nodes: Array.from({ length: 40 }, (_, i) => ({
    name: `n${i}`,
    status: i % 9 === 4 ? 'offline' : 'healthy',
    resources: { cpu_cores: 4 + (i % 5) * 4, memory_mb: 16_384 * (1 + (i % 3)), disk_mb: 100_000 },
    devices: i % 4 === 0 ? [0, 1].map((k) => ({ id: `g${k}`, kind: 'gpu', driver: 'cuda', memory_mb: k === 0 ? 24_576 : 81_920 })) : [],
    attributes: { zone: `z${i % 3}`, rack: `r${i % 7}` },
    capabilities: i % 2 === 0 ? ['ffmpeg'] : [],
  })),
  allocations: [{ job_id: 'old', agent_id: 'x', node: 'n1', resources: { cpu_cores: 2 }, ports: [{ port: 8080 }] }],
};

const manifest = {
  manifest_version: '1.0',
  graph_id: 'lib',
  nodes: [
    { node_id: 'w', agent_type: 'executor', role: 'root', count: 30, resources: { cpu_cores: 1, memory_mb: 2048 }, spread: [{ attribute: 'zone' }] },
    { node_id: 'g', agent_type: 'executor', count: 5, resources: { cpu_cores: 2, devices: [{ kind: 'gpu', min_memory_mb: 40_000 }] } },
    { node_id: 'c', agent_type: 'executor', count: 4, resources: { cpu_cores: 1 }, constraints: [{ attribute: 'capabilities', operator: 'contains', value: 'ffmpeg' }, { operator: 'distinct_hosts' }] },
    { node_id: 'p', agent_type: 'executor', count: 3, resources: { cpu_cores: 1, ports: [{ label: 'api', port: 8080 }] } },
    { node_id: 'huge', agent_type: 'executor', count: 1, resources: { cpu_cores: 1, memory_mb: 10_000_000 } },
  ],
  edges: [],
  policies: { job_type: 'batch' },
};

/** A plan without its engine name and time, for comparing plans made on different kernels. */
const comparable = (p: Plan): unknown => ({ ...p, stats: { ...p.stats, engine: 'x', elapsed_ms: 0 } });

describe('library simulatePlan', () => {
  beforeAll(() => ensureWasm());

  it('runs on the WebAssembly core by default and on the JS reference on request, with the same plan', () => {
    const auto = simulatePlan({ cluster: raw, jobs: [manifest] });
    const wasm = simulatePlan({ cluster: raw, jobs: [manifest], engine: 'wasm' });
    const js = simulatePlan({ cluster: raw, jobs: [manifest], engine: 'js' });
    expect(auto.stats.engine).toBe('wasm');
    expect(wasm.stats.engine).toBe('wasm');
    expect(js.stats.engine).toBe('js');
    expect(auto.status).toBe('partial');
    expect(auto.placements.length).toBeGreaterThan(30);
    expect(comparable(wasm)).toEqual(comparable(js));
    expect(comparable(auto)).toEqual(comparable(js));
  });

  it('reuses its kernel across calls without carrying state from one plan to the next', () => {
    const first = simulatePlan({ cluster: raw, jobs: [manifest], strategy: 'spread' });
    simulatePlan({ cluster: raw, jobs: [manifest, manifest], sampleK: 2 });
    const again = simulatePlan({ cluster: raw, jobs: [manifest], strategy: 'spread' });
    expect(comparable(again)).toEqual(comparable(first));
  });

  it('refuses an unknown engine, naming the field', () => {
    let caught: unknown;
    try {
      simulatePlan({ cluster: raw, jobs: [manifest], engine: 'gpu' as SimulateEngine });
    } catch (error) {
      caught = error;
    }
    expect(isMnError(caught, 'MN_E_INVALID_ARGUMENT')).toBe(true);
    expect(String(caught)).toMatch(/engine must be one of auto, wasm, js/);
  });

  it('still reports an invalid manifest as InvalidManifestError', () => {
    expect(() => simulatePlan({ cluster: raw, jobs: [{ manifest_version: '1.0', nodes: [] }] })).toThrow(InvalidManifestError);
  });
});

describe('library simulatePlanAsync', () => {
  let pool: PlacementPool;
  beforeAll(async () => {
    await ensureWasm();
    pool = new PlacementPool({ threads: 1, workerFile: builtWorkerFile() });
  });
  afterAll(() => pool.close());

  it('plans in a pool worker over the snapshot and returns the plan simulatePlan returns', async () => {
    const cluster = parseClusterFile(raw);
    const sync = simulatePlan({ cluster, jobs: [manifest], sampleK: 3 });
    const async1 = await simulatePlanAsync({ cluster, jobs: [manifest], sampleK: 3, pool });
    expect(async1.stats.engine).toBe('wasm');
    expect(comparable(async1)).toEqual(comparable(sync));
    const generation = pool.currentGeneration;
    // The same cluster again: no new snapshot is published.
    const async2 = await simulatePlanAsync({ cluster, jobs: [manifest], sampleK: 3, pool });
    expect(pool.currentGeneration).toBe(generation);
    expect(comparable(async2)).toEqual(comparable(sync));
  });

  it('rejects an invalid manifest with its code', async () => {
    await expect(simulatePlanAsync({ cluster: raw, jobs: [{ manifest_version: '1.0', nodes: [] }], pool })).rejects.toMatchObject({
      code: 'MN_E_INVALID_MANIFEST',
    });
  });
});
