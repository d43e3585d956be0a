/**
 * The plan's placement rows (DESIGN §4.3) as the planner records them: columns of node indices
 * and scores plus one record per run of a group's agents, built into `Placement` objects only when
 * `plan.placements` is first read. Planning 100,000 agents then allocates no row objects; a caller
 * that reads the rows gets the same array of plain objects, with the same shared frozen
 * sub-objects, as if they had been built during planning.
 */
import type { ClusterNode } from '../cluster/types.js';
import { effectiveDriver } from './filters.js';
import { type GroupRowParts, type PreparedGroup, agentIdOf } from './group.js';
import { DIMENSIONS } from './kernel-types.js';
import type { Placement, Plan } from './plan-types.js';

export const NO_DEVICES: Placement['allocations']['devices'] = Object.freeze([]);
const NO_PORTS: Placement['allocations']['ports'] = Object.freeze([]);
const NO_VOLUMES: Placement['allocations']['volumes'] = Object.freeze([]);

/**
 * Frozen row parts shared across the groups of one plan: the resources object per distinct scalar
 * ask, and the device-free allocation object per runtime driver of groups without ports or
 * volumes. A plan of 10,000 distinct agents then holds a few hundred of them, not 20,000.
 */
export interface RowCache {
  /** Resources objects by a hash of their four numbers (see `resourcesFor`). */
  resources: Map<number, Array<Placement['resources']>>;
  plain: Map<string, Placement['allocations']>;
}

export function newRowCache(): RowCache {
  return { resources: new Map(), plain: new Map() };
}

const hashBits = new Float64Array(DIMENSIONS);
const hashWords = new Int32Array(hashBits.buffer);

/** The plan's one frozen resources object for these four numbers (compared with `Object.is`). */
function resourcesFor(cache: RowCache, sc: PreparedGroup['scalar']): Placement['resources'] {
  hashBits[0] = sc.cpu_cores;
  hashBits[1] = sc.memory_mb;
  hashBits[2] = sc.disk_mb;
  hashBits[3] = sc.gpu_count;
  let h = 0x811c9dc5;
  for (let k = 0; k < hashWords.length; k++) h = Math.imul(h ^ hashWords[k]!, 0x01000193);
  let bucket = cache.resources.get(h);
  if (bucket === undefined) {
    bucket = [];
    cache.resources.set(h, bucket);
  }
  for (const r of bucket) {
    if (Object.is(r.cpu_cores, sc.cpu_cores) && Object.is(r.memory_mb, sc.memory_mb) && Object.is(r.disk_mb, sc.disk_mb) && Object.is(r.gpu_count, sc.gpu_count)) return r;
  }
  const resources = Object.freeze({ cpu_cores: sc.cpu_cores, memory_mb: sc.memory_mb, disk_mb: sc.disk_mb, gpu_count: sc.gpu_count });
  bucket.push(resources);
  return resources;
}

/** The frozen row parts every agent of a group has in common, built once per group and plan. */
export function sharedRowParts(group: PreparedGroup, cache: RowCache): GroupRowParts {
  let parts = group.rows;
  if (!parts) {
    const r = group.spec.resources;
    const plain = r.ports.length === 0 && r.volumes.length === 0;
    parts = {
      resources: resourcesFor(cache, group.scalar),
      ports: r.ports.length === 0 ? NO_PORTS : Object.freeze(r.ports.map((p) => Object.freeze({ label: p.label, port: p.port, protocol: p.protocol }))),
      volumes: r.volumes.length === 0 ? NO_VOLUMES : Object.freeze(r.volumes.map((v) => Object.freeze({ ...v }))),
      driver: null,
      allocations: null,
      byDriver: plain ? cache.plain : null,
    };
    group.rows = parts;
  }
  return parts;
}

/** The group's shared device-free allocation object for a runtime driver (always the same one). */
export function driverAllocations(parts: GroupRowParts, driver: string): Placement['allocations'] {
  if (parts.driver === driver) return parts.allocations!;
  let allocations = parts.byDriver?.get(driver);
  if (allocations === undefined) {
    allocations = Object.freeze({ devices: NO_DEVICES, ports: parts.ports, volumes: parts.volumes, runtime_driver: driver });
    (parts.byDriver ??= new Map()).set(driver, allocations);
  }
  parts.driver = driver;
  parts.allocations = allocations;
  return allocations;
}

/** Consecutive rows of one group: agents `offset`, `offset + 1`, ... of the group in place order. */
interface Run {
  /** First row index of the run. */
  start: number;
  job: string;
  /** The group's manifest node and row parts; null for a run holding one built row. */
  spec: PreparedGroup['spec'] | null;
  indices: PreparedGroup['indices'];
  parts: GroupRowParts | null;
  offset: number;
  /** A row the planner built itself (system jobs), for a run of one row. */
  row: Placement | null;
}

/** Placement rows recorded column-wise during a plan (see the module comment). */
export class PlacementRows {
  private nodeAt = new Int32Array(1024);
  private scoreAt = new Float64Array(1024);
  private count = 0;
  private readonly runs: Run[] = [];
  /** Allocations of rows that hold devices (they differ per agent), by row index. */
  private readonly own = new Map<number, Placement['allocations']>();
  private built: Placement[] | null = null;

  constructor(private readonly nodes: readonly ClusterNode[]) {}

  get length(): number {
    return this.count;
  }

  /** Starts a run: the next rows are agents `offset`, `offset + 1`, ... of `group`. */
  startRun(group: PreparedGroup, parts: GroupRowParts, offset: number): void {
    this.runs.push({ start: this.count, job: group.job.graph_id, spec: group.spec, indices: group.indices, parts, offset, row: null });
  }

  /** One row of the current run: the node index, its score, and allocations when it holds devices. */
  add(node: number, score: number, allocations?: Placement['allocations']): void {
    const k = this.count;
    if (k === this.nodeAt.length) this.grow();
    this.nodeAt[k] = node;
    this.scoreAt[k] = score;
    if (allocations !== undefined) this.own.set(k, allocations);
    this.count = k + 1;
  }

  /** A row built in full (its own run). */
  addRow(row: Placement): void {
    this.runs.push({ start: this.count, job: row.job, spec: null, indices: null, parts: null, offset: 0, row });
    if (this.count === this.nodeAt.length) this.grow();
    this.count++;
  }

  /** The rows as `Placement` objects, in plan order (built on the first call). */
  rows(): Placement[] {
    if (this.built !== null) return this.built;
    // Filled by push (a packed array, as an eagerly built plan has; no holey preallocation).
    const out: Placement[] = [];
    const runs = this.runs;
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r]!;
      const { spec, parts } = run;
      if (run.row !== null || spec === null || parts === null) {
        out.push(run.row!);
        continue;
      }
      const end = r + 1 < runs.length ? runs[r + 1]!.start : this.count;
      // In chunks through a small function (see CHUNK in planner.ts): optimised from the start.
      for (let k = run.start; k < end; k += 2048) this.buildRange(out, run, spec, parts, k, Math.min(end, k + 2048));
    }
    this.built = out;
    // The columns are not needed once the rows exist.
    this.nodeAt = new Int32Array(0);
    this.scoreAt = new Float64Array(0);
    this.runs.length = 0;
    this.own.clear();
    return out;
  }

  /** Rows `from..to-1`, all of `run`. */
  private buildRange(out: Placement[], run: Run, spec: NonNullable<Run['spec']>, parts: GroupRowParts, from: number, to: number): void {
    const { nodes, nodeAt, scoreAt, own } = this;
    const { indices, job } = run;
    const requested = spec.resources.runtime_driver;
    const anyOwn = own.size > 0;
    let lastNode = -1;
    let name = '';
    let plain: Placement['allocations'] | undefined;
    for (let k = from; k < to; k++) {
      const i = nodeAt[k]!;
      if (i !== lastNode) {
        lastNode = i;
        const node = nodes[i]!;
        name = node.name;
        plain = driverAllocations(parts, effectiveDriver(node, requested));
      }
      const j = run.offset + (k - run.start);
      out.push({
        job,
        agent_id: agentIdOf(spec, indices === null ? j : indices[j]!),
        source_node_id: spec.node_id,
        node: name,
        resources: parts.resources,
        allocations: (anyOwn ? own.get(k) : undefined) ?? plain!,
        score: scoreAt[k]!,
      });
    }
  }

  /** Calls `fn` with the job, manifest node and machine of every row so far, in plan order (nothing is built). */
  eachRow(fn: (job: string, sourceNodeId: string, node: string) => void): void {
    if (this.built !== null) {
      for (const p of this.built) fn(p.job, p.source_node_id, p.node);
      return;
    }
    const runs = this.runs;
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r]!;
      if (run.row !== null || run.spec === null) {
        if (run.row) fn(run.row.job, run.row.source_node_id, run.row.node);
        continue;
      }
      const end = r + 1 < runs.length ? runs[r + 1]!.start : this.count;
      for (let k = run.start; k < end; k++) fn(run.job, run.spec.node_id, this.nodes[this.nodeAt[k]!]!.name);
    }
  }

  /** Drops the rows from `length` on (a preempting pass that is undone); `length` is a run boundary. */
  truncate(length: number): void {
    if (length >= this.count) return;
    if (this.built !== null) {
      this.built.length = length;
      this.count = length;
      return;
    }
    while (this.runs.length > 0 && this.runs[this.runs.length - 1]!.start >= length) this.runs.pop();
    for (const k of [...this.own.keys()]) if (k >= length) this.own.delete(k);
    this.count = length;
  }

  private grow(): void {
    const nodeAt = new Int32Array(this.nodeAt.length * 2);
    nodeAt.set(this.nodeAt);
    this.nodeAt = nodeAt;
    const scoreAt = new Float64Array(this.scoreAt.length * 2);
    scoreAt.set(this.scoreAt);
    this.scoreAt = scoreAt;
  }
}

/**
 * Gives `plan` a `placements` property that builds the rows on first read and then holds them as
 * a plain value (enumerable, in its place among the plan's keys, so JSON, structured clone and
 * spreading see an ordinary array). Assigning it replaces the rows as for any property.
 */
export function withLazyPlacements(plan: Plan, rows: PlacementRows): Plan {
  let value: Placement[] | null = null;
  Object.defineProperty(plan, 'placements', {
    enumerable: true,
    configurable: true,
    get(this: Plan): Placement[] {
      value ??= rows.rows();
      settle(this, value);
      return value;
    },
    set(this: Plan, next: Placement[]): void {
      value = next;
      settle(this, next);
    },
  });
  return plan;
}

/** Turns the lazy property into a data property, unless the plan was frozen meanwhile. */
function settle(plan: Plan, value: Placement[]): void {
  const d = Object.getOwnPropertyDescriptor(plan, 'placements');
  if (d?.configurable) Object.defineProperty(plan, 'placements', { value, writable: true, enumerable: true, configurable: true });
}
