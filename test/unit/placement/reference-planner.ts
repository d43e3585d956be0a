/**
 * The planner as it was before per-shape eligibility, per-shape device slots and the probe of
 * only the failed groups: kept verbatim (imports aside) as the reference of the differential
 * test `planner-differential.test.ts`. Plans of the two must be equal, except the availability
 * of a job with failures (this one re-places the whole job on the empty cluster; the planner
 * re-places only the groups that failed).
 */
import type { ClusterState } from '../../../src/core/cluster/types.js';
import type { Job, Strategy } from '../../../src/core/manifest/types.js';
import { resolveAttribute } from '../../../src/core/placement/constraints.js';
import { ClusterIndex } from '../../../src/core/placement/cluster-index.js';
import { explainGroupFailure, explainSystemFailure } from '../../../src/core/placement/explain.js';
import {
  type ExecutionProfile,
  deviceRequestsFor,
  driverOk,
  effectiveDriver,
  pickDevices,
  profileOk,
  servicesOk,
  volumesOk,
} from '../../../src/core/placement/filters.js';
import { type PreparedGroup, agentIdOf, indexAt, prepareGroup, systemDevices } from '../../../src/core/placement/group.js';
import {
  DIMENSIONS,
  STRATEGY_BINPACK,
  STRATEGY_SPREAD,
  type KernelPropertyLimit,
  type KernelSpread,
  type PlacementKernel,
} from '../../../src/core/placement/kernel-types.js';
import type { Availability, JobSummary, Placement, PlacementFailure, Plan } from '../../../src/core/placement/plan-types.js';

/** Options of `referencePlanJobs`. */
interface PlannerOptions {
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

  constructor(index: ClusterIndex, empty: boolean) {
    this.ports = empty ? new Array<Set<string> | undefined>(index.n) : index.basePorts.slice();
    this.devices = empty ? new Array<Set<string> | undefined>(index.n) : index.baseDevices.slice();
    this.ownPorts = new Uint8Array(index.n);
    this.ownDevices = new Uint8Array(index.n);
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
  }
}

/** What the explainer needs to judge a node in the current state. */
export interface PassView {
  index: ClusterIndex;
  state: PassState;
  free: Float64Array;
  jobHosts: Uint8Array;
  jobProperties: ReadonlyMap<string, Int32Array>;
  propertyColumn(attribute: string): { values: Int32Array; names: string[] };
}

/** Places `jobs` in order onto `cluster` with `kernel`. Pure: time comes from `options.clock`. */
export function referencePlanJobs(cluster: ClusterState, jobs: readonly Job[], kernel: PlacementKernel, options: PlannerOptions = {}): Plan {
  const started = options.clock?.() ?? 0;
  const planner = new Planner(cluster, kernel, options);
  const placements: Placement[] = [];
  const failures: PlacementFailure[] = [];
  const summaries: JobSummary[] = [];
  let placedTotal = 0;
  let agentsTotal = 0;
  for (const job of jobs) {
    const result = planner.placeJob(job, placements, failures);
    let availability: Availability = 'runnable_now';
    if (result.failed > 0) availability = planner.probeEmpty(job) ? 'runnable_later' : 'not_runnable';
    const summary: JobSummary = { job: job.graph_id, placed: result.placed, failed: result.failed, availability };
    if (result.systemTargets) summary.system_targets = result.systemTargets;
    summaries.push(summary);
    placedTotal += result.placed;
    agentsTotal += result.placed + result.failed;
  }
  const failedTotal = agentsTotal - placedTotal;
  const strategy = options.strategy ?? jobs[0]?.policies.strategy ?? 'binpack';
  return {
    status: failedTotal === 0 ? 'planned' : placedTotal === 0 ? 'failed' : 'partial',
    strategy,
    placements,
    failures,
    // The reference has no preempting pass (the default configuration never preempts a non-system job).
    preemptions: [],
    jobs: summaries,
    stats: {
      nodes: cluster.nodes.length,
      agents: agentsTotal,
      placed: placedTotal,
      elapsed_ms: options.clock ? options.clock() - started : 0,
      engine: kernel.engine,
    },
  };
}

interface JobResult {
  placed: number;
  failed: number;
  systemTargets?: string[];
}

class Planner {
  readonly index: ClusterIndex;
  private readonly profiles: Readonly<Record<string, ExecutionProfile>>;
  private readonly only: ReadonlySet<string> | null;
  private readonly masks = new Map<string, Uint8Array>();
  private state: PassState;
  /** Key of the mask currently in the kernel's elig view; null when unknown. */
  private eligKey: string | null = null;
  /** True while every slot in the kernel's view is -1 (the kernel leaves -1 untouched). */
  private slotsUnlimited = false;
  private seed = 0;
  /** Scratch per node: agents placed on it by the current kernel call. */
  private readonly perNode: Int32Array;

  constructor(
    cluster: ClusterState,
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

  private groupsOf(job: Job): PreparedGroup[] {
    const groups: PreparedGroup[] = [];
    for (const spec of job.nodes) {
      const count = Math.max(1, spec.count);
      if (this.only === null) {
        groups.push(prepareGroup(job, spec, null, this.profiles));
        continue;
      }
      const indices: number[] = [];
      for (let i = 0; i < count; i++) if (this.only.has(agentIdOf(spec, i))) indices.push(i);
      if (indices.length > 0) groups.push(prepareGroup(job, spec, indices, this.profiles));
    }
    if (this.options.groupOrder === 'largest_first') {
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
    }
    return groups;
  }

  /** Places one job into the current pass; `placements`/`failures` null for a dry run. */
  placeJob(job: Job, placements: Placement[] | null, failures: PlacementFailure[] | null): JobResult {
    const type = job.policies.job_type;
    if (type === 'system' || type === 'sysbatch') return this.placeSystemJob(job, placements, failures);
    const jobState: JobState = { hosts: new Uint8Array(this.index.n), properties: new Map() };
    let placed = 0;
    let failed = 0;
    for (const group of this.groupsOf(job)) {
      const got = this.placeGroup(group, jobState, placements);
      placed += got;
      const missing = group.size - got;
      if (missing > 0) {
        failed += missing;
        if (failures) {
          failures.push(
            explainGroupFailure(this.view(jobState), group, got),
          );
        }
      }
    }
    return { placed, failed };
  }

  /**
   * Would the job fit on this cluster with no existing allocations and nothing else of this plan?
   * Runs a dry pass on the empty cluster and restores the real state afterwards.
   */
  probeEmpty(job: Job): boolean {
    const saved = this.kernel.free().slice();
    const savedState = this.state;
    this.state = new PassState(this.index, true);
    this.load(this.index.cap);
    const result = this.placeJob(job, null, null);
    this.state = savedState;
    this.load(saved);
    return result.failed === 0;
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

  /** Status, class-level filters (profile, constraints, driver, volumes) and node services. */
  staticMask(group: PreparedGroup): Uint8Array {
    const cached = this.masks.get(group.maskKey);
    if (cached) return cached;
    const { index } = this;
    const classOk = new Uint8Array(index.classCount);
    const classConstraints = group.staticConstraints.filter((c) => !c.perNode);
    const nodeConstraints = group.staticConstraints.filter((c) => c.perNode);
    const spec = group.spec;
    for (let k = 0; k < index.classCount; k++) {
      const rep = index.classReps[k]!;
      classOk[k] =
        profileOk(rep, group.profileName, group.profile) &&
        classConstraints.every((c) => c.test(resolveAttribute(rep, c.attribute))) &&
        driverOk(rep, spec.resources.runtime_driver) &&
        volumesOk(rep, spec.resources.volumes)
          ? 1
          : 0;
    }
    const mask = new Uint8Array(index.n);
    const needsServices = spec.requires_services.some((s) => s.required);
    for (let i = 0; i < index.n; i++) {
      if (!index.schedulable[i] || !classOk[index.classOf[i]!]) continue;
      const node = index.nodes[i]!;
      if (nodeConstraints.length > 0 && !nodeConstraints.every((c) => c.test(resolveAttribute(node, c.attribute)))) continue;
      if (needsServices && !servicesOk(index.servicesAt[i], spec.requires_services)) continue;
      mask[i] = 1;
    }
    this.masks.set(group.maskKey, mask);
    return mask;
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
    for (let i = 0; i < index.n; i++) {
      if (!mask[i] || group.portSelfConflict) {
        slots[i] = 0;
        continue;
      }
      let s = -1;
      if (group.distinctHosts) s = jobState.hosts[i] ? 0 : 1;
      if (s !== 0 && hasPorts) {
        const used = state.ports[i];
        s = used !== undefined && group.portKeys.some((k) => used.has(k)) ? 0 : 1;
      }
      if (s !== 0 && hasDevices) {
        const node = index.nodes[i]!;
        const reqs = deviceRequestsFor(node, group.explicitDevices, group.genericGpu);
        if (reqs.length > 0) s = deviceSlots(node.devices, state.devices[i], reqs, s < 0 ? limit : s);
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
  private placeGroup(group: PreparedGroup, jobState: JobState, placements: Placement[] | null): number {
    const total = group.size;
    const mask = this.staticMask(group);
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
      } else if (this.eligKey !== group.maskKey) {
        elig.set(mask);
        this.eligKey = group.maskKey;
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
    placements: Placement[] | null,
  ): void {
    const { index, state, perNode } = this;
    const n = index.n;
    const spec = group.spec;
    const needsDevices = group.explicitDevices.length > 0 || group.genericGpu !== null;
    const propCols = group.properties.map((p) => this.column(p.attribute));
    const propCounts = group.properties.map((p, k) => this.jobPropertyCounts(jobState, p.attribute, propCols[k]!.names.length));
    // Agents placed per node in this call, to reconstruct each agent's score at its turn.
    for (let j = 0; j < got; j++) perNode[out[j]!]!++;
    const free = this.kernel.free();
    const ask = group.ask;
    const jobId = group.job.graph_id;
    // Rows of one group share frozen sub-objects; only device ids differ per agent.
    const shared = sharedRowParts(group);
    const allocationsByDriver = new Map<string, Placement['allocations']>();
    const requestedDriver = spec.resources.runtime_driver;
    // Binpack places runs of agents on one node: the node's driver and (device-free) allocation
    // object are looked up once per run.
    let lastNode = -1;
    let driver = '';
    let nodeAllocations: Placement['allocations'] | undefined;
    for (let j = 0; j < got; j++) {
      const i = out[j]!;
      const node = index.nodes[i]!;
      if (group.distinctHosts) jobState.hosts[i] = 1;
      for (let k = 0; k < propCols.length; k++) {
        const v = propCols[k]!.values[i]!;
        if (v >= 0) propCounts[k]![v]!++;
      }
      for (const key of group.portKeys) state.addPort(i, key);
      if (i !== lastNode) {
        lastNode = i;
        driver = effectiveDriver(node, requestedDriver);
        nodeAllocations = allocationsByDriver.get(driver);
        if (nodeAllocations === undefined) {
          nodeAllocations = Object.freeze({ devices: NO_DEVICES, ports: shared.ports, volumes: shared.volumes, runtime_driver: driver });
          allocationsByDriver.set(driver, nodeAllocations);
        }
      }
      let allocations: Placement['allocations'] | undefined;
      if (needsDevices) {
        const reqs = deviceRequestsFor(node, group.explicitDevices, group.genericGpu);
        const picked = pickDevices(node.devices, state.devices[i], reqs) ?? [];
        for (const d of picked) state.addDevice(i, d.id);
        if (picked.length > 0) {
          allocations = Object.freeze({
            devices: Object.freeze(picked.map((d) => Object.freeze({ id: d.id }))),
            ports: shared.ports,
            volumes: shared.volumes,
            runtime_driver: driver,
          });
        }
      }
      if (allocations === undefined) allocations = nodeAllocations!;
      const remainingOnNode = perNode[i]!;
      perNode[i] = remainingOnNode - 1;
      if (placements === null) continue;
      placements.push({
        job: jobId,
        agent_id: agentIdOf(spec, indexAt(group, offset + j)),
        source_node_id: spec.node_id,
        node: node.name,
        resources: shared.resources,
        allocations,
        score: scoreBefore(index.cap, free, n, i, ask, remainingOnNode, strategy),
      });
    }
    // perNode is back to all zeros: every increment above was matched by a decrement.
  }

  // ---------------------------------------------------------------- system / sysbatch

  /**
   * System and sysbatch jobs (spec §3.5): the whole agent group goes onto every schedulable node
   * that can hold all of it at once, in inventory order; copies are named `<agent>@<node>`.
   */
  private placeSystemJob(job: Job, placements: Placement[] | null, failures: PlacementFailure[] | null): JobResult {
    const groups = this.groupsOf(job);
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
      for (let d = 0; d < DIMENSIONS && fits; d++) if (totalAsk[d]! > 0 && free[d * n + i]! < totalAsk[d]!) fits = false;
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
          const shared = sharedRowParts(g);
          placements.push({
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
}

const NO_DEVICES: Placement['allocations']['devices'] = Object.freeze([]);

interface SharedRowParts {
  resources: Placement['resources'];
  ports: Placement['allocations']['ports'];
  volumes: Placement['allocations']['volumes'];
}

const sharedParts = new WeakMap<PreparedGroup, SharedRowParts>();

/** The frozen row parts every agent of a group has in common, built once per group. */
function sharedRowParts(group: PreparedGroup): SharedRowParts {
  let parts = sharedParts.get(group);
  if (!parts) {
    const r = group.spec.resources;
    parts = {
      resources: Object.freeze({ ...group.scalar }),
      ports: Object.freeze(r.ports.map((p) => Object.freeze({ label: p.label, port: p.port, protocol: p.protocol }))),
      volumes: Object.freeze(r.volumes.map((v) => Object.freeze({ ...v }))),
    };
    sharedParts.set(group, parts);
  }
  return parts;
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
