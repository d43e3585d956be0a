/**
 * An agent group prepared for placement: one manifest node (all its fan-out copies share one
 * ask, one constraint set and one spread), turned into the numbers and compiled predicates the
 * planner needs.
 */
import type { Constraint, DeviceRequest, Job, NodeSpec, ScalarResources } from '../manifest/types.js';
import { isGpuDevice } from '../manifest/resources.js';
import { type CompiledConstraint, canonicalAttribute, compileConstraint } from './constraints.js';
import type { ClusterNode } from '../cluster/types.js';
import { type ExecutionProfile, deviceRequestsFor, pickDevices, portKey } from './filters.js';
import { DIMENSIONS } from './kernel-types.js';
import type { Placement } from './plan-types.js';

export interface PropertyLimit {
  attribute: string;
  limit: number;
}

export interface PreparedGroup {
  job: Job;
  spec: NodeSpec;
  /**
   * Fan-out indices to place, in order; null means all of 0..count-1 (kept implicit so a
   * 100,000-agent group costs no index array). See `indexAt`.
   */
  indices: readonly number[] | null;
  /** Number of agents to place. */
  size: number;
  /** Per-agent scalar ask, including a GPU execution profile's implicit GPU. */
  scalar: ScalarResources;
  ask: Float64Array;
  staticConstraints: CompiledConstraint[];
  distinctHosts: boolean;
  properties: PropertyLimit[];
  explicitDevices: DeviceRequest[];
  /** The GPU ask not covered by explicit GPU-like device requests, as a generic request. */
  genericGpu: DeviceRequest | null;
  portKeys: string[];
  /** The agent's own port requests collide (e.g. two labels on tcp 8080): it fits nowhere. */
  portSelfConflict: boolean;
  profileName: string | null;
  profile: ExecutionProfile | undefined;
  /** Key of the status/class/services eligibility mask (groups with equal keys share one). */
  maskKey: string;
  /** The planner's frozen row parts shared by the group's placements (built on first commit). */
  rows: GroupRowParts | null;
  /** The planner's key of the group's device requests (set on first use). */
  deviceKey?: string;
}

/** Row sub-objects every placement of a group shares (frozen; only device ids differ per agent). */
export interface GroupRowParts {
  resources: Placement['resources'];
  ports: Placement['allocations']['ports'];
  volumes: Placement['allocations']['volumes'];
  /** The device-free allocation object of the last runtime driver seen, and any others. */
  driver: string | null;
  allocations: Placement['allocations'] | null;
  byDriver: Map<string, Placement['allocations']> | null;
}

/** Fan-out index of the group's j-th agent to place. */
export function indexAt(group: PreparedGroup, j: number): number {
  return group.indices === null ? j : group.indices[j]!;
}

/** Agent id of fan-out copy `index` of a node (DESIGN §4.3). */
export function agentIdOf(spec: NodeSpec, index: number): string {
  return spec.count > 1 ? `${spec.node_id}-${index}` : spec.node_id;
}

const NO_KEYS: string[] = [];

/**
 * What groups of one plan share: the compiled static constraints per mask key (groups with equal
 * static filters compile their constraints, regular expressions included, once per plan).
 */
export interface GroupCache {
  constraints: Map<string, CompiledConstraint[]>;
}

export function newGroupCache(): GroupCache {
  return { constraints: new Map() };
}

export function prepareGroup(
  job: Job,
  spec: NodeSpec,
  indices: readonly number[] | null,
  profiles: Readonly<Record<string, ExecutionProfile>>,
  cache?: GroupCache,
): PreparedGroup {
  const r = spec.resources;
  const profileName = spec.execution_profile;
  const profile = profileName === null ? undefined : profiles[profileName];
  const gpu = profile?.gpu ? Math.max(1, r.gpu_count) : r.gpu_count;
  const scalar: ScalarResources = { cpu_cores: r.cpu_cores, memory_mb: r.memory_mb, disk_mb: r.disk_mb, gpu_count: gpu };
  const ask = new Float64Array(DIMENSIONS);
  ask[0] = scalar.cpu_cores;
  ask[1] = scalar.memory_mb;
  ask[2] = scalar.disk_mb;
  ask[3] = scalar.gpu_count;

  const staticRaw: Constraint[] = [];
  const properties: PropertyLimit[] = [];
  let distinctHosts = false;
  for (const c of spec.constraints) {
    if (c.operator === 'distinct_hosts') distinctHosts = true;
    else if (c.operator === 'distinct_property') {
      const limit = typeof c.value === 'number' && c.value >= 1 ? Math.floor(c.value) : 1;
      properties.push({ attribute: canonicalAttribute(c.attribute), limit });
    } else staticRaw.push(c);
  }

  let explicitGpus = 0;
  for (const d of r.devices) if (isGpuDevice(d)) explicitGpus += d.count;
  const genericGpu: DeviceRequest | null =
    gpu > explicitGpus
      ? {
          kind: 'gpu',
          vendor: null,
          driver: null,
          count: gpu - explicitGpus,
          min_memory_mb: null,
          memory_operator: '>=',
          min_api_version: null,
          api_version_operator: '>=',
          capabilities: [],
          ids: [],
        }
      : null;

  const portKeys = r.ports.length === 0 ? NO_KEYS : r.ports.map((p) => portKey(p.port, p.protocol));
  const portSelfConflict = portKeys.length > 1 && new Set(portKeys).size !== portKeys.length;

  // Groups without static filters share the empty key (the mask of schedulable nodes); groups
  // filtered by constraints alone (the common case) have a shorter key than the general one.
  const onlyConstraints = profileName === null && r.runtime_driver === null && r.volumes.length === 0 && spec.requires_services.length === 0;
  const maskKey = onlyConstraints ? (staticRaw.length === 0 ? '' : constraintsKey(staticRaw)) : JSON.stringify([
    staticRaw,
    profileName,
    profile ?? null,
    r.runtime_driver,
    r.volumes.map((v) => v.source),
    spec.requires_services.map((s) => [s.name, s.tags, s.origin, s.required]),
  ]);
  // The mask key spells out the static constraints, so groups with one key compile alike.
  let staticConstraints = staticRaw.length === 0 ? [] : cache?.constraints.get(maskKey);
  if (staticConstraints === undefined) {
    staticConstraints = staticRaw.map(compileConstraint);
    cache?.constraints.set(maskKey, staticConstraints);
  }

  return {
    job,
    spec,
    indices,
    size: indices === null ? Math.max(1, spec.count) : indices.length,
    scalar,
    ask,
    staticConstraints,
    distinctHosts,
    properties,
    explicitDevices: r.devices,
    genericGpu,
    portKeys,
    portSelfConflict,
    profileName,
    profile,
    maskKey,
    rows: null,
  };
}

/**
 * A key naming a list of constraints by what their evaluation reads (attribute, operator, value):
 * length-prefixed strings, so distinct lists never share a key. It starts with `c`, unlike the
 * JSON keys of groups with other static filters. Cheaper than JSON for the thousands of
 * constrained groups of a large job.
 */
function constraintsKey(list: readonly Constraint[]): string {
  let key = 'c';
  for (const c of list) {
    const v = c.value;
    const value = typeof v === 'string' ? `s${v.length}:${v}` : `j${token(JSON.stringify(v) ?? 'undefined')}`;
    key += `${token(c.attribute)}${token(c.operator)}${value}`;
  }
  return key;
}

function token(s: string): string {
  return `${s.length}:${s}`;
}

/** Devices for every agent of a system group on one node, or null when they do not all fit. */
export function systemDevices(
  node: ClusterNode,
  used: ReadonlySet<string> | undefined,
  groups: readonly PreparedGroup[],
): Array<Array<{ id: string }>> | null {
  const taken = new Set(used);
  const out: Array<Array<{ id: string }>> = [];
  for (const g of groups) {
    const reqs = deviceRequestsFor(node, g.explicitDevices, g.genericGpu);
    for (let c = 0; c < g.size; c++) {
      const picked = pickDevices(node.devices, taken, reqs);
      if (picked === null) return null;
      for (const d of picked) taken.add(d.id);
      out.push(picked.map((d) => ({ id: d.id })));
    }
  }
  return out;
}

