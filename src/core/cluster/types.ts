/**
 * The typed cluster model (DESIGN §4.2): the input of offline plan simulation. A raw cluster file
 * is parsed once at the edge by `parseClusterFile`; the planner only ever sees these values.
 */

/** Node statuses; only `healthy` and `joining` accept new placements. */
export type NodeStatus =
  | 'healthy'
  | 'joining'
  | 'draining'
  | 'maintenance'
  | 'disconnected'
  | 'offline'
  | 'quarantined';

export const NODE_STATUSES: readonly NodeStatus[] = [
  'healthy',
  'joining',
  'draining',
  'maintenance',
  'disconnected',
  'offline',
  'quarantined',
];

/** Statuses that accept new placements. */
export const SCHEDULABLE_STATUSES: ReadonlySet<NodeStatus> = new Set<NodeStatus>(['healthy', 'joining']);

/** One physical device (usually a GPU) advertised by a node. */
export interface ClusterDevice {
  /** Unique on its node (`GPU-0`, `cuda-1`); defaults to `<driver or kind>-<index>`. */
  id: string;
  /** Lower-cased (`gpu`). */
  kind: string;
  vendor: string | null;
  driver: string | null;
  /** Total device memory; null when unknown. */
  memory_mb: number | null;
  /** Capabilities, lower-cased with `_` read as `-`. */
  capabilities: string[];
  /** Driver API version (e.g. CUDA `12.4`); null when unknown. */
  api_version: string | null;
}

/** Scalar capacity of a node. `gpu_count` is the number of GPU devices (or the file's fallback). */
export interface NodeCapacity {
  cpu_cores: number;
  memory_mb: number;
  disk_mb: number;
  gpu_count: number;
}

/** Attribute values are compared as strings; numbers and booleans are kept for readability. */
export type AttributeValue = string | number | boolean;

export interface ClusterNode {
  name: string;
  status: NodeStatus;
  scheduling_eligible: boolean;
  resources: NodeCapacity;
  devices: ClusterDevice[];
  attributes: Record<string, AttributeValue>;
  /** Lower-cased, `_` read as `-`; GPU driver names of the node's devices are added (spec §3.2). */
  capabilities: string[];
  profiles: string[];
  runtime_drivers: string[];
  host_paths: string[];
}

export interface AllocationPort {
  port: number;
  protocol: 'tcp' | 'udp' | 'http' | 'grpc';
}

/** A placement of an already running job: it holds capacity, devices and ports. */
export interface ClusterAllocation {
  job_id: string;
  agent_id: string;
  node: string;
  resources: NodeCapacity;
  devices: string[];
  ports: AllocationPort[];
  /** Priority of the allocation's job (1..100, default 50): preemption evicts only lower ones. */
  priority: number;
  /** Type of the allocation's job (default `batch`): a batch job never evicts a system copy. */
  job_type: AllocationJobType;
}

/** Job types an allocation may belong to (the manifest's `policies.job_type`). */
export type AllocationJobType = 'service' | 'batch' | 'system' | 'sysbatch';

export const ALLOCATION_JOB_TYPES: readonly AllocationJobType[] = ['service', 'batch', 'system', 'sysbatch'];

/** Defaults of an allocation's job fields when a cluster file leaves them out. */
export const DEFAULT_ALLOCATION_PRIORITY = 50;
export const DEFAULT_ALLOCATION_JOB_TYPE: AllocationJobType = 'batch';

export type ServiceStatus = 'passing' | 'warning' | 'critical' | 'unknown';

/** A registered service instance, the input of the `requires_services` filter. */
export interface ClusterService {
  name: string;
  node: string;
  tags: string[];
  status: string;
  origin: 'internal' | 'external' | null;
}

/** A validated cluster: nodes in inventory order, existing allocations, service instances. */
export interface ClusterState {
  nodes: ClusterNode[];
  allocations: ClusterAllocation[];
  services: ClusterService[];
}
