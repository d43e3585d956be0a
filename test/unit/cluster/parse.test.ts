/** Cluster file validation (DESIGN §4.2): typed model and path-addressed errors. */
import { describe, expect, it } from 'vitest';
import {
  ClusterFileError,
  parseClusterFile,
  validateClusterFile,
  validateClusterFileReference,
} from '../../../src/core/cluster/parse.js';
import { makeCluster, rng } from '../../../bench/fixtures.js';

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

  // The fast path (no JSON paths built for well-formed nodes) must give exactly the reporting
  // path's result: same nodes, same errors with the same paths, in the same order.
  describe('fast path equals the reporting path', () => {
    const same = (input: unknown): void => {
      expect(validateClusterFile(input)).toEqual(validateClusterFileReference(input));
    };

    it('on valid files (hand-written and generated)', () => {
      same(good);
      same(makeCluster('hetero-ai', 300, 3));
      same(makeCluster('nomad-bench', 50, 1));
      same({ nodes: [{ name: 'n', resources: { gpu_count: null }, runtime_drivers: null, attributes: { a: null, b: undefined, c: 1, d: true } }] });
      same({ nodes: [{ name: ' x', status: ' Joining ', capabilities: ['A_B ', 'ß_x', 'ok'], host_paths: ['/a//', '/', '/b'] }] });
      same({ nodes: [{ name: 'g', devices: [{ type: 'AMD/GPU', driver: 'ROCm', api_version: 6.1 }, { kind: 'FPGA', api_version: '' }, {}] }] });
    });

    it('on every single-field corruption of a valid node', () => {
      const base = makeCluster('hetero-ai', 40, 5) as unknown as { nodes: Array<Record<string, unknown>> };
      const gpuAt = base.nodes.findIndex((nd) => (nd.devices as unknown[]).length > 0);
      const bad: unknown[] = [undefined, null, '', '  ', -1, Number.NaN, Infinity, 'x', 'NVIDIA', 'Bad_Cap', 7, true, {}, [], ['x'], [1], [null], ['rel/path'], { a: {} }, [{}], ['/ok/']];
      const fields: Array<[string, (nd: Record<string, unknown>, v: unknown) => void]> = [
        ['node', () => undefined], // the whole node is replaced below
        ['name', (nd, v) => (nd.name = v)],
        ['status', (nd, v) => (nd.status = v)],
        ['scheduling_eligible', (nd, v) => (nd.scheduling_eligible = v)],
        ['resources', (nd, v) => (nd.resources = v)],
        ['resources.cpu_cores', (nd, v) => ((nd.resources as Record<string, unknown>).cpu_cores = v)],
        ['resources.gpu_count', (nd, v) => ((nd.resources as Record<string, unknown>).gpu_count = v)],
        ['devices', (nd, v) => (nd.devices = v)],
        ['devices[0]', (nd, v) => ((nd.devices as unknown[])[0] = v)],
        ['devices[0].id', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).id = v)],
        ['devices[0].kind', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).kind = v)],
        ['devices[0].driver', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).driver = v)],
        ['devices[0].memory_mb', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).memory_mb = v)],
        ['devices[0].api_version', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).api_version = v)],
        ['devices[0].capabilities', (nd, v) => (((nd.devices as unknown[])[0] as Record<string, unknown>).capabilities = v)],
        ['attributes', (nd, v) => (nd.attributes = v)],
        ['attributes.zone', (nd, v) => ((nd.attributes as Record<string, unknown>).zone = v)],
        ['capabilities', (nd, v) => (nd.capabilities = v)],
        ['profiles', (nd, v) => (nd.profiles = v)],
        ['runtime_drivers', (nd, v) => (nd.runtime_drivers = v)],
        ['host_paths', (nd, v) => (nd.host_paths = v)],
      ];
      const r = rng(11);
      for (const [field, set] of fields) {
        for (const v of bad) {
          const file = structuredClone(base) as { nodes: unknown[] };
          const at = field.startsWith('devices[') ? gpuAt : Math.floor(r() * file.nodes.length);
          if (field === 'node') file.nodes[at] = v;
          else set(file.nodes[at] as Record<string, unknown>, v);
          same(file);
        }
      }
      // Duplicate node names and device ids.
      const dup = structuredClone(base) as { nodes: Array<Record<string, unknown>> };
      dup.nodes[3]!.name = dup.nodes[1]!.name;
      const devs = dup.nodes[gpuAt]!.devices as Array<Record<string, unknown>>;
      devs[2]!.id = devs[0]!.id;
      same(dup);
    });
  });
});

