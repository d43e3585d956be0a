/** Spec §11.2 #17 and §11.3 #21–#42: the scheduler acceptance cases. */
import { describe, expect, it } from 'vitest';
import { mergePlan } from '../../../src/core/placement/merge.js';
import { cudaNode, gpuDevice, gpuNode, h100Node, job, large, manifest, metalNode, multiGpuNode, node, plan, small, where } from './fixtures.js';

const worker = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  manifest('g', [{ node_id: 'worker', resources, ...extra }]);

describe('spec §11 scheduler acceptance', () => {
  it('#17 device-style GPU resources are counted and placed on multi-gpu@lab', () => {
    const p = plan({ nodes: [small(), large(), multiGpuNode()] }, [
      worker({ cpu: 1000, memory_gb: 4, devices: [{ type: 'nvidia/gpu', count: 2 }] }),
    ]);
    expect(p.status).toBe('planned');
    const pl = p.placements[0]!;
    expect(pl.node).toBe('multi-gpu@lab');
    expect(pl.resources).toMatchObject({ cpu_cores: 1.0, memory_mb: 4096, gpu_count: 2 });
    expect(pl.allocations.devices).toHaveLength(2);
  });

  it('#21 binpack prefers the fuller node, spread the emptier (Nomad-era utilisation)', () => {
    const cluster = {
      nodes: [
        { name: 'A', resources: { cpu_cores: 4, memory_mb: 0, disk_mb: 0 } },
        { name: 'B', resources: { cpu_cores: 8, memory_mb: 0, disk_mb: 0 } },
      ],
    };
    const bin = plan(cluster, [worker({ cpu_cores: 2 })], { strategy: 'binpack' });
    expect(bin.placements[0]).toMatchObject({ node: 'A', score: 0.5 });
    const spread = plan(cluster, [worker({ cpu_cores: 2 })], { strategy: 'spread' });
    expect(spread.placements[0]).toMatchObject({ node: 'B', score: 0.75 });
    expect(spread.strategy).toBe('spread');
  });

  it('#22 active placements reserve capacity', () => {
    const cluster = {
      nodes: [small(), large()],
      allocations: [{ job_id: 'other', agent_id: 'a', node: 'small@lab', resources: { cpu_cores: 3, memory_mb: 3072 } }],
    };
    expect(where(plan(cluster, [worker({ cpu_cores: 2, memory_mb: 2048 })]))).toEqual({ worker: 'large@lab' });
  });

  it('#23 ignore_job_ids removes stale capacity', () => {
    const cluster = {
      nodes: [small(), large()],
      allocations: [{ job_id: 'same-job', agent_id: 'a', node: 'small@lab', resources: { cpu_cores: 3, memory_mb: 3072 } }],
    };
    const p = plan(cluster, [worker({ cpu_cores: 2, memory_mb: 2048 })], { ignoreJobIds: ['same-job'] });
    // small@lab is a candidate again: binpack picks it (2/4 CPU beats 2/8).
    expect(where(p)).toEqual({ worker: 'small@lab' });
  });

  it('#24 exclude_nodes', () => {
    const p = plan({ nodes: [small(), large()] }, [worker({ cpu_cores: 1 })], { excludeNodes: ['small@lab'] });
    expect(where(p)).toEqual({ worker: 'large@lab' });
  });

  it('#25 no schedulable nodes, then a healthy large@lab', () => {
    const nodes = [
      small({ status: 'maintenance', scheduling_eligible: false }),
      large({ status: 'draining', scheduling_eligible: false }),
      gpuNode({ scheduling_eligible: false }),
    ];
    const p = plan({ nodes }, [worker({ cpu_cores: 1 })]);
    expect(p.status).toBe('failed');
    expect(p.failures[0]!.reason).toBe('placement_failed: no schedulable runtime nodes are available');
    expect(p.failures[0]!.filtered).toEqual({ status: 3 });
    const ok = plan({ nodes: [nodes[0]!, nodes[2]!, large()] }, [worker({ cpu_cores: 1 })]);
    expect(where(ok)).toEqual({ worker: 'large@lab' });
  });

  it('no nodes at all', () => {
    const p = plan({ nodes: [] }, [worker({ cpu_cores: 1 })]);
    expect(p.failures[0]!.reason).toBe('placement_failed: no runtime nodes are available');
  });

  it('#26 only_agent_ids plans a subset', () => {
    const m = manifest('g', [
      { node_id: 'first', resources: { cpu_cores: 1 } },
      { node_id: 'second', resources: { cpu_cores: 1 } },
    ]);
    const p = plan({ nodes: [small(), large()] }, [m], { onlyAgentIds: ['second'] });
    expect(p.placements.map((x) => x.agent_id)).toEqual(['second']);
  });

  it('#27 system job: one copy per eligible node', () => {
    const m = manifest('g', [{ node_id: 'worker', resources: { cpu_cores: 1 } }], { policies: { job_type: 'system' } });
    const p = plan({ nodes: [small(), large()] }, [m]);
    expect(p.placements.map((x) => x.agent_id)).toEqual(['worker@small@lab', 'worker@large@lab']);
    expect(p.placements.every((x) => x.source_node_id === 'worker')).toBe(true);
    expect(p.jobs[0]).toMatchObject({ system_targets: ['small@lab', 'large@lab'], placed: 2, availability: 'runnable_now' });
  });

  it('#28 sysbatch places the whole group only where it fits', () => {
    const m = manifest(
      'g',
      [
        { node_id: 'first', resources: { cpu_cores: 3 } },
        { node_id: 'second', resources: { cpu_cores: 3 } },
      ],
      { policies: { job_type: 'sysbatch' } },
    );
    const p = plan({ nodes: [small(), large()] }, [m]);
    expect(p.jobs[0]!.system_targets).toEqual(['large@lab']);
    expect(p.placements.map((x) => x.agent_id)).toEqual(['first@large@lab', 'second@large@lab']);
  });

  it('#29 execution profiles participate in eligibility', () => {
    const m = worker({ cpu_cores: 1 }, { config: { execution_profile: 'mlx-metal' } });
    const p = plan(
      { nodes: [large({ capabilities: ['cpu'] }), gpuNode({ capabilities: ['metal', 'llm'], profiles: ['mlx-metal'] })] },
      [m],
      { executionProfiles: { 'mlx-metal': { gpu: true, required_capabilities: ['metal'] } } },
    );
    expect(where(p)).toEqual({ worker: 'gpu@lab' });
    expect(p.placements[0]!.resources.gpu_count).toBe(1);
  });

  it('#30 a too-large ask fails with insufficient resources', () => {
    const p = plan({ nodes: [small(), large()] }, [worker({ memory_mb: 131072 })]);
    expect(p.status).toBe('failed');
    const f = p.failures[0]!;
    expect(f.reason).toMatch(/^placement_failed: /);
    expect(f.reason).toContain('worker');
    expect(f.reason).toContain('insufficient resources');
    expect(f.filtered).toEqual({ memory: 2 });
  });

  it('#31 required services', () => {
    const services = [
      { name: 'ollama', node: 'gpu@lab', tags: ['gpu'], status: 'passing' },
      { name: 'vector-db', node: 'large@lab', tags: [], status: 'critical' },
    ];
    const ok = plan({ nodes: [small(), large(), gpuNode()], services }, [
      worker({ cpu_cores: 1 }, { requires_services: [{ name: 'ollama', tags: ['gpu'] }] }),
    ]);
    expect(where(ok)).toEqual({ worker: 'gpu@lab' });
    const bad = plan({ nodes: [small(), large(), gpuNode()], services }, [
      worker({ cpu_cores: 1 }, { requires_services: [{ name: 'vector-db' }] }),
    ]);
    expect(bad.failures[0]!.reason).toContain('required services not available');
    expect(bad.failures[0]!.filtered).toEqual({ services: 3 });
  });

  it('#32 capability constraint plus gpu_count', () => {
    const p = plan({ nodes: [small(), large(), gpuNode()] }, [
      worker({ gpu_count: 1 }, { constraints: [{ attribute: 'capabilities', operator: 'contains', value: 'cuda' }] }),
    ]);
    expect(where(p)).toEqual({ worker: 'gpu@lab' });
  });

  it('#33 a CUDA device request does not fall back to CPU nodes', () => {
    const p = plan({ nodes: [small(), large()] }, [worker({ devices: [{ kind: 'gpu', driver: 'cuda', count: 1 }] })]);
    const r = p.failures[0]!.reason;
    expect(r).toContain('small@lab: insufficient resources');
    expect(r).toContain('large@lab: insufficient resources');
    expect(p.jobs[0]!.availability).toBe('not_runnable');
  });

  it('#34 offline CUDA node is reported by status, healthy one is used', () => {
    const left = (status: string) => cudaNode('gpu-left@lab', { status });
    const m = worker({ devices: [{ kind: 'gpu', driver: 'cuda', count: 1 }] });
    const off = plan({ nodes: [small(), large(), left('offline')] }, [m]);
    expect(off.failures[0]!.reason).toContain('gpu-left@lab: status "offline"');
    expect(off.failures[0]!.suggestion).toContain('make gpu-left@lab schedulable');
    const on = plan({ nodes: [small(), large(), left('healthy')] }, [m]);
    expect(where(on)).toEqual({ worker: 'gpu-left@lab' });
  });

  it('#35 driver and memory select the device', () => {
    const nodes = [metalNode(), cudaNode()];
    const cuda = plan({ nodes }, [worker({ devices: [{ kind: 'gpu', driver: 'cuda', min_memory_mb: 16000 }] })]);
    expect(cuda.placements[0]).toMatchObject({ node: 'cuda@lab', allocations: { devices: [{ id: 'cuda-0' }] } });
    const metal = plan({ nodes }, [worker({ devices: [{ kind: 'gpu', driver: 'metal' }] })]);
    expect(where(metal)).toEqual({ worker: 'metal@lab' });
  });

  it('#36 vendor-qualified type nvidia/gpu', () => {
    const p = plan({ nodes: [metalNode(), cudaNode()] }, [worker({ devices: [{ type: 'nvidia/gpu' }] })]);
    expect(where(p)).toEqual({ worker: 'cuda@lab' });
  });

  it('#37 strict API version and memory operators', () => {
    const strict = worker({
      devices: [
        { vendor: 'nvidia', driver: 'cuda', min_api_version: '12.0', api_version_operator: '>', min_memory_mb: 49152, memory_operator: '>' },
      ],
    });
    const api120 = plan({ nodes: [h100Node('12.0')] }, [strict]);
    expect(api120.failures[0]!.reason).toContain('devices, ports, volumes, or runtime driver not available');
    expect(api120.failures[0]!.filtered).toEqual({ devices: 1 });
    const exactMemory = plan({ nodes: [h100Node('12.1', 49152)] }, [strict]);
    expect(exactMemory.status).toBe('failed');
    const ok = plan({ nodes: [h100Node('12.1')] }, [strict]);
    expect(ok.placements[0]).toMatchObject({ node: 'h100@lab', allocations: { devices: [{ id: 'h100-0' }] } });
  });

  it('#38 existing allocations hold devices and ports', () => {
    const cluster = {
      nodes: [cudaNode('cuda@lab'), cudaNode('cuda-2@lab')],
      allocations: [
        {
          job_id: 'running',
          agent_id: 'a',
          node: 'cuda@lab',
          resources: { cpu_cores: 1, memory_mb: 1024, gpu_count: 1 },
          devices: ['cuda-0'],
          ports: [{ port: 8080, protocol: 'tcp' }],
        },
      ],
    };
    const withPort = plan(cluster, [
      worker({ devices: [{ kind: 'gpu', driver: 'cuda' }], ports: [{ label: 'api', port: 8080 }] }),
    ]);
    expect(where(withPort)).toEqual({ worker: 'cuda-2@lab' });
    const gpuOnly = plan(cluster, [worker({ devices: [{ kind: 'gpu', driver: 'cuda' }] })]);
    expect(gpuOnly.placements[0]).toMatchObject({ node: 'cuda@lab', allocations: { devices: [{ id: 'cuda-1' }] } });
  });

  it('#39 an agent repeating a port key fits nowhere', () => {
    const p = plan({ nodes: [small(), large()] }, [
      worker({
        ports: [
          { label: 'api', port: 8080, protocol: 'tcp' },
          { label: 'metrics', port: 8080, protocol: 'tcp' },
        ],
      }),
    ]);
    expect(p.failures[0]!.reason).toContain('worker');
    expect(p.failures[0]!.reason).toContain('devices, ports, volumes, or runtime driver not available');
    expect(p.failures[0]!.filtered).toEqual({ ports: 2 });
  });

  it('#40 host volumes and runtime drivers filter candidate nodes', () => {
    const nodes = [
      small({ runtime_drivers: ['host_local'], host_paths: ['/srv'] }),
      large({ runtime_drivers: ['host_local', 'openshell'], host_paths: ['/data'] }),
      node('shell@lab', 8, 16384, { runtime_drivers: ['openshell'], host_paths: ['/srv/models'] }),
    ];
    const p = plan({ nodes }, [
      worker({
        runtime_driver: 'openshell',
        volumes: [{ name: 'models', source: '/srv/models/llama', target: '/models' }],
      }),
    ]);
    expect(where(p)).toEqual({ worker: 'shell@lab' });
    expect(p.placements[0]!.allocations.runtime_driver).toBe('openshell');
    expect(p.placements[0]!.allocations.volumes[0]).toMatchObject({ name: 'models', source: '/srv/models/llama' });
  });

  it('#41 mergePlan replaces matching placements and keeps unrelated ones', () => {
    const nodesABC = { nodes: [node('a', 4, 4096), node('b', 4, 4096), node('c', 4, 4096)] };
    const two = (ids: string[]) => manifest('g', ids.map((id) => ({ node_id: id, resources: { cpu_cores: 1 } })));
    const existing = plan(nodesABC, [two(['alpha', 'beta'])], { excludeNodes: ['c'] });
    const pinned = { ...existing, placements: existing.placements.map((p, k) => ({ ...p, node: k === 0 ? 'a' : 'b' })) };
    const partial = plan(nodesABC, [two(['beta', 'gamma'])], { excludeNodes: ['a', 'b'] });
    const merged = mergePlan(pinned, partial, { generatedAt: '2026-01-01T00:00:00.000Z' });
    expect(merged.placements.map((p) => `${p.agent_id}@${p.node}`)).toEqual(['alpha@a', 'beta@c', 'gamma@c']);
    expect(merged.stats.placed).toBe(3);
    expect(typeof merged.generated_at).toBe('string');
  });

  it('#42 availability: busy resources vs impossible requirements', () => {
    const busy = plan(
      {
        nodes: [small()],
        allocations: [{ job_id: 'other', agent_id: 'x', node: 'small@lab', resources: { cpu_cores: 2 } }],
      },
      [worker({ cpu_cores: 3 })],
    );
    expect(busy.jobs[0]).toMatchObject({ availability: 'runnable_later', placed: 0, failed: 1 });
    const impossible = plan({ nodes: [small(), large()] }, [worker({ gpu_count: 1 })]);
    expect(impossible.jobs[0]!.availability).toBe('not_runnable');
  });

  it('an unused GPU device fixture compiles', () => {
    expect(gpuDevice('x', 'rocm', 1)).toMatchObject({ vendor: 'amd' });
    expect(job(worker({ cpu_cores: 1 })).agent_count).toBe(1);
  });
});
