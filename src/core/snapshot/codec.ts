/**
 * MessagePack codec for the columnar snapshot. Typed-array columns travel as msgpackr typed-array
 * extensions (`moreTypes`) and come back as typed arrays, ready to copy into kernel memory.
 */
import { Packr } from 'msgpackr';
import { MnError } from '../errors.js';
import { SNAPSHOT_FORMAT, type ClusterSnapshot, type PackedColumn } from './layout.js';

const packr = new Packr({ moreTypes: true, useRecords: true, int64AsType: 'number', useToJSON: false });

export function encodeSnapshot(snapshot: ClusterSnapshot): Uint8Array {
  return packr.pack(snapshot);
}

/** The bytes are not a snapshot of this format (`MN_E_SNAPSHOT_DECODE`). */
export class SnapshotDecodeError extends MnError {
  constructor(message: string) {
    super('MN_E_SNAPSHOT_DECODE', message);
    this.name = 'SnapshotDecodeError';
  }
}

export function decodeSnapshot(bytes: Uint8Array): ClusterSnapshot {
  const value = packr.unpack(bytes) as Partial<ClusterSnapshot> | null;
  if (value === null || typeof value !== 'object' || value.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotDecodeError(`snapshot: unsupported format ${String((value as { format?: unknown } | null)?.format)}`);
  }
  const nodes = value.nodes;
  if (!nodes || typeof nodes.names !== 'string' || typeof nodes.count !== 'number' || !(nodes.state instanceof Uint8Array)) {
    throw new SnapshotDecodeError('snapshot: node columns missing');
  }
  const n = nodes.count;
  for (const [name, col] of [['cpu', nodes.cpu], ['memory', nodes.memory], ['disk', nodes.disk], ['gpu', nodes.gpu]] as const) {
    if (!col || col.values.length !== n) throw new SnapshotDecodeError(`snapshot: node column ${name} has the wrong length`);
  }
  if (nodes.state.length !== n || nodes.attributes.some((col) => col.length !== n)) {
    throw new SnapshotDecodeError('snapshot: node state or attribute column has the wrong length');
  }
  for (const lists of [nodes.capabilities, nodes.profiles, nodes.runtimeDrivers, nodes.hostPaths, nodes.devices]) {
    if (!lists || lists.ids.length !== n) throw new SnapshotDecodeError('snapshot: interned list column has the wrong length');
  }
  return value as ClusterSnapshot;
}

export interface SnapshotSize {
  nodes: number;
  /** Bytes of the per-node numeric columns (capacity, state, attribute and list ids). */
  nodeColumnBytes: number;
  nodeColumnBytesPerNode: number;
  /** Encoded bytes of the string tables (names, attribute values, interned lists). */
  stringTableBytes: number;
  /** Bytes of the allocation columns (numeric only). */
  allocationColumnBytes: number;
  /** Total encoded size of the whole snapshot. */
  encodedBytes: number;
}

function columnBytes(c: PackedColumn): number {
  return c.values.byteLength;
}

export function snapshotSize(snapshot: ClusterSnapshot, encoded?: Uint8Array): SnapshotSize {
  const c = snapshot.nodes;
  const n = c.count;
  const lists = [c.capabilities, c.profiles, c.runtimeDrivers, c.hostPaths, c.devices];
  const nodeColumnBytes =
    c.state.byteLength +
    columnBytes(c.cpu) +
    columnBytes(c.memory) +
    columnBytes(c.disk) +
    columnBytes(c.gpu) +
    c.attributes.reduce((s, col) => s + col.byteLength, 0) +
    lists.reduce((s, l) => s + l.ids.byteLength, 0);
  const a = snapshot.allocations;
  const allocationColumnBytes =
    a.node.byteLength + a.job.byteLength + columnBytes(a.cpu) + columnBytes(a.memory) + columnBytes(a.disk) + columnBytes(a.gpu) +
    a.deviceStart.byteLength + a.deviceIds.byteLength + a.portStart.byteLength + columnBytes(a.port) + a.portProtocol.byteLength +
    (a.priority?.byteLength ?? 0) + (a.jobType?.byteLength ?? 0);
  const stringTableBytes = packr.pack([c.names, c.attributeKeys, c.attributeValues, lists.map((l) => l.table), a.strayNodes, a.jobs, a.agents, a.deviceNames]).byteLength;
  return {
    nodes: n,
    nodeColumnBytes,
    nodeColumnBytesPerNode: n > 0 ? nodeColumnBytes / n : 0,
    stringTableBytes,
    allocationColumnBytes,
    encodedBytes: (encoded ?? encodeSnapshot(snapshot)).byteLength,
  };
}
