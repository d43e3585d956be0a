/**
 * Differential: the planner against its reference copy from before per-shape eligibility and
 * device slots (`reference-planner.ts`), on random clusters with devices, allocations holding
 * devices and ports, constraints of every kind, spreads and distinct_* limits. Same placements,
 * scores, allocations, failures and explanations; availability only differs in what it answers
 * for (the reference re-places the whole job on the empty cluster, the planner the failed groups).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';
import { checkPlan } from '../../../src/core/placement/check.js';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { planJobs } from '../../../src/core/placement/planner.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { tryPlacementModule } from '../../../src/solver/wasm-module.js';
import { job, manifest } from './fixtures.js';
import { referencePlanJobs } from './reference-planner.js';

const wasmModule = tryPlacementModule();

const deviceArb = fc.record({
  memory: fc.constantFrom(16_384, 24_576, 40_960, 81_920),
  driver: fc.constantFrom('cuda', 'cuda', 'rocm'),
  caps: fc.constantFrom([], ['fp16'], ['fp16', 'h100']),
});

const nodeArb = fc.record({
  shape: fc.constantFrom('small', 'large', 'gpu'),
  cpu: fc.constantFrom(4, 16, 64),
  mem: fc.constantFrom(8_192, 65_536),
  devices: fc.array(deviceArb, { minLength: 0, maxLength: 4 }),
  zone: fc.constantFrom('z1', 'z2', 'z3'),
  rack: fc.constantFrom('r01', 'r02', 'r13', 'r27'),
  caps: fc.subarray(['ffmpeg', 'rust', 'python3']),
  status: fc.constantFrom('healthy', 'healthy', 'healthy', 'joining', 'draining'),
  drivers: fc.constantFrom(['process'], ['process', 'openshell']),
  profiles: fc.constantFrom([], ['mlx']),
  paths: fc.constantFrom(['/srv'], []),
  used: fc.option(fc.record({ devices: fc.integer({ min: 0, max: 2 }), port: fc.option(fc.constantFrom(80, 8080), { nil: null }), cpu: fc.constantFrom(0, 1, 3) }), { nil: null }),
});

const groupArb = fc.record({
  count: fc.integer({ min: 1, max: 8 }),
  cpu: fc.constantFrom(0, 0.5, 1, 4),
  mem: fc.constantFrom(0, 1_024, 8_192),
  devices: fc.option(
    fc.record({ count: fc.integer({ min: 1, max: 3 }), minMem: fc.constantFrom(null, 16_384, 40_960), driver: fc.constantFrom(null, 'cuda'), cap: fc.constantFrom(null, 'fp16', 'h100') }),
    { nil: null },
  ),
  gpuCount: fc.constantFrom(0, 0, 1),
  port: fc.option(fc.constantFrom(80, 8080), { nil: null }),
  zone: fc.option(fc.constantFrom('z1', 'z2'), { nil: null }),
  cap: fc.option(fc.constantFrom('ffmpeg', 'rust'), { nil: null }),
  rackRe: fc.option(fc.constantFrom('^r0[0-9]$', '^r[12]'), { nil: null }),
  notNode: fc.boolean(),
  distinctHosts: fc.boolean(),
  distinctRack: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }),
  spread: fc.constantFrom(null, 'zone', 'rack'),
  driver: fc.constantFrom(null, 'openshell'),
  profile: fc.constantFrom(null, 'mlx'),
  volume: fc.boolean(),
});

const jobArb = fc.record({
  groups: fc.array(groupArb, { minLength: 1, maxLength: 4 }),
  type: fc.constantFrom('batch', 'batch', 'service', 'system'),
  strategy: fc.constantFrom('binpack', 'spread'),
});

type NodeCase = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;
type JobCase = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

function scenario(nodes: NodeCase[], jobs: JobCase[]) {
  const cluster = parseClusterFile({
    nodes: nodes.map((n, i) => ({
      name: `${n.shape}-${i}`,
      status: n.status,
      resources: { cpu_cores: n.cpu, memory_mb: n.mem, disk_mb: 0 },
      devices: n.devices.map((d, k) => ({ id: `g${k}`, kind: 'gpu', driver: d.driver, memory_mb: d.memory, capabilities: d.caps })),
      attributes: { zone: n.zone, rack: n.rack },
      capabilities: n.caps,
      runtime_drivers: n.drivers,
      profiles: n.profiles,
      host_paths: n.paths,
    })),
    allocations: nodes.flatMap((n, i) =>
      n.used === null
        ? []
        : [
            {
              job_id: 'old',
              agent_id: `o${i}`,
              node: `${n.shape}-${i}`,
              resources: { cpu_cores: Math.min(n.used.cpu, n.cpu) },
              devices: n.devices.slice(0, n.used.devices).map((_, k) => `g${k}`),
              ports: n.used.port === null ? [] : [{ port: n.used.port }],
            },
          ],
    ),
  });
  const validated = jobs.map((j, k) =>
    job(
      manifest(
        `job${k}`,
        j.groups.map((g, gi) => ({
          node_id: `g${gi}`,
          count: g.count,
          ...(g.profile ? { execution_profile: g.profile } : {}),
          resources: {
            cpu_cores: g.cpu,
            memory_mb: g.mem,
            ...(g.gpuCount > 0 ? { gpu_count: g.gpuCount + (g.devices?.count ?? 0) } : {}),
            ...(g.devices
              ? {
                  devices: [
                    {
                      kind: 'gpu',
                      count: g.devices.count,
                      ...(g.devices.minMem ? { min_memory_mb: g.devices.minMem } : {}),
                      ...(g.devices.driver ? { driver: g.devices.driver } : {}),
                      ...(g.devices.cap ? { capabilities: [g.devices.cap] } : {}),
                    },
                  ],
                }
              : {}),
            ...(g.port !== null ? { ports: [{ label: 'p', port: g.port }] } : {}),
            ...(g.driver ? { runtime_driver: g.driver } : {}),
            ...(g.volume ? { volumes: [{ name: 'data', source: '/srv/data', target: '/data' }] } : {}),
          },
          constraints: [
            ...(g.zone ? [{ attribute: 'zone', operator: '==', value: g.zone }] : []),
            ...(g.cap ? [{ attribute: 'capabilities', operator: 'contains', value: g.cap }] : []),
            ...(g.rackRe ? [{ attribute: '${attr.rack}', operator: 'regexp', value: g.rackRe }] : []),
            ...(g.notNode ? [{ attribute: 'node', operator: '!=', value: 'gpu-1' }] : []),
            ...(g.distinctHosts ? [{ operator: 'distinct_hosts' }] : []),
            ...(g.distinctRack ? [{ attribute: 'rack', operator: 'distinct_property', value: g.distinctRack }] : []),
          ],
          ...(g.spread ? { spread: [{ attribute: g.spread }] } : {}),
        })),
        { policies: { job_type: j.type, scheduler_strategy: j.strategy } },
      ),
    ),
  );
  return { cluster, validated };
}

const profiles = { mlx: { gpu: false, required_capabilities: ['ffmpeg'] } };

/** The plan without the per-job availability (compared separately) and elapsed time. */
function body(p: Plan): unknown {
  return { ...p, jobs: p.jobs.map((j) => ({ ...j, availability: j.availability === 'runnable_now' })), stats: { ...p.stats, elapsed_ms: 0 } };
}

const engines: Array<[string, () => JsKernel | WasmKernel]> = [
  ['js', () => new JsKernel()],
  ...(wasmModule ? [['wasm', () => new WasmKernel(wasmModule)] as [string, () => WasmKernel]] : []),
];

describe('planner vs its reference copy', () => {
  for (const [engine, make] of engines) {
    it(`makes the same plans on random clusters with devices, constraints and spreads (${engine})`, () => {
      fc.assert(
        fc.property(
          fc.array(nodeArb, { minLength: 0, maxLength: 14 }),
          fc.array(jobArb, { minLength: 1, maxLength: 3 }),
          fc.constantFrom(0, 0, 2),
          fc.constantFrom<'manifest' | 'largest_first'>('manifest', 'largest_first'),
          (nodes, jobs, sampleK, groupOrder) => {
            const { cluster, validated } = scenario(nodes, jobs);
            const options = { sampleK, groupOrder, executionProfiles: profiles };
            const ref = referencePlanJobs(cluster, validated, make(), options);
            const got = planJobs(cluster, validated, make(), options);
            expect(body(got)).toEqual(body(ref));
            expect(checkPlan(cluster, validated, got, { executionProfiles: profiles })).toEqual([]);
            got.jobs.forEach((j, k) => {
              // A job the reference finds runnable on the empty cluster has failed groups that are.
              if (ref.jobs[k]!.availability === 'runnable_later') expect(j.availability).toBe('runnable_later');
            });
          },
        ),
        { numRuns: 250, seed: 16 },
      );
    });

    it(`makes the same plans under excludeNodes and onlyAgentIds, planning one cluster object again and again (${engine})`, () => {
      fc.assert(
        fc.property(
          fc.array(nodeArb, { minLength: 1, maxLength: 14 }),
          fc.array(jobArb, { minLength: 1, maxLength: 3 }),
          fc.array(fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 3 })), { minLength: 2, maxLength: 4 }),
          (nodes, jobs, rounds) => {
            const { cluster, validated } = scenario(nodes, jobs);
            const names = cluster.nodes.map((x) => x.name);
            const agents = validated.flatMap((j) => j.nodes.flatMap((spec) => [spec.node_id, `${spec.node_id}-0`, `${spec.node_id}-1`]));
            // Several plans over the same parsed cluster: the per-cluster caches serve all of them.
            for (const [skip, pick] of rounds) {
              const excludeNodes = names.filter((_, i) => skip > 0 && i % (skip + 1) === 0);
              const onlyAgentIds = pick === 0 ? undefined : agents.filter((_, i) => i % (pick + 1) !== 0);
              const options = { excludeNodes, ...(onlyAgentIds ? { onlyAgentIds } : {}), executionProfiles: profiles };
              const ref = referencePlanJobs(cluster, validated, make(), options);
              const got = planJobs(cluster, validated, make(), options);
              expect(body(got)).toEqual(body(ref));
              for (const row of got.placements) expect(excludeNodes).not.toContain(row.node);
            }
          },
        ),
        { numRuns: 120, seed: 61 },
      );
    });
  }
});
