/** Node inventory, pure half (spec §3.1–3.2, §10.4): probe parsers, env settings, the node record. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type HostFacts,
  buildNodeInventory,
  defaultNodeName,
  inferGpuVendor,
  nvidiaModel,
  parseCudaVersion,
  parseDarwinDisplays,
  parseEnvInventory,
  parseNvidiaSmiCsv,
} from '../../../src/core/cluster/inventory.js';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

describe('parseNvidiaSmiCsv', () => {
  it('reads two H100s with their UUIDs, memory, model capability and the CUDA version', () => {
    const r = parseNvidiaSmiCsv(fixture('h100x2.csv'), { apiVersion: '12.4' });
    expect(r.issues).toEqual([]);
    expect(r.devices).toEqual([
      {
        id: 'GPU-3f2a9c1e-7b4d-4e21-9a0c-5d8e1f2b3c4d',
        kind: 'gpu',
        vendor: 'nvidia',
        driver: 'cuda',
        memory_mb: 81559,
        capabilities: ['gpu', 'nvidia', 'cuda', 'nvidia-h100'],
        api_version: '12.4',
      },
      {
        id: 'GPU-8c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
        kind: 'gpu',
        vendor: 'nvidia',
        driver: 'cuda',
        memory_mb: 81559,
        capabilities: ['gpu', 'nvidia', 'cuda', 'nvidia-h100'],
        api_version: '12.4',
      },
    ]);
    expect(r.rows[1]).toMatchObject({ index: 1, name: 'NVIDIA H100 80GB HBM3', memory_used_mb: 40213, driver_version: '550.54.15' });
  });

  it('reads four A100s in index order', () => {
    const r = parseNvidiaSmiCsv(fixture('a100x4.csv'));
    expect(r.devices.map((d) => d.id)).toEqual([
      'GPU-1a2b3c4d-0000-1111-2222-333344445555',
      'GPU-1a2b3c4d-0000-1111-2222-333344445556',
      'GPU-1a2b3c4d-0000-1111-2222-333344445557',
      'GPU-1a2b3c4d-0000-1111-2222-333344445558',
    ]);
    expect(r.devices.every((d) => d.memory_mb === 81920 && d.capabilities.includes('nvidia-a100'))).toBe(true);
    expect(r.devices[0]?.api_version).toBeNull();
  });

  it('reads a GeForce RTX 4090', () => {
    const [d] = parseNvidiaSmiCsv(fixture('rtx4090.csv'), { apiVersion: '12.4' }).devices;
    expect(d).toMatchObject({ memory_mb: 24564, capabilities: ['gpu', 'nvidia', 'cuda', 'nvidia-rtx-4090'] });
  });

  it('tolerates padding, CRLF, blank lines and [N/A] in mixed models', () => {
    const r = parseNvidiaSmiCsv(fixture('mixed.csv'));
    expect(r.issues).toEqual([]);
    expect(r.devices.map((d) => [d.id, d.memory_mb, d.capabilities.at(-1)])).toEqual([
      ['GPU-aaaaaaaa-1111-2222-3333-444444444444', 49140, 'nvidia-rtx-a6000'],
      ['GPU-bbbbbbbb-1111-2222-3333-444444444444', 24576, 'nvidia-rtx-3090'],
      // No UUID: the id falls back to `<driver>-<index>`; no memory: null, never 0.
      ['cuda-2', null, 'nvidia-t4'],
    ]);
    expect(r.rows[1]?.memory_used_mb).toBeNull();
    expect(r.rows[2]?.driver_version).toBeNull();
  });

  it('gives a GB10 (shared memory, memory.total [N/A]) the system memory when known', () => {
    expect(parseNvidiaSmiCsv(fixture('gb10.csv'), { systemMemoryMb: 124_000.7 }).devices[0]?.memory_mb).toBe(124_000);
    expect(parseNvidiaSmiCsv(fixture('gb10.csv')).devices[0]?.memory_mb).toBeNull();
  });

  it('reports a malformed line by number and keeps the others', () => {
    const text = `No devices were found\n${fixture('rtx4090.csv')}`;
    const r = parseNvidiaSmiCsv(text);
    expect(r.devices).toHaveLength(1);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ field: 'nvidia-smi', code: 'MN_E_INVALID_ARGUMENT' });
    expect(r.issues[0]?.message).toContain('line 1');
  });

  it('keeps a name containing commas whole, the outer columns being fixed', () => {
    const r = parseNvidiaSmiCsv('0, GPU-x, NVIDIA H100, Special, 81559, 0, 550.54.15');
    expect(r.rows[0]).toMatchObject({ name: 'NVIDIA H100, Special', memory_total_mb: 81559, driver_version: '550.54.15' });
  });

  it('reads empty output as no GPUs', () => {
    expect(parseNvidiaSmiCsv('\n\n')).toEqual({ devices: [], rows: [], issues: [] });
  });
});

describe('parseCudaVersion', () => {
  it('reads the CUDA version of the nvidia-smi header (550 and 535 layouts)', () => {
    expect(parseCudaVersion(fixture('header-550.txt'))).toBe('12.4');
    expect(parseCudaVersion(fixture('header-535.txt'))).toBe('12.2');
  });
  it('is null when the header has none', () => {
    expect(parseCudaVersion('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toBeNull();
  });
});

describe('GPU naming', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 'h100'],
    ['NVIDIA H100 PCIe', 'h100'],
    ['NVIDIA H200', 'h200'],
    ['NVIDIA GH200 480GB', 'gh200'],
    ['NVIDIA A100-SXM4-80GB', 'a100'],
    ['NVIDIA A100-PCIE-40GB', 'a100'],
    ['NVIDIA GeForce RTX 4090', 'rtx-4090'],
    ['NVIDIA GeForce RTX 4090 Laptop GPU', 'rtx-4090'],
    ['NVIDIA RTX A6000', 'rtx-a6000'],
    ['NVIDIA RTX PRO 6000 Blackwell Server Edition', 'rtx-pro-6000'],
    ['Tesla V100-SXM2-16GB', 'v100'],
    ['Tesla T4', 't4'],
    ['NVIDIA L40S', 'l40s'],
    ['NVIDIA GB10', 'gb10'],
    ['NVIDIA Graphics Device', null],
  ])('%s → %s', (name, model) => {
    expect(nvidiaModel(name)).toBe(model);
  });

  it.each([
    ['NVIDIA H100 80GB HBM3', 'nvidia'],
    ['Tesla T4', 'nvidia'],
    ['Apple M2 Max', 'apple'],
    ['AMD Instinct MI300X', 'amd'],
    ['Radeon RX 7900 XTX', 'amd'],
    ['Intel Arc A770', 'intel'],
    ['Matrox G200eR2', null],
  ])('vendor of %s is %s', (name, vendor) => {
    expect(inferGpuVendor(name)).toBe(vendor);
  });
});

describe('parseDarwinDisplays', () => {
  it('turns each Chipset Model into a Metal device sharing system memory', () => {
    const text = [
      'Graphics/Displays:',
      '',
      '    Apple M2 Max:',
      '',
      '      Chipset Model: Apple M2 Max',
      '      Type: GPU',
      '      Bus: Built-In',
      '      Total Number of Cores: 38',
      '      Vendor: Apple (0x106b)',
      '      Metal Support: Metal 3',
    ].join('\n');
    expect(parseDarwinDisplays(text, 65536)).toEqual([
      {
        id: 'metal-0',
        kind: 'gpu',
        vendor: 'apple',
        driver: 'metal',
        memory_mb: 65536,
        capabilities: ['gpu', 'apple', 'metal', 'unified-memory', 'apple-m2', 'apple-max'],
        api_version: null,
      },
    ]);
  });
});

describe('parseEnvInventory', () => {
  const parse = (env: Record<string, string>) => parseEnvInventory(env, 'gpu-a.lab.example');

  it('defaults: the original release node name, nothing advertised, GPUs detected', () => {
    expect(parse({})).toEqual({
      value: {
        name: 'mirror_neuron@gpu-a',
        capabilities: [],
        profiles: [],
        execution_profiles: {},
        gpu: { mode: 'detect' },
        host_paths: [],
        runtime_drivers: ['host_local'],
        cpu_model: null,
      },
      errors: [],
    });
    expect(defaultNodeName('')).toBe('mirror_neuron@localhost');
  });

  it('takes MN_NODE_NAME and rejects one with spaces, naming the variable', () => {
    expect(parse({ MN_NODE_NAME: ' gpu-a@lab ' }).value.name).toBe('gpu-a@lab');
    const r = parse({ MN_NODE_NAME: 'gpu a' });
    expect(r.value.name).toBe('mirror_neuron@gpu-a');
    expect(r.errors).toEqual([expect.objectContaining({ field: 'MN_NODE_NAME', code: 'MN_E_INVALID_ARGUMENT' })]);
  });

  it('normalises MN_NODE_CAPABILITIES and splits MN_NODE_EXECUTION_PROFILES', () => {
    const r = parse({ MN_NODE_CAPABILITIES: 'Video_Codec:H264, ffmpeg,,ffmpeg ', MN_NODE_EXECUTION_PROFILES: 'opencv, llm ,' });
    expect(r.value.capabilities).toEqual(['ffmpeg', 'video-codec:h264']);
    expect(r.value.profiles).toEqual(['opencv', 'llm']);
  });

  it('reads MN_EXECUTION_PROFILES_JSON into the planner shape, ignoring keys it does not use', () => {
    const r = parse({
      MN_EXECUTION_PROFILES_JSON: JSON.stringify({
        'opencv-video': { image: 'registry.local/cv:1', gpu: true, required_capabilities: ['Video_Codec:h264'] },
        plain: {},
      }),
    });
    expect(r.errors).toEqual([]);
    expect(r.value.execution_profiles).toEqual({ 'opencv-video': { gpu: true, required_capabilities: ['video-codec:h264'] }, plain: {} });
  });

  it.each([
    ['{"a": ', 'is not valid JSON'],
    ['[1, 2]', 'must be a JSON object'],
    ['{"a": 3}', 'profile "a" must be an object'],
    ['{"a": {"gpu": "yes"}}', 'profile "a": gpu must be true or false'],
    ['{"a": {"required_capabilities": "cuda"}}', 'profile "a": required_capabilities must be a list of strings'],
  ])('reports bad MN_EXECUTION_PROFILES_JSON %s without throwing', (json, message) => {
    const r = parse({ MN_EXECUTION_PROFILES_JSON: json });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.field).toBe('MN_EXECUTION_PROFILES_JSON');
    expect(r.errors[0]?.message).toContain('MN_EXECUTION_PROFILES_JSON');
    expect(r.errors[0]?.message).toContain(message);
    expect(r.value.execution_profiles).toEqual({});
  });

  it('keeps absolute MN_NODE_HOST_PATHS and rejects relative ones by name', () => {
    const r = parse({ MN_NODE_HOST_PATHS: '/mnt/models/, /data,models,~/cache,/data/' });
    expect(r.value.host_paths).toEqual(['/mnt/models', '/data']);
    expect(r.errors.map((e) => e.field)).toEqual(['MN_NODE_HOST_PATHS', 'MN_NODE_HOST_PATHS']);
    expect(r.errors[0]?.message).toContain('"models" must be an absolute path');
    expect(r.errors[1]?.message).toContain('~ is not expanded');
  });

  it('adds MN_NODE_RUNTIME_DRIVERS after host_local', () => {
    expect(parse({ MN_NODE_RUNTIME_DRIVERS: 'docker_worker, HOST_LOCAL' }).value.runtime_drivers).toEqual(['host_local', 'docker_worker']);
  });

  it.each([
    [{}, 'detect'],
    [{ MN_NODE_GPU: 'auto' }, 'detect'],
    [{ MN_NODE_GPU: 'none' }, 'none'],
    [{ MN_NODE_GPU: '0' }, 'none'],
    [{ MN_NODE_GPU: 'off' }, 'none'],
    [{ MN_NODE_GPU: 'nvidia:0' }, 'none'],
    [{ MN_NODE_GPU: 'TRUE' }, 'require'],
    [{ MN_NODE_GPU: 'nvidia:2' }, 'declare'],
    [{ MN_NODE_GPU: '3' }, 'declare'],
    [{ MN_NODE_GPU: 'NVIDIA H100 80GB HBM3' }, 'declare'],
    [{ MN_NODE_GPU_COUNT: '0', MN_NODE_GPU: 'true' }, 'none'],
    [{ MN_NODE_GPU_COUNT: '2', MN_NODE_GPU: 'none' }, 'declare'],
  ])('MN_NODE_GPU %j → %s', (env, mode) => {
    const r = parse(env as Record<string, string>);
    expect(r.errors).toEqual([]);
    expect(r.value.gpu.mode).toBe(mode);
  });

  it('describes declared GPUs: vendor:count, a GPU name, and the MN_NODE_GPU_* variables', () => {
    expect(parse({ MN_NODE_GPU: 'amd:4' }).value.gpu).toMatchObject({ mode: 'declare', count: 4, declared: { vendor: 'amd', driver: 'rocm' } });
    expect(parse({ MN_NODE_GPU: 'NVIDIA H100 80GB HBM3' }).value.gpu).toMatchObject({
      mode: 'declare',
      count: 1,
      declared: { name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', driver: 'cuda' },
    });
    expect(
      parse({ MN_NODE_GPU_COUNT: '2', MN_NODE_GPU_TYPE: 'nvidia/gpu', MN_NODE_GPU_API_VERSION: '12.4', MN_NODE_GPU_MEMORY_MB: '24576', MN_NODE_GPU_DRIVER_VERSION: '550.54.15' })
        .value.gpu,
    ).toEqual({
      mode: 'declare',
      count: 2,
      declared: { name: null, vendor: 'nvidia', driver: 'cuda', api_version: '12.4', driver_version: '550.54.15', memory_mb: 24576 },
    });
  });

  it.each([
    [{ MN_NODE_GPU: 'tpu:2' }, 'MN_NODE_GPU'],
    [{ MN_NODE_GPU: 'nvidia:two' }, 'MN_NODE_GPU'],
    [{ MN_NODE_GPU_COUNT: '-1' }, 'MN_NODE_GPU_COUNT'],
    [{ MN_NODE_GPU_COUNT: '1.5' }, 'MN_NODE_GPU_COUNT'],
    [{ MN_NODE_GPU_VENDOR: 'matrox' }, 'MN_NODE_GPU_VENDOR'],
    [{ MN_NODE_GPU_MEMORY_MB: 'lots' }, 'MN_NODE_GPU_MEMORY_MB'],
  ])('reports %j under %s and falls back to detection', (env, field) => {
    const r = parse(env as Record<string, string>);
    expect(r.errors.map((e) => e.field)).toEqual([field]);
    expect(r.value.gpu.mode).toBe('detect');
  });
});

describe('buildNodeInventory', () => {
  const h100 = parseNvidiaSmiCsv(fixture('h100x2.csv'), { apiVersion: '12.4' }).devices;
  const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
    hostname: 'gpu-a.lab.example',
    cpu: { logical_cores: 32, model: 'AMD EPYC 7543 32-Core Processor' },
    memory: { total_mb: 262_144.9, available_mb: 250_000.5 },
    disk: { total_mb: 1_048_576, available_mb: 900_000.2, mount: '/' },
    os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', kernel: '5.15.0-105-generic' },
    arch: 'x64',
    gpus: h100,
    gpu_driver_version: '550.54.15',
    env: {},
    ...over,
  });

  it('builds the cluster-file node record of an H100 host', () => {
    const r = buildNodeInventory(facts({ env: { MN_NODE_NAME: 'gpu-a@lab', MN_NODE_CAPABILITIES: 'ffmpeg', MN_NODE_HOST_PATHS: '/mnt/models' } }));
    expect(r.errors).toEqual([]);
    expect(r.node).toEqual({
      name: 'gpu-a@lab',
      status: 'healthy',
      scheduling_eligible: true,
      resources: { cpu_cores: 32, memory_mb: 250_000, disk_mb: 900_000, gpu_count: 2 },
      devices: h100,
      attributes: {
        os: 'linux',
        arch: 'x86_64',
        'cpu.arch': 'x86_64',
        'cpu.cores': 32,
        'cpu.model': 'AMD EPYC 7543 32-Core Processor',
        'kernel.version': '5.15.0-105-generic',
        'os.name': 'Ubuntu',
        'os.version': '22.04',
        'unique.hostname': 'gpu-a.lab.example',
        'memory.total_mb': 262_144,
        'disk.total_mb': 1_048_576,
        'gpu.driver_version': '550.54.15',
      },
      capabilities: ['cuda', 'ffmpeg', 'gpu', 'nvidia', 'nvidia-h100'],
      profiles: [],
      runtime_drivers: ['host_local'],
      host_paths: ['/mnt/models'],
    });
  });

  it('is a valid cluster-file node that parses back unchanged', () => {
    const { node } = buildNodeInventory(facts({ env: { MN_NODE_HOST_PATHS: '/mnt/models/', MN_NODE_EXECUTION_PROFILES: 'llm' } }));
    expect(parseClusterFile({ nodes: [node] }).nodes[0]).toEqual(node);
  });

  it('advertises total memory and disk when available is unknown', () => {
    const { node } = buildNodeInventory(facts({ memory: { total_mb: 4096.6 }, disk: { total_mb: 1000, available_mb: null } }));
    expect(node.resources).toMatchObject({ memory_mb: 4096, disk_mb: 1000 });
  });

  it('MN_NODE_GPU=none hides detected GPUs and says so', () => {
    const r = buildNodeInventory(facts({ env: { MN_NODE_GPU: 'none' } }));
    expect(r.node.devices).toEqual([]);
    expect(r.node.resources.gpu_count).toBe(0);
    expect(r.node.capabilities).toEqual([]);
    expect(r.node.attributes['gpu.driver_version']).toBeUndefined();
    expect(r.notes.join('\n')).toContain('2 detected GPU(s) are not advertised');
  });

  it('MN_NODE_GPU=nvidia:2 declares two CUDA GPUs instead of detecting', () => {
    const r = buildNodeInventory(facts({ gpus: [], env: { MN_NODE_GPU: 'nvidia:2', MN_NODE_GPU_MEMORY_MB: '24576', MN_NODE_GPU_API_VERSION: '12.2' } }));
    expect(r.node.devices).toEqual([0, 1].map((i) => ({
      id: `cuda-${i}`,
      kind: 'gpu',
      vendor: 'nvidia',
      driver: 'cuda',
      memory_mb: 24576,
      capabilities: ['gpu', 'nvidia', 'cuda'],
      api_version: '12.2',
    })));
    expect(r.node.resources.gpu_count).toBe(2);
  });

  it('a GPU name in MN_NODE_GPU yields its hardware capabilities', () => {
    const r = buildNodeInventory(facts({ gpus: [], env: { MN_NODE_GPU: 'NVIDIA H100 80GB HBM3' } }));
    expect(r.node.capabilities).toEqual(['cuda', 'gpu', 'nvidia', 'nvidia-h100']);
  });

  it('MN_NODE_GPU=true keeps detected GPUs, and declares one when none is detected', () => {
    expect(buildNodeInventory(facts({ env: { MN_NODE_GPU: 'true' } })).node.devices).toEqual(h100);
    const r = buildNodeInventory(facts({ gpus: [], env: { MN_NODE_GPU: 'true', MN_NODE_GPU_VENDOR: 'apple' } }));
    expect(r.node.devices).toEqual([expect.objectContaining({ id: 'metal-0', vendor: 'apple', driver: 'metal' })]);
    expect(r.notes.join('\n')).toContain('none was detected');
  });

  it('returns env errors instead of throwing, and still builds the node without the bad values', () => {
    const r = buildNodeInventory(facts({ env: { MN_EXECUTION_PROFILES_JSON: '{oops', MN_NODE_HOST_PATHS: 'relative/path,/ok' } }));
    expect(r.errors.map((e) => e.field).sort()).toEqual(['MN_EXECUTION_PROFILES_JSON', 'MN_NODE_HOST_PATHS']);
    expect(r.node.host_paths).toEqual(['/ok']);
  });

  it('reports impossible host facts by field', () => {
    const r = buildNodeInventory(facts({ cpu: { logical_cores: -1 }, memory: { total_mb: Number.NaN } }));
    expect(r.errors.map((e) => e.field)).toEqual(['cpu.logical_cores', 'memory.total_mb']);
    expect(r.node.resources.cpu_cores).toBe(0);
  });

  it('notes advertised profiles the node cannot serve', () => {
    const r = buildNodeInventory(
      facts({
        gpus: [],
        env: {
          MN_NODE_EXECUTION_PROFILES: 'cv,llm,ghost',
          MN_EXECUTION_PROFILES_JSON: JSON.stringify({ cv: { required_capabilities: ['video-codec:h264'] }, llm: { gpu: true } }),
        },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.node.profiles).toEqual(['cv', 'llm', 'ghost']);
    expect(r.notes).toEqual([
      'execution profile cv requires capabilities this node lacks: video-codec:h264',
      'execution profile llm needs a GPU but this node advertises none',
      'execution profile ghost is advertised but not defined in MN_EXECUTION_PROFILES_JSON',
    ]);
    expect(r.execution_profiles).toEqual({ cv: { required_capabilities: ['video-codec:h264'] }, llm: { gpu: true } });
  });

  it('names OS and architecture as uname does (Apple arm64 stays arm64)', () => {
    expect(buildNodeInventory(facts({ os: { platform: 'darwin' }, arch: 'arm64' })).node.attributes).toMatchObject({ os: 'darwin', arch: 'arm64' });
    expect(buildNodeInventory(facts({ os: { platform: 'linux' }, arch: 'arm64' })).node.attributes).toMatchObject({ arch: 'aarch64' });
    expect(buildNodeInventory(facts({ os: { platform: 'win32' }, arch: 'x64' })).node.attributes).toMatchObject({ os: 'windows', arch: 'x86_64' });
  });

  it('MN_NODE_CPU_MODEL overrides the detected model', () => {
    expect(buildNodeInventory(facts({ env: { MN_NODE_CPU_MODEL: 'Custom CPU' } })).node.attributes['cpu.model']).toBe('Custom CPU');
  });
});
