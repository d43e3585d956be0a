/**
 * The preempting pass: rules (priority gap, system copies, all or nothing), the choice (fewest
 * evictions, then lowest priorities) against a brute-force minimum on random small clusters, on
 * both engines.
 */
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../src/core/placement/check.js';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import type { PlacementKernel } from '../../../src/core/placement/kernel-types.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';
import {
  applyPreemptionAssignments,
  DEFAULT_PREEMPTION,
  formatPreemption,
  parsePreemptionList,
  parsePreemptionObject,
} from '../../../src/core/placement/preemption-config.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { job, manifest, node, type Raw } from './fixtures.js';
import { rng } from '../../../bench/fixtures.js';

const kernels: Array<[string, () => PlacementKernel]> = [
  ['js', () => new JsKernel()],
  ['wasm', () => new WasmKernel()],
];

const ALL_ON = parsePreemptionList('system,sysbatch,batch,service');

function alloc(jobId: string, agent: string, nodeName: string, cpu: number, memory: number, priority: number, extra: Raw = {}): Raw {
  return { job_id: jobId, agent_id: agent, node: nodeName, resources: { cpu_cores: cpu, memory_mb: memory, disk_mb: 0, gpu_count: 0 }, priority, ...extra };
}

function preemptor(id: string, priority: number, nodes: Raw[], type = 'service'): Raw {
  return manifest(id, nodes, { priority, policies: { job_type: type } });
}

describe.each(kernels)('preemption (%s kernel)', (_name, makeKernel) => {
  const run = (cluster: Raw, manifests: Raw[], preemption = ALL_ON): Plan =>
    simulatePlan({ cluster, jobs: manifests.map(job), kernel: makeKernel(), preemption });

  it('evicts the fewest agents needed, lowest priorities first, and places the job', () => {
    const cluster = {
      nodes: [node('a', 8, 8192)],
      allocations: [
        alloc('low', 'l-0', 'a', 2, 1024, 40),
        alloc('low', 'l-1', 'a', 2, 1024, 40),
        alloc('low', 'l-2', 'a', 2, 1024, 30),
        alloc('mid', 'm-0', 'a', 2, 1024, 60),
      ],
    };
    const p = run(cluster, [preemptor('hi', 75, [{ node_id: 'w', resources: { cpu_cores: 4, memory_mb: 1024 } }])]);
    expect(p.status).toBe('planned');
    expect(p.placements.map((x) => x.node)).toEqual(['a']);
    expect(p.preemptions!.map((e) => [e.job, e.agent_id, e.priority, e.preempted_by])).toEqual([
      ['low', 'l-0', 40, 'hi'],
      ['low', 'l-2', 30, 'hi'],
    ]);
    expect(p.failures).toEqual([]);
    expect(checkPlan(cluster, [job(preemptor('hi', 75, [{ node_id: 'w', resources: { cpu_cores: 4, memory_mb: 1024 } }]))], p)).toEqual([]);
  });

  it('prefers the machine needing fewer evictions, then the one with lower priorities', () => {
    const cluster = {
      nodes: [node('a', 4, 8192), node('b', 4, 8192), node('c', 4, 8192)],
      allocations: [
        alloc('j1', 'a-0', 'a', 2, 100, 10),
        alloc('j1', 'a-1', 'a', 2, 100, 10),
        alloc('j2', 'b-0', 'b', 4, 100, 45),
        alloc('j3', 'c-0', 'c', 4, 100, 30),
      ],
    };
    const p = run(cluster, [preemptor('hi', 60, [{ node_id: 'w', resources: { cpu_cores: 4, memory_mb: 100 } }])]);
    expect(p.preemptions!.map((e) => e.agent_id)).toEqual(['c-0']);
    expect(p.placements[0]!.node).toBe('c');
  });

  it('frees a port held by a lower-priority agent', () => {
    const cluster = {
      nodes: [node('a', 8, 8192)],
      allocations: [alloc('web', 'w-0', 'a', 1, 100, 20, { ports: [{ port: 8080, protocol: 'tcp' }] }), alloc('other', 'o-0', 'a', 1, 100, 10)],
    };
    const p = run(cluster, [preemptor('api', 50, [{ node_id: 'api', resources: { cpu_cores: 1, ports: [{ label: 'http', port: 8080, protocol: 'http' }] } }])]);
    expect(p.preemptions!.map((e) => e.agent_id)).toEqual(['w-0']);
    expect(p.placements[0]!.allocations.ports[0]!.port).toBe(8080);
  });

  it('a priority gap under 10 evicts nothing', () => {
    const cluster = { nodes: [node('a', 4, 4096)], allocations: [alloc('base', 'b-0', 'a', 4, 1024, 50)] };
    const p = run(cluster, [preemptor('p55', 55, [{ node_id: 'w', resources: { cpu_cores: 2 } }])]);
    expect(p.preemptions).toEqual([]);
    expect(p.placements).toEqual([]);
    expect(p.failures[0]!.reason).toMatch(/^placement_failed/);
    expect(p.jobs[0]!.availability).toBe('runnable_later');
    // A gap of exactly 10 is enough.
    const q = run(cluster, [preemptor('p60', 60, [{ node_id: 'w', resources: { cpu_cores: 2 } }])]);
    expect(q.preemptions!.map((e) => e.agent_id)).toEqual(['b-0']);
  });

  it('a batch job never evicts a system copy; a service job may', () => {
    const cluster = {
      nodes: [node('a', 4, 4096)],
      allocations: [alloc('sys', 'log@a', 'a', 4, 1024, 10, { job_type: 'system' })],
    };
    const batch = run(cluster, [preemptor('b', 90, [{ node_id: 'w', resources: { cpu_cores: 2 } }], 'batch')]);
    expect(batch.preemptions).toEqual([]);
    expect(batch.failures).toHaveLength(1);
    const service = run(cluster, [preemptor('s', 90, [{ node_id: 'w', resources: { cpu_cores: 2 } }], 'service')]);
    expect(service.preemptions!.map((e) => e.agent_id)).toEqual(['log@a']);
  });

  it('evicts nothing when the whole job cannot be placed even with evictions', () => {
    const cluster = {
      nodes: [node('a', 4, 4096), node('b', 4, 4096)],
      allocations: [alloc('low', 'l-0', 'a', 4, 100, 10), alloc('high', 'h-0', 'b', 4, 100, 90)],
    };
    const p = run(cluster, [preemptor('j', 70, [{ node_id: 'w', count: 2, resources: { cpu_cores: 3 } }])]);
    expect(p.preemptions).toEqual([]);
    expect(p.placements).toEqual([]);
    expect(p.failures[0]!.count).toBe(2);
  });

  it('only job types enabled in the configuration preempt (default: system only)', () => {
    const cluster = { nodes: [node('a', 4, 4096)], allocations: [alloc('low', 'l-0', 'a', 4, 100, 10)] };
    const m = [preemptor('s', 90, [{ node_id: 'w', resources: { cpu_cores: 2 } }])];
    expect(run(cluster, m, DEFAULT_PREEMPTION).preemptions).toEqual([]);
    expect(simulatePlan({ cluster, jobs: m.map(job) }).preemptions).toEqual([]);
    expect(run(cluster, m, parsePreemptionList('service')).preemptions).toHaveLength(1);
  });

  it('later jobs of one plan use what is left, and never evict an agent twice', () => {
    const cluster = { nodes: [node('a', 4, 4096)], allocations: [alloc('low', 'l-0', 'a', 2, 100, 10), alloc('low', 'l-1', 'a', 2, 100, 10)] };
    const jobs = [preemptor('x', 50, [{ node_id: 'w', resources: { cpu_cores: 1 } }]), preemptor('y', 50, [{ node_id: 'w', resources: { cpu_cores: 1 } }])];
    const p = run(cluster, jobs);
    expect(p.status).toBe('planned');
    expect(p.preemptions!.map((e) => e.agent_id)).toEqual(['l-0']);
    expect(checkPlan(cluster, jobs.map(job), p)).toEqual([]);
  });
});

describe.each(kernels)('system job preemption (%s kernel)', (_name, makeKernel) => {
  it('on by default: every machine without a copy evicts what it must, the others keep theirs', () => {
    const cluster = {
      nodes: [node('a', 4, 4096), node('b', 4, 4096), node('c', 4, 4096), node('d', 4, 4096)],
      allocations: [
        alloc('batch', 'b-0', 'b', 3, 100, 50),
        alloc('batch', 'b-1', 'b', 1, 100, 20),
        alloc('vip', 'c-0', 'c', 4, 100, 75),
        alloc('sys', 'log@d', 'd', 4, 100, 10, { job_type: 'system' }),
      ],
    };
    const agent = preemptor('agent', 80, [{ node_id: 'collector', resources: { cpu_cores: 2, memory_mb: 100 } }], 'system');
    const p = simulatePlan({ cluster, jobs: [job(agent)], kernel: makeKernel() });
    // b: evicting the priority-50 agent alone frees 3 cores (one eviction); c's agent is too close in priority.
    expect(p.preemptions!.map((e) => [e.agent_id, e.node])).toEqual([
      ['b-0', 'b'],
      ['log@d', 'd'],
    ]);
    expect(p.jobs[0]!.system_targets).toEqual(['a', 'b', 'd']);
    expect(p.placements.map((x) => x.agent_id)).toEqual(['collector@a', 'collector@b', 'collector@d']);
    expect(p.failures).toEqual([]);
    expect(checkPlan(cluster, [job(agent)], p)).toEqual([]);
    // A sysbatch job never evicts a system copy.
    const sweep = preemptor('sweep', 80, [{ node_id: 'scan', resources: { cpu_cores: 2, memory_mb: 100 } }], 'sysbatch');
    const q = simulatePlan({ cluster, jobs: [job(sweep)], kernel: makeKernel(), preemption: parsePreemptionList('sysbatch') });
    expect(q.preemptions!.map((e) => e.agent_id)).toEqual(['b-0']);
    expect(q.jobs[0]!.system_targets).toEqual(['a', 'b']);
    // Turned off, a system job places only where it fits.
    const r = simulatePlan({ cluster, jobs: [job(agent)], kernel: makeKernel(), preemption: parsePreemptionList('none') });
    expect([r.preemptions, r.jobs[0]!.system_targets]).toEqual([[], ['a']]);
  });
});

describe('checkPlan and preemptions', () => {
  it('accepts room freed by evictions and flags evictions that break the rules', () => {
    const cluster = { nodes: [node('a', 4, 4096)], allocations: [alloc('base', 'b-0', 'a', 4, 1024, 50)] };
    const jobs = [job(preemptor('hi', 80, [{ node_id: 'w', resources: { cpu_cores: 2 } }]))];
    const p = simulatePlan({ cluster, jobs, preemption: ALL_ON });
    expect(checkPlan(cluster, jobs, p)).toEqual([]);
    expect(checkPlan(cluster, jobs, { ...p, preemptions: [] }).join()).toMatch(/cpu 6 > 4/);
    const weak = [{ ...jobs[0]!, priority: 55 }];
    expect(checkPlan(cluster, weak, p).join()).toMatch(/priority 50 is not 10 below/);
  });
});

describe('preemption configuration', () => {
  it('parses lists, assignments and stored objects, refusing unknown types clearly', () => {
    expect(parsePreemptionList('system,service')).toEqual({ system: true, sysbatch: false, batch: false, service: true });
    expect(parsePreemptionList('none')).toEqual({ system: false, sysbatch: false, batch: false, service: false });
    expect(() => parsePreemptionList('system,cron', 'MN_PREEMPTION')).toThrow(/MN_PREEMPTION: "cron" is not a job type/);
    expect(applyPreemptionAssignments(DEFAULT_PREEMPTION, 'service=true,system=false')).toEqual({ system: false, sysbatch: false, batch: false, service: true });
    expect(() => applyPreemptionAssignments(DEFAULT_PREEMPTION, 'batch=yes')).toThrow(/batch="yes" must be true or false/);
    expect(parsePreemptionObject({ batch: true })).toEqual({ system: true, sysbatch: false, batch: true, service: false });
    expect(() => parsePreemptionObject({ batch: 1 })).toThrow(/preemption.batch must be true or false/);
    expect(formatPreemption(DEFAULT_PREEMPTION)).toBe('system');
  });
});

describe('cluster file allocations', () => {
  it('default to priority 50 and batch, and refuse bad values naming the field', () => {
    const c = parseClusterFile({ nodes: [node('a', 4, 4096)], allocations: [alloc('j', 'x', 'a', 1, 1, 50)] });
    expect(c.allocations[0]).toMatchObject({ priority: 50, job_type: 'batch' });
    const legacy = parseClusterFile({ nodes: [node('a', 4, 4096)], allocations: [{ job_id: 'j', node: 'a', resources: {} }] });
    expect(legacy.allocations[0]).toMatchObject({ priority: 50, job_type: 'batch' });
    expect(() => parseClusterFile({ nodes: [node('a', 4, 4096)], allocations: [alloc('j', 'x', 'a', 1, 1, 101)] })).toThrow(/allocations\[0\]\.priority must be an integer from 1 to 100/);
    expect(() => parseClusterFile({ nodes: [node('a', 4, 4096)], allocations: [alloc('j', 'x', 'a', 1, 1, 50, { job_type: 'cron' })] })).toThrow(
      /allocations\[0\]\.job_type "cron" is not a job type/,
    );
  });
});

// ------------------------------------------------------------------ property test

/** The fixtures' seeded PRNG (mulberry32), so every case can be replayed from its seed. */
const prng = rng;

interface Case {
  cluster: { nodes: Raw[]; allocations: Raw[] };
  manifest: Raw;
  priority: number;
  type: string;
  cpu: number;
  memory: number;
  port: number | null;
}

function randomCase(seed: number): Case {
  const r = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const nodes: Raw[] = [];
  const allocations: Raw[] = [];
  const nodeCount = int(1, 4);
  for (let i = 0; i < nodeCount; i++) {
    const cpu = int(4, 12);
    const memory = int(4, 16) * 1024;
    nodes.push(node(`n${i}`, cpu, memory));
    let usedCpu = 0;
    let usedMem = 0;
    const count = int(0, 6);
    let portHeld = false;
    for (let k = 0; k < count; k++) {
      const c = int(0, 4);
      const m = int(0, 4) * 1024;
      if (usedCpu + c > cpu || usedMem + m > memory) continue;
      usedCpu += c;
      usedMem += m;
      const extra: Raw = { job_type: r() < 0.15 ? 'system' : r() < 0.5 ? 'service' : 'batch' };
      // Ports are exclusive on a node: at most one allocation holds 9000.
      if (!portHeld && r() < 0.2) {
        extra.ports = [{ port: 9000, protocol: 'tcp' }];
        portHeld = true;
      }
      allocations.push(alloc(`j${int(0, 5)}`, `a${i}-${k}`, `n${i}`, c, m, int(1, 100), extra));
    }
  }
  const priority = int(10, 100);
  const type = r() < 0.3 ? 'batch' : 'service';
  const cpu = int(1, 8);
  const memory = int(0, 8) * 1024;
  const port = r() < 0.2 ? 9000 : null;
  const resources: Raw = { cpu_cores: cpu, memory_mb: memory };
  if (port !== null) resources.ports = [{ label: 'p', port, protocol: 'tcp' }];
  return { cluster: { nodes, allocations }, manifest: preemptor('pre', priority, [{ node_id: 'w', resources }], type), priority, type, cpu, memory, port };
}

/** The brute-force minimum: every subset of evictable allocations on every node. */
function bruteForce(c: Case): { count: number; priorities: number[] } | null {
  let best: { count: number; priorities: number[] } | null = null;
  const better = (a: { count: number; priorities: number[] }, b: { count: number; priorities: number[] }): boolean => {
    if (a.count !== b.count) return a.count < b.count;
    for (let k = 0; k < a.priorities.length; k++) if (a.priorities[k] !== b.priorities[k]) return a.priorities[k]! < b.priorities[k]!;
    return false;
  };
  for (const n of c.cluster.nodes) {
    const res = n.resources as { cpu_cores: number; memory_mb: number };
    const here = c.cluster.allocations.filter((a) => a.node === n.name);
    const used = (list: Raw[], k: 'cpu_cores' | 'memory_mb'): number => list.reduce((s, a) => s + (a.resources as Record<string, number>)[k]!, 0);
    const evictable = here.filter(
      (a) => (a.priority as number) <= c.priority - 10 && !(c.type === 'batch' && (a.job_type === 'system' || a.job_type === 'sysbatch')),
    );
    for (let mask = 0; mask < 1 << evictable.length; mask++) {
      const gone = evictable.filter((_, k) => mask & (1 << k));
      const left = here.filter((a) => !gone.includes(a));
      if (res.cpu_cores - used(left, 'cpu_cores') < c.cpu) continue;
      if (c.memory > 0 && res.memory_mb - used(left, 'memory_mb') < c.memory) continue;
      if (c.port !== null && left.some((a) => Array.isArray(a.ports) && a.ports.length > 0)) continue;
      const found = { count: gone.length, priorities: gone.map((a) => a.priority as number).sort((x, y) => y - x) };
      if (best === null || better(found, best)) best = found;
    }
  }
  return best;
}

describe.each(kernels)('preemption choice against a brute-force minimum (%s kernel)', (_name, makeKernel) => {
  it('same number of evictions, and never a higher priority evicted when a lower one would do (400 seeded cases)', () => {
    let preempting = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const c = randomCase(seed);
      const jobs = [job(c.manifest)];
      const p = simulatePlan({ cluster: c.cluster, jobs, kernel: makeKernel(), preemption: ALL_ON });
      const want = bruteForce(c);
      const evicted = p.preemptions!;
      const context = `seed ${seed}`;
      if (want === null) {
        expect(evicted, context).toEqual([]);
        expect(p.placements, context).toEqual([]);
        continue;
      }
      expect(p.placements, context).toHaveLength(1);
      expect(evicted.length, context).toBe(want.count);
      expect(evicted.map((e) => e.priority).sort((x, y) => y - x), context).toEqual(want.priorities);
      expect(new Set(evicted.map((e) => e.node)).size, context).toBeLessThanOrEqual(1);
      if (evicted.length > 0) expect(evicted[0]!.node, context).toBe(p.placements[0]!.node);
      expect(checkPlan(c.cluster, jobs, p), context).toEqual([]);
      if (evicted.length > 0) preempting++;
    }
    // The generator must exercise preemption, not only trivial fits and hopeless cases.
    expect(preempting).toBeGreaterThan(60);
  });
});

describe('MN_PREEMPTION', () => {
  it('is checked when a daemon starts: an unknown job type is a problem naming the variable', async () => {
    const { daemonConfigFromEnv } = await import('../../../src/core/config.js');
    expect(daemonConfigFromEnv({ MN_PREEMPTION: 'system,service' }, { hostname: 'h', homeDir: '/h' }).problems).toEqual([]);
    const bad = daemonConfigFromEnv({ MN_PREEMPTION: 'system,cron' }, { hostname: 'h', homeDir: '/h' });
    expect(bad.problems).toEqual([{ variable: 'MN_PREEMPTION', message: expect.stringMatching(/MN_PREEMPTION: "cron" is not a job type/) }]);
  });
});
