/**
 * Per-plan preparation of a cluster: capacity columns, node classes and per-node lookups, built
 * once so that placing each agent group touches only typed arrays.
 */
import type { ClusterNode, ClusterService, ClusterState } from '../cluster/types.js';
import { DIMENSIONS } from './kernel-types.js';
import { portKey } from './filters.js';

/**
 * Nodes grouped by a key (a machine shape for one concern: an attribute's value, the device list,
 * the runtime drivers, ...): `values[i]` is node i's group, `reps[v]` the first node of group v.
 * Predicates of that concern are evaluated once per group instead of once per node.
 */
export interface KeyedColumn {
  values: Int32Array;
  reps: Int32Array;
  count: number;
}

/** Values of one attribute over all nodes: `values[i]` indexes `names`, -1 when absent. */
export interface AttributeColumn {
  values: Int32Array;
  names: string[];
}

/**
 * Facts that depend only on the cluster (not on plan options), computed once per `ClusterState`
 * and reused by every plan over it: capacity columns, node classes, services per node, attribute
 * columns. Node class = every status-independent attribute that string constraints can read
 * (attributes, capabilities, profiles, drivers, host paths): such constraints are evaluated once
 * per class instead of once per node.
 */
interface ClusterLayout {
  cap: Float64Array;
  classOf: Int32Array;
  classReps: ClusterNode[];
  nodeIndex: Map<string, number>;
  servicesAt: Array<ClusterService[] | undefined>;
  columns: Map<string, AttributeColumn>;
  keyed: Map<string, KeyedColumn>;
  /** Node filter verdicts and device tables by key (pure functions of the nodes; bounded). */
  facts: Map<string, Uint32Array | Int32Array>;
  factBytes: number;
}

/** Most bytes of cached filter verdicts and device tables kept per cluster. */
const FACT_BYTES = 32 * 2 ** 20;

const layouts = new WeakMap<ClusterState, ClusterLayout>();

function layoutOf(cluster: ClusterState): ClusterLayout {
  const cached = layouts.get(cluster);
  if (cached) return cached;
  const nodes = cluster.nodes;
  const n = nodes.length;
  const cap = new Float64Array(DIMENSIONS * n);
  const classOf = new Int32Array(n);
  const classReps: ClusterNode[] = [];
  const nodeIndex = new Map<string, number>();
  // Classes by a 30-bit structural hash; equal hashes are confirmed by `sameClass`, chained
  // through `nextSameHash` (class id → next class id with that hash, -1 at the end).
  const firstByHash = new Map<number, number>();
  const nextSameHash: number[] = [];
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!;
    nodeIndex.set(node.name, i);
    const r = node.resources;
    cap[i] = r.cpu_cores;
    cap[n + i] = r.memory_mb;
    cap[2 * n + i] = r.disk_mb;
    cap[3 * n + i] = r.gpu_count;
    const h = classHash(node);
    const head = firstByHash.get(h);
    let id = head === undefined ? -1 : head;
    while (id >= 0 && !sameClass(classReps[id]!, node)) id = nextSameHash[id]!;
    if (id < 0) {
      id = classReps.length;
      classReps.push(node);
      nextSameHash.push(head === undefined ? -1 : head);
      firstByHash.set(h, id);
    }
    classOf[i] = id;
  }
  const servicesAt = new Array<ClusterService[] | undefined>(n);
  for (const s of cluster.services) {
    const i = nodeIndex.get(s.node);
    if (i !== undefined) (servicesAt[i] ??= []).push(s);
  }
  const layout: ClusterLayout = { cap, classOf, classReps, nodeIndex, servicesAt, columns: new Map(), keyed: new Map(), facts: new Map(), factBytes: 0 };
  layouts.set(cluster, layout);
  return layout;
}

/** Everything the planner reads about a cluster for one plan (layout plus option-dependent state). */
export class ClusterIndex {
  readonly n: number;
  readonly nodes: readonly ClusterNode[];
  /** Capacity, dimension-major (`cap[d*n + i]`): cpu, memory, disk, gpu. Shared: never write. */
  readonly cap: Float64Array;
  /** Free capacity after the cluster file's allocations (minus ignored jobs). */
  readonly baseFree: Float64Array;
  readonly classOf: Int32Array;
  /** One representative node per class. */
  readonly classReps: readonly ClusterNode[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  /** Service instances per node index. */
  readonly servicesAt: ReadonlyArray<ClusterService[] | undefined>;
  /** Port keys and device ids held by the cluster file's allocations, per node index. */
  readonly basePorts: Array<Set<string> | undefined>;
  readonly baseDevices: Array<Set<string> | undefined>;
  /** Nodes that may accept placements at all (status, eligibility, not excluded). */
  readonly schedulable: Uint8Array;
  readonly excluded: Uint8Array;
  private readonly columns: Map<string, AttributeColumn>;
  private readonly keyedColumns: Map<string, KeyedColumn>;
  private readonly layout: ClusterLayout;

  constructor(cluster: ClusterState, options: { excludeNodes?: readonly string[]; ignoreJobIds?: readonly string[] } = {}) {
    const layout = layoutOf(cluster);
    const nodes = cluster.nodes;
    const n = nodes.length;
    this.n = n;
    this.nodes = nodes;
    this.cap = layout.cap;
    this.classOf = layout.classOf;
    this.classReps = layout.classReps;
    this.nodeIndex = layout.nodeIndex;
    this.servicesAt = layout.servicesAt;
    this.columns = layout.columns;
    this.keyedColumns = layout.keyed;
    this.layout = layout;
    this.schedulable = new Uint8Array(n);
    this.excluded = new Uint8Array(n);
    this.basePorts = new Array<Set<string> | undefined>(n);
    this.baseDevices = new Array<Set<string> | undefined>(n);
    const exclude = options.excludeNodes && options.excludeNodes.length > 0 ? new Set(options.excludeNodes) : null;
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!;
      this.excluded[i] = exclude !== null && exclude.has(node.name) ? 1 : 0;
      this.schedulable[i] =
        !this.excluded[i] && (node.status === 'healthy' || node.status === 'joining') && node.scheduling_eligible ? 1 : 0;
    }
    this.baseFree = this.cap.slice();
    const ignore = new Set(options.ignoreJobIds ?? []);
    for (const a of cluster.allocations) {
      if (ignore.has(a.job_id)) continue;
      const i = this.nodeIndex.get(a.node);
      if (i === undefined) continue;
      this.baseFree[i]! -= a.resources.cpu_cores;
      this.baseFree[n + i]! -= a.resources.memory_mb;
      this.baseFree[2 * n + i]! -= a.resources.disk_mb;
      this.baseFree[3 * n + i]! -= a.resources.gpu_count;
      if (a.ports.length > 0) {
        const set = (this.basePorts[i] ??= new Set());
        for (const p of a.ports) set.add(portKey(p.port, p.protocol));
      }
      if (a.devices.length > 0) {
        const set = (this.baseDevices[i] ??= new Set());
        for (const d of a.devices) set.add(d);
      }
    }
  }

  /**
   * A fact about the cluster's nodes computed by `make` (a filter's verdict per node, a device
   * table per shape), cached per cluster under `key` while the cache stays under its byte budget.
   * `make` must be a pure function of the nodes and the key.
   */
  fact<T extends Uint32Array | Int32Array>(key: string, make: () => T): T {
    const layout = this.layout;
    const have = layout.facts.get(key);
    if (have !== undefined) return have as T;
    const made = make();
    if (layout.factBytes + made.byteLength <= FACT_BYTES) {
      layout.facts.set(key, made);
      layout.factBytes += made.byteLength;
    }
    return made;
  }

  get classCount(): number {
    return this.classReps.length;
  }

  /**
   * Nodes grouped by `key(node)`, built once per cluster under `name`. The key function must be a
   * pure function of the node, the same for every call with that name.
   */
  keyed(name: string, key: (node: ClusterNode) => string): KeyedColumn {
    let col = this.keyedColumns.get(name);
    if (col) return col;
    const values = new Int32Array(this.n);
    const reps: number[] = [];
    const ids = new Map<string, number>();
    for (let i = 0; i < this.n; i++) {
      const k = key(this.nodes[i]!);
      let id = ids.get(k);
      if (id === undefined) {
        id = reps.length;
        ids.set(k, id);
        reps.push(i);
      }
      values[i] = id;
    }
    col = { values, reps: Int32Array.from(reps), count: reps.length };
    this.keyedColumns.set(name, col);
    return col;
  }

  /**
   * Values of a node attribute (by canonical name) across nodes, built once per cluster. The
   * resolver must be a pure function of the node and the attribute name.
   */
  column(attribute: string, resolve: (node: ClusterNode) => string | undefined): AttributeColumn {
    let col = this.columns.get(attribute);
    if (col) return col;
    const values = new Int32Array(this.n);
    const names: string[] = [];
    const ids = new Map<string, number>();
    for (let i = 0; i < this.n; i++) {
      const v = resolve(this.nodes[i]!);
      if (v === undefined) {
        values[i] = -1;
        continue;
      }
      let id = ids.get(v);
      if (id === undefined) {
        id = names.length;
        ids.set(v, id);
        names.push(v);
      }
      values[i] = id;
    }
    col = { values, names };
    this.columns.set(attribute, col);
    return col;
  }
}

/*
 * Node class identity: two nodes are in one class when they have the same attribute keys with
 * values of the same type and string form, and equal capabilities, profiles, runtime drivers and
 * host paths (each list in order). The hash is order-independent over attributes (a sum of
 * per-entry hashes) so no key sorting or string building is needed; `sameClass` confirms.
 */

function hashString(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function hashList(list: readonly string[], h: number): number {
  h = Math.imul(h ^ list.length, 0x01000193);
  for (let k = 0; k < list.length; k++) h = Math.imul(hashString(list[k]!, h) ^ 0x1f, 0x01000193);
  return h;
}

/** murmur3 finaliser: spreads a per-entry hash before the order-independent sum. */
function finalise(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function classHash(node: ClusterNode): number {
  const attrs = node.attributes;
  const keys = Object.keys(attrs);
  let sum = keys.length;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const v = attrs[key];
    let h = hashString(key, 0x811c9dc5);
    h = hashString(typeof v, Math.imul(h ^ 0x01, 0x01000193));
    h = hashString(typeof v === 'string' ? v : String(v), Math.imul(h ^ 0x02, 0x01000193));
    sum = (sum + finalise(h)) | 0;
  }
  let h = finalise(sum);
  h = hashList(node.capabilities, h);
  h = hashList(node.profiles, Math.imul(h ^ 0x03, 0x01000193));
  h = hashList(node.runtime_drivers, Math.imul(h ^ 0x04, 0x01000193));
  h = hashList(node.host_paths, Math.imul(h ^ 0x05, 0x01000193));
  return finalise(h) & 0x3fffffff; // a small integer: cheap as a Map key
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

function sameClass(a: ClusterNode, b: ClusterNode): boolean {
  const ka = Object.keys(a.attributes);
  const bAttrs = b.attributes;
  if (ka.length !== Object.keys(bAttrs).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(bAttrs, k)) return false;
    const x = a.attributes[k];
    const y = bAttrs[k];
    if (typeof x !== typeof y || (x !== y && String(x) !== String(y))) return false;
  }
  return (
    sameList(a.capabilities, b.capabilities) &&
    sameList(a.profiles, b.profiles) &&
    sameList(a.runtime_drivers, b.runtime_drivers) &&
    sameList(a.host_paths, b.host_paths)
  );
}
