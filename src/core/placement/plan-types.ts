/**
 * The plan document (DESIGN §4.3): what `simulatePlan()` returns and `mn plan --json` prints.
 */
import type { PortProtocol, ScalarResources, Strategy, VolumeRequest } from '../manifest/types.js';

/**
 * One placed agent. Agents of one group share their (frozen) `resources` object and, when they
 * hold no devices, their `allocations` object: a 100,000-agent plan stays small.
 */
export interface Placement {
  job: string;
  agent_id: string;
  source_node_id: string;
  node: string;
  resources: Readonly<ScalarResources>;
  allocations: Readonly<{
    devices: ReadonlyArray<{ readonly id: string }>;
    ports: ReadonlyArray<{ readonly label: string; readonly port: number; readonly protocol: PortProtocol }>;
    volumes: ReadonlyArray<Readonly<VolumeRequest>>;
    runtime_driver: string;
  }>;
  /** Utilisation score of the chosen node at the time of placement (binpack: u, spread: 1 − u). */
  score: number;
}

/** Filter stages, in the order they are applied; `filtered` counts use these keys. */
export const FILTER_STAGES = [
  'status',
  'profile',
  'constraints',
  'services',
  'cpu',
  'memory',
  'disk',
  'gpu',
  'runtime_driver',
  'ports',
  'volumes',
  'devices',
] as const;

export type FilterStage = (typeof FILTER_STAGES)[number];

/** A node that came closest to fitting, with what it lacks per failing dimension. */
export interface NearestNode {
  node: string;
  shortfall: Partial<Record<FilterStage, string>>;
}

/**
 * One placement failure. Identical agents of one manifest node fail together and are reported
 * once (Nomad's coalesced failures): `agent_id` is the first agent that could not be placed and
 * `count` how many of that node's agents failed.
 */
export interface PlacementFailure {
  job: string;
  agent_id: string;
  source_node_id: string;
  count: number;
  reason: string;
  /** Nodes removed per stage (each node counted at the first stage it fails); zero counts omitted. */
  filtered: Partial<Record<FilterStage, number>>;
  nearest: NearestNode[];
  suggestion: string;
}

export type Availability = 'runnable_now' | 'runnable_later' | 'not_runnable';

export interface JobSummary {
  job: string;
  placed: number;
  failed: number;
  availability: Availability;
  /** system/sysbatch jobs: the nodes that received a copy of the group, in inventory order. */
  system_targets?: string[];
}

export interface PlanStats {
  nodes: number;
  agents: number;
  placed: number;
  elapsed_ms: number;
  engine: 'wasm' | 'js';
}

export type PlanStatus = 'planned' | 'partial' | 'failed';

/**
 * An allocation evicted so that a higher-priority job fits (DESIGN §4.4): `job` and `priority` are
 * the evicted agent's, `preempted_by` the job whose placement needs the room.
 */
export interface Preemption {
  agent_id: string;
  job: string;
  node: string;
  priority: number;
  preempted_by: string;
}

export interface Plan {
  status: PlanStatus;
  strategy: Strategy;
  placements: Placement[];
  failures: PlacementFailure[];
  /**
   * Allocations the plan evicts (always present in a plan from `planJobs`, empty when none); the
   * placements that need their room are in `placements` as usual.
   */
  preemptions?: Preemption[];
  jobs: JobSummary[];
  stats: PlanStats;
  /** Set by `mergePlan` when the caller passes a timestamp. */
  generated_at?: string;
}
