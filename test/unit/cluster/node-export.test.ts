import { describe, expect, it } from 'vitest';
import { clusterFileFromNodeList, EXPORTED_USAGE_JOB } from '../../../src/cluster/node-export.js';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';

describe('the node list export as a cluster file', () => {
  it('keeps inventory, status and eligibility, turns usage into an allocation and gathers the services', () => {
    const exported = [
      {
        name: 'gpu-a@lab', status: 'healthy', scheduling_eligible: true, alive: true,
        resources: { cpu_cores: 32, memory_mb: 65536, disk_mb: 1000, gpu_count: 0 },
        usage: { cpu_cores: 4, memory_mb: 1024, disk_mb: 0, gpu_count: 0, agents: 2 },
        inventory: { name: 'gpu-a@lab', resources: { cpu_cores: 32, memory_mb: 65536, disk_mb: 1000 }, capabilities: ['cuda'], attributes: { zone: 'z1' } },
        services: [{ name: 'vllm', node: 'gpu-a@lab', tags: ['fp16'], status: 'passing', origin: 'internal' }],
      },
      { name: 'idle@lab', status: 'draining', scheduling_eligible: false, usage: { cpu_cores: 0 }, inventory: { resources: { cpu_cores: 8, memory_mb: 8192, disk_mb: 100 } }, services: [] },
    ];
    const file = clusterFileFromNodeList(exported);
    const cluster = parseClusterFile(file);
    expect(cluster.nodes.map((n) => [n.name, n.status, n.scheduling_eligible])).toEqual([['gpu-a@lab', 'healthy', true], ['idle@lab', 'draining', false]]);
    expect(cluster.nodes[0]!.capabilities).toEqual(['cuda']);
    expect(cluster.allocations).toEqual([expect.objectContaining({ job_id: EXPORTED_USAGE_JOB, node: 'gpu-a@lab', resources: expect.objectContaining({ cpu_cores: 4, memory_mb: 1024 }) })]);
    expect(cluster.services).toEqual([{ name: 'vllm', node: 'gpu-a@lab', tags: ['fp16'], status: 'passing', origin: 'internal' }]);
  });

  it('leaves entries that are not nodes to the validator, which names them', () => {
    expect(() => parseClusterFile(clusterFileFromNodeList([42]))).toThrow(/nodes\[0\]/);
  });

  it('exports listed agents with their priority and job type; usage they do not explain is never evicted', () => {
    const exported = [
      {
        name: 'a@lab', status: 'healthy', scheduling_eligible: true,
        usage: { cpu_cores: 3, memory_mb: 300, disk_mb: 0, gpu_count: 0, agents: 2 },
        inventory: { resources: { cpu_cores: 4, memory_mb: 4096, disk_mb: 100 } },
        allocations: [{ job_id: 'pool-1', agent_id: 'idle-0', resources: { cpu_cores: 2, memory_mb: 200, disk_mb: 0, gpu_count: 0 }, devices: [], ports: [{ port: 9000, protocol: 'tcp' }], priority: 40, job_type: 'service' }],
        services: [],
      },
    ];
    const cluster = parseClusterFile(clusterFileFromNodeList(exported));
    expect(cluster.allocations).toEqual([
      expect.objectContaining({ job_id: 'pool-1', agent_id: 'idle-0', node: 'a@lab', priority: 40, job_type: 'service', ports: [{ port: 9000, protocol: 'tcp' }] }),
      expect.objectContaining({ job_id: EXPORTED_USAGE_JOB, node: 'a@lab', priority: 100, job_type: 'system', resources: expect.objectContaining({ cpu_cores: 1, memory_mb: 100 }) }),
    ]);
  });
});
