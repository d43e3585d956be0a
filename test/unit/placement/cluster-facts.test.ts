/**
 * Filter verdicts and device tables are cached per parsed cluster and shared by every plan over
 * it: plans over one cluster object equal plans over fresh copies of it, whatever ran before.
 */
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import { cudaNode, gpuDevice, job, manifest, multiGpuNode, node } from './fixtures.js';

function clusterFile(): Record<string, unknown> {
  const nodes = [];
  for (let i = 0; i < 24; i++) {
    nodes.push(
      node(`n${i}@lab`, 4 + (i % 3) * 4, 8192 * (1 + (i % 4)), {
        attributes: { zone: `z${i % 3}`, rack: `r${i % 5}` },
        capabilities: i % 2 === 0 ? ['ffmpeg', 'rust'] : ['python3'],
        runtime_drivers: i % 4 === 0 ? ['docker_worker'] : ['host_local'],
        ...(i % 6 === 0 ? { devices: [gpuDevice(`g${i}-0`, 'cuda', 24576), gpuDevice(`g${i}-1`, 'cuda', 81920)] } : {}),
      }),
    );
  }
  nodes.push(multiGpuNode(), cudaNode());
  return { nodes };
}

const jobs = [
  manifest('a', [
    { node_id: 'z', count: 6, resources: { cpu_cores: 1 }, constraints: [{ attribute: 'zone', operator: '==', value: 'z1' }] },
    { node_id: 'c', count: 4, resources: { cpu_cores: 1 }, constraints: ['ffmpeg', { attribute: 'rack', operator: 'regexp', value: '^r[0-2]$' }] },
    { node_id: 'g', count: 3, resources: { cpu_cores: 1, devices: [{ kind: 'gpu', count: 1, min_memory_mb: 40000 }] } },
  ]),
  manifest('b', [
    { node_id: 'z', count: 5, resources: { cpu_cores: 2 }, constraints: [{ attribute: 'zone', operator: '!=', value: 'z1' }] },
    { node_id: 'd', count: 3, resources: { cpu_cores: 1, runtime_driver: 'docker_worker' } },
    { node_id: 'g', count: 4, resources: { cpu_cores: 1, devices: [{ kind: 'gpu', count: 2, min_memory_mb: 16000 }] } },
    { node_id: 'c', count: 2, resources: { cpu_cores: 1 }, constraints: [{ attribute: 'capabilities', operator: 'contains_any', value: ['python3', 'tesseract'] }] },
  ]),
].map(job);

describe('per-cluster filter and device facts', () => {
  it('plans over one cluster object equal plans over fresh copies, in any order', () => {
    const shared = parseClusterFile(clusterFile());
    const fresh = (jobList: typeof jobs) => simulatePlan({ cluster: parseClusterFile(clusterFile()), jobs: jobList });
    const orders = [[jobs[0]!], [jobs[1]!], [jobs[1]!, jobs[0]!], [jobs[0]!, jobs[1]!], [jobs[0]!]];
    for (const order of orders) {
      const got = simulatePlan({ cluster: shared, jobs: order });
      expect(got.stats.placed).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(got))).toEqual(JSON.parse(JSON.stringify(fresh(order))));
    }
    for (const order of orders) {
      const spread = simulatePlan({ cluster: shared, jobs: order, strategy: 'spread', excludeNodes: ['n3@lab', 'cuda@lab'] });
      const expected = simulatePlan({ cluster: parseClusterFile(clusterFile()), jobs: order, strategy: 'spread', excludeNodes: ['n3@lab', 'cuda@lab'] });
      expect(JSON.parse(JSON.stringify(spread))).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(spread.placements.some((p) => p.node === 'n3@lab' || p.node === 'cuda@lab')).toBe(false);
    }
  });
});
