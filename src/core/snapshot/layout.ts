/**
 * The columnar cluster snapshot: the form in which one generation of cluster state is stored,
 * shipped to placement workers and decoded. Numbers live in typed-array columns sized to their
 * values; strings (node names, job and agent ids, device ids) live once in string tables; every
 * attribute value and every distinct list (capabilities, profiles, drivers, host paths, devices)
 * is stored once and referenced from a narrow per-node id column.
 */
import type { ClusterDevice, AttributeValue, ClusterService } from '../cluster/types.js';

export const SNAPSHOT_FORMAT = 1;

/** A numeric column: stored value `values[i]`, meaning `values[i] / scale`. */
export interface PackedColumn {
  scale: number;
  values: Uint8Array | Uint16Array | Uint32Array | Float64Array;
}

/** Narrowest unsigned id column for the number of distinct ids. */
export type IdColumn = Uint8Array | Uint16Array | Uint32Array;

/** Lists interned once: node i holds `table[ids[i]]`. */
export interface InternedLists<T> {
  table: T[][];
  ids: IdColumn;
}

export interface NodeColumns {
  /** Node count. */
  count: number;
  /**
   * Node names in inventory order, joined by NUL (one string encodes and decodes far faster than
   * ten thousand); split on demand by `nodeNames`.
   */
  names: string;
  /** Status index (`NODE_STATUSES`) in bits 0-6, `scheduling_eligible` in bit 7. */
  state: Uint8Array;
  cpu: PackedColumn;
  memory: PackedColumn;
  disk: PackedColumn;
  gpu: PackedColumn;
  /**
   * Attributes, one id column per key: for key k, node i has no value when
   * `attributes[k][i] == 0`, else `attributeValues[k][attributes[k][i] - 1]`.
   */
  attributeKeys: string[];
  attributeValues: AttributeValue[][];
  attributes: IdColumn[];
  capabilities: InternedLists<string>;
  profiles: InternedLists<string>;
  runtimeDrivers: InternedLists<string>;
  hostPaths: InternedLists<string>;
  devices: InternedLists<ClusterDevice>;
}

export interface AllocationColumns {
  /** Node per allocation: `< n` indexes the node table, `n + k` names `strayNodes[k]`. */
  node: Uint32Array;
  strayNodes: string[];
  job: Uint32Array;
  jobs: string[];
  agents: string[];
  cpu: PackedColumn;
  memory: PackedColumn;
  disk: PackedColumn;
  gpu: PackedColumn;
  /** CSR: devices of allocation k are `deviceNames[deviceIds[deviceStart[k] .. deviceStart[k+1]]]`. */
  deviceStart: Uint32Array;
  deviceIds: Uint32Array;
  deviceNames: string[];
  /** CSR of ports; `portProtocol` indexes `PORT_PROTOCOLS`. */
  portStart: Uint32Array;
  port: PackedColumn;
  portProtocol: Uint8Array;
  /**
   * Job priority (1..100) per allocation; absent in snapshots written before preemption, read
   * then as the default priority.
   */
  priority?: Uint8Array;
  /** Job type per allocation, indexing `ALLOCATION_JOB_TYPES`; absent reads as `batch`. */
  jobType?: Uint8Array;
}

export const PORT_PROTOCOLS = ['tcp', 'udp', 'http', 'grpc'] as const;

export interface ClusterSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** Monotonic generation number; workers reload when it changes. */
  generation: number;
  nodes: NodeColumns;
  allocations: AllocationColumns;
  services: ClusterService[];
}

/** Packs numbers into the smallest exact column; `scale` 1000 keeps millicores integral. */
export function packColumn(values: ArrayLike<number>, scale = 1): PackedColumn {
  const len = values.length;
  let max = 0;
  let exact = true;
  for (let i = 0; i < len && exact; i++) {
    const v = values[i]!;
    const m = Math.round(v * scale);
    if (!(m >= 0) || m > 0xffffffff || m / scale !== v) exact = false;
    else if (m > max) max = m;
  }
  if (!exact) return { scale: 1, values: Float64Array.from(values) };
  const out = max <= 0xff ? new Uint8Array(len) : max <= 0xffff ? new Uint16Array(len) : new Uint32Array(len);
  for (let i = 0; i < len; i++) out[i] = Math.round(values[i]! * scale);
  return { scale, values: out };
}

export function idColumn(ids: ArrayLike<number>, distinct: number): IdColumn {
  if (distinct <= 0x100) return Uint8Array.from(ids);
  if (distinct <= 0x10000) return Uint16Array.from(ids);
  return Uint32Array.from(ids);
}

export const NAME_SEPARATOR = '\u0000';

const splitNames = new WeakMap<NodeColumns, string[]>();

/** Node names in inventory order (split once per decoded snapshot). */
export function nodeNames(nodes: NodeColumns): string[] {
  let names = splitNames.get(nodes);
  if (!names) {
    names = nodes.count === 0 ? [] : nodes.names.split(NAME_SEPARATOR);
    splitNames.set(nodes, names);
  }
  return names;
}

export function columnValue(column: PackedColumn, i: number): number {
  const v = column.values[i]!;
  return column.scale === 1 ? v : v / column.scale;
}
