/**
 * The normalised manifest model: what `validateManifest` produces after parsing, applying
 * aliases, unit conversions and defaults. Every other part of the runtime consumes these
 * types, never the raw JSON.
 */

import type { ParameterSpec } from './parameters.js';
import type { WarmPoolSpec } from './warm-pool.js';

/** Built-in agent kinds (aliases relay/sandbox_worker/collector are resolved). */
export type AgentType = 'router' | 'executor' | 'aggregator' | 'sensor' | 'module';
/** Behaviour template of an agent (`accumulator` is resolved to `reduce`). */
export type TemplateType = 'generic' | 'stream' | 'map' | 'reduce' | 'batch';
/** How a job is placed and when it ends (spec §1.7). */
export type JobType = 'service' | 'batch' | 'system' | 'sysbatch';
/** Placement scoring strategy. */
export type Strategy = 'binpack' | 'spread';
export type RecoveryMode = 'auto' | 'local_restart' | 'cluster_recover' | 'manual_recover';
export type RoutingMode = 'broadcast' | 'first_match' | 'all_match';

/** Scalar resource ask of one agent, in canonical units. */
export interface ScalarResources {
  cpu_cores: number;
  memory_mb: number;
  disk_mb: number;
  gpu_count: number;
}

export type ComparisonOperator = '>' | '>=' | '==';

/** One `resources.devices[]` request. `null` means "any". */
export interface DeviceRequest {
  kind: string | null;
  vendor: string | null;
  driver: string | null;
  count: number;
  min_memory_mb: number | null;
  memory_operator: ComparisonOperator;
  min_api_version: string | null;
  api_version_operator: ComparisonOperator;
  capabilities: string[];
  ids: string[];
}

export type PortProtocol = 'tcp' | 'udp' | 'http' | 'grpc';

export interface PortRequest {
  label: string;
  port: number;
  protocol: PortProtocol;
}

export interface VolumeRequest {
  name: string;
  source: string;
  target: string;
  mode: 'ro' | 'rw';
  type: 'host';
}

/** The full resource block of an agent. */
export interface Resources extends ScalarResources {
  devices: DeviceRequest[];
  ports: PortRequest[];
  volumes: VolumeRequest[];
  /** Requested runtime driver; `null` places on any node (spec §1.4). */
  runtime_driver: string | null;
}

/** Canonical constraint operators; aliases (`=`, `is`, `set_contains`, `is_set`, ...) are resolved. */
export type ConstraintOperator =
  | '=='
  | '!='
  | 'contains'
  | 'contains_all'
  | 'contains_any'
  | 'in'
  | 'exists'
  | 'not_exists'
  | '<'
  | '<='
  | '>'
  | '>='
  | 'regexp'
  | 'version'
  | 'semver'
  | 'distinct_hosts'
  | 'distinct_property';

/**
 * One placement constraint. `attribute` is normalised (`node`, `status`, `capabilities`,
 * `profiles`, or an attribute name with any `attributes.`/`${attr.}`/`${meta.}` wrapper removed).
 * `value` is a string, number, boolean, list of strings, or null for exists/not_exists and
 * distinct_hosts. For `distinct_property` it is the per-value limit (a positive integer, default 1).
 */
export interface Constraint {
  attribute: string;
  operator: ConstraintOperator;
  value: string | number | boolean | string[] | null;
}

export interface SpreadTarget {
  value: string;
  percent: number;
}

/** Nomad-style spread block; no targets means an even spread over the attribute's values. */
export interface Spread {
  attribute: string;
  weight: number;
  targets: SpreadTarget[];
}

/** A node-scoped placement requirement on a service instance (spec §3.3 filter 4). */
export interface ServiceRequirement {
  name: string;
  tags: string[];
  origin: 'internal' | 'external' | null;
  required: boolean;
  address: string | null;
  port: number | string | null;
  checks: CheckSpec[];
}

export type CheckType = 'http' | 'tcp' | 'script' | 'grpc';

export interface CheckSpec {
  type: CheckType;
  name: string;
  timeout_ms: number;
  interval_ms: number;
  required: boolean;
  failures_before_critical: number;
  address: string | null;
  port: number | string | null;
  url: string | null;
  scheme: string;
  path: string | null;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  /** Accepted HTTP statuses as inclusive ranges; empty means 200..399. */
  expected_status: Array<[number, number]>;
  contains: string | null;
  service: string | null;
  /** Script command as argv; a safe single string is split on whitespace. */
  command: string[] | null;
  /** Restart the agent after repeated critical results (DESIGN §4.4); absent: health only informs discovery and placement. */
  check_restart?: CheckRestart;
}

/** `check_restart` of a check: restart after `limit` consecutive critical results, never within `grace_ms` of a start. */
export interface CheckRestart {
  limit: number;
  grace_ms: number;
}

export interface ServiceSpec {
  name: string;
  id: string | null;
  address: string | null;
  port: number | string | null;
  tags: string[];
  meta: Record<string, unknown>;
  provider: 'mirror_neuron';
  origin: 'internal' | 'external';
  required: boolean;
  checks: CheckSpec[];
}

export type DelayFunction = 'constant' | 'exponential' | 'fibonacci';

/** Restart policy as written; defaults depend on the effective recovery mode (resolved at run time). */
export interface RestartPolicyInput {
  enabled?: boolean;
  attempts?: number;
  interval_ms?: number;
  delay_ms?: number;
  delay_function?: DelayFunction;
  max_delay_ms?: number;
  mode?: 'fail' | 'delay';
}

export interface ReschedulePolicyInput {
  enabled?: boolean;
  attempts?: number;
  unlimited?: boolean;
  interval_ms?: number;
  delay_ms?: number;
  delay_function?: DelayFunction;
  max_delay_ms?: number;
}

export interface UpdatePolicy {
  strategy: 'rolling' | 'canary' | 'blue-green';
  max_parallel: number;
  canary: number;
  min_healthy_ms: number;
  healthy_deadline_ms: number;
  progress_deadline_ms: number;
  health_check: 'checks' | 'agent_states';
  auto_promote: boolean;
  auto_revert: boolean;
}

export interface Policies {
  recovery_mode: RecoveryMode;
  job_type: JobType;
  strategy: Strategy;
  /** Job-wide constraints (policies.constraints then policies.scheduler.constraints). */
  constraints: Constraint[];
  /** Job-wide spread blocks (policies.scheduler.spread). */
  spread: Spread[];
  restart: RestartPolicyInput;
  reschedule: ReschedulePolicyInput;
  max_agent_restart_attempts: number | null;
  update: UpdatePolicy;
  deployment_key: string | null;
}

/** A routing condition tree (spec §1.3). */
export type RouteCondition =
  | { all: RouteCondition[] }
  | { any: RouteCondition[] }
  | { not: RouteCondition }
  | { path: string; op: RouteConditionOperator; value: unknown };

export type RouteConditionOperator = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'contains' | 'in' | 'exists';

export interface Edge {
  edge_id: string;
  from_node: string;
  to_node: string;
  message_type: string;
  routing_mode: RoutingMode;
  conditions: RouteCondition | null;
}

/**
 * One manifest node (agent group). `count` > 1 fans out into agents `<node_id>-<i>`;
 * all agents of a group share `resources`, `constraints` and `spread` (one equivalence class).
 */
export interface NodeSpec {
  node_id: string;
  agent_type: AgentType;
  template_type: TemplateType;
  role: string | null;
  count: number;
  config: Record<string, unknown>;
  resources: Resources;
  /** Job-wide constraints first, then the node's own. */
  constraints: Constraint[];
  /** Job-wide spread blocks first, then the node's own. */
  spread: Spread[];
  execution_profile: string | null;
  requires_services: ServiceRequirement[];
  services: ServiceSpec[];
  restart: RestartPolicyInput;
  reschedule: ReschedulePolicyInput;
  /**
   * How long a stop (cancel, drain, move, restart by a check) waits after SIGTERM before it sends
   * SIGKILL to the agent's process; default 30 s for batch jobs, 60 s for service and system jobs.
   */
  kill_timeout_ms: number;
  /** The warm pool this executor node keeps (present only when declared). */
  warm_pool?: WarmPoolSpec;
}

/** A runnable agent: one copy of a node after fan-out. */
export interface AgentSpec {
  agent_id: string;
  source_node_id: string;
  /** Index within the fan-out, or null for a node without `count`. */
  index: number | null;
  node: NodeSpec;
  /** `node.config` with `${index}`/`${count}` substituted (shared with the node when unchanged). */
  config: Record<string, unknown>;
}

export type ScheduleKind = 'periodic' | 'delayed' | 'event';

export interface TriggerSpec {
  event_types: string[];
  filters: Record<string, unknown>;
  payload: string | null;
  meta_required: string[];
  meta_optional: string[];
}

export interface ScheduleSpec {
  kind: ScheduleKind;
  enabled: boolean;
  name: string;
  crons: string[];
  timezone: string;
  run_at: string | null;
  delay_ms: number | null;
  prohibit_overlap: boolean;
  missed_policy: 'skip' | 'catchup_one' | 'catchup_all';
  catchup_limit: number;
  missed_grace_ms: number;
  window: { duration_ms: number | null; end_action: 'cancel' | 'none' };
  trigger: TriggerSpec | null;
  parameterized: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface NamedTrigger extends ScheduleSpec {
  trigger: TriggerSpec;
}

/** A validated, normalised job. */
export interface Job {
  manifest_version: string;
  graph_id: string;
  job_name: string;
  /** Manifest `type` (batch or service). */
  type: 'batch' | 'service';
  /** 1..100, default 50. */
  priority: number;
  entrypoints: string[];
  /** Node id (or `__entrypoints__`) → list of payloads. */
  initial_inputs: Record<string, unknown[]>;
  nodes: NodeSpec[];
  edges: Edge[];
  policies: Policies;
  services: ServiceSpec[];
  required_services: ServiceRequirement[];
  deployment: { key: string | null } & Record<string, unknown>;
  schedule: ScheduleSpec | null;
  triggers: NamedTrigger[];
  parameterized: Record<string, unknown>;
  /** Declared template parameters (`${var.NAME}`), by name; empty for an ordinary job. */
  parameters: Record<string, ParameterSpec>;
  metadata: Record<string, unknown>;
  /** Unknown top-level keys, preserved for round-tripping. */
  extensions: Record<string, unknown>;
  /** Total agents after fan-out. */
  agent_count: number;
}

/** One validation finding, addressed by its JSON path (e.g. `nodes[3].resources.devices[0].count`). */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Result of validation: never thrown, always returned. */
export interface ValidationResult {
  ok: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  /** Present when `ok`. */
  job?: Job;
}
