/**
 * The placement planner (spec §3): places jobs in order onto a cluster, one kernel call per agent
 * group (all fan-out copies of a manifest node are one equivalence class), and explains every
 * failure. String work (constraints, profiles, services, drivers, volumes) happens once per node
 * class and is cached as eligibility masks; the kernel sees only typed arrays.
 */
import type { ClusterState } from '../cluster/types.js';
import type { Job, Strategy } from '../manifest/types.js';
import type { ClusterNode } from '../cluster/types.js';
import { type AttributeLookup, type CompiledConstraint, resolveAttribute } from './constraints.js';
import { ClusterIndex, type KeyedColumn } from './cluster-index.js';
import { explainGroupFailure, explainSystemFailure } from './explain.js';
import {
  type ExecutionProfile,
  deviceRequestsFor,
  driverOk,
  effectiveDriver,
  pickDevices,
  profileOk,
  servicesOk,
  volumesOk,
} from './filters.js';
import { type GroupRowParts, type PreparedGroup, agentIdOf, indexAt, newGroupCache, prepareGroup, systemDevices } from './group.js';
import {
  DIMENSIONS,
  fitsScalar,
  STRATEGY_BINPACK,
  STRATEGY_SPREAD,
  type KernelPropertyLimit,
  type KernelSpread,
  type PlacementKernel,
} from './kernel-types.js';
import type { Availability, JobSummary, Placement, PlacementFailure, Plan, Preemption } from './plan-types.js';
import { NO_DEVICES, PlacementRows, newRowCache, sharedRowParts, withLazyPlacements } from './plan-rows.js';
import { type PreemptHost, PreemptionLedger, preemptJob, preemptSystemJob } from './preempt.js';
import { DEFAULT_PREEMPTION, type PreemptionConfig } from './preemption-config.js';

/** Options of `planJobs`. */
export interface PlannerOptions {
  /** Overrides every job's own `policies.strategy`. */
  strategy?: Strategy;
  /** 0 (default) scores every fitting node; k > 0 samples k fitting nodes per agent (Nomad style). */
  sampleK?: number;
  /** Execution profile definitions (`MN_EXECUTION_PROFILES_JSON`). */
  executionProfiles?: Readonly<Record<string, ExecutionProfile>>;
  /** Node names that must not receive placements (spec §3.1 `exclude_nodes`). */
  excludeNodes?: readonly string[];
  /** Jobs whose existing allocations do not count (spec §3.1 `ignore_job_ids`). */
  ignoreJobIds?: readonly string[];
  /** Place only these agent ids (spec §3.1 `only_agent_ids`); system copies match by source id. */
  onlyAgentIds?: readonly string[];
  /**
   * Order of a job's groups: `manifest` (default) or `largest_first` (largest normalised ask
   * first, which can pack tighter when groups compete for the same nodes).
   */
  groupOrder?: 'manifest' | 'largest_first';
  /** Monotonic clock in milliseconds for `stats.elapsed_ms`; without it elapsed_ms is 0. */
  clock?: () => number;
  /** Job types whose failed groups may evict lower-priority allocations (default: system only). */
  preemption?: PreemptionConfig;
}

/** Per-job bookkeeping for the constraints that look at the job's other agents. */
interface JobState {
  /** Nodes holding an agent of a group that carries `distinct_hosts`. */
  hosts: Uint8Array;
  /** Agents per attribute value, for groups carrying `distinct_property` on that attribute. */
  properties: Map<string, Int32Array>;
}

/** Mutable state of one placement pass (the real plan, or an availability probe). */
export class PassState {
  readonly ports: Array<Set<string> | undefined>;
  readonly devices: Array<Set<string> | undefined>;
  private readonly ownPorts: Uint8Array;
  private readonly ownDevices: Uint8Array;
  /** Bumped whenever a node's held devices change; keys the per-node device slot caches. */
  readonly deviceVersion: Uint32Array;
  /** Per device-request key: slots (no limit) per node holding devices, valid at `ver[i] - 1`. */
  private readonly deviceCaches = new Map<string, { slots: Int32Array; ver: Uint32Array }>();

  constructor(index: ClusterIndex, empty: boolean, from?: PassState) {
    this.ports = from ? from.ports.slice() : empty ? new Array<Set<string> | undefined>(index.n) : index.basePorts.slice();
    this.devices = from ? from.devices.slice() : empty ? new Array<Set<string> | undefined>(index.n) : index.baseDevices.slice();
    this.ownPorts = new Uint8Array(index.n);
    this.ownDevices = new Uint8Array(index.n);
    this.deviceVersion = from ? from.deviceVersion.slice() : new Uint32Array(index.n);
  }

  /** A copy whose changes leave this state intact (sets are copied on their first write). */
  clone(index: ClusterIndex): PassState {
    return new PassState(index, false, this);
  }

  removePort(i: number, key: string): void {
    if (!this.ports[i]?.has(key)) return;
    if (!this.ownPorts[i]) {
      this.ports[i] = new Set(this.ports[i]);
      this.ownPorts[i] = 1;
    }
    this.ports[i]!.delete(key);
  }

  removeDevice(i: number, id: string): void {
    if (!this.devices[i]?.has(id)) return;
    if (!this.ownDevices[i]) {
      this.devices[i] = new Set(this.devices[i]);
      this.ownDevices[i] = 1;
    }
    this.devices[i]!.delete(id);
    this.deviceVersion[i]!++;
  }

  deviceCache(key: string, n: number): { slots: Int32Array; ver: Uint32Array } {
    let cache = this.deviceCaches.get(key);
    if (!cache) {
      cache = { slots: new Int32Array(n), ver: new Uint32Array(n) };
      this.deviceCaches.set(key, cache);
    }
    return cache;
  }

  /** Copy-on-write so the index's base sets stay intact for later probes. */
  addPort(i: number, key: string): void {
    if (!this.ownPorts[i]) {
      this.ports[i] = new Set(this.ports[i]);
      this.ownPorts[i] = 1;
    }
    this.ports[i]!.add(key);
  }

  addDevice(i: number, id: string): void {
    if (!this.ownDevices[i]) {
      this.devices[i] = new Set(this.devices[i]);
      this.ownDevices[i] = 1;
    }
    this.devices[i]!.add(id);
    this.deviceVersion[i]!++;
  }
}

/** The discrete resources held per node in a pass, as the explainer reads them. */
export interface PassSets {
  readonly ports: ReadonlyArray<ReadonlySet<string> | undefined>;
  readonly devices: ReadonlyArray<ReadonlySet<string> | undefined>;
}

/** What the explainer needs to judge a node in the current state. */
export interface PassView {
  index: ClusterIndex;
  state: PassSets;
  free: Float64Array;
  jobHosts: Uint8Array;
  jobProperties: ReadonlyMap<string, Int32Array>;
  propertyColumn(attribute: string): { values: Int32Array; names: string[] };
}

/** Places `jobs` in order onto `cluster` with `kernel`. Pure: time comes from `options.clock`. */
export function planJobs(cluster: ClusterState, jobs: readonly Job[], kernel: PlacementKernel, options: PlannerOptions = {}): Plan {
  const started = options.clock?.() ?? 0;
  const planner = new Planner(cluster, kernel, options);
  const placements = new PlacementRows(cluster.nodes);
  const failures: PlacementFailure[] = [];
  const summaries: JobSummary[] = [];
  const preemptions: Preemption[] = [];
  const preemption = options.preemption ?? DEFAULT_PREEMPTION;
  let placedTotal = 0;
  let agentsTotal = 0;
  for (const job of jobs) {
    let result = planner.placeJob(job, placements, failures);
    // A system job preempts on machines that got no copy, even when others got one.
    const system = job.policies.job_type === 'system' || job.policies.job_type === 'sysbatch';
    if ((result.failed > 0 || system) && preemption[job.policies.job_type]) result = planner.preempt(job, result, placements, failures, preemptions);
    let availability: Availability = 'runnable_now';
    if (result.failed > 0) availability = planner.probeEmpty(job, result) ? 'runnable_later' : 'not_runnable';
    const summary: JobSummary = { job: job.graph_id, placed: result.placed, failed: result.failed, availability };
    if (result.systemTargets) summary.system_targets = result.systemTargets;
    summaries.push(summary);
    placedTotal += result.placed;
    agentsTotal += result.placed + result.failed;
  }
  const failedTotal = agentsTotal - placedTotal;
  const strategy = options.strategy ?? jobs[0]?.policies.strategy ?? 'binpack';
  // The rows are built from the planner's columns when `plan.placements` is first read.
  return withLazyPlacements({
    status: failedTotal === 0 ? 'planned' : placedTotal === 0 ? 'failed' : 'partial',
    strategy,
    placements: [],
    failures,
    preemptions,
    jobs: summaries,
    stats: {
      nodes: cluster.nodes.length,
      agents: agentsTotal,
      placed: placedTotal,
      elapsed_ms: options.clock ? options.clock() - started : 0,
      engine: kernel.engine,
    },
  }, placements);
}

interface JobResult {
  placed: number;
  failed: number;
  systemTargets?: string[];
  /** Groups with agents left unplaced (not for system jobs). */
  failedGroups?: PreparedGroup[];
}

class Planner {
  readonly index: ClusterIndex;
  private readonly profiles: Readonly<Record<string, ExecutionProfile>>;
  private readonly only: ReadonlySet<string> | null;
  private readonly masks = new Map<string, Uint8Array>();
  /** Per plan: constraint verdicts per attribute value, and device slots per device shape. */
  private readonly filters = new Map<string, Uint32Array>();
  private readonly deviceTables = new Map<string, Int32Array>();
  private readonly lists = new Map<Uint8Array, Int32Array>();
  private state: PassState;
  /** Key of the mask currently in the kernel's elig view; null when unknown. */
  private eligKey: string | null = null;
  /** True while every slot in the kernel's view is -1 (the kernel leaves -1 untouched). */
  private slotsUnlimited = false;
  private seed = 0;
  private readonly groupCache = newGroupCache();
  /** Frozen row parts shared by every group of the plan with equal values (see `sharedRowParts`). */
  private readonly rowCache = newRowCache();
  /** Scratch for building eligible-node lists. */
  private listScratch: Int32Array | null = null;
  /** Scratch per node: agents placed on it by the current kernel call. */
  private readonly perNode: Int32Array;

  constructor(
    private readonly cluster: ClusterState,
    private readonly kernel: PlacementKernel,
    private readonly options: PlannerOptions,
  ) {
    this.index = new ClusterIndex(cluster, options);
    this.profiles = options.executionProfiles ?? {};
    this.only = options.onlyAgentIds ? new Set(options.onlyAgentIds) : null;
    this.state = new PassState(this.index, false);
    this.perNode = new Int32Array(this.index.n);
    this.load(this.index.baseFree);
  }

  private load(free: Float64Array): void {
    this.kernel.load(this.index.cap, free, this.index.n);
    this.eligKey = null;
    this.slotsUnlimited = false;
  }

  private strategyOf(job: Job): number {
    return (this.options.strategy ?? job.policies.strategy) === 'spread' ? STRATEGY_SPREAD : STRATEGY_BINPACK;
  }

  /**
   * The job's groups in placement order. In manifest order they are prepared one at a time as
   * they are placed, so a job of 10,000 distinct agents never holds 10,000 prepared groups.
   */
  private groupsOf(job: Job): Iterable<PreparedGroup> {
    if (this.options.groupOrder === 'largest_first') return this.sortedGroups(job);
    return this.lazyGroups(job);
  }

  private *lazyGroups(job: Job): Generator<PreparedGroup> {
    for (const spec of job.nodes) {
      const group = this.prepare(job, spec);
      if (group) yield group;
    }
  }

  /** The group of one manifest node (only the agents `onlyAgentIds` names), or null for none. */
  private prepare(job: Job, spec: Job['nodes'][number]): PreparedGroup | null {
    if (this.only === null) return prepareGroup(job, spec, null, this.profiles, this.groupCache);
    const count = Math.max(1, spec.count);
    const indices: number[] = [];
    for (let i = 0; i < count; i++) if (this.only.has(agentIdOf(spec, i))) indices.push(i);
    return indices.length > 0 ? prepareGroup(job, spec, indices, this.profiles, this.groupCache) : null;
  }

  private allGroups(job: Job): PreparedGroup[] {
    const groups: PreparedGroup[] = [];
    for (const spec of job.nodes) {
      const group = this.prepare(job, spec);
      if (group) groups.push(group);
    }
    return groups;
  }

  /** Every group of the job, largest normalised ask first (`groupOrder: 'largest_first'`). */
  private sortedGroups(job: Job): PreparedGroup[] {
    const groups = this.allGroups(job);
    const cap = this.index.cap;
    const n = this.index.n;
    const mean = new Float64Array(DIMENSIONS);
    for (let d = 0; d < DIMENSIONS; d++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += cap[d * n + i]!;
      mean[d] = n > 0 ? s / n : 0;
    }
    const size = (g: PreparedGroup): number => {
      let s = 0;
      for (let d = 0; d < DIMENSIONS; d++) if (mean[d]! > 0) s += g.ask[d]! / mean[d]!;
      return s;
    };
    groups.sort((a, b) => size(b) - size(a));
    return groups;
  }

  /** Places one job into the current pass; `placements`/`failures` null for a dry run. */
  placeJob(job: Job, placements: PlacementRows | null, failures: PlacementFailure[] | null): JobResult {
    const type = job.policies.job_type;
    if (type === 'system' || type === 'sysbatch') return this.placeSystemJob(job, placements, failures);
    return this.placeGroups(this.groupsOf(job), placements, failures);
  }

  private placeGroups(groups: Iterable<PreparedGroup>, placements: PlacementRows | null, failures: PlacementFailure[] | null): JobResult {
    const jobState: JobState = { hosts: new Uint8Array(this.index.n), properties: new Map() };
    let placed = 0;
    let failed = 0;
    let failedGroups: PreparedGroup[] | undefined;
    for (const group of groups) {
      const got = this.placeGroup(group, jobState, placements);
      placed += got;
      const missing = group.size - got;
      if (missing > 0) {
        failed += missing;
        (failedGroups ??= []).push(group);
        if (failures) {
          failures.push(
            explainGroupFailure(this.view(jobState), group, got),
          );
        }
      }
    }
    return failedGroups ? { placed, failed, failedGroups } : { placed, failed };
  }

  /**
   * Would what failed of the job fit on this cluster with no existing allocations and nothing
   * else of this plan (spec §3.7)? Re-places only the failed groups (all their agents, in order)
   * in a dry pass on the empty cluster (a system job: the whole job) and restores the real state.
   */
  probeEmpty(job: Job, result: JobResult): boolean {
    const saved = this.kernel.free().slice();
    const savedState = this.state;
    this.state = new PassState(this.index, true);
    this.load(this.index.cap);
    const type = job.policies.job_type;
    const system = type === 'system' || type === 'sysbatch';
    const probe = system || !result.failedGroups ? this.placeJob(job, null, null) : this.placeGroups(result.failedGroups, null, null);
    this.state = savedState;
    this.load(saved);
    return probe.failed === 0;
  }

  private view(jobState: JobState): PassView {
    return {
      index: this.index,
      state: this.state,
      free: this.kernel.free(),
      jobHosts: jobState.hosts,
      jobProperties: jobState.properties,
      propertyColumn: (a) => this.column(a),
    };
  }

  private column(attribute: string): { values: Int32Array; names: string[] } {
    return this.index.column(attribute, (node) => {
      const v = resolveAttribute(node, attribute);
      return v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
    });
  }

  /**
   * Status, profile, constraints, driver, volumes and node services. Each filter is evaluated
   * once per machine shape for its concern (per distinct value of the attribute a constraint
   * reads, per distinct driver list, ...) and spread over the nodes with one typed-array pass;
   * only constraints on per-node fields (`node`, `status`) and services are judged per node.
   */
  staticMask(group: PreparedGroup): Uint8Array {
    const cached = this.masks.get(group.maskKey);
    if (cached) return cached;
    const { index } = this;
    const n = index.n;
    const spec = group.spec;
    const needsServices = spec.requires_services.some((s) => s.required);
    const nodeConstraints = group.staticConstraints.filter((c) => c.perNode);
    // Per-node verdicts of each filter (u32 words over a byte per node, zero-padded), cached
    // per plan by filter: a mask is then an AND of a few word columns.
    const filters: Uint32Array[] = [];
    for (const c of group.staticConstraints) {
      if (!c.perNode) filters.push(this.constraintFilter(c));
    }
    if (group.profileName !== null) {
      const name = group.profileName;
      const profile = group.profile;
      filters.push(
        this.nodeFilter(`profile\u0000${JSON.stringify([name, profile ?? null])}`, index.keyed('profile', profileKey), (rep) => profileOk(rep, name, profile)),
      );
    }
    const driver = spec.resources.runtime_driver;
    if (driver !== null) {
      filters.push(this.nodeFilter(`driver\u0000${driver}`, index.keyed('runtime_drivers', driversKey), (rep) => driverOk(rep, driver)));
    }
    const volumes = spec.resources.volumes;
    if (volumes.length > 0) {
      filters.push(
        this.nodeFilter(`volumes\u0000${JSON.stringify(volumes.map((v) => v.source))}`, index.keyed('host_paths', pathsKey), (rep) => volumesOk(rep, volumes)),
      );
    }
    if (filters.length === 0 && nodeConstraints.length === 0 && !needsServices) {
      this.masks.set(group.maskKey, index.schedulable);
      return index.schedulable;
    }
    const words = (n + 3) >> 2;
    const buffer = new ArrayBuffer(words * 4);
    const mask = new Uint8Array(buffer, 0, n);
    mask.set(index.schedulable);
    const m32 = new Uint32Array(buffer);
    for (const f of filters) for (let w = 0; w < words; w++) m32[w]! &= f[w]!;
    if (nodeConstraints.length > 0 || needsServices) {
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        const node = index.nodes[i]!;
        if (nodeConstraints.length > 0 && !nodeConstraints.every((c) => c.test(resolveAttribute(node, c.attribute)))) mask[i] = 0;
        else if (needsServices && !servicesOk(index.servicesAt[i], spec.requires_services)) mask[i] = 0;
      }
    }
    this.masks.set(group.maskKey, mask);
    return mask;
  }

  /**
   * A filter's verdict per node as u32 words (a byte per node, 1 = passes), evaluated once per
   * shape of `col` on its representative node; cached per plan under `key`.
   */
  private nodeFilter(key: string, col: KeyedColumn, test: (rep: ClusterNode) => boolean): Uint32Array {
    let words = this.filters.get(key);
    if (!words) {
      // A pure function of the nodes: shared by every plan over this cluster.
      words = this.index.fact(`filter\u0000${key}`, () => {
        const ok = new Uint8Array(col.count);
        const nodes = this.index.nodes;
        for (let v = 0; v < col.count; v++) ok[v] = test(nodes[col.reps[v]!]!) ? 1 : 0;
        const n = this.index.n;
        const made = new Uint32Array((n + 3) >> 2);
        const bytes = new Uint8Array(made.buffer, 0, n);
        const values = col.values;
        for (let i = 0; i < n; i++) bytes[i] = ok[values[i]!]!;
        return made;
      });
      this.filters.set(key, words);
    }
    return words;
  }

  /** A static constraint as a node filter, evaluated once per distinct value of its attribute. */
  private constraintFilter(c: CompiledConstraint): Uint32Array {
    const attribute = c.attribute;
    return this.nodeFilter(
      `${attribute}\u0000${JSON.stringify(c.constraint)}`,
      this.index.keyed(`attr:${attribute}`, (node) => lookupKey(resolveAttribute(node, attribute))),
      (rep) => c.test(resolveAttribute(rep, attribute)),
    );
  }

  /**
   * Slots per device shape for a group's device requests on a node holding none of its devices:
   * -1 where the group binds no devices on that shape (its requests do not apply there). Greedy
   * assignment is sequential, so the slots under a limit L are min(this, L).
   */
  private deviceTable(group: PreparedGroup): { col: KeyedColumn; fresh: Int32Array; key: string } {
    const col = this.index.keyed('devices', devicesKey);
    const key = (group.deviceKey ??= JSON.stringify([group.explicitDevices, group.genericGpu]));
    let fresh = this.deviceTables.get(key);
    if (!fresh) {
      // A pure function of the nodes' devices: shared by every plan over this cluster.
      fresh = this.index.fact(`devices\u0000${key}`, () => {
        const made = new Int32Array(col.count);
        const nodes = this.index.nodes;
        for (let v = 0; v < col.count; v++) {
          const rep = nodes[col.reps[v]!]!;
          const reqs = deviceRequestsFor(rep, group.explicitDevices, group.genericGpu);
          made[v] = reqs.length === 0 ? -1 : deviceSlots(rep.devices, undefined, reqs, rep.devices.length);
        }
        return made;
      });
      this.deviceTables.set(key, fresh);
    }
    return { col, fresh, key };
  }

  /**
   * The kernel's eligibility for a group: the static mask, and for a group binding devices also
   * without the nodes whose device shape cannot take even one agent when all its devices are
   * free (devices are only taken during a pass, so such a node never fits; the kernel treats an
   * ineligible node and a node without slots alike). `key` names the mask for the elig view.
   */
  private eligibility(group: PreparedGroup): { mask: Uint8Array; key: string } {
    const mask = this.staticMask(group);
    if (group.explicitDevices.length === 0 && group.genericGpu === null) return { mask, key: group.maskKey };
    const table = this.deviceTable(group);
    const key = `${group.maskKey}\u0002${table.key}`;
    let combined = this.masks.get(key);
    if (!combined) {
      const n = this.index.n;
      // Where the device shape can serve an agent at all: a word column per device request
      // (a pure function of the nodes, cached per cluster), ANDed word-wise into the mask.
      const serves = this.index.fact(`serves\u0000${table.key}`, () => {
        const made = new Uint32Array((n + 3) >> 2);
        const bytes = new Uint8Array(made.buffer, 0, n);
        const shapeOf = table.col.values;
        const fresh = table.fresh;
        for (let i = 0; i < n; i++) bytes[i] = fresh[shapeOf[i]!] === 0 ? 0 : 1;
        return made;
      });
      const words = (n + 3) >> 2;
      const buffer = new ArrayBuffer(words * 4);
      combined = new Uint8Array(buffer, 0, n);
      combined.set(mask);
      const m32 = new Uint32Array(buffer);
      for (let w = 0; w < words; w++) m32[w]! &= serves[w]!;
      this.masks.set(key, combined);
    }
    return { mask: combined, key };
  }

  /** The indices of a mask's eligible nodes, ascending (built once per mask and plan). */
  private eligibleList(mask: Uint8Array): Int32Array {
    let list = this.lists.get(mask);
    if (!list) {
      // One pass, four nodes per u32 word, skipping words with no eligible node.
      const scratch = (this.listScratch ??= new Int32Array(this.index.n));
      const n = mask.length;
      const whole = mask.byteOffset % 4 === 0 ? n >> 2 : 0;
      const m32 = whole > 0 ? new Uint32Array(mask.buffer, mask.byteOffset, whole) : null;
      let k = 0;
      for (let w = 0; w < whole; w++) {
        if (m32![w] === 0) continue;
        const b = w << 2;
        if (mask[b]) scratch[k++] = b;
        if (mask[b + 1]) scratch[k++] = b + 1;
        if (mask[b + 2]) scratch[k++] = b + 2;
        if (mask[b + 3]) scratch[k++] = b + 3;
      }
      for (let i = whole << 2; i < n; i++) if (mask[i]) scratch[k++] = i;
      list = scratch.slice(0, k);
      this.lists.set(mask, list);
    }
    return list;
  }

  /**
   * Fills the kernel's slot view for a group: how many more agents each node can take because of
   * ports (0 or 1), devices (greedy device assignment, repeated) and `distinct_hosts` (0 or 1).
   */
  private fillSlots(group: PreparedGroup, mask: Uint8Array, jobState: JobState, limit: number): void {
    const slots = this.kernel.slots();
    const hasPorts = group.portKeys.length > 0;
    const hasDevices = group.explicitDevices.length > 0 || group.genericGpu !== null;
    if (!hasPorts && !hasDevices && !group.distinctHosts) {
      if (!this.slotsUnlimited) slots.fill(-1);
      this.slotsUnlimited = true;
      return;
    }
    this.slotsUnlimited = false;
    const { index, state } = this;
    const n = index.n;
    if (group.portSelfConflict) {
      slots.fill(0, 0, n);
      return;
    }
    const table = hasDevices ? this.deviceTable(group) : null;
    const shapeOf = table?.col.values;
    const fresh = table?.fresh;
    const held = table ? state.deviceCache(table.key, n) : null;
    const version = state.deviceVersion;
    const hosts = jobState.hosts;
    const ports = state.ports;
    const devices = state.devices;
    // Only eligible nodes' slots are read by the kernel: the others keep whatever they hold.
    const list = this.eligibleList(mask);
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      let s = -1;
      if (group.distinctHosts) s = hosts[i] ? 0 : 1;
      if (s !== 0 && hasPorts) {
        const used = ports[i];
        s = used !== undefined && group.portKeys.some((k) => used.has(k)) ? 0 : 1;
      }
      if (s !== 0 && fresh !== undefined) {
        const t = fresh[shapeOf![i]!]!;
        if (t >= 0) {
          const lim = s < 0 ? limit : s;
          const used = devices[i];
          if (used === undefined) s = t < lim ? t : lim;
          else {
            // A node holding devices: its own answer, recomputed only after its devices changed.
            const stamp = version[i]! + 1;
            if (held!.ver[i] !== stamp) {
              const node = index.nodes[i]!;
              held!.slots[i] = deviceSlots(node.devices, used, deviceRequestsFor(node, group.explicitDevices, group.genericGpu), node.devices.length);
              held!.ver[i] = stamp;
            }
            const h = held!.slots[i]!;
            s = h < lim ? h : lim;
          }
        }
      }
      slots[i] = s;
    }
  }

  private spreadFor(group: PreparedGroup, count: number): KernelSpread | null {
    const blocks = group.spec.spread;
    if (blocks.length === 0) return null;
    const n = this.index.n;
    const cols = blocks.map((b) => this.column(b.attribute));
    const maxValues = Math.max(1, ...cols.map((c) => c.names.length));
    const values = new Int32Array(blocks.length * n);
    const counts = new Float64Array(blocks.length * maxValues);
    const desired = new Float64Array(blocks.length * maxValues);
    const weights = new Float64Array(blocks.length);
    blocks.forEach((b, k) => {
      const col = cols[k]!;
      values.set(col.values, k * n);
      weights[k] = b.weight;
      for (let v = 0; v < maxValues; v++) {
        if (b.targets.length === 0) desired[k * maxValues + v] = -1;
        else {
          const target = b.targets.find((t) => t.value === col.names[v]);
          desired[k * maxValues + v] = target ? (target.percent / 100) * count : 0;
        }
      }
    });
    return { blocks: blocks.length, maxValues, values, counts, desired, weights };
  }

  private propertyFor(group: PreparedGroup, jobState: JobState, which: number): KernelPropertyLimit {
    const p = group.properties[which]!;
    const col = this.column(p.attribute);
    const used = this.jobPropertyCounts(jobState, p.attribute, col.names.length);
    const remaining = new Int32Array(Math.max(1, col.names.length));
    for (let v = 0; v < col.names.length; v++) remaining[v] = Math.max(0, p.limit - used[v]!);
    return { values: col.values, remaining };
  }

  private jobPropertyCounts(jobState: JobState, attribute: string, size: number): Int32Array {
    let counts = jobState.properties.get(attribute);
    if (!counts) {
      counts = new Int32Array(Math.max(1, size));
      jobState.properties.set(attribute, counts);
    }
    return counts;
  }

  /** Places one group; returns how many of its agents were placed (always a prefix). */
  private placeGroup(group: PreparedGroup, jobState: JobState, placements: PlacementRows | null): number {
    const total = group.size;
    const { mask, key } = this.eligibility(group);
    const strategy = this.strategyOf(group.job);
    const sampleK = this.options.sampleK ?? 0;
    // One kernel call for the whole class, unless several distinct_property limits apply: the
    // kernel enforces one, so with more the agents go one call each with the others as a mask.
    const sequential = group.properties.length > 1;
    const spread = this.spreadFor(group, total);
    let placed = 0;
    while (placed < total) {
      const count = sequential ? 1 : total - placed;
      const elig = this.kernel.elig();
      if (sequential) {
        elig.set(mask);
        for (let k = 1; k < group.properties.length; k++) {
          const lim = this.propertyFor(group, jobState, k);
          const col = this.column(group.properties[k]!.attribute);
          for (let i = 0; i < this.index.n; i++) {
            const v = col.values[i]!;
            if (v >= 0 && lim.remaining[v]! <= 0) elig[i] = 0;
          }
        }
        this.eligKey = null;
      } else if (this.eligKey !== key) {
        elig.set(mask);
        this.eligKey = key;
      }
      this.fillSlots(group, mask, jobState, count);
      const property = group.properties.length > 0 ? this.propertyFor(group, jobState, 0) : null;
      const result = this.kernel.place({
        ask: group.ask,
        strategy,
        count,
        sampleK,
        seed: this.seed++,
        spread,
        property,
      });
      const got = result.placed;
      this.commit(group, jobState, result.out, got, placed, strategy, placements);
      placed += got;
      if (got < count) break;
    }
    return placed;
  }

  /** Records the kernel's choices: discrete resources, job bookkeeping and output rows. */
  private commit(
    group: PreparedGroup,
    jobState: JobState,
    out: Int32Array,
    got: number,
    offset: number,
    strategy: number,
    placements: PlacementRows | null,
  ): void {
    const { index, state, perNode } = this;
    const n = index.n;
    const spec = group.spec;
    const needsDevices = group.explicitDevices.length > 0 || group.genericGpu !== null;
    const propCols = group.properties.length === 0 ? NO_COLUMNS : group.properties.map((p) => this.column(p.attribute));
    const propCounts =
      group.properties.length === 0 ? NO_COUNTS : group.properties.map((p, k) => this.jobPropertyCounts(jobState, p.attribute, propCols[k]!.names.length));
    // Agents placed per node in this call, to reconstruct each agent's score at its turn.
    for (let j = 0; j < got; j += CHUNK) countPerNode(out, j, Math.min(got, j + CHUNK), perNode);
    const free = this.kernel.free();
    const ask = group.ask;
    // Rows of one group share frozen sub-objects; only device ids differ per agent.
    const shared = placements === null ? null : sharedRowParts(group, this.rowCache);
    if (shared !== null) placements!.startRun(group, shared, offset);
    if (!needsDevices && !group.distinctHosts && propCols.length === 0 && group.portKeys.length === 0) {
      // Agents holding nothing discrete (the common case): only their scores are recorded.
      for (let j = 0; j < got; j += CHUNK) recordPlain(placements, out, j, Math.min(got, j + CHUNK), index.cap, free, n, ask, perNode, strategy);
      return;
    }
    const requestedDriver = spec.resources.runtime_driver;
    for (let j = 0; j < got; j++) {
      const i = out[j]!;
      if (group.distinctHosts) jobState.hosts[i] = 1;
      for (let k = 0; k < propCols.length; k++) {
        const v = propCols[k]!.values[i]!;
        if (v >= 0) propCounts[k]![v]!++;
      }
      for (const key of group.portKeys) state.addPort(i, key);
      let allocations: Placement['allocations'] | undefined;
      if (needsDevices) {
        const node = index.nodes[i]!;
        const reqs = deviceRequestsFor(node, group.explicitDevices, group.genericGpu);
        const picked = pickDevices(node.devices, state.devices[i], reqs) ?? [];
        for (const d of picked) state.addDevice(i, d.id);
        if (picked.length > 0 && shared !== null) {
          allocations = Object.freeze({
            devices: Object.freeze(picked.map((d) => Object.freeze({ id: d.id }))),
            ports: shared.ports,
            volumes: shared.volumes,
            runtime_driver: effectiveDriver(node, requestedDriver),
          });
        }
      }
      const remainingOnNode = perNode[i]!;
      perNode[i] = remainingOnNode - 1;
      if (placements === null) continue;
      placements.add(i, scoreBefore(index.cap, free, n, i, ask, remainingOnNode, strategy), allocations);
    }
    // perNode is back to all zeros: every increment above was matched by a decrement.
  }

  // ---------------------------------------------------------------- system / sysbatch

  /**
   * System and sysbatch jobs (spec §3.5): the whole agent group goes onto every schedulable node
   * that can hold all of it at once, in inventory order; copies are named `<agent>@<node>`.
   */
  private placeSystemJob(job: Job, placements: PlacementRows | null, failures: PlacementFailure[] | null): JobResult {
    const groups = this.options.groupOrder === 'largest_first' ? this.sortedGroups(job) : this.allGroups(job);
    const agents = groups.reduce((s, g) => s + g.size, 0);
    if (agents === 0) return { placed: 0, failed: 0, systemTargets: [] };
    const { index, state } = this;
    const n = index.n;
    const masks = groups.map((g) => this.staticMask(g));
    const strategy = this.strategyOf(job);
    const totalAsk = new Float64Array(DIMENSIONS);
    for (const g of groups) for (let d = 0; d < DIMENSIONS; d++) totalAsk[d]! += g.ask[d]! * g.size;
    const keys: string[] = [];
    for (const g of groups) for (let c = 0; c < g.size; c++) keys.push(...g.portKeys);
    const selfConflict = new Set(keys).size !== keys.length;
    const targets: string[] = [];
    let placed = 0;
    for (let i = 0; i < n; i++) {
      if (!masks.every((m) => m[i])) continue;
      const free = this.kernel.free();
      let fits = !selfConflict;
      for (let d = 0; d < DIMENSIONS && fits; d++) if (!fitsScalar(free[d * n + i]!, totalAsk[d]!)) fits = false;
      const used = state.ports[i];
      if (fits && used !== undefined && keys.some((k) => used.has(k))) fits = false;
      const node = index.nodes[i]!;
      let picks: Array<Array<{ id: string }>> | null = null;
      if (fits) {
        picks = systemDevices(node, state.devices[i], groups);
        if (picks === null) fits = false;
      }
      if (!fits || picks === null) continue;
      targets.push(node.name);
      let a = 0;
      for (const g of groups) {
        for (let c = 0; c < g.size; c++) {
          const idx = indexAt(g, c);
          const score = scoreBefore(index.cap, free, n, i, g.ask, 0, strategy);
          for (let d = 0; d < DIMENSIONS; d++) free[d * n + i]! -= g.ask[d]!;
          this.kernel.touch(i);
          for (const key of g.portKeys) state.addPort(i, key);
          const devices = picks[a++]!;
          for (const dev of devices) state.addDevice(i, dev.id);
          placed++;
          if (placements === null) continue;
          const spec = g.spec;
          const shared = sharedRowParts(g, this.rowCache);
          placements.addRow({
            job: job.graph_id,
            agent_id: `${agentIdOf(spec, idx)}@${node.name}`,
            source_node_id: spec.node_id,
            node: node.name,
            resources: shared.resources,
            allocations: Object.freeze({
              devices: devices.length === 0 ? NO_DEVICES : Object.freeze(devices),
              ports: shared.ports,
              volumes: shared.volumes,
              runtime_driver: effectiveDriver(node, spec.resources.runtime_driver),
            }),
            score,
          });
        }
      }
    }
    if (targets.length > 0) return { placed, failed: 0, systemTargets: targets };
    if (failures) failures.push(explainSystemFailure(this.view({ hosts: new Uint8Array(n), properties: new Map() }), job, groups, masks, totalAsk, selfConflict));
    return { placed: 0, failed: agents, systemTargets: [] };
  }

  // ---------------------------------------------------------------- preemption (preempt.ts)

  private ledger: PreemptionLedger | null = null;

  /** The preempting pass for what failed of `job`; the result is unchanged when it cannot help. */
  preempt(job: Job, result: JobResult, placements: PlacementRows, failures: PlacementFailure[], preemptions: Preemption[]): JobResult {
    this.ledger ??= new PreemptionLedger(new Set(this.options.ignoreJobIds ?? []));
    if (result.systemTargets) {
      const extra = preemptSystemJob(this.preemptHost(), this.ledger, job, result.systemTargets, placements, failures, preemptions);
      if (extra.targets.length === 0) return result;
      const order = new Map(this.index.nodes.map((node, i) => [node.name, i]));
      const systemTargets = [...result.systemTargets, ...extra.targets].sort((a, b) => order.get(a)! - order.get(b)!);
      return { placed: result.placed + extra.placed, failed: 0, systemTargets };
    }
    if (!result.failedGroups) return result;
    const placed = preemptJob(this.preemptHost(), this.ledger, job, result.failedGroups, placements, failures, preemptions);
    return placed === null ? result : { placed: result.placed + placed, failed: 0 };
  }

  private preemptHost(): PreemptHost {
    return {
      cluster: this.cluster,
      index: this.index,
      kernel: this.kernel,
      state: () => this.state,
      eligibility: (g) => this.eligibility(g).mask,
      placeGroup: (g, jobState, placements) => this.placeGroup(g, jobState, placements),
      column: (a) => this.column(a),
      strategyOf: (j) => this.strategyOf(j),
      prepare: (j, g, indices) => prepareGroup(j, g.spec, indices, this.profiles),
      groups: (j) => [...this.groupsOf(j)],
      staticMask: (g) => this.staticMask(g),
      save: () => {
        const saved = { free: this.kernel.free().slice(), state: this.state };
        this.state = this.state.clone(this.index);
        return saved;
      },
      restore: (saved) => {
        const s = saved as { free: Float64Array; state: PassState };
        this.state = s.state;
        this.load(s.free);
      },
    };
  }
}

const NO_COLUMNS: ReadonlyArray<{ values: Int32Array; names: string[] }> = Object.freeze([]);
const NO_COUNTS: readonly Int32Array[] = Object.freeze([]);

/**
 * Per-agent loops run in chunks of this many agents through small functions, so that a call
 * placing 100,000 agents runs optimised code from the first chunk on (a single long loop depends
 * on on-stack replacement, which a garbage collection between plans throws away).
 */
const CHUNK = 2048;

function countPerNode(out: Int32Array, from: number, to: number, perNode: Int32Array): void {
  for (let j = from; j < to; j++) perNode[out[j]!]!++;
}

/** Rows of agents `from..to-1` of a kernel call that hold no ports, devices or job bookkeeping. */
function recordPlain(
  rows: PlacementRows | null,
  out: Int32Array,
  from: number,
  to: number,
  cap: Float64Array,
  free: Float64Array,
  n: number,
  ask: Float64Array,
  perNode: Int32Array,
  strategy: number,
): void {
  for (let j = from; j < to; j++) {
    const i = out[j]!;
    const remainingOnNode = perNode[i]!;
    perNode[i] = remainingOnNode - 1;
    if (rows !== null) rows.add(i, scoreBefore(cap, free, n, i, ask, remainingOnNode, strategy));
  }
}

/** How many agents (up to `limit`) can get devices on a node, assigning greedily one by one. */
function deviceSlots(
  devices: ClusterState['nodes'][number]['devices'],
  used: ReadonlySet<string> | undefined,
  reqs: Parameters<typeof pickDevices>[2],
  limit: number,
): number {
  const taken = new Set(used);
  let k = 0;
  while (k < limit) {
    const picked = pickDevices(devices, taken, reqs);
    if (picked === null || picked.length === 0) break;
    for (const d of picked) taken.add(d.id);
    k++;
  }
  return k;
}

/**
 * Utilisation score (docs/placement-kernel.md) of node i as an agent saw it when placed. `free` is
 * the state after the kernel call; `pending` is how many agents of that call went onto the node
 * from this agent on (this one included), whose asks are added back to see the earlier state.
 */
export function scoreBefore(
  cap: Float64Array,
  free: Float64Array,
  n: number,
  i: number,
  ask: Float64Array,
  pending: number,
  strategy: number,
): number {
  let sum = 0;
  let dims = 0;
  for (let d = 0; d < DIMENSIONS; d++) {
    const c = cap[d * n + i]!;
    if (c > 0) {
      const before = free[d * n + i]! + pending * ask[d]!;
      sum += (c - before + ask[d]!) / c;
      dims++;
    }
  }
  const u = dims > 0 ? sum / dims : 0;
  return strategy === STRATEGY_SPREAD ? (dims > 0 ? 1 - u : 1) : u;
}

/** Shape keys of the concerns the static filters read (see `ClusterIndex.keyed`). */
function lookupKey(v: AttributeLookup): string {
  return v === undefined ? 'u' : typeof v === 'string' ? `s${v}` : `l${v.join('\u0000')}`;
}

function profileKey(node: ClusterNode): string {
  return `${node.profiles.join('\u0000')}\u0001${node.capabilities.join('\u0000')}`;
}

function driversKey(node: ClusterNode): string {
  return node.runtime_drivers.join('\u0000');
}

function pathsKey(node: ClusterNode): string {
  return node.host_paths.join('\u0000');
}

function devicesKey(node: ClusterNode): string {
  return node.devices.length === 0 ? '' : JSON.stringify(node.devices);
}
