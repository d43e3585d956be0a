/** The independent checker catches each kind of broken plan. */
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../../src/core/placement/check.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';
import { cudaNode, job, large, manifest, small } from './fixtures.js';

const cluster = { nodes: [small(), large({ attributes: { zone: 'z2' } }), cudaNode()] };
const jobs = [
  job(
    manifest('g', [
      { node_id: 'web', count: 2, resources: { cpu_cores: 2, ports: [{ label: 'http', port: 80 }] }, constraints: [{ operator: 'distinct_hosts' }] },
      { node_id: 'gpu', resources: { cpu_cores: 1, devices: [{ kind: 'gpu', driver: 'cuda' }] } },
      { node_id: 'z', resources: { cpu_cores: 1 }, constraints: [{ attribute: 'zone', operator: '==', value: 'z2' }] },
    ]),
  ),
];

function mutate(plan: Plan, agent: string, change: (p: Plan['placements'][number]) => Plan['placements'][number]): Plan {
  return { ...plan, placements: plan.placements.map((p) => (p.agent_id === agent ? change(p) : p)) };
}

describe('checkPlan', () => {
  const plan = simulatePlan({ cluster, jobs });

  it('accepts the planner output', () => {
    expect(plan.status).toBe('planned');
    expect(checkPlan(cluster, jobs, plan)).toEqual([]);
  });

  it('flags double-booked ports and broken distinct_hosts', () => {
    const other = plan.placements.find((p) => p.agent_id === 'web-0')!.node;
    const v = checkPlan(cluster, jobs, mutate(plan, 'web-1', (p) => ({ ...p, node: other })));
    expect(v.some((x) => x.includes('port tcp/80 double-booked'))).toBe(true);
    expect(v.some((x) => x.includes('distinct_hosts broken'))).toBe(true);
  });

  it('flags unknown or double-booked devices, failed constraints and overcommitted capacity', () => {
    const gpu = plan.placements.find((p) => p.agent_id === 'gpu')!;
    expect(checkPlan(cluster, jobs, mutate(plan, 'gpu', (p) => ({ ...p, node: 'small@lab' }))).some((x) => x.includes('is not on small@lab'))).toBe(true);
    const twice: Plan = { ...plan, placements: [...plan.placements, { ...gpu, agent_id: 'gpu-copy' }] };
    expect(checkPlan(cluster, jobs, twice).some((x) => x.includes('double-booked'))).toBe(true);
    expect(checkPlan(cluster, jobs, mutate(plan, 'z', (p) => ({ ...p, node: 'small@lab' }))).some((x) => x.includes('constraint zone == "z2"'))).toBe(true);
    const heavy = mutate(plan, 'z', (p) => ({ ...p, resources: { ...p.resources, cpu_cores: 100 } }));
    expect(checkPlan(cluster, jobs, heavy).some((x) => x.includes('cpu 10'))).toBe(true);
  });
});
