import type {
  DelayFunction,
  Job,
  JobType,
  NodeSpec,
  Policies,
  RecoveryMode,
  ReschedulePolicyInput,
  RestartPolicyInput,
} from '../manifest/types.js';

/**
 * Restart and reschedule policies (spec §4.1–4.3): defaults by job type and effective recovery
 * mode, merging of job and agent overrides, the delay functions, and the attempt decision over a
 * history of recent attempts. Pure: time is a parameter.
 */

/** Recovery modes that can actually take effect (`auto` resolves to one of these). */
export type EffectiveRecoveryMode = Exclude<RecoveryMode, 'auto'>;

export interface RestartPolicy {
  enabled: boolean;
  attempts: number;
  interval_ms: number;
  delay_ms: number;
  delay_function: DelayFunction;
  max_delay_ms: number;
  mode: 'fail' | 'delay';
}

export interface ReschedulePolicy {
  enabled: boolean;
  attempts: number;
  unlimited: boolean;
  interval_ms: number;
  delay_ms: number;
  delay_function: DelayFunction;
  max_delay_ms: number;
}

const DISABLED_RESTART: RestartPolicy = { enabled: false, attempts: 0, interval_ms: 0, delay_ms: 0, delay_function: 'constant', max_delay_ms: 0, mode: 'fail' };
const DISABLED_RESCHEDULE: ReschedulePolicy = { enabled: false, attempts: 0, unlimited: false, interval_ms: 0, delay_ms: 0, delay_function: 'constant', max_delay_ms: 0 };

function longRunning(type: JobType): boolean {
  return type === 'service' || type === 'system';
}

/** Default restart policy (spec §4.1 table). */
export function defaultRestartPolicy(type: JobType, mode: EffectiveRecoveryMode): RestartPolicy {
  if (mode === 'manual_recover') return { ...DISABLED_RESTART };
  if (longRunning(type)) {
    return { enabled: true, attempts: 3, interval_ms: 600_000, delay_ms: 1000, delay_function: 'exponential', max_delay_ms: 30_000, mode: mode === 'local_restart' ? 'delay' : 'fail' };
  }
  return { enabled: true, attempts: 3, interval_ms: 86_400_000, delay_ms: 1000, delay_function: 'exponential', max_delay_ms: 30_000, mode: 'fail' };
}

/** Default reschedule policy (spec §4.2 table): only cluster_recover moves agents. */
export function defaultReschedulePolicy(type: JobType, mode: EffectiveRecoveryMode): ReschedulePolicy {
  if (mode !== 'cluster_recover') return { ...DISABLED_RESCHEDULE };
  if (longRunning(type)) {
    return { enabled: true, attempts: 0, unlimited: true, interval_ms: 600_000, delay_ms: 5000, delay_function: 'exponential', max_delay_ms: 300_000 };
  }
  return { enabled: true, attempts: 1, unlimited: false, interval_ms: 86_400_000, delay_ms: 5000, delay_function: 'constant', max_delay_ms: 5000 };
}

/**
 * The restart policy of one agent: defaults ← `policies.restart` ← the agent's own override.
 * The legacy `max_agent_restart_attempts` replaces the default attempts only when no
 * `restart.attempts` is given. `max_delay_ms` is raised to at least `delay_ms`.
 */
export function restartPolicyFor(policies: Policies, node: Pick<NodeSpec, 'restart'> | null, mode: EffectiveRecoveryMode): RestartPolicy {
  const base = defaultRestartPolicy(policies.job_type, mode);
  if (policies.max_agent_restart_attempts !== null && policies.restart.attempts === undefined && node?.restart.attempts === undefined) {
    base.attempts = policies.max_agent_restart_attempts;
  }
  const merged = { ...base, ...defined(policies.restart), ...defined(node?.restart ?? {}) } as RestartPolicy;
  merged.max_delay_ms = Math.max(merged.max_delay_ms, merged.delay_ms);
  return merged;
}

/** The reschedule policy of one agent: defaults ← `policies.reschedule` ← the agent's override. */
export function reschedulePolicyFor(policies: Policies, node: Pick<NodeSpec, 'reschedule'> | null, mode: EffectiveRecoveryMode): ReschedulePolicy {
  const merged = { ...defaultReschedulePolicy(policies.job_type, mode), ...defined(policies.reschedule), ...defined(node?.reschedule ?? {}) } as ReschedulePolicy;
  merged.max_delay_ms = Math.max(merged.max_delay_ms, merged.delay_ms);
  return merged;
}

function defined<T extends RestartPolicyInput | ReschedulePolicyInput>(input: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Delay before attempt `n` (1-based), capped at `max_delay_ms` (spec §4.1). */
export function delayFor(policy: Pick<RestartPolicy, 'delay_ms' | 'delay_function' | 'max_delay_ms'>, n: number): number {
  const attempt = Math.max(1, Math.floor(n));
  let raw: number;
  switch (policy.delay_function) {
    case 'constant':
      raw = policy.delay_ms;
      break;
    case 'exponential':
      raw = policy.delay_ms * 2 ** (attempt - 1);
      break;
    case 'fibonacci': {
      let a = 1;
      let b = 1;
      for (let i = 2; i < attempt && a * policy.delay_ms < policy.max_delay_ms; i++) [a, b] = [b, a + b];
      raw = policy.delay_ms * (attempt <= 2 ? 1 : b);
      break;
    }
  }
  return Math.min(raw, Math.max(policy.max_delay_ms, policy.delay_ms));
}

/** One recorded recovery attempt (recorded when recovery starts, not when it succeeds). */
export interface AttemptRecord {
  action: string;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
}

/** History entries kept per agent. */
export const MAX_HISTORY = 50;

export type AttemptDecision =
  | { decision: 'allowed'; attempt: number; delay_ms: number; attempts_remaining: number | null }
  | { decision: 'exhausted'; reason: string; wait_until: number | null };

/**
 * Whether another attempt is allowed now (spec §4.1): attempts within the sliding window
 * `interval_ms` are counted; below the limit (or unlimited) the next attempt is allowed with its
 * delay; otherwise the policy is exhausted until the oldest in-window attempt leaves the window.
 */
export function attemptDecision(
  kind: 'restart' | 'reschedule',
  policy: RestartPolicy | ReschedulePolicy,
  history: readonly AttemptRecord[],
  now: number,
): AttemptDecision {
  if (!policy.enabled) return { decision: 'exhausted', reason: `${kind} policy is disabled`, wait_until: null };
  const inWindow = history.filter((h) => h.at > now - policy.interval_ms).map((h) => h.at);
  const unlimited = 'unlimited' in policy && policy.unlimited;
  if (unlimited || inWindow.length < policy.attempts) {
    const attempt = inWindow.length + 1;
    return { decision: 'allowed', attempt, delay_ms: delayFor(policy, attempt), attempts_remaining: unlimited ? null : policy.attempts - attempt };
  }
  return {
    decision: 'exhausted',
    reason: `${kind} attempts exhausted (${inWindow.length} of ${policy.attempts} within ${policy.interval_ms} ms)`,
    wait_until: inWindow.length > 0 ? Math.min(...inWindow) + policy.interval_ms : null,
  };
}

/** Appends to a history, keeping the newest {@link MAX_HISTORY} entries. */
export function recordAttempt(history: readonly AttemptRecord[], entry: AttemptRecord): AttemptRecord[] {
  const next = [...history, entry];
  return next.length > MAX_HISTORY ? next.slice(next.length - MAX_HISTORY) : next;
}

/** What the recovery-mode resolution looks at (spec §4.3). */
export interface ClusterHealth {
  /** Healthy or joining runtime nodes, stable for at least the stability period. */
  stableHealthyNodes: number;
  /** The job's bundle is archived in durable cluster storage. */
  bundleArchived: boolean;
  /** Execution profiles the job uses that no other healthy node advertises. */
  profilesWithoutAlternate: string[];
}

export interface RecoveryResolution {
  requested: RecoveryMode;
  effective: EffectiveRecoveryMode;
  reliability_degraded: boolean;
  /** Why the cluster cannot recover the job on another node (empty when it can). */
  reasons: string[];
}

/** Resolves the requested recovery mode against observed cluster health (spec §4.3 table). */
export function resolveRecoveryMode(requested: RecoveryMode, health: ClusterHealth): RecoveryResolution {
  const reasons: string[] = [];
  if (health.stableHealthyNodes < 2) reasons.push('fewer than 2 healthy connected runtime nodes observed');
  if (!health.bundleArchived) reasons.push('recovery bundle is not archived in durable cluster storage');
  for (const p of health.profilesWithoutAlternate) reasons.push(`no alternate healthy runtime node advertises execution profile ${p}`);
  const recoverable = reasons.length === 0;
  switch (requested) {
    case 'manual_recover':
    case 'local_restart':
      return { requested, effective: requested, reliability_degraded: false, reasons };
    case 'cluster_recover':
      return { requested, effective: recoverable ? 'cluster_recover' : 'local_restart', reliability_degraded: !recoverable, reasons };
    case 'auto':
      return { requested, effective: recoverable ? 'cluster_recover' : 'local_restart', reliability_degraded: false, reasons };
  }
}

/** A node as the recovery-mode resolution sees it. */
export interface HealthNode {
  status: string;
  /** False when its heartbeat lapsed (default true). */
  alive?: boolean;
  profiles: readonly string[];
}

/**
 * The cluster health a job's recovery mode is resolved against (spec §4.3): healthy or joining
 * live nodes, and the execution profiles the job uses that fewer than two such nodes advertise
 * (so a lost node's agents would have nowhere to go). The job record is kept in the cluster's
 * store, which counts as the archived bundle.
 */
export function clusterHealthFor(job: Pick<Job, 'nodes'>, nodes: readonly HealthNode[]): ClusterHealth {
  const healthy = nodes.filter((n) => n.alive !== false && (n.status === 'healthy' || n.status === 'joining'));
  const used = new Set(job.nodes.map((n) => n.execution_profile).filter((p): p is string => p !== null));
  const profilesWithoutAlternate = [...used].filter((p) => healthy.filter((n) => n.profiles.includes(p)).length < 2).sort();
  return { stableHealthyNodes: healthy.length, bundleArchived: true, profilesWithoutAlternate };
}

/** What a job record keeps as its effective policies (spec §4.3 reliability record). */
export interface EffectivePolicies {
  recovery_mode: EffectiveRecoveryMode;
  reliability_degraded: boolean;
  reliability: { requested: RecoveryMode; reasons: string[]; healthy_nodes: number };
  /** Job-level restart and reschedule policies (agents may override them). */
  restart: RestartPolicy;
  reschedule: ReschedulePolicy;
}

/** The effective policies of a job under the observed cluster health. */
export function effectivePolicies(job: Pick<Job, 'policies'>, health: ClusterHealth): EffectivePolicies {
  const resolution = resolveRecoveryMode(job.policies.recovery_mode, health);
  return {
    recovery_mode: resolution.effective,
    reliability_degraded: resolution.reliability_degraded,
    reliability: { requested: resolution.requested, reasons: resolution.reasons, healthy_nodes: health.stableHealthyNodes },
    restart: restartPolicyFor(job.policies, null, resolution.effective),
    reschedule: reschedulePolicyFor(job.policies, null, resolution.effective),
  };
}
