import { type JsonObject, type ValidationContext, describeType, isObject, joinPath } from './context.js';
import { parseConstraints, parseSpread } from './constraints.js';
import type {
  DelayFunction,
  JobType,
  Policies,
  RecoveryMode,
  ReschedulePolicyInput,
  RestartPolicyInput,
  Strategy,
  UpdatePolicy,
} from './types.js';

const RECOVERY_MODES: readonly RecoveryMode[] = ['auto', 'local_restart', 'cluster_recover', 'manual_recover'];
const JOB_TYPES: readonly JobType[] = ['service', 'batch', 'system', 'sysbatch'];
const STRATEGIES: readonly Strategy[] = ['binpack', 'spread'];
const DELAY_FUNCTIONS: readonly DelayFunction[] = ['constant', 'exponential', 'fibonacci'];

/** Defaults of `policies.update` (spec §6.1). */
export const DEFAULT_UPDATE_POLICY: Readonly<UpdatePolicy> = Object.freeze({
  strategy: 'rolling',
  max_parallel: 1,
  canary: 0,
  min_healthy_ms: 10_000,
  healthy_deadline_ms: 300_000,
  progress_deadline_ms: 600_000,
  health_check: 'checks',
  auto_promote: false,
  auto_revert: false,
});

/**
 * Parses the job's `policies` block (spec §1.6). `manifestType` is the manifest's `type`, used
 * when no job_type is given.
 */
export function parsePolicies(ctx: ValidationContext, raw: unknown, manifestType: 'batch' | 'service'): Policies {
  const path = 'policies';
  let p: JsonObject = {};
  if (raw !== undefined && raw !== null) {
    if (isObject(raw)) p = raw;
    else ctx.error(path, `policies must be an object, got ${describeType(raw)}`);
  }
  const scheduler = ctx.object(p, 'scheduler', path);
  const schedulerPath = joinPath(path, 'scheduler');

  const recovery = ctx.enumValue(p, 'recovery_mode', path, RECOVERY_MODES, 'auto', {
    message: (v) => `unsupported recovery_mode ${JSON.stringify(v)}; use one of ${RECOVERY_MODES.join(', ')}`,
  });

  let jobType: JobType = manifestType;
  if (p.job_type !== undefined && p.job_type !== null) {
    jobType = ctx.enumValue(p, 'job_type', path, JOB_TYPES, manifestType, {
      normalise: (s) => s.toLowerCase(),
      message: (v) => `unsupported job_type ${JSON.stringify(v)}; use one of ${JOB_TYPES.join(', ')}`,
    });
  } else if (scheduler.job_type !== undefined && scheduler.job_type !== null) {
    jobType = ctx.enumValue(scheduler, 'job_type', schedulerPath, JOB_TYPES, manifestType, {
      normalise: (s) => s.toLowerCase(),
      message: (v) => `unsupported job_type ${JSON.stringify(v)}; use one of ${JOB_TYPES.join(', ')}`,
    });
  }

  const strategyMessage = (v: unknown): string =>
    `unsupported scheduler strategy ${JSON.stringify(v)}; use binpack or spread`;
  let strategy: Strategy = 'binpack';
  if (p.scheduler_strategy !== undefined && p.scheduler_strategy !== null) {
    strategy = ctx.enumValue(p, 'scheduler_strategy', path, STRATEGIES, 'binpack', { message: strategyMessage });
  } else {
    strategy = ctx.enumValue(scheduler, 'strategy', schedulerPath, STRATEGIES, 'binpack', { message: strategyMessage });
  }

  const constraints = [
    ...parseConstraints(ctx, p.constraints, joinPath(path, 'constraints'), 'policies'),
    ...parseConstraints(ctx, scheduler.constraints, joinPath(schedulerPath, 'constraints'), 'policies.scheduler'),
  ];

  const maxAttempts = p.max_agent_restart_attempts;
  return {
    recovery_mode: recovery,
    job_type: jobType,
    strategy,
    constraints,
    spread: [
      ...parseSpread(ctx, p.spread, joinPath(path, 'spread')),
      ...parseSpread(ctx, scheduler.spread, joinPath(schedulerPath, 'spread')),
    ],
    restart: parseRestartPolicy(ctx, p.restart, joinPath(path, 'restart')),
    reschedule: parseReschedulePolicy(ctx, p.reschedule, joinPath(path, 'reschedule')),
    max_agent_restart_attempts:
      maxAttempts === undefined || maxAttempts === null
        ? null
        : ctx.number(p, 'max_agent_restart_attempts', path, 0, { integer: true, min: 0 }),
    update: parseUpdatePolicy(ctx, p.update, joinPath(path, 'update')),
    deployment_key: ctx.optionalString(p, 'deployment_key', path, { nonEmpty: true }),
  };
}

function nonNegativeInteger(ctx: ValidationContext, obj: JsonObject, key: string, path: string, out: Record<string, unknown>): void {
  if (obj[key] === undefined || obj[key] === null) return;
  const v = obj[key];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[key] = v;
  else ctx.error(joinPath(path, key), `${joinPath(path, key)} must be a non-negative integer, got ${JSON.stringify(v)}`);
}

function boolField(ctx: ValidationContext, obj: JsonObject, key: string, path: string, out: Record<string, unknown>): void {
  if (obj[key] === undefined || obj[key] === null) return;
  if (typeof obj[key] === 'boolean') out[key] = obj[key];
  else ctx.error(joinPath(path, key), `${joinPath(path, key)} must be a boolean, got ${JSON.stringify(obj[key])}`);
}

function enumField<T extends string>(
  ctx: ValidationContext,
  obj: JsonObject,
  key: string,
  path: string,
  allowed: readonly T[],
  out: Record<string, unknown>,
): void {
  if (obj[key] === undefined || obj[key] === null) return;
  const v = obj[key];
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) out[key] = v;
  else ctx.error(joinPath(path, key), `${joinPath(path, key)} has unsupported value ${JSON.stringify(v)}; use one of ${allowed.join(', ')}`);
}

const RESTART_KEYS = ['enabled', 'attempts', 'interval_ms', 'delay_ms', 'delay_function', 'max_delay_ms', 'mode'];
const RESCHEDULE_KEYS = ['enabled', 'attempts', 'unlimited', 'interval_ms', 'delay_ms', 'delay_function', 'max_delay_ms'];

/**
 * Parses a restart policy override as written (spec §4.1). Defaults are not applied here: they
 * depend on the effective recovery mode, which is known only at run time.
 */
export function parseRestartPolicy(ctx: ValidationContext, raw: unknown, path: string): RestartPolicyInput {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object`);
    return {};
  }
  const out: Record<string, unknown> = {};
  warnUnknown(ctx, raw, path, RESTART_KEYS);
  boolField(ctx, raw, 'enabled', path, out);
  for (const k of ['attempts', 'interval_ms', 'delay_ms', 'max_delay_ms']) nonNegativeInteger(ctx, raw, k, path, out);
  enumField(ctx, raw, 'delay_function', path, DELAY_FUNCTIONS, out);
  enumField(ctx, raw, 'mode', path, ['fail', 'delay'] as const, out);
  return out as RestartPolicyInput;
}

/** Parses a reschedule policy override as written (spec §4.2). */
export function parseReschedulePolicy(ctx: ValidationContext, raw: unknown, path: string): ReschedulePolicyInput {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object`);
    return {};
  }
  const out: Record<string, unknown> = {};
  warnUnknown(ctx, raw, path, RESCHEDULE_KEYS);
  boolField(ctx, raw, 'enabled', path, out);
  boolField(ctx, raw, 'unlimited', path, out);
  for (const k of ['attempts', 'interval_ms', 'delay_ms', 'max_delay_ms']) nonNegativeInteger(ctx, raw, k, path, out);
  enumField(ctx, raw, 'delay_function', path, DELAY_FUNCTIONS, out);
  return out as ReschedulePolicyInput;
}

/** Parses `policies.update` with defaults (spec §6.1). */
export function parseUpdatePolicy(ctx: ValidationContext, raw: unknown, path: string): UpdatePolicy {
  if (raw === undefined || raw === null) return { ...DEFAULT_UPDATE_POLICY };
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object`);
    return { ...DEFAULT_UPDATE_POLICY };
  }
  const nonNeg = (key: keyof UpdatePolicy): number =>
    ctx.number(raw, key, path, DEFAULT_UPDATE_POLICY[key] as number, {
      integer: true,
      min: 0,
      message: `${path}.${key} must be a non-negative integer, got ${JSON.stringify(raw[key])}`,
    });
  const strategy = ctx.enumValue(raw, 'strategy', path, ['rolling', 'canary', 'blue-green'] as const, 'rolling', {
    normalise: (s) => s.toLowerCase().replace(/_/g, '-'),
    message: (v) => `${path}.strategy has unsupported value ${JSON.stringify(v)}; use rolling, canary or blue-green`,
  });
  const policy: UpdatePolicy = {
    strategy,
    max_parallel: nonNeg('max_parallel'),
    canary: nonNeg('canary'),
    min_healthy_ms: nonNeg('min_healthy_ms'),
    healthy_deadline_ms: ctx.number(raw, 'healthy_deadline_ms', path, DEFAULT_UPDATE_POLICY.healthy_deadline_ms, {
      integer: true,
      exclusiveMin: 0,
      message: `${path}.healthy_deadline_ms must be a positive integer, got ${JSON.stringify(raw.healthy_deadline_ms)}`,
    }),
    progress_deadline_ms: nonNeg('progress_deadline_ms'),
    health_check: ctx.enumValue(raw, 'health_check', path, ['checks', 'agent_states'] as const, 'checks', {
      message: (v) => `${path}.health_check has unsupported value ${JSON.stringify(v)}; use checks or agent_states`,
    }),
    auto_promote: ctx.boolean(raw, 'auto_promote', path, false, `${path}.auto_promote must be a boolean`),
    auto_revert: ctx.boolean(raw, 'auto_revert', path, false, `${path}.auto_revert must be a boolean`),
  };
  if (policy.strategy === 'rolling' && policy.max_parallel === 0) policy.max_parallel = 1;
  if (policy.auto_promote && policy.strategy === 'canary' && policy.canary === 0) {
    ctx.error(joinPath(path, 'auto_promote'), `${path}.auto_promote requires canary > 0 for canary deployments`);
  }
  return policy;
}

function warnUnknown(ctx: ValidationContext, obj: JsonObject, path: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) ctx.warn(joinPath(path, key), `unknown field ${joinPath(path, key)} is ignored`);
  }
}
