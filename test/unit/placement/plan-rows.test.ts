/**
 * The plan's rows are built from the planner's columns on first read of `plan.placements`; to
 * every reader (JSON, structured clone, spreading, assignment, freezing) the property behaves as
 * an ordinary array-valued property, and the rows are those the planner would have built eagerly.
 */
import { describe, expect, it } from 'vitest';
import { cudaNode, large, manifest, multiGpuNode, node, plan, small } from './fixtures.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';

function mixedPlan(): Plan {
  const cluster = {
    nodes: [
      small({ runtime_drivers: ['docker_worker', 'host_local'] }),
      large({ runtime_drivers: ['openshell'] }),
      multiGpuNode(),
      cudaNode(),
      node('tiny@lab', 1, 512),
    ],
  };
  return plan(cluster, [
    manifest('fan', [
      { node_id: 'w', count: 7, resources: { cpu_cores: 1, memory_mb: 1024 } },
      { node_id: 'g', count: 3, resources: { cpu_cores: 1, devices: [{ kind: 'gpu', count: 1, min_memory_mb: 16000 }] } },
      { node_id: 'api', resources: { cpu_cores: 0.5, ports: [{ label: 'http', port: 8080 }] } },
      { node_id: 'big', resources: { cpu_cores: 1000 } },
    ]),
    manifest('sys', [{ node_id: 'agent', resources: { cpu_cores: 0.25 } }], { policies: { job_type: 'system' } }),
  ]);
}

describe('lazily built plan rows', () => {
  it('reads as a plain enumerable array property, in its place among the plan keys', () => {
    const p = mixedPlan();
    expect(Object.keys(p)).toEqual(['status', 'strategy', 'placements', 'failures', 'preemptions', 'jobs', 'stats']);
    const first = p.placements;
    expect(Array.isArray(first)).toBe(true);
    expect(p.placements).toBe(first);
    const d = Object.getOwnPropertyDescriptor(p, 'placements')!;
    expect(d.value).toBe(first);
    expect(d.enumerable && d.writable && d.configurable).toBe(true);
    expect(first.length).toBe(p.stats.placed);
  });

  it('gives rows the agent ids, nodes, drivers, devices and shared sub-objects of the plan', () => {
    const rows = mixedPlan().placements;
    const byId = new Map(rows.map((r) => [r.agent_id, r]));
    expect([...byId.keys()].filter((id) => id.startsWith('w-')).sort()).toEqual(['w-0', 'w-1', 'w-2', 'w-3', 'w-4', 'w-5', 'w-6']);
    // Agents of one group share one frozen resources object; device holders have their own allocations.
    const ws = rows.filter((r) => r.source_node_id === 'w');
    expect(new Set(ws.map((r) => r.resources)).size).toBe(1);
    expect(Object.isFrozen(ws[0]!.resources)).toBe(true);
    for (const r of ws) {
      expect(r.allocations.runtime_driver).toBe(r.node === 'large@lab' ? 'openshell' : 'host_local');
      expect(r.allocations.devices).toEqual([]);
    }
    const gs = rows.filter((r) => r.source_node_id === 'g');
    expect(gs).toHaveLength(3);
    const ids = gs.flatMap((r) => r.allocations.devices.map((d) => `${r.node}/${d.id}`));
    expect(new Set(ids).size).toBe(3);
    expect(byId.get('api')!.allocations.ports).toEqual([{ label: 'http', port: 8080, protocol: 'tcp' }]);
    // System copies keep their `<agent>@<node>` names and inventory order, after the batch job's rows.
    const inventory = ['small@lab', 'large@lab', 'multi-gpu@lab', 'cuda@lab', 'tiny@lab'];
    const sys = rows.filter((r) => r.job === 'sys');
    expect(sys.length).toBeGreaterThan(1);
    for (const r of sys) expect(r.agent_id).toBe(`agent@${r.node}`);
    const order = sys.map((r) => inventory.indexOf(r.node));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(rows.findIndex((r) => r.job === 'sys')).toBe(rows.filter((r) => r.job === 'fan').length);
    for (const r of rows) expect(typeof r.score).toBe('number');
  });

  it('survives JSON, structured clone and spreading unchanged', () => {
    const a = mixedPlan();
    const b = mixedPlan();
    const json = JSON.parse(JSON.stringify(a)) as Plan;
    expect(json.placements).toHaveLength(a.stats.placed);
    const cloned = structuredClone(b);
    expect(cloned).toEqual(json);
    const spread = { ...mixedPlan() };
    expect(Object.getOwnPropertyDescriptor(spread, 'placements')!.value).toEqual(json.placements);
    expect(JSON.parse(JSON.stringify(spread))).toEqual(json);
  });

  it('can be replaced before or after it was read, and read from a frozen plan', () => {
    const p = mixedPlan();
    p.placements = [];
    expect(p.placements).toEqual([]);
    const q = mixedPlan();
    const rows = q.placements;
    q.placements = rows.slice(0, 1);
    expect(q.placements).toHaveLength(1);
    const frozen = Object.freeze(mixedPlan());
    const read = frozen.placements;
    expect(read.length).toBe(frozen.stats.placed);
    expect(frozen.placements).toBe(read);
  });
});
