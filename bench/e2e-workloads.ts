/**
 * "End to end" workloads: what a library user gets from `simulatePlan` (package entry, raw
 * manifests validated on every call) on a 10,000-node heterogeneous cluster, beside the kernel
 * alone doing the same kernel calls in the same run.
 *
 * The kernel-only figure replays the exact kernel calls the planner made (loads, eligibility and
 * slot views, place calls), recorded by a kernel wrapper, on a fresh kernel of the same engine:
 * so the ratio end-to-end / kernel-only is the cost of everything around the kernel.
 */
import type { ClusterState } from '../src/core/cluster/types.js';
import type { KernelPlaceOptions, KernelPropertyLimit, KernelSpread, PlacementKernel } from '../src/core/placement/kernel-types.js';
import { makeCluster } from './fixtures.js';

type Manifest = Record<string, unknown>;

/** The cluster: 60% 16-core, 30% 64-core, 10% 8-GPU (24/80 GB GPUs), zones and racks. */
export function e2eCluster(n: number): ClusterState {
  return makeCluster('hetero-ai', n, 16);
}

const CAPABILITIES = ['ffmpeg', 'playwright', 'tesseract', 'pandoc', 'chromium', 'sqlite', 'rust', 'python3'];

/** One manifest node with `count` identical agents. */
export function identicalManifest(count: number): Manifest {
  return {
    manifest_version: '1.0',
    graph_id: 'e2e-identical',
    nodes: [{ node_id: 'worker', agent_type: 'executor', role: 'root', count, resources: { cpu_cores: 0.1, memory_mb: 256 } }],
    edges: [],
    policies: { job_type: 'batch' },
  };
}

/**
 * `agents` distinct agents (one manifest node each): every 7th zone-constrained, every 11th a
 * capability, every 13th a rack regexp, every 29th 1-3 GPUs of >= 16 or 40 GB.
 */
export function distinctManifest(agents: number): Manifest {
  const nodes: Array<Record<string, unknown>> = [];
  for (let k = 0; k < agents; k++) {
    const constraints: unknown[] = [];
    if (k % 7 === 0) constraints.push({ attribute: 'zone', operator: '==', value: `zone-${1 + (k % 3)}` });
    if (k % 11 === 0) constraints.push({ attribute: 'capabilities', operator: 'contains', value: CAPABILITIES[k % CAPABILITIES.length]! });
    if (k % 13 === 0) constraints.push({ attribute: 'rack', operator: 'regexp', value: `^r[0-${1 + (k % 4)}][0-9]$` });
    const resources: Record<string, unknown> = {
      cpu_cores: 0.25 * (1 + (k % 8)),
      memory_mb: 256 * (1 + (k % 16)),
    };
    if (k % 29 === 0) {
      resources.devices = [{ kind: 'gpu', count: 1 + (k % 3), min_memory_mb: k % 2 === 0 ? 16_384 : 40_960 }];
    }
    nodes.push({ node_id: `a${k}`, agent_type: 'executor', ...(k === 0 ? { role: 'root' } : {}), resources, ...(constraints.length > 0 ? { constraints } : {}) });
  }
  return { manifest_version: '1.0', graph_id: 'e2e-distinct', nodes, edges: [], policies: { job_type: 'batch' } };
}

/** One recorded kernel event. */
type KernelEvent =
  | { kind: 'load'; cap: Float64Array; free: Float64Array; n: number }
  | { kind: 'place'; elig: Uint8Array | null; slots: Int32Array | null; options: KernelPlaceOptions }
  | { kind: 'touch'; i: number; free: Float64Array };

function copySpread(s: KernelSpread | null | undefined): KernelSpread | null {
  if (!s) return null;
  return { ...s, values: s.values.slice(), counts: s.counts.slice(), desired: s.desired.slice(), weights: s.weights.slice() };
}

function copyProperty(p: KernelPropertyLimit | null | undefined): KernelPropertyLimit | null {
  if (!p) return null;
  return { values: p.values.slice(), remaining: p.remaining.slice() };
}

function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Wraps a kernel and records its inputs (views are copied only when they changed since the last
 * call, so a plan of 10,000 calls stays small).
 */
export class RecordingKernel implements PlacementKernel {
  readonly events: KernelEvent[] = [];
  /** The views as the last call left them (the kernel writes to slots), null after a load. */
  private lastElig: Uint8Array | null = null;
  private lastSlots: Int32Array | null = null;

  constructor(private readonly inner: PlacementKernel) {}

  get engine(): 'wasm' | 'js' {
    return this.inner.engine;
  }

  get nodeCount(): number {
    return this.inner.nodeCount;
  }

  load(cap: Float64Array, free: Float64Array, n: number): void {
    this.inner.load(cap, free, n);
    this.events.push({ kind: 'load', cap: cap.slice(), free: free.slice(), n });
    this.lastElig = null;
    this.lastSlots = null;
  }

  cap(): Float64Array {
    return this.inner.cap();
  }

  free(): Float64Array {
    return this.inner.free();
  }

  elig(): Uint8Array {
    return this.inner.elig();
  }

  slots(): Int32Array {
    return this.inner.slots();
  }

  place(options: KernelPlaceOptions): { placed: number; out: Int32Array } {
    const e = this.inner.elig();
    const s = this.inner.slots();
    const elig = this.lastElig !== null && sameBytes(this.lastElig, e) ? null : e.slice();
    const slots = this.lastSlots !== null && sameBytes(this.lastSlots, s) ? null : s.slice();
    this.events.push({
      kind: 'place',
      elig,
      slots,
      options: { ...options, ask: options.ask.slice(), spread: copySpread(options.spread), property: copyProperty(options.property) },
    });
    const result = this.inner.place(options);
    this.lastElig = this.inner.elig().slice();
    this.lastSlots = this.inner.slots().slice();
    return result;
  }

  touch(i: number): void {
    this.inner.touch(i);
    const n = this.inner.nodeCount;
    const f = this.inner.free();
    this.events.push({ kind: 'touch', i, free: Float64Array.from({ length: 4 }, (_, d) => f[d * n + i]!) });
  }

  score(i: number, ask: Float64Array, strategy: number): number {
    return this.inner.score(i, ask, strategy);
  }
}

/**
 * Replays recorded events on `kernel`; returns placements made. Spread and property inputs are
 * copied before each call (the kernel updates them in place), as the planner builds them.
 */
export function replay(kernel: PlacementKernel, events: readonly KernelEvent[]): number {
  let placed = 0;
  for (const ev of events) {
    if (ev.kind === 'load') {
      kernel.load(ev.cap, ev.free, ev.n);
    } else if (ev.kind === 'touch') {
      const n = kernel.nodeCount;
      const f = kernel.free();
      for (let d = 0; d < 4; d++) f[d * n + ev.i] = ev.free[d]!;
      kernel.touch(ev.i);
    } else {
      if (ev.elig) kernel.elig().set(ev.elig);
      if (ev.slots) kernel.slots().set(ev.slots);
      const o = ev.options;
      placed += kernel.place({ ...o, spread: copySpread(o.spread), property: copyProperty(o.property) }).placed;
    }
  }
  return placed;
}
