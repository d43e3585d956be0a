/**
 * `simulatePlan` end to end on SB manifests: raw manifests are validated, prepared and placed by
 * the planner with the WebAssembly kernel and with the JS reference, and every plan is checked by
 * the independent `checkPlan`.
 */
import type { ClusterState } from '../src/core/cluster/types.js';
import { JsKernel } from '../src/core/placement/kernel.js';
import type { PlacementKernel } from '../src/core/placement/kernel-types.js';
import { WasmKernel } from '../src/solver/wasm-kernel.js';
import { makeCluster, rng, type NodeMix } from './fixtures.js';

type Manifest = Record<string, unknown>;

function manifest(id: string, groups: Array<Record<string, unknown>>, policies: Record<string, unknown> = {}): Manifest {
  return {
    manifest_version: '1.0',
    graph_id: id,
    job_name: id,
    nodes: groups.map((g, k) => ({ node_id: `g${k}`, agent_type: 'executor', role: k === 0 ? 'root' : undefined, ...g })),
    edges: [],
    policies: { job_type: 'batch', ...policies },
  };
}

interface Workload {
  name: string;
  mix: NodeMix;
  n: number;
  jobs: Manifest[];
  agents: number;
}

function workloads(quick: boolean): Workload[] {
  const r = rng(42);
  const n5k = quick ? 1_000 : 5_000;
  const n10k = quick ? 1_000 : 10_000;
  const identical = quick ? 10_000 : 100_000;
  const j3: Manifest[] = [];
  for (let k = 0; k < (quick ? 50 : 200); k++) {
    const constraints: unknown[] = [];
    const pick = r();
    if (pick < 0.25) constraints.push({ attribute: 'pool', operator: '=', value: 'general' });
    else if (pick < 0.5) constraints.push({ attribute: 'capabilities', operator: 'set_contains', value: 'ffmpeg' });
    else if (pick < 0.75) constraints.push({ attribute: 'arch', operator: '=', value: 'arm64' });
    else constraints.push({ operator: 'distinct_property', attribute: 'rack', value: 2 });
    if (r() < 0.3) constraints.push({ operator: 'distinct_hosts' });
    j3.push(manifest(`j3-${k}`, [{ count: 10, resources: { cpu_cores: 0.5, memory_mb: 1024 }, constraints }]));
  }
  const j5: Manifest[] = [];
  for (let k = 0; k < (quick ? 20 : 100); k++) {
    const g = [1, 2, 4, 8][k % 4]!;
    j5.push(manifest(`j5-${k}`, [{ count: 1 + (k % 3), resources: { cpu_cores: 2 * g, memory_mb: 16_384 * g, gpu_count: g } }]));
  }
  return [
    { name: `J1 basic (${identical.toLocaleString('en-US')} identical)`, mix: 'hetero-ai', n: n10k, agents: identical, jobs: [manifest('j1', [{ count: identical, resources: { cpu_cores: 0.1, memory_mb: 500 } }])] },
    { name: 'J1 basic (10k, 5k nodes)', mix: 'hetero-ai', n: n5k, agents: 10_000, jobs: [manifest('j1b', [{ count: 10_000, resources: { cpu_cores: 0.1, memory_mb: 500 } }])] },
    {
      name: 'J2 nomad-bench + rack spread',
      mix: 'nomad-bench',
      n: n5k,
      agents: 1_200,
      jobs: [manifest('j2', [{ count: 1_200, resources: { cpu_cores: 6, memory_mb: 6_000 }, spread: [{ attribute: 'rack', weight: 100 }] }], { job_type: 'service' })],
    },
    { name: 'J3 constraint mix', mix: 'hetero-ai', n: n5k, agents: j3.length * 10, jobs: j3 },
    { name: 'J5 GPU', mix: 'hetero-ai', n: n5k, agents: j5.reduce((s, m) => s + ((m.nodes as Array<{ count: number }>)[0]!.count), 0), jobs: j5 },
  ];
}

export async function runPlannerBench(quick: boolean): Promise<{ json: unknown; rows: Array<Array<string | number>>; note: string }> {
  let simulate: typeof import('../src/core/placement/simulate.js');
  let check: typeof import('../src/core/placement/check.js');
  let validate: typeof import('../src/core/manifest/validate.js');
  let parse: typeof import('../src/core/cluster/parse.js');
  try {
    simulate = await import('../src/core/placement/simulate.js');
    parse = await import('../src/core/cluster/parse.js');
    check = await import('../src/core/placement/check.js');
    validate = await import('../src/core/manifest/validate.js');
  } catch (error) {
    return { json: null, rows: [], note: `planner unavailable: ${error instanceof Error ? error.message : String(error)}` };
  }
  const rows: Array<Array<string | number>> = [];
  const json: Record<string, unknown> = {};
  // The cluster file is validated once per cluster (as a daemon holds its parsed inventory); its
  // parse time is reported separately, and `cold ms` is one plan from the raw file (parse +
  // per-cluster layout + planning).
  const clusters = new Map<string, { raw: ClusterState; parsed: ClusterState; parseMs: number }>();
  for (const w of workloads(quick)) {
    const key = `${w.mix}/${w.n}`;
    let entry = clusters.get(key);
    if (!entry) {
      const raw = makeCluster(w.mix, w.n, 9);
      const t = performance.now();
      const parsed = parse.parseClusterFile(raw);
      entry = { raw, parsed, parseMs: performance.now() - t };
      clusters.set(key, entry);
    }
    const cluster = entry.parsed;
    const jobs = w.jobs.map((m) => {
      const v = validate.validateManifest(m);
      if (!v.ok || !v.job) throw new Error(`bench manifest ${String(m.graph_id)} invalid: ${JSON.stringify(v.errors)}`);
      return v.job;
    });
    const kernels: Array<[string, PlacementKernel]> = [
      ['wasm', new WasmKernel()],
      ['js', new JsKernel()],
    ];
    // Cold: one plan from the raw cluster file. Then warm-up plans for both engines before any
    // timing (the planner's own code tiers up in the first runs, whichever engine runs first),
    // and the timed runs alternate between the engines: median of 3 each (single runs on this VM
    // swing ±50% with GC and CPU steal).
    const coldMs = new Map<string, number>();
    for (const [engine, kernel] of kernels) {
      const t = performance.now();
      simulate.simulatePlan({ cluster: entry.raw, jobs, kernel });
      coldMs.set(engine, performance.now() - t);
    }
    for (let r = 0; r < 3; r++) for (const [, kernel] of kernels) simulate.simulatePlan({ cluster, jobs, kernel });
    const times = new Map<string, number[]>(kernels.map(([engine]) => [engine, []]));
    const plans = new Map<string, ReturnType<typeof simulate.simulatePlan>>();
    for (let r = 0; r < 3; r++) {
      for (const [engine, kernel] of r % 2 === 0 ? kernels : [...kernels].reverse()) {
        (globalThis as { gc?: () => void }).gc?.();
        const t = performance.now();
        plans.set(engine, simulate.simulatePlan({ cluster, jobs, kernel }));
        times.get(engine)!.push(performance.now() - t);
      }
    }
    for (const [engine] of kernels) {
      const runs = times.get(engine)!.sort((x, y) => x - y);
      const ms = runs[1]!;
      const plan = plans.get(engine)!;
      const violations = check.checkPlan(cluster, jobs, plan);
      const placed = plan.placements.length;
      const cold = coldMs.get(engine)!;
      json[`${w.name}/${engine}`] = { mix: w.mix, nodes: w.n, agents: w.agents, placed, ms, runsMs: runs, coldMs: cold, clusterParseMs: entry.parseMs, placementsPerSec: (placed / ms) * 1000, violations: violations.length, firstViolations: violations.slice(0, 3) };
      rows.push([w.name, engine, w.n.toLocaleString('en-US'), w.agents.toLocaleString('en-US'), placed.toLocaleString('en-US'), ms.toFixed(1), `${((placed / ms) * 1000 / 1000).toFixed(1)}k`, cold.toFixed(1), entry.parseMs.toFixed(1), violations.length]);
    }
  }
  return { json, rows, note: '' };
}
