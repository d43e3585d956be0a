/**
 * The preempting pass (Nomad's preemption, made exact on small sets): after the normal pass of a
 * job, the groups that failed may evict running agents of jobs at least
 * {@link PREEMPTION_PRIORITY_DELTA} priority points lower. Per machine the pass looks for the set
 * of allocations that frees enough room (cpu, memory, disk, gpu count, and the ports and devices
 * the agent needs) evicting the fewest agents, then the lowest priorities (the highest priority
 * evicted as low as possible, then the next, ...); it picks the machine with the best such set
 * (then the normal score) and places the agent there through the planner's usual kernel call.
 *
 * A job's preempting pass is all or nothing: when some of its agents still cannot be placed, every
 * eviction made for it is undone and the normal failure explanation stands. A batch job never
 * evicts a system or sysbatch copy. Pure: the planner passes its state through {@link PreemptHost}.
 */
import type { ClusterAllocation, ClusterState } from '../cluster/types.js';
import type { Job } from '../manifest/types.js';
import type { ClusterIndex } from './cluster-index.js';
import { deviceRequestsFor, effectiveDriver, pickDevices, portKey } from './filters.js';
import { type PreparedGroup, agentIdOf, indexAt, prepareGroup, systemDevices } from './group.js';
import { DIMENSIONS, fitsScalar, STRATEGY_SPREAD, type PlacementKernel } from './kernel-types.js';
import type { Placement, PlacementFailure, Preemption } from './plan-types.js';
import type { PlacementRows } from './plan-rows.js';
import { PREEMPTION_PRIORITY_DELTA } from './preemption-config.js';

/** The discrete state of a pass that the preempting pass reads and gives back. */
export interface PreemptState {
  readonly ports: ReadonlyArray<ReadonlySet<string> | undefined>;
  readonly devices: ReadonlyArray<ReadonlySet<string> | undefined>;
  addPort(i: number, key: string): void;
  addDevice(i: number, id: string): void;
  removePort(i: number, key: string): void;
  removeDevice(i: number, id: string): void;
}

/** Per-job bookkeeping the planner keeps for `distinct_hosts` and `distinct_property`. */
export interface PreemptJobState {
  hosts: Uint8Array;
  properties: Map<string, Int32Array>;
}

/** What the planner lends the preempting pass. */
export interface PreemptHost {
  readonly cluster: ClusterState;
  readonly index: ClusterIndex;
  readonly kernel: PlacementKernel;
  /** The pass state, as it is now (the host may swap it between calls). */
  state(): PreemptState;
  /** Nodes that pass the group's static filters (status, constraints, drivers, device shapes...). */
  eligibility(group: PreparedGroup): Uint8Array;
  /** The planner's normal placement of a group (one kernel call); returns how many were placed. */
  placeGroup(group: PreparedGroup, jobState: PreemptJobState, placements: PlacementRows): number;
  /** Node attribute column (for `distinct_property`). */
  column(attribute: string): { values: Int32Array; names: string[] };
  strategyOf(job: Job): number;
  prepare(job: Job, group: PreparedGroup, indices: readonly number[]): PreparedGroup;
  /** A job's groups as the planner prepares them, and a group's static mask (system jobs). */
  groups(job: Job): PreparedGroup[];
  staticMask(group: PreparedGroup): Uint8Array;
  /** Saves the pass state (free capacity and discrete holds) before a trial. */
  save(): unknown;
  /** Restores what {@link save} returned: every change since is undone. */
  restore(saved: unknown): void;
}

/** Candidate evictions of one node: allocation indices into `cluster.allocations`. */
type NodeCandidates = Map<number, number[]>;

/** Plan-wide preemption bookkeeping: which allocations were evicted already. */
export class PreemptionLedger {
  readonly evicted = new Set<number>();
  private byNode: NodeCandidates | null = null;

  constructor(private readonly ignoreJobIds: ReadonlySet<string>) {}

  /** Allocations per node index (built once per plan). */
  perNode(host: PreemptHost): NodeCandidates {
    if (this.byNode) return this.byNode;
    const map: NodeCandidates = new Map();
    const allocs = host.cluster.allocations;
    for (let k = 0; k < allocs.length; k++) {
      const a = allocs[k]!;
      if (this.ignoreJobIds.has(a.job_id)) continue;
      const i = host.index.nodeIndex.get(a.node);
      if (i === undefined) continue;
      let list = map.get(i);
      if (!list) map.set(i, (list = []));
      list.push(k);
    }
    this.byNode = map;
    return map;
  }
}

/** Whether an allocation may be evicted for a job (priority gap, system copies, not its own). */
export function evictable(a: ClusterAllocation, job: Job): boolean {
  if (a.job_id === job.graph_id) return false;
  if (a.priority > job.priority - PREEMPTION_PRIORITY_DELTA) return false;
  const type = job.policies.job_type;
  if ((type === 'batch' || type === 'sysbatch') && (a.job_type === 'system' || a.job_type === 'sysbatch')) return false;
  return true;
}

/** The best eviction found on one node. */
export interface EvictionChoice {
  node: number;
  /** Allocation indices, ascending. */
  set: number[];
  /** Priorities of the set, highest first. */
  priorities: number[];
  score: number;
}

/** Most subsets judged per node before the search falls back to a greedy choice. */
const SEARCH_BUDGET = 20000;

/**
 * Compares two eviction choices: fewer evictions, then the lower highest priority, then the next,
 * ...; then the better normal score; then the lower node index and allocation indices (a
 * deterministic order). Negative when `a` is better.
 */
export function compareChoices(a: EvictionChoice, b: EvictionChoice): number {
  if (a.set.length !== b.set.length) return a.set.length - b.set.length;
  for (let k = 0; k < a.priorities.length; k++) if (a.priorities[k] !== b.priorities[k]) return a.priorities[k]! - b.priorities[k]!;
  if (a.score !== b.score) return b.score - a.score;
  if (a.node !== b.node) return a.node - b.node;
  for (let k = 0; k < a.set.length; k++) if (a.set[k] !== b.set[k]) return a.set[k]! - b.set[k]!;
  return 0;
}

/**
 * Runs the preempting pass for the failed groups of `job`. On success every agent of the job is
 * placed, the evictions are appended to `preemptions`, the job's failures are removed from
 * `failures`, and the number of agents it placed is returned; otherwise the pass state is as
 * before and null is returned.
 */
export function preemptJob(
  host: PreemptHost,
  ledger: PreemptionLedger,
  job: Job,
  failedGroups: Iterable<PreparedGroup>,
  placements: PlacementRows,
  failures: PlacementFailure[],
  preemptions: Preemption[],
): number | null {
  const missing = new Map<string, number>();
  for (const f of failures) if (f.job === job.graph_id) missing.set(f.source_node_id, (missing.get(f.source_node_id) ?? 0) + f.count);
  const saved = host.save();
  const placementsBefore = placements.length;
  const preemptionsBefore = preemptions.length;
  const evictedBefore = new Set(ledger.evicted);
  const jobState = jobStateOf(host, job, placements);
  let placed = 0;
  let ok = true;
  for (const group of failedGroups) {
    const left = missing.get(group.spec.node_id) ?? 0;
    if (left <= 0) continue;
    let remaining: number[] = [];
    for (let j = group.size - left; j < group.size; j++) remaining.push(group.indices === null ? j : group.indices[j]!);
    const refused = new Set<number>();
    while (remaining.length > 0) {
      const sub = host.prepare(job, group, remaining);
      const choice = bestEviction(host, ledger, sub, jobState, refused);
      if (choice === null) break;
      const undo = evict(host, ledger, choice, job, preemptions);
      const got = host.placeGroup(sub, jobState, placements);
      if (got === 0) {
        // The kernel disagreed (a spread or sampling rule): give the room back, try elsewhere.
        undo();
        refused.add(choice.node);
        continue;
      }
      placed += got;
      remaining = remaining.slice(got);
    }
    if (remaining.length > 0) {
      ok = false;
      break;
    }
  }
  if (!ok) {
    host.restore(saved);
    placements.truncate(placementsBefore);
    preemptions.length = preemptionsBefore;
    ledger.evicted.clear();
    for (const k of evictedBefore) ledger.evicted.add(k);
    return null;
  }
  for (let k = failures.length - 1; k >= 0; k--) if (failures[k]!.job === job.graph_id) failures.splice(k, 1);
  return placed;
}

/** Rebuilds the job's distinct_hosts / distinct_property bookkeeping from its placements so far. */
function jobStateOf(host: PreemptHost, job: Job, placements: PlacementRows): PreemptJobState {
  const n = host.index.n;
  const state: PreemptJobState = { hosts: new Uint8Array(n), properties: new Map() };
  const distinct = new Set<string>();
  const props = new Map<string, string[]>();
  for (const spec of job.nodes) {
    const g = prepareGroup(job, spec, [], {});
    if (g.distinctHosts) distinct.add(spec.node_id);
    if (g.properties.length > 0) props.set(spec.node_id, g.properties.map((p) => p.attribute));
  }
  if (distinct.size === 0 && props.size === 0) return state;
  placements.eachRow((rowJob, source, nodeName) => {
    if (rowJob !== job.graph_id) return;
    const i = host.index.nodeIndex.get(nodeName);
    if (i === undefined) return;
    if (distinct.has(source)) state.hosts[i] = 1;
    for (const attribute of props.get(source) ?? []) {
      const col = host.column(attribute);
      let counts = state.properties.get(attribute);
      if (!counts) state.properties.set(attribute, (counts = new Int32Array(Math.max(1, col.names.length))));
      const v = col.values[i]!;
      if (v >= 0) counts[v]!++;
    }
  });
  return state;
}

/** Frees the chosen allocations in the pass state; returns a function that takes them back. */
function evict(host: PreemptHost, ledger: PreemptionLedger, choice: EvictionChoice, job: Job, preemptions: Preemption[]): () => void {
  const { kernel, index } = host;
  const n = index.n;
  const i = choice.node;
  const state = host.state();
  const allocs = host.cluster.allocations;
  const free = kernel.free();
  const before = preemptions.length;
  for (const k of choice.set) {
    const a = allocs[k]!;
    free[i]! += a.resources.cpu_cores;
    free[n + i]! += a.resources.memory_mb;
    free[2 * n + i]! += a.resources.disk_mb;
    free[3 * n + i]! += a.resources.gpu_count;
    for (const p of a.ports) state.removePort(i, portKey(p.port, p.protocol));
    for (const d of a.devices) state.removeDevice(i, d);
    ledger.evicted.add(k);
    preemptions.push({ agent_id: a.agent_id, job: a.job_id, node: a.node, priority: a.priority, preempted_by: job.graph_id });
  }
  kernel.touch(i);
  return () => {
    const f = kernel.free();
    for (const k of choice.set) {
      const a = allocs[k]!;
      f[i]! -= a.resources.cpu_cores;
      f[n + i]! -= a.resources.memory_mb;
      f[2 * n + i]! -= a.resources.disk_mb;
      f[3 * n + i]! -= a.resources.gpu_count;
      for (const p of a.ports) state.addPort(i, portKey(p.port, p.protocol));
      for (const d of a.devices) state.addDevice(i, d);
      ledger.evicted.delete(k);
    }
    kernel.touch(i);
    preemptions.length = before;
  };
}

/**
 * The best eviction for one agent of `group` over every node it may use, or null when no node can
 * be freed enough. Nodes in `refused` are skipped.
 */
export function bestEviction(
  host: PreemptHost,
  ledger: PreemptionLedger,
  group: PreparedGroup,
  jobState: PreemptJobState,
  refused: ReadonlySet<number> = new Set(),
): EvictionChoice | null {
  const mask = host.eligibility(group);
  const perNode = ledger.perNode(host);
  const propertyCols = group.properties.map((p) => ({ limit: p.limit, col: host.column(p.attribute), used: jobState.properties.get(p.attribute) }));
  if (group.portSelfConflict) return null;
  let best: EvictionChoice | null = null;
  for (let i = 0; i < host.index.n; i++) {
    if (!mask[i] || refused.has(i)) continue;
    if (group.distinctHosts && jobState.hosts[i]) continue;
    let propertyOk = true;
    for (const p of propertyCols) {
      const v = p.col.values[i]!;
      if (v >= 0 && (p.used?.[v] ?? 0) >= p.limit) propertyOk = false;
    }
    if (!propertyOk) continue;
    const choice = nodeEviction(host, ledger, group, i, perNode.get(i) ?? []);
    if (choice !== null && (best === null || compareChoices(choice, best) < 0)) best = choice;
  }
  return best;
}

/** The best eviction set on node i (possibly empty when the agent fits as is), or null. */
export function nodeEviction(host: PreemptHost, ledger: PreemptionLedger, group: PreparedGroup, i: number, onNode: readonly number[]): EvictionChoice | null {
  const node = host.index.nodes[i]!;
  const needsDevices = group.explicitDevices.length > 0 || group.genericGpu !== null;
  const reqs = needsDevices ? deviceRequestsFor(node, group.explicitDevices, group.genericGpu) : [];
  return searchEviction(host, ledger, { job: group.job, ask: group.ask, portKeys: group.portKeys, devicesFit: reqs.length > 0 ? (used) => pickDevices(node.devices, used, reqs) !== null : null }, i, onNode);
}

/** What has to fit on a node: a scalar ask, port keys, and a device check (null: no devices). */
interface EvictionNeed {
  job: Job;
  ask: Float64Array;
  portKeys: readonly string[];
  devicesFit: ((used: ReadonlySet<string> | undefined) => boolean) | null;
}

function searchEviction(host: PreemptHost, ledger: PreemptionLedger, need: EvictionNeed, i: number, onNode: readonly number[]): EvictionChoice | null {
  const { index, kernel } = host;
  const n = index.n;
  const state = host.state();
  const allocs = host.cluster.allocations;
  const free = kernel.free();
  const ask = need.ask;
  const job = need.job;
  const deficit = new Float64Array(DIMENSIONS);
  for (let d = 0; d < DIMENSIONS; d++) deficit[d] = fitsScalar(free[d * n + i]!, ask[d]!) ? 0 : ask[d]! - free[d * n + i]!;
  const heldPorts = state.ports[i];
  const conflicts = heldPorts === undefined ? [] : need.portKeys.filter((k) => heldPorts.has(k));
  const devicesFit = need.devicesFit;
  const heldDevices = state.devices[i];

  // Every remaining holder of a port the agent needs must go; a holder that may not be evicted
  // (or a hold of this plan's own placements) rules the node out.
  const holders = new Map<string, number[]>();
  for (const key of conflicts) holders.set(key, []);
  if (conflicts.length > 0) {
    for (const k of onNode) {
      if (ledger.evicted.has(k)) continue;
      const a = allocs[k]!;
      for (const p of a.ports) holders.get(portKey(p.port, p.protocol))?.push(k);
    }
    for (const list of holders.values()) if (list.length === 0 || list.some((k) => !evictable(allocs[k]!, job))) return null;
  }
  // Candidates that can help with something this agent lacks; the others are never in a minimal set.
  const candidates: number[] = [];
  const portsOf = new Map<number, string[]>();
  for (const k of onNode) {
    if (ledger.evicted.has(k)) continue;
    const a = allocs[k]!;
    if (!evictable(a, job)) continue;
    const keys = a.ports.map((p) => portKey(p.port, p.protocol));
    const r = a.resources;
    const helps =
      (deficit[0]! > 0 && r.cpu_cores > 0) ||
      (deficit[1]! > 0 && r.memory_mb > 0) ||
      (deficit[2]! > 0 && r.disk_mb > 0) ||
      (deficit[3]! > 0 && r.gpu_count > 0) ||
      keys.some((key) => conflicts.includes(key)) ||
      (devicesFit !== null && a.devices.length > 0);
    if (!helps) continue;
    candidates.push(k);
    portsOf.set(k, keys);
  }
  // Lowest priorities first, then allocation order: the search and the greedy fallback read them so.
  candidates.sort((x, y) => allocs[x]!.priority - allocs[y]!.priority || x - y);

  const fits = (set: readonly number[]): boolean => {
    for (let d = 0; d < DIMENSIONS; d++) {
      if (deficit[d]! <= 0) continue;
      let freed = 0;
      for (const k of set) freed += resourceAt(allocs[k]!, d);
      if (!fitsScalar(free[d * n + i]! + freed, ask[d]!)) return false;
    }
    for (const list of holders.values()) for (const k of list) if (!set.includes(k)) return false;
    if (devicesFit !== null) {
      let used: Set<string> | undefined;
      if (heldDevices !== undefined) {
        used = new Set(heldDevices);
        for (const k of set) for (const d of allocs[k]!.devices) used.delete(d);
      }
      if (!devicesFit(used)) return false;
    }
    return true;
  };
  const choiceOf = (set: number[]): EvictionChoice => {
    const sorted = set.slice().sort((x, y) => x - y);
    return { node: i, set: sorted, priorities: sorted.map((k) => allocs[k]!.priority).sort((x, y) => y - x), score: scoreAfter(host, job, ask, i, sorted) };
  };

  if (fits([])) return choiceOf([]);
  if (!fits(candidates)) return null;

  // Exact search by size: the first size with a feasible subset is the minimum; among its subsets
  // the best by `compareChoices`.
  let budget = SEARCH_BUDGET;
  const m = candidates.length;
  const pick: number[] = [];
  for (let size = 1; size <= m; size++) {
    let best: EvictionChoice | null = null;
    const walk = (from: number): boolean => {
      if (pick.length === size) {
        if (--budget < 0) return false;
        if (fits(pick)) {
          const c = choiceOf(pick);
          if (best === null || compareChoices(c, best) < 0) best = c;
        }
        return true;
      }
      for (let x = from; x <= m - (size - pick.length); x++) {
        pick.push(candidates[x]!);
        const go = walk(x + 1);
        pick.pop();
        if (!go) return false;
      }
      return true;
    };
    const complete = walk(0);
    // Smaller sizes were searched completely: a set found at this size has the fewest evictions.
    if (best !== null) return best;
    if (!complete) break;
  }
  return greedy(candidates, fits, choiceOf, allocs);
}

/**
 * The fallback when the exact search is too large: lowest priorities first until the agent fits,
 * then every member the set does not need is dropped (highest priority first).
 */
function greedy(candidates: readonly number[], fits: (set: readonly number[]) => boolean, choiceOf: (set: number[]) => EvictionChoice, allocs: readonly ClusterAllocation[]): EvictionChoice | null {
  const set: number[] = [];
  for (const k of candidates) {
    set.push(k);
    if (fits(set)) break;
  }
  if (!fits(set)) return null;
  const byPriority = set.slice().sort((x, y) => allocs[y]!.priority - allocs[x]!.priority || y - x);
  for (const k of byPriority) {
    const without = set.filter((x) => x !== k);
    if (fits(without)) set.splice(set.indexOf(k), 1);
  }
  return choiceOf(set);
}

function resourceAt(a: ClusterAllocation, d: number): number {
  const r = a.resources;
  return d === 0 ? r.cpu_cores : d === 1 ? r.memory_mb : d === 2 ? r.disk_mb : r.gpu_count;
}

/** The normal utilisation score of node i for the agent once `set` is evicted. */
function scoreAfter(host: PreemptHost, job: Job, ask: Float64Array, i: number, set: readonly number[]): number {
  const { index, kernel } = host;
  const n = index.n;
  const cap = index.cap;
  const free = kernel.free();
  const allocs = host.cluster.allocations;
  let sum = 0;
  let dims = 0;
  for (let d = 0; d < DIMENSIONS; d++) {
    const c = cap[d * n + i]!;
    if (c <= 0) continue;
    let f = free[d * n + i]!;
    for (const k of set) f += resourceAt(allocs[k]!, d);
    sum += (c - f + ask[d]!) / c;
    dims++;
  }
  const u = dims > 0 ? sum / dims : 0;
  return host.strategyOf(job) === STRATEGY_SPREAD ? (dims > 0 ? 1 - u : 1) : u;
}

// ---------------------------------------------------------------- system and sysbatch jobs

/**
 * The preempting pass of a system or sysbatch job: on every machine its static filters accept
 * that did not get a copy, the fewest lower-priority agents (then the lowest priorities) whose
 * eviction makes room for the whole copy are evicted and the copy placed there. Machines are
 * independent (a copy belongs to its machine), in inventory order. Returns the machines that got
 * a copy this way and how many agents were placed; the job's failure is dropped when any did.
 */
export function preemptSystemJob(
  host: PreemptHost,
  ledger: PreemptionLedger,
  job: Job,
  targets: readonly string[],
  placements: PlacementRows,
  failures: PlacementFailure[],
  preemptions: Preemption[],
): { placed: number; targets: string[] } {
  const groups = host.groups(job);
  const { index } = host;
  const n = index.n;
  const masks = groups.map((g) => host.staticMask(g));
  const ask = new Float64Array(DIMENSIONS);
  for (const g of groups) for (let d = 0; d < DIMENSIONS; d++) ask[d]! += g.ask[d]! * g.size;
  const keys: string[] = [];
  for (const g of groups) for (let c = 0; c < g.size; c++) keys.push(...g.portKeys);
  if (groups.length === 0 || new Set(keys).size !== keys.length) return { placed: 0, targets: [] };
  const have = new Set(targets);
  const perNode = ledger.perNode(host);
  const added: string[] = [];
  let placed = 0;
  for (let i = 0; i < n; i++) {
    const node = index.nodes[i]!;
    if (have.has(node.name) || !masks.every((m) => m[i])) continue;
    const needsDevices = groups.some((g) => g.explicitDevices.length > 0 || g.genericGpu !== null);
    const need: EvictionNeed = { job, ask, portKeys: keys, devicesFit: needsDevices ? (used) => systemDevices(node, used, groups) !== null : null };
    const choice = searchEviction(host, ledger, need, i, perNode.get(i) ?? []);
    // An empty set means the copy fits as is: the normal pass would have placed it, so leave it.
    if (choice === null || choice.set.length === 0) continue;
    evict(host, ledger, choice, job, preemptions);
    const picks = systemDevices(node, host.state().devices[i], groups);
    if (picks === null) continue;
    placed += placeSystemCopies(host, job, groups, i, picks, placements);
    added.push(node.name);
  }
  if (added.length > 0) for (let k = failures.length - 1; k >= 0; k--) if (failures[k]!.job === job.graph_id) failures.splice(k, 1);
  return { placed, targets: added };
}

/** Places one copy of every group of a system job on node i (the room is there), as the planner's system pass does. */
function placeSystemCopies(host: PreemptHost, job: Job, groups: readonly PreparedGroup[], i: number, picks: Array<Array<{ id: string }>>, placements: PlacementRows): number {
  const { index, kernel } = host;
  const n = index.n;
  const node = index.nodes[i]!;
  const state = host.state();
  const strategy = host.strategyOf(job);
  let a = 0;
  for (const g of groups) {
    const spec = g.spec;
    const r = spec.resources;
    const resources = Object.freeze({ ...g.scalar });
    const ports = Object.freeze(r.ports.map((p) => Object.freeze({ label: p.label, port: p.port, protocol: p.protocol })));
    const volumes = Object.freeze(r.volumes.map((v) => Object.freeze({ ...v })));
    for (let c = 0; c < g.size; c++) {
      const free = kernel.free();
      let sum = 0;
      let dims = 0;
      for (let d = 0; d < DIMENSIONS; d++) {
        const cap = index.cap[d * n + i]!;
        if (cap <= 0) continue;
        sum += (cap - free[d * n + i]! + g.ask[d]!) / cap;
        dims++;
      }
      const u = dims > 0 ? sum / dims : 0;
      for (let d = 0; d < DIMENSIONS; d++) free[d * n + i]! -= g.ask[d]!;
      kernel.touch(i);
      for (const key of g.portKeys) state.addPort(i, key);
      const devices = picks[a++]!;
      for (const dev of devices) state.addDevice(i, dev.id);
      placements.addRow({
        job: job.graph_id,
        agent_id: `${agentIdOf(spec, indexAt(g, c))}@${node.name}`,
        source_node_id: spec.node_id,
        node: node.name,
        resources,
        allocations: Object.freeze({ devices: Object.freeze(devices.map((d) => Object.freeze({ id: d.id }))), ports, volumes, runtime_driver: effectiveDriver(node, r.runtime_driver) }),
        score: strategy === STRATEGY_SPREAD ? (dims > 0 ? 1 - u : 1) : u,
      });
    }
  }
  return a;
}
