/** Planner behaviour beyond the spec cases: spread, fan-out, multi-job plans, explanations. */
import { describe, expect, it } from 'vitest';
import { simulatePlan, InvalidManifestError } from '../../../src/core/placement/simulate.js';
import { checkPlan } from '../../../src/core/placement/check.js';
import { ClusterFileError } from '../../../src/core/cluster/parse.js';
import { cudaNode, gpuNode, job, large, manifest, node, plan, small, where } from './fixtures.js';

const zones = (perZone: Record<string, number>) => {
  const out = [];
  let k = 0;
  for (const [zone, count] of Object.entries(perZone)) {
    for (let i = 0; i < count; i++) out.push(node(`n${k++}@lab`, 64, 262144, { attributes: { zone } }));
  }
  return out;
};

function perValue(p: ReturnType<typeof plan>, nodes: Array<Record<string, unknown>>, attr = 'zone'): Record<string, number> {
  const byName = new Map(nodes.map((x) => [x.name as string, (x.attributes as Record<string, string>)[attr]!]));
  const out: Record<string, number> = {};
  for (const pl of p.placements) {
    const v = byName.get(pl.node)!;
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

describe('spread blocks', () => {
  it('even spread keeps per-value counts within 1 under binpack', () => {
    const nodes = zones({ z1: 6, z2: 3, z3: 1 });
    const m = manifest('g', [{ node_id: 'w', count: 31, resources: { cpu_cores: 1 }, spread: [{ attribute: 'zone' }] }]);
    const p = plan({ nodes }, [m]);
    expect(p.placements).toHaveLength(31);
    const counts = Object.values(perValue(p, nodes));
    expect(counts).toHaveLength(3);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('percentage targets: p% of 10 agents in z1, the rest in z2', () => {
    const nodes = zones({ z1: 5, z2: 5 });
    for (const pct of [100, 90, 70, 50, 30, 10]) {
      const m = manifest('g', [
        {
          node_id: 'w',
          count: 10,
          resources: { cpu_cores: 1 },
          spread: [{ attribute: 'zone', weight: 100, targets: [{ value: 'z1', percent: pct }, { value: 'z2', percent: 100 - pct }] }],
        },
      ]);
      const got = perValue(plan({ nodes }, [m]), nodes);
      expect(got.z1 ?? 0).toBe(pct / 10);
      expect(got.z2 ?? 0).toBe(10 - pct / 10);
    }
  });

  it('job-wide spread from policies.scheduler.spread', () => {
    const nodes = zones({ a: 2, b: 2 });
    const m = manifest('g', [{ node_id: 'w', count: 4, resources: { cpu_cores: 1 } }], {
      policies: { scheduler: { spread: [{ attribute: 'zone' }] } },
    });
    expect(perValue(plan({ nodes }, [m]), nodes)).toEqual({ a: 2, b: 2 });
  });
});

describe('fan-out', () => {
  it('count N is one class: ids <node>-<i>, source_node_id, capacity respected', () => {
    const m = manifest('g', [{ node_id: 'worker', count: 5, resources: { cpu_cores: 2, memory_mb: 1024 } }]);
    const p = plan({ nodes: [small(), large()] }, [m]);
    expect(p.placements.map((x) => x.agent_id)).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3', 'worker-4']);
    expect(p.placements.every((x) => x.source_node_id === 'worker')).toBe(true);
    // binpack fills small@lab (2 agents) first, then large@lab.
    expect(p.placements.filter((x) => x.node === 'small@lab')).toHaveLength(2);
    expect(p.status).toBe('planned');
  });

  it('100,000 identical agents onto a generated cluster', () => {
    const nodes = Array.from({ length: 2000 }, (_, i) => node(`n${i}`, 64, 262144));
    const cluster = { nodes };
    const jobs = [job(manifest('fan', [{ node_id: 'w', count: 100_000, resources: { cpu_cores: 1, memory_mb: 1024 } }]))];
    const p = simulatePlan({ cluster, jobs });
    expect(p.status).toBe('planned');
    expect(p.placements).toHaveLength(100_000);
    expect(p.stats).toMatchObject({ agents: 100_000, placed: 100_000, nodes: 2000, engine: 'js' });
    expect(p.placements[0]!.agent_id).toBe('w-0');
    expect(p.placements[99_999]!.agent_id).toBe('w-99999');
    const ids = new Set(p.placements.map((x) => x.agent_id));
    expect(ids.size).toBe(100_000);
    expect(checkPlan(cluster, jobs, p)).toEqual([]);
  });

  it('a partly placed group reports one coalesced failure', () => {
    const m = manifest('g', [{ node_id: 'w', count: 5, resources: { cpu_cores: 4 } }]);
    const p = plan({ nodes: [small(), large()] }, [m]);
    expect(p.status).toBe('partial');
    expect(p.jobs[0]).toMatchObject({ placed: 3, failed: 2, availability: 'not_runnable' });
    expect(p.failures).toHaveLength(1);
    expect(p.failures[0]).toMatchObject({ agent_id: 'w-3', count: 2 });
    expect(p.failures[0]!.reason).toContain('2 agents of w (w-3 to w-4)');
    expect(p.failures[0]!.suggestion).toContain('room for 2 more agents of w');
  });
});

describe('several jobs in one plan', () => {
  it('jobs are placed in order and consume capacity', () => {
    const first = manifest('first', [{ node_id: 'a', resources: { cpu_cores: 4 } }]);
    const second = manifest('second', [{ node_id: 'b', resources: { cpu_cores: 6 } }]);
    const p = plan({ nodes: [small(), large()] }, [first, second]);
    expect(where(p)).toEqual({ a: 'small@lab', b: 'large@lab' });
    const third = manifest('third', [{ node_id: 'c', resources: { cpu_cores: 4 } }]);
    const q = plan({ nodes: [small(), large()] }, [first, second, third]);
    expect(q.status).toBe('partial');
    // It would fit on the empty cluster: busy, not impossible.
    expect(q.jobs.map((j) => j.availability)).toEqual(['runnable_now', 'runnable_now', 'runnable_later']);
  });

  it('ports are never double-booked across jobs', () => {
    const web = (id: string) => manifest(id, [{ node_id: 'web', resources: { cpu_cores: 1, ports: [{ label: 'http', port: 80, protocol: 'http' }] } }]);
    const p = plan({ nodes: [small(), large()] }, [web('a'), web('b'), web('c')]);
    expect(p.jobs.map((j) => j.placed)).toEqual([1, 1, 0]);
    expect(new Set(p.placements.map((x) => x.node)).size).toBe(2);
    expect(p.failures[0]!.filtered).toEqual({ ports: 2 });
    expect(p.failures[0]!.nearest[0]!.shortfall.ports).toContain('tcp:80');
  });
});

describe('explanations', () => {
  const cluster = {
    nodes: [
      small(),
      large({ status: 'offline' }),
      gpuNode(),
      cudaNode('cuda@lab', { attributes: { zone: 'z2' } }),
      node('tiny@lab', 1, 1024, { attributes: { zone: 'z1' } }),
    ],
  };
  const big = manifest('train', [
    {
      node_id: 'trainer',
      resources: { cpu_cores: 8, memory_mb: 8192, devices: [{ kind: 'gpu', driver: 'cuda', min_memory_mb: 40000 }] },
    },
  ]);

  it('filtered counts per first failing stage, nearest nodes and a suggestion', () => {
    const p = plan(cluster, [big]);
    const f = p.failures[0]!;
    expect(f.agent_id).toBe('trainer');
    // small@lab and tiny@lab lack CPU; gpu@lab and cuda@lab pass every stage but devices.
    expect(f.filtered).toEqual({ status: 1, cpu: 2, devices: 2 });
    expect(f.nearest.map((x) => x.node).slice(0, 2)).toEqual(['gpu@lab', 'cuda@lab']);
    expect(f.nearest[1]!.shortfall).toEqual({
      devices: 'needs 1 cuda gpu with >= 40000 MB, has cuda-0 (nvidia cuda gpu, 24576 MB, API 12.4), cuda-1 (nvidia cuda gpu, 24576 MB, API 12.4)',
    });
    expect(f.nearest).toHaveLength(3);
    expect(f.suggestion).toBe('add a node with 1 cuda GPU of >= 40000 MB, >= 8 free cpu cores and >= 8192 MB free memory');
    expect(p.jobs[0]!.availability).toBe('not_runnable');
  });

  it('the reason lists at most 5 nodes, then how many more', () => {
    const nodes = Array.from({ length: 9 }, (_, i) => node(`n${i}`, 1, 1024));
    const p = plan({ nodes }, [manifest('g', [{ node_id: 'w', resources: { cpu_cores: 2 } }])]);
    const r = p.failures[0]!.reason;
    expect(r).toContain('n0: insufficient resources');
    expect(r).toContain('n4: insufficient resources');
    expect(r).not.toContain('n5:');
    expect(r).toContain('and 4 more nodes');
    expect(p.failures[0]!.nearest[0]!.shortfall).toEqual({ cpu: 'needs 2 cpu cores, has 1 free of 1' });
  });

  it('constraint and profile failures are named', () => {
    const m = manifest('g', [
      { node_id: 'w', resources: { cpu_cores: 1 }, constraints: [{ attribute: 'zone', operator: '==', value: 'z9' }] },
    ]);
    const p = plan(cluster, [m]);
    expect(p.failures[0]!.filtered).toEqual({ status: 1, constraints: 4 });
    expect(p.failures[0]!.reason).toContain('constraints not matched');
    expect(p.failures[0]!.nearest[0]!.shortfall.constraints).toBe('not matched: zone == z9');
    const prof = plan(cluster, [manifest('g', [{ node_id: 'w', config: { execution_profile: 'tpu' } }])]);
    expect(prof.failures[0]!.reason).toContain('execution profile not available');
    expect(prof.failures[0]!.filtered.profile).toBe(4);
  });

  it('system job failure names the agents', () => {
    const m = manifest('g', [{ node_id: 'a', resources: { cpu_cores: 32 } }, { node_id: 'b', resources: { cpu_cores: 1 } }], {
      policies: { job_type: 'system' },
    });
    const p = plan({ nodes: [small(), large()] }, [m]);
    expect(p.failures[0]!.reason).toContain('system job agents a, b have no eligible nodes');
    expect(p.failures[0]!.reason).toContain('small@lab: insufficient resources for system group');
    expect(p.jobs[0]).toMatchObject({ placed: 0, failed: 2, availability: 'not_runnable' });
  });
});

describe('simulatePlan input handling', () => {
  it('accepts raw manifests and rejects invalid ones with their errors', () => {
    const p = simulatePlan({ cluster: { nodes: [small()] }, jobs: [manifest('g', [{ node_id: 'w', resources: { cpu: 1 } }])] });
    expect(p.status).toBe('planned');
    expect(() => simulatePlan({ cluster: { nodes: [small()] }, jobs: [{ graph_id: 'x' }] })).toThrow(InvalidManifestError);
  });

  it('throws ClusterFileError for a bad cluster file', () => {
    expect(() => simulatePlan({ cluster: { nodes: [{ name: 'a', resources: { cpu_cores: -1 } }] }, jobs: [] })).toThrow(ClusterFileError);
  });

  it('takes elapsed time from the given clock', () => {
    let t = 100;
    const p = simulatePlan({ cluster: { nodes: [small()] }, jobs: [], clock: () => (t += 5) });
    expect(p.stats.elapsed_ms).toBe(5);
    expect(p.status).toBe('planned');
  });

  it('sampling mode still produces a valid plan', () => {
    const nodes = Array.from({ length: 50 }, (_, i) => node(`n${i}`, 4, 8192));
    const jobs = [job(manifest('g', [{ node_id: 'w', count: 120, resources: { cpu_cores: 1, memory_mb: 512 } }]))];
    const p = simulatePlan({ cluster: { nodes }, jobs, sampleK: 2 });
    expect(p.placements).toHaveLength(120);
    expect(checkPlan({ nodes }, jobs, p)).toEqual([]);
  });
});
