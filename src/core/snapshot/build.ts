/**
 * Conversion between the typed cluster model and the columnar snapshot, and the capacity columns
 * a placement kernel loads from a snapshot.
 */
import {
  ALLOCATION_JOB_TYPES,
  DEFAULT_ALLOCATION_JOB_TYPE,
  DEFAULT_ALLOCATION_PRIORITY,
  NODE_STATUSES,
  SCHEDULABLE_STATUSES,
  type AttributeValue,
  type ClusterAllocation,
  type ClusterNode,
  type ClusterState,
  type NodeStatus,
} from '../cluster/types.js';
import { DIMENSIONS } from '../placement/kernel-types.js';
import {
  PORT_PROTOCOLS,
  SNAPSHOT_FORMAT,
  columnValue,
  NAME_SEPARATOR,
  idColumn,
  nodeNames,
  packColumn,
  type ClusterSnapshot,
  type InternedLists,
} from './layout.js';

const ELIGIBLE_BIT = 0x80;

function intern(table: string[], ids: Map<string, number>, value: string): number {
  let id = ids.get(value);
  if (id === undefined) {
    id = table.length;
    ids.set(value, id);
    table.push(value);
  }
  return id;
}

/** Interns each node's list (by content) and returns the table plus per-node ids. */
function internLists<T>(nodes: readonly ClusterNode[], get: (node: ClusterNode) => T[]): InternedLists<T> {
  const table: T[][] = [];
  const seen = new Map<string, number>();
  const ids = new Uint32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const list = get(nodes[i]!);
    const key = list.length === 0 ? '' : JSON.stringify(list);
    let id = seen.get(key);
    if (id === undefined) {
      id = table.length;
      seen.set(key, id);
      table.push(list);
    }
    ids[i] = id;
  }
  return { table, ids: idColumn(ids, table.length) };
}

/** Builds generation `generation` of the snapshot from a validated cluster. */
export function toSnapshot(cluster: ClusterState, generation: number): ClusterSnapshot {
  const nodes = cluster.nodes;
  const n = nodes.length;
  const names = new Array<string>(n);
  const state = new Uint8Array(n);
  const res = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
  const nodeIndex = new Map<string, number>();
  const attributeKeys: string[] = [];
  const keyIndex = new Map<string, number>();
  const attributeValues: AttributeValue[][] = [];
  const valueIndex: Array<Map<string, number>> = [];
  const rawAttributes: Uint32Array[] = [];
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!;
    if (node.name.includes(NAME_SEPARATOR)) throw new RangeError(`node name ${JSON.stringify(node.name)} contains a NUL character`);
    names[i] = node.name;
    nodeIndex.set(node.name, i);
    state[i] = NODE_STATUSES.indexOf(node.status) | (node.scheduling_eligible ? ELIGIBLE_BIT : 0);
    res[0][i] = node.resources.cpu_cores;
    res[1][i] = node.resources.memory_mb;
    res[2][i] = node.resources.disk_mb;
    res[3][i] = node.resources.gpu_count;
    for (const key in node.attributes) {
      const value = node.attributes[key]!;
      let k = keyIndex.get(key);
      if (k === undefined) {
        k = attributeKeys.length;
        keyIndex.set(key, k);
        attributeKeys.push(key);
        attributeValues.push([]);
        valueIndex.push(new Map());
        rawAttributes.push(new Uint32Array(n));
      }
      // Type-tagged key: "1" and 1 are different values.
      const vkey = `${typeof value}:${String(value)}`;
      let v = valueIndex[k]!.get(vkey);
      if (v === undefined) {
        v = attributeValues[k]!.length;
        valueIndex[k]!.set(vkey, v);
        attributeValues[k]!.push(value);
      }
      rawAttributes[k]![i] = v + 1;
    }
  }
  const attributes = rawAttributes.map((ids, k) => idColumn(ids, attributeValues[k]!.length + 1));

  const allocs = cluster.allocations;
  const m = allocs.length;
  const strayNodes: string[] = [];
  const strayIds = new Map<string, number>();
  const jobs: string[] = [];
  const jobIds = new Map<string, number>();
  const deviceNames: string[] = [];
  const deviceNameIds = new Map<string, number>();
  const node = new Uint32Array(m);
  const job = new Uint32Array(m);
  const agents = new Array<string>(m);
  const ares = [new Float64Array(m), new Float64Array(m), new Float64Array(m), new Float64Array(m)] as const;
  const deviceStart = new Uint32Array(m + 1);
  const portStart = new Uint32Array(m + 1);
  const deviceIds: number[] = [];
  const ports: number[] = [];
  const protocols: number[] = [];
  const priority = new Uint8Array(m);
  const jobType = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    const a = allocs[k]!;
    priority[k] = a.priority;
    jobType[k] = Math.max(0, ALLOCATION_JOB_TYPES.indexOf(a.job_type));
    const i = nodeIndex.get(a.node);
    node[k] = i ?? n + intern(strayNodes, strayIds, a.node);
    job[k] = intern(jobs, jobIds, a.job_id);
    agents[k] = a.agent_id;
    ares[0][k] = a.resources.cpu_cores;
    ares[1][k] = a.resources.memory_mb;
    ares[2][k] = a.resources.disk_mb;
    ares[3][k] = a.resources.gpu_count;
    for (const d of a.devices) deviceIds.push(intern(deviceNames, deviceNameIds, d));
    deviceStart[k + 1] = deviceIds.length;
    for (const p of a.ports) {
      ports.push(p.port);
      protocols.push(PORT_PROTOCOLS.indexOf(p.protocol));
    }
    portStart[k + 1] = ports.length;
  }
  return {
    format: SNAPSHOT_FORMAT,
    generation,
    nodes: {
      count: n,
      names: names.join(NAME_SEPARATOR),
      state,
      cpu: packColumn(res[0], 1000),
      memory: packColumn(res[1]),
      disk: packColumn(res[2]),
      gpu: packColumn(res[3]),
      attributeKeys,
      attributeValues,
      attributes,
      capabilities: internLists(nodes, (x) => x.capabilities),
      profiles: internLists(nodes, (x) => x.profiles),
      runtimeDrivers: internLists(nodes, (x) => x.runtime_drivers),
      hostPaths: internLists(nodes, (x) => x.host_paths),
      devices: internLists(nodes, (x) => x.devices),
    },
    allocations: {
      node,
      strayNodes,
      job,
      jobs,
      agents,
      cpu: packColumn(ares[0], 1000),
      memory: packColumn(ares[1]),
      disk: packColumn(ares[2]),
      gpu: packColumn(ares[3]),
      deviceStart,
      deviceIds: Uint32Array.from(deviceIds),
      deviceNames,
      portStart,
      port: packColumn(ports),
      portProtocol: Uint8Array.from(protocols),
      priority,
      jobType,
    },
    services: cluster.services,
  };
}

/** Rebuilds the typed cluster model (row form) from a snapshot. */
export function fromSnapshot(s: ClusterSnapshot): ClusterState {
  const c = s.nodes;
  const n = c.count;
  const names = nodeNames(c);
  const nodes = new Array<ClusterNode>(n);
  const keys = c.attributeKeys;
  for (let i = 0; i < n; i++) {
    const st = c.state[i]!;
    const attributes: Record<string, AttributeValue> = {};
    for (let k = 0; k < keys.length; k++) {
      const v = c.attributes[k]![i]!;
      if (v !== 0) attributes[keys[k]!] = c.attributeValues[k]![v - 1]!;
    }
    nodes[i] = {
      name: names[i]!,
      status: NODE_STATUSES[st & ~ELIGIBLE_BIT] as NodeStatus,
      scheduling_eligible: (st & ELIGIBLE_BIT) !== 0,
      resources: {
        cpu_cores: columnValue(c.cpu, i),
        memory_mb: columnValue(c.memory, i),
        disk_mb: columnValue(c.disk, i),
        gpu_count: columnValue(c.gpu, i),
      },
      devices: c.devices.table[c.devices.ids[i]!]!,
      attributes,
      capabilities: c.capabilities.table[c.capabilities.ids[i]!]!,
      profiles: c.profiles.table[c.profiles.ids[i]!]!,
      runtime_drivers: c.runtimeDrivers.table[c.runtimeDrivers.ids[i]!]!,
      host_paths: c.hostPaths.table[c.hostPaths.ids[i]!]!,
    };
  }
  const a = s.allocations;
  const m = a.agents.length;
  const allocations = new Array<ClusterAllocation>(m);
  for (let k = 0; k < m; k++) {
    const ni = a.node[k]!;
    const devices: string[] = [];
    for (let p = a.deviceStart[k]!; p < a.deviceStart[k + 1]!; p++) devices.push(a.deviceNames[a.deviceIds[p]!]!);
    const ports: ClusterAllocation['ports'] = [];
    for (let p = a.portStart[k]!; p < a.portStart[k + 1]!; p++) {
      ports.push({ port: columnValue(a.port, p), protocol: PORT_PROTOCOLS[a.portProtocol[p]!]! });
    }
    allocations[k] = {
      job_id: a.jobs[a.job[k]!]!,
      agent_id: a.agents[k]!,
      node: ni < n ? names[ni]! : a.strayNodes[ni - n]!,
      resources: {
        cpu_cores: columnValue(a.cpu, k),
        memory_mb: columnValue(a.memory, k),
        disk_mb: columnValue(a.disk, k),
        gpu_count: columnValue(a.gpu, k),
      },
      devices,
      ports,
      priority: a.priority?.[k] ?? DEFAULT_ALLOCATION_PRIORITY,
      job_type: a.jobType ? (ALLOCATION_JOB_TYPES[a.jobType[k]!] ?? DEFAULT_ALLOCATION_JOB_TYPE) : DEFAULT_ALLOCATION_JOB_TYPE,
    };
  }
  return { nodes, allocations, services: s.services };
}

/**
 * `u8[n]`: 1 for nodes whose status accepts placements (healthy, joining) and that are
 * scheduling-eligible: the default eligibility of a kernel call before any job filter.
 */
export function schedulableMask(s: ClusterSnapshot): Uint8Array {
  const state = s.nodes.state;
  const out = new Uint8Array(s.nodes.count);
  for (let i = 0; i < out.length; i++) {
    const st = state[i]!;
    out[i] = (st & ELIGIBLE_BIT) !== 0 && SCHEDULABLE_STATUSES.has(NODE_STATUSES[st & ~ELIGIBLE_BIT]!) ? 1 : 0;
  }
  return out;
}

/**
 * Capacity and free-capacity columns (`f64[4*n]`, dimension-major) for a placement kernel:
 * free = capacity minus the snapshot's allocations, subtracted in allocation order (the same order
 * the planner uses, so the doubles agree).
 */
export function snapshotCapacity(s: ClusterSnapshot): { n: number; cap: Float64Array; free: Float64Array } {
  const c = s.nodes;
  const n = c.count;
  const cap = new Float64Array(DIMENSIONS * n);
  for (let i = 0; i < n; i++) {
    cap[i] = columnValue(c.cpu, i);
    cap[n + i] = columnValue(c.memory, i);
    cap[2 * n + i] = columnValue(c.disk, i);
    cap[3 * n + i] = columnValue(c.gpu, i);
  }
  const free = cap.slice();
  const a = s.allocations;
  for (let k = 0; k < a.node.length; k++) {
    const i = a.node[k]!;
    if (i >= n) continue;
    free[i]! -= columnValue(a.cpu, k);
    free[n + i]! -= columnValue(a.memory, k);
    free[2 * n + i]! -= columnValue(a.disk, k);
    free[3 * n + i]! -= columnValue(a.gpu, k);
  }
  return { n, cap, free };
}
