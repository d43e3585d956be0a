/**
 * Seeded fixtures for the SB benchmark suite (scheduler-anchors §3.3): node mixes `hetero-ai`,
 * `nomad-bench` and `k8s-default` at any size, and agent workloads for the job families J1-J6, both
 * as kernel calls (asks plus eligibility masks) and as manifests for `simulatePlan`.
 */
import type { ClusterDevice, ClusterNode, ClusterState } from '../src/core/cluster/types.js';

export type NodeMix = 'hetero-ai' | 'nomad-bench' | 'k8s-default';
export const NODE_MIXES: readonly NodeMix[] = ['hetero-ai', 'nomad-bench', 'k8s-default'];
export const NODE_COUNTS = [100, 1_000, 5_000, 10_000] as const;

/** mulberry32: small, fast, good enough for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIB = 1024;
const CAPABILITY_POOL = ['ffmpeg', 'playwright', 'tesseract', 'pandoc', 'chromium', 'sqlite', 'rust', 'python3'];
const GPU_MODELS = [
  { model: 'a100', memory_mb: 80 * GIB, api: '12.4' },
  { model: 'h100', memory_mb: 80 * GIB, api: '12.6' },
  { model: 'l4', memory_mb: 24 * GIB, api: '12.2' },
  { model: 'a10g', memory_mb: 24 * GIB, api: '12.2' },
];

function gpus(count: number, models: Array<(typeof GPU_MODELS)[number]>): ClusterDevice[] {
  return Array.from({ length: count }, (_, k) => {
    const m = models[k < count / 2 || models.length === 1 ? 0 : 1]!;
    return {
      id: `GPU-${k}`,
      kind: 'gpu',
      vendor: 'nvidia',
      driver: 'cuda',
      memory_mb: m.memory_mb,
      capabilities: ['fp16', m.model],
      api_version: m.api,
    };
  });
}

function node(name: string, cpu: number, mem: number, disk: number, devices: ClusterDevice[], attributes: ClusterNode['attributes'], capabilities: string[]): ClusterNode {
  return {
    name,
    status: 'healthy',
    scheduling_eligible: true,
    resources: { cpu_cores: cpu, memory_mb: mem, disk_mb: disk, gpu_count: devices.length },
    devices,
    attributes,
    capabilities: devices.length > 0 ? [...capabilities, 'cuda'] : capabilities,
    profiles: [],
    runtime_drivers: ['process'],
    host_paths: ['/srv'],
  };
}

/** A cluster of `n` nodes of the given mix, deterministic for a seed. */
export function makeCluster(mix: NodeMix, n: number, seed = 1): ClusterState {
  const r = rng(seed * 7919 + n);
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const caps = CAPABILITY_POOL.filter(() => r() < 0.4);
    if (mix === 'hetero-ai') {
      const zone = `zone-${1 + (i % 3)}`;
      const rack = `r${String(1 + Math.floor(r() * 50)).padStart(2, '0')}`;
      const attributes = {
        zone,
        rack,
        os: 'linux',
        arch: r() < 0.8 ? 'x86_64' : 'arm64',
        'kernel.version': r() < 0.5 ? '6.8.0' : '6.1.0',
        'driver.version': `5${Math.floor(r() * 6)}0.${Math.floor(r() * 100)}`,
        pool: r() < 0.7 ? 'general' : 'batch',
        dc: r() < 0.5 ? 'dc1' : 'dc2',
      };
      const kind = r();
      if (kind < 0.6) nodes.push(node(`small-${zone}-${i}`, 16, 64 * GIB, 200 * 1000, [], attributes, caps));
      else if (kind < 0.9) nodes.push(node(`large-${zone}-${i}`, 64, 256 * GIB, 1000 * 1000, [], attributes, caps));
      else {
        const model = GPU_MODELS[Math.floor(r() * GPU_MODELS.length)]!;
        const models = r() < 0.05 ? [model, GPU_MODELS[(GPU_MODELS.indexOf(model) + 1) % GPU_MODELS.length]!] : [model];
        nodes.push(node(`gpu-${zone}-${i}`, 32, 256 * GIB, 1000 * 1000, gpus(8, models), { ...attributes, 'gpu.model': model.model }, caps));
      }
    } else if (mix === 'nomad-bench') {
      const attributes = { dc: i % 2 === 0 ? 'dc1' : 'dc2', rack: `r${i % 50}`, os: 'linux', pool: 'general', zone: `zone-${1 + (i % 3)}` };
      nodes.push(node(`nomad-${i}`, 14, 32_000, 100 * GIB, [], attributes, caps));
    } else {
      const attributes = { zone: `moon-${1 + (i % 3)}`, os: 'linux', pool: 'general', rack: `r${i % 20}` };
      nodes.push(node(`k8s-${i}`, 4, 32 * GIB, 100 * GIB, [], attributes, caps));
    }
  }
  return { nodes, allocations: [], services: [] };
}

export type Family = 'J1' | 'J2' | 'J3' | 'J4' | 'J5' | 'J6';

/** One equivalence class of identical agents as the kernel sees it. */
export interface KernelClass {
  family: Family;
  ask: Float64Array;
  count: number;
  /** Nodes that pass the class's static filters (constraints, devices). */
  elig: Uint8Array;
  /** Discrete slots per node, or null (unlimited). */
  slots: Int32Array | null;
}

/** Eligibility mask with roughly `fraction` of the nodes passing, chosen from a seeded stream. */
function mask(n: number, fraction: number, r: () => number, also?: (i: number) => boolean): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = r() < fraction && (also ? also(i) : true) ? 1 : 0;
  return m;
}

/** J6 shape distribution (Appendix B): cpu cores, memory MiB (×U(0.5,1.5)), 3% GPU (1 or 4). */
function j6Ask(r: () => number): [number, number, number] {
  const x = r();
  const [cpu, gib] = x < 0.25 ? [0.25, 0.5] : x < 0.5 ? [0.5, 1] : x < 0.7 ? [1, 2] : x < 0.85 ? [2, 4] : x < 0.95 ? [4, 16] : [8, 32];
  const gpu = r() < 0.03 ? (r() < 0.5 ? 1 : 4) : 0;
  return [cpu, Math.round(gib * GIB * (0.5 + r())), gpu];
}

/**
 * Distinct single-agent classes in a J3 (constraint mix at 90/50/10/1% selectivity, a quarter
 * with distinct_hosts-style single slots) and J5 (1/2/4/8 GPUs on matching GPU nodes) mix.
 */
export function distinctClasses(cluster: ClusterState, agents: number, seed = 1): KernelClass[] {
  const r = rng(seed);
  const n = cluster.nodes.length;
  const gpuNode = (i: number): boolean => cluster.nodes[i]!.resources.gpu_count > 0;
  const hasGpu = cluster.nodes.some((nd) => nd.resources.gpu_count > 0);
  const masks = [0.9, 0.5, 0.1, 0.01].map((f) => Array.from({ length: 8 }, () => mask(n, f, r)));
  const gpuMasks = Array.from({ length: 8 }, () => mask(n, 0.6, r, gpuNode));
  const out: KernelClass[] = [];
  for (let k = 0; k < agents; k++) {
    if (hasGpu && r() < 0.2) {
      const g = [1, 2, 4, 8][Math.floor(r() * 4)]!;
      out.push({ family: 'J5', ask: Float64Array.from([2 * g, 16 * GIB * g, 50_000, g]), count: 1, elig: gpuMasks[k % 8]!, slots: null });
    } else {
      const sel = masks[Math.floor(r() * 4)]!;
      const [cpu, mem] = j6Ask(r);
      const slots = r() < 0.25 ? new Int32Array(n).fill(1) : null;
      out.push({ family: 'J3', ask: Float64Array.from([cpu, mem, 1000, 0]), count: 1, elig: sel[k % 8]!, slots });
    }
  }
  return out;
}

/** J6 binpack stress: `agents` single agents drawn from the Appendix B distribution, all nodes eligible. */
export function j6Classes(cluster: ClusterState, agents: number, seed = 1): KernelClass[] {
  const r = rng(seed + 6);
  const n = cluster.nodes.length;
  const all = new Uint8Array(n).fill(1);
  const gpuOk = Uint8Array.from(cluster.nodes, (nd) => (nd.resources.gpu_count > 0 ? 1 : 0));
  return Array.from({ length: agents }, () => {
    const [cpu, mem, gpu] = j6Ask(r);
    return { family: 'J6' as const, ask: Float64Array.from([cpu, mem, 0, gpu]), count: 1, elig: gpu > 0 ? gpuOk : all, slots: null };
  });
}
