/**
 * Fixtures for placement tests: manifests written as users write them, and the spec's node
 * fixtures (`small@lab`, `large@lab`, `gpu@lab`, `cuda@lab`, ... of spec §11).
 */
import { validateManifest } from '../../../src/core/manifest/validate.js';
import type { Job } from '../../../src/core/manifest/types.js';
import { simulatePlan, type SimulateOptions } from '../../../src/core/placement/simulate.js';
import type { Plan } from '../../../src/core/placement/plan-types.js';

export type Raw = Record<string, unknown>;

/** A one-job manifest; each entry of `nodes` is merged over a minimal executor node. */
export function manifest(graphId: string, nodes: Raw[], extra: Raw = {}): Raw {
  return {
    manifest_version: '1.0',
    graph_id: graphId,
    nodes: nodes.map((n, i) => ({ agent_type: 'executor', ...(i === 0 ? { role: 'root' } : {}), ...n })),
    ...extra,
  };
}

/** Validates a manifest and returns its job; fails the test with the errors otherwise. */
export function job(raw: Raw): Job {
  const r = validateManifest(raw);
  if (!r.ok || !r.job) throw new Error(`fixture manifest invalid: ${JSON.stringify(r.errors)}`);
  return r.job;
}

/** A cluster node with defaults (healthy, eligible, host_local). */
export function node(name: string, cpu: number, memory: number, extra: Raw = {}): Raw {
  return { name, status: 'healthy', scheduling_eligible: true, resources: { cpu_cores: cpu, memory_mb: memory, disk_mb: 100_000 }, ...extra };
}

export function gpuDevice(id: string, driver: string, memory: number, extra: Raw = {}): Raw {
  const vendor = driver === 'cuda' ? 'nvidia' : driver === 'metal' ? 'apple' : 'amd';
  return { id, kind: 'gpu', vendor, driver, memory_mb: memory, ...extra };
}

export const small = (extra: Raw = {}): Raw => node('small@lab', 4, 4096, extra);
export const large = (extra: Raw = {}): Raw => node('large@lab', 8, 16384, extra);
export const gpuNode = (extra: Raw = {}): Raw =>
  node('gpu@lab', 8, 32768, {
    capabilities: ['cuda', 'metal', 'llm'],
    profiles: ['mlx-metal'],
    devices: [gpuDevice('gpu-0', 'cuda', 24576)],
    ...extra,
  });
export const cudaNode = (name = 'cuda@lab', extra: Raw = {}): Raw =>
  node(name, 16, 65536, {
    devices: [gpuDevice('cuda-0', 'cuda', 24576, { api_version: '12.4' }), gpuDevice('cuda-1', 'cuda', 24576, { api_version: '12.4' })],
    ...extra,
  });
export const metalNode = (extra: Raw = {}): Raw =>
  node('metal@lab', 10, 32768, { devices: [gpuDevice('metal-0', 'metal', 32768)], ...extra });
export const h100Node = (api: string, memory = 81920, extra: Raw = {}): Raw =>
  node('h100@lab', 32, 262144, { devices: [gpuDevice('h100-0', 'cuda', memory, { api_version: api })], ...extra });
export const multiGpuNode = (extra: Raw = {}): Raw =>
  node('multi-gpu@lab', 32, 131072, {
    devices: [0, 1, 2, 3].map((k) => gpuDevice(`GPU-${k}`, 'cuda', 40960)),
    ...extra,
  });

/** Runs `simulatePlan` on raw cluster and manifest objects. */
export function plan(cluster: Raw, manifests: Raw[], options: Partial<SimulateOptions> = {}): Plan {
  return simulatePlan({ ...options, cluster, jobs: manifests.map(job) });
}

/** `agent_id → node` of a plan. */
export function where(p: Plan): Record<string, string> {
  return Object.fromEntries(p.placements.map((x) => [x.agent_id, x.node]));
}
