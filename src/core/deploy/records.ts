/**
 * Deployment and version records (spec §6.3), and the rules of their life (§6.5). Pure.
 */
import type { Job, UpdatePolicy } from '../manifest/types.js';

/** Deployment statuses (spec §6.5, plus `reverted`: failed and rolled back by `auto_revert`). */
export type DeploymentStatus = 'running' | 'awaiting_promotion' | 'successful' | 'version_recorded' | 'paused' | 'failed';

export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['running', 'awaiting_promotion', 'successful', 'version_recorded', 'paused', 'failed'];

/** Statuses in which a deployment still changes by itself (the controller drives it). */
export const ACTIVE_DEPLOYMENT_STATUSES: ReadonlySet<DeploymentStatus> = new Set(['running', 'awaiting_promotion', 'paused']);

/** How a version is rolled out (spec §6.4). */
export type DeploymentMode = 'initial' | 'rerun' | 'noop' | 'agent_level' | 'blue_green' | 'revert';

/** Events kept per deployment. */
export const MAX_DEPLOYMENT_EVENTS = 100;

export interface DeploymentEvent {
  type: string;
  timestamp: number;
  /** Why (every decision names its reason). */
  reason: string;
  [field: string]: unknown;
}

/** An agent replaced by the rollout, as the controller watches it. */
export interface RolloutAgent {
  /** When its replacement was committed. */
  replaced_at: number;
  /** Since when it has been healthy without a break; null while it is not. */
  healthy_since: number | null;
  /** It stayed healthy for `min_healthy_ms`. */
  healthy: boolean;
}

/** The controller's durable state of an agent-level or blue-green rollout. */
export interface RolloutState {
  /** Agent-level: the agents to replace, batch by batch (the first is the canary batch when `canary`). */
  batches: string[][];
  /** Index of the next batch to start. */
  next_batch: number;
  /** The first batch is a canary batch: promotion is awaited after it. */
  canary: boolean;
  started_at: number;
  /** When the running batch (or the candidate job) started. */
  batch_started_at: number;
  /** The last time an agent turned healthy or a batch started. */
  last_progress_at: number;
  agents: Record<string, RolloutAgent>;
  /** The operator (or `auto_promote`) let the rollout past its canary batch or candidate job. */
  promoted: boolean;
}

/** A deployment (spec §6.3). */
export interface DeploymentRecord {
  deployment_id: string;
  deployment_key: string;
  status: DeploymentStatus;
  description: string;
  strategy: UpdatePolicy['strategy'];
  policy: UpdatePolicy;
  mode: DeploymentMode;
  /** The job that serves the deployment now (the primary one). */
  current_job_id: string | null;
  /** The job of the last stable version. */
  stable_job_id: string | null;
  /** The job the rollout replaces (agent level: the same live job; blue-green: the old job). */
  source_job_id: string | null;
  /** The job the rollout creates or updates. */
  target_job_id: string | null;
  current_version: number | null;
  stable_version: number | null;
  target_version: number;
  /** The version this one rolls back to (rollback and auto-revert). */
  rollback_of: number | null;
  /** The job spec the rollout moves to (agent level: what replaced agents run). */
  target_spec: Job | null;
  /** The status a paused deployment resumes to, and since when it is paused (deadlines do not run meanwhile). */
  paused_from: DeploymentStatus | null;
  paused_at: number | null;
  changed_agent_ids: string[];
  remaining_agent_ids: string[];
  canary_agent_ids: string[];
  replaced_agent_ids: string[];
  health: { job_status: string | null; healthy: number; total: number; updated_at: number };
  rollout: RolloutState | null;
  events: DeploymentEvent[];
  created_at: number;
  updated_at: number;
  /** Grows by one with every write (optimistic concurrency). */
  version: number;
}

/** One version of a deployment key; never rewritten (only `stable` may turn true). */
export interface VersionRecord {
  deployment_key: string;
  version: number;
  deployment_id: string;
  job_id: string | null;
  /** The manifest as deployed. */
  manifest: unknown;
  /** Bundle files as deployed (module sources, config), by path. */
  files: Record<string, string>;
  submitted_at: number;
  stable: boolean;
  tag: string | null;
  /** Why this version exists: `deploy`, `rollback`, `auto_revert`. */
  cause: string;
}

/** Appends an event, keeping the newest {@link MAX_DEPLOYMENT_EVENTS}. */
export function withEvent(events: readonly DeploymentEvent[], event: DeploymentEvent): DeploymentEvent[] {
  const next = [...events, event];
  return next.length > MAX_DEPLOYMENT_EVENTS ? next.slice(next.length - MAX_DEPLOYMENT_EVENTS) : next;
}

/** The version a rollback goes to: the requested one, else the newest stable one other than the current. */
export function rollbackTarget(versions: readonly VersionRecord[], current: number | null, requested: { version?: number; tag?: string }): VersionRecord | null {
  if (requested.version !== undefined) return versions.find((v) => v.version === requested.version) ?? null;
  if (requested.tag !== undefined) return versions.find((v) => v.tag === requested.tag) ?? null;
  return [...versions].sort((a, b) => b.version - a.version).find((v) => v.stable && v.version !== current) ?? null;
}

/** The deployment id of a key: `dep_<safe key>_<n>` (spec §6.3). */
export function deploymentId(key: string, n: number): string {
  const safe = key.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'deployment';
  return `dep_${safe}_${n}`;
}

/** A job's place in a deployment, kept on the job record by its coordinator (`details.deployment`). */
export interface JobDeployment {
  deployment_key: string;
  deployment_id: string;
  /** The version the job's base spec (`record.job`) is. */
  deployment_version: number;
  deployment_role: 'primary' | 'canary' | 'candidate';
}

/**
 * An agent-level rollout in progress on a job (`details.rollout`), kept by its coordinator: the
 * replaced agents run `target` (version `version`), the others the job's base spec.
 */
export interface JobRollout {
  deployment_id: string;
  version: number;
  target: Job;
  /** Agents replaced so far, in order. */
  applied: string[];
  /** Discovery role of each replaced agent's services (`canary` until promotion). */
  roles: Record<string, 'primary' | 'canary' | 'candidate'>;
}

/** A rollout's clocks moved on by `ms` (the time it was paused does not count against its deadlines). */
export function shiftRollout(r: RolloutState, ms: number): RolloutState {
  const agents = Object.fromEntries(Object.entries(r.agents).map(([id, a]) => [id, { ...a, replaced_at: a.replaced_at + ms, healthy_since: a.healthy_since === null ? null : a.healthy_since + ms }]));
  return { ...r, started_at: r.started_at + ms, batch_started_at: r.batch_started_at + ms, last_progress_at: r.last_progress_at + ms, agents };
}

/** Long-running job types (deployed in place or blue-green) and run-to-completion ones (re-run) do not share a key. */
export function jobFamily(type: string): 'long_running' | 'run_to_completion' {
  return type === 'service' || type === 'system' ? 'long_running' : 'run_to_completion';
}
