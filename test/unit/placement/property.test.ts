/**
 * Property: whatever the cluster and jobs, a plan never breaks a hard rule (capacity, ports,
 * devices, drivers, constraints, distinct_*), as judged by the independent checker.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../src/core/placement/check.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { tryPlacementModule } from '../../../src/solver/wasm-module.js';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { job, manifest } from './fixtures.js';

const wasmModule = tryPlacementModule();

const zone = fc.constantFrom('z1', 'z2', 'z3');
const status = fc.constantFrom('healthy', 'healthy', 'healthy', 'joining', 'draining', 'offline');

const nodeArb = fc.record({
  cpu: fc.integer({ min: 0, max: 16 }),
  mem: fc.integer({ min: 0, max: 8 }).map((x) => x * 1024),
  gpus: fc.integer({ min: 0, max: 3 }),
  gpuMem: fc.constantFrom(16384, 24576, 81920),
  driver: fc.constantFrom('cuda', 'metal'),
  zone,
  status,
  drivers: fc.constantFrom(['host_local'], ['host_local', 'openshell'], ['openshell']),
  usedPort: fc.option(fc.constantFrom(80, 8080), { nil: null }),
});

const groupArb = fc.record({
  count: fc.integer({ min: 1, max: 12 }),
  cpu: fc.integer({ min: 0, max: 6 }),
  mem: fc.integer({ min: 0, max: 4 }).map((x) => x * 1024),
  gpu: fc.integer({ min: 0, max: 2 }),
  gpuDriver: fc.constantFrom(null, 'cuda', 'metal'),
  minMem: fc.constantFrom(null, 20000),
  port: fc.option(fc.constantFrom(80, 8080, 9000), { nil: null }),
  zoneEq: fc.option(zone, { nil: null }),
  distinctHosts: fc.boolean(),
  distinctZone: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
  spread: fc.boolean(),
  driver: fc.constantFrom(null, 'openshell'),
});

const jobArb = fc.record({
  groups: fc.array(groupArb, { minLength: 1, maxLength: 3 }),
  type: fc.constantFrom('batch', 'batch', 'service', 'system'),
  strategy: fc.constantFrom('binpack', 'spread'),
});

describe('plan invariants', () => {
  it('never violates capacity, ports, devices or constraints', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 0, maxLength: 12 }), fc.array(jobArb, { minLength: 1, maxLength: 3 }), fc.constantFrom(0, 2), (nodes, jobs, sampleK) => {
        const { cluster, validated } = scenario(nodes, jobs);
        const p = simulatePlan({ cluster, jobs: validated, sampleK });
        expect(checkPlan(cluster, validated, p)).toEqual([]);
        const placed = p.jobs.reduce((s, j) => s + j.placed, 0);
        expect(placed).toBe(p.placements.length);
        expect(p.stats.placed).toBe(placed);
        const failed = p.failures.reduce((s, f) => s + f.count, 0);
        expect(failed).toBe(p.jobs.reduce((s, j) => s + j.failed, 0));
        for (const f of p.failures) expect(f.reason.startsWith('placement_failed: ')).toBe(true);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it.skipIf(wasmModule === null)('the WebAssembly kernel yields the same plans as the JS reference', () => {
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 0, maxLength: 12 }), fc.array(jobArb, { minLength: 1, maxLength: 3 }), fc.constantFrom(0, 2), (nodes, jobs, sampleK) => {
        const { cluster, validated } = scenario(nodes, jobs);
        const js = simulatePlan({ cluster, jobs: validated, sampleK, kernel: new JsKernel() });
        const wasm = simulatePlan({ cluster, jobs: validated, sampleK, kernel: new WasmKernel(wasmModule!) });
        expect({ ...wasm, stats: { ...wasm.stats, engine: 'js' } }).toEqual(js);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});

type NodeCase = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;
type JobCase = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

/** A cluster file and validated jobs from generated node and job cases. */
function scenario(nodes: NodeCase[], jobs: JobCase[]) {
  const cluster = {
    nodes: nodes.map((n, i) => ({
      name: `n${i}`,
      status: n.status,
      resources: { cpu_cores: n.cpu, memory_mb: n.mem, disk_mb: 0 },
      devices: Array.from({ length: n.gpus }, (_, k) => ({ id: `g${k}`, kind: 'gpu', driver: n.driver, memory_mb: n.gpuMem })),
      attributes: { zone: n.zone },
      runtime_drivers: n.drivers,
    })),
    allocations: nodes.flatMap((n, i) =>
      n.usedPort === null ? [] : [{ job_id: 'old', agent_id: `o${i}`, node: `n${i}`, resources: { cpu_cores: Math.min(1, n.cpu) }, ports: [{ port: n.usedPort }] }],
    ),
  };
  const validated = jobs.map((j, k) =>
    job(
      manifest(
        `job${k}`,
        j.groups.map((g, gi) => ({
          node_id: `g${gi}`,
          count: g.count,
          resources: {
            cpu_cores: g.cpu,
            memory_mb: g.mem,
            ...(g.gpu > 0
              ? { devices: [{ kind: 'gpu', count: g.gpu, ...(g.gpuDriver ? { driver: g.gpuDriver } : {}), ...(g.minMem ? { min_memory_mb: g.minMem } : {}) }] }
              : {}),
            ...(g.port !== null ? { ports: [{ label: 'p', port: g.port }] } : {}),
            ...(g.driver ? { runtime_driver: g.driver } : {}),
          },
          constraints: [
            ...(g.zoneEq ? [{ attribute: 'zone', operator: '==', value: g.zoneEq }] : []),
            ...(g.distinctHosts ? [{ operator: 'distinct_hosts' }] : []),
            ...(g.distinctZone ? [{ attribute: '${attr.zone}', operator: 'distinct_property', value: g.distinctZone }] : []),
          ],
          ...(g.spread ? { spread: [{ attribute: 'zone' }] } : {}),
        })),
        { policies: { job_type: j.type, scheduler_strategy: j.strategy } },
      ),
    ),
  );
  return { cluster, validated };
}
