/** Cluster file validation (DESIGN §4.2): typed model and path-addressed errors. */
import { describe, expect, it } from 'vitest';
import { ClusterFileError, parseClusterFile, validateClusterFile } from '../../../src/core/cluster/parse.js';

const good = {
  nodes: [
    {
      name: 'gpu-a@lab',
      status: 'healthy',
      scheduling_eligible: true,
      resources: { cpu_cores: 32, memory_mb: 262144, disk_mb: 1048576 },
      devices: [
        { id: 'GPU-0', kind: 'gpu', vendor: 'nvidia', driver: 'cuda', memory_mb: 81920, capabilities: ['fp16'], api_version: '12.4' },
        { type: 'nvidia/gpu', driver: 'cuda', memory_mb: 81920 },
      ],
      attributes: { os: 'linux', zone: 'z1', cores: 32 },
      capabilities: ['CUDA', 'ffmpeg', 'fast_io'],
      profiles: [],
      host_paths: ['/mnt/models/'],
    },
    { name: 'cpu@lab', resources: { cpu_cores: 4, memory_mb: 4096 }, resources_extra: 1 },
  ],
  allocations: [
    {
      job_id: 'j1',
      agent_id: 'a',
      node: 'gpu-a@lab',
      resources: { cpu_cores: 2, memory_mb: 1024, disk_mb: 0, gpu_count: 1 },
      devices: ['GPU-0'],
      ports: [{ port: 8080, protocol: 'tcp' }],
    },
  ],
  services: [{ name: 'vllm', node: 'gpu-a@lab', tags: ['embedding'], status: 'passing' }],
};

describe('cluster file', () => {
  it('parses a valid file into the typed model with defaults', () => {
    const c = parseClusterFile(good);
    const [gpu, cpu] = c.nodes;
    expect(gpu!.resources).toEqual({ cpu_cores: 32, memory_mb: 262144, disk_mb: 1048576, gpu_count: 2 });
    expect(gpu!.devices[1]).toMatchObject({ id: 'cuda-1', kind: 'gpu', vendor: 'nvidia', driver: 'cuda' });
    expect(gpu!.capabilities).toEqual(['cuda', 'ffmpeg', 'fast-io']);
    expect(gpu!.host_paths).toEqual(['/mnt/models']);
    expect(cpu).toMatchObject({ status: 'healthy', scheduling_eligible: true, runtime_drivers: ['host_local'], devices: [] });
    expect(cpu!.resources).toEqual({ cpu_cores: 4, memory_mb: 4096, disk_mb: 0, gpu_count: 0 });
    expect(c.allocations[0]!.ports).toEqual([{ port: 8080, protocol: 'tcp' }]);
    expect(c.services[0]).toMatchObject({ name: 'vllm', status: 'passing', origin: null });
  });

  it('falls back to resources.gpu_count when no GPU devices are listed', () => {
    const c = parseClusterFile({ nodes: [{ name: 'g', resources: { cpu_cores: 1, memory_mb: 1, gpu_count: 2 } }] });
    expect(c.nodes[0]!.resources.gpu_count).toBe(2);
  });

  it('reports every problem by path', () => {
    const r = validateClusterFile({
      nodes: [
        { name: 'a', resources: { cpu_cores: 1, memory_mb: 1 } },
        { name: 'b', resources: { cpu_cores: 1 } },
        { name: 'c', resources: { cpu_cores: 1 } },
        { name: 'a', resources: { cpu_cores: -2 } },
        { name: 'e', status: 'sleeping', resources: { memory_mb: 'lots' }, devices: [{ id: 'x' }, { id: 'x' }] },
      ],
      allocations: [
        { job_id: 'j', node: 'ghost', resources: {} },
        { job_id: 'j', node: 'a', resources: { cpu_cores: 1 }, devices: ['GPU-9'], ports: [{ port: 70000 }] },
      ],
      services: [{ name: 's', node: 'nowhere' }],
    });
    expect(r.ok).toBe(false);
    const paths = Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
    expect(paths['nodes[3].resources.cpu_cores']).toMatch(/^nodes\[3\]\.resources\.cpu_cores must be a number zero or greater/);
    expect(paths['nodes[3].name']).toContain('duplicate node name');
    expect(paths['nodes[4].status']).toContain('must be one of healthy, joining');
    expect(paths['nodes[4].resources.memory_mb']).toContain('must be a number zero or greater');
    expect(paths['nodes[4].devices[1].id']).toContain('duplicate device id');
    expect(paths['allocations[0].node']).toBe('allocations[0].node "ghost" is not a known node');
    expect(paths['allocations[1].devices[0]']).toBe('allocations[1].devices[0] "GPU-9" is not a device of node a');
    expect(paths['allocations[1].ports[0].port']).toContain('between 1 and 65535');
    expect(paths['services[0].node']).toContain('is not a known node');
  });

  it('throws ClusterFileError carrying the issues', () => {
    try {
      parseClusterFile({ nodes: 'nope' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClusterFileError);
      expect((err as ClusterFileError).code).toBe('MN_E_CLUSTER_FILE');
      expect((err as ClusterFileError).issues[0]).toEqual({ path: 'nodes', message: 'nodes must be a list' });
    }
    expect(() => parseClusterFile([])).toThrow(/cluster file must be an object/);
    expect(() => parseClusterFile({})).toThrow(/nodes is required/);
  });
});
