/**
 * Daemon settings from the environment (DESIGN §4.5; defaults from the original's §10). Pure:
 * the environment and the host name are passed in, and problems come back as a list naming the
 * variable instead of being thrown, so a daemon refuses to start with every problem listed.
 */
import { type Limits, limitsFromEnv } from './limits.js';
import { parsePreemptionList } from './placement/preemption-config.js';

export interface DaemonConfig {
  /** Address the gRPC server binds (MN_CORE_HOST, default 127.0.0.1). */
  host: string;
  /** gRPC port (MN_GRPC_PORT, default 50051; 0 picks a free port). */
  port: number;
  /** Bearer token for mutating RPCs (MN_GRPC_AUTH_TOKEN); null leaves them open. */
  authToken: string | null;
  /** Token for ClearJobs (MN_GRPC_ADMIN_TOKEN); null refuses ClearJobs. */
  adminToken: string | null;
  /** This daemon's node name (MN_NODE_NAME, default `<hostname>@local`). */
  nodeName: string;
  /** Job coordinator lease TTL (MN_JOB_LEASE_DURATION_MS, default 60000). */
  jobLeaseMs: number;
  /** Job lease renewal period (MN_JOB_LEASE_RENEW_INTERVAL_MS, default 10000). */
  jobLeaseRenewMs: number;
  /** Leader lease TTL (MN_LEADER_LEASE_MS, default 10000). */
  leaderLeaseMs: number;
  /** Heartbeat period (MN_HEARTBEAT_INTERVAL_MS, default 2000); the TTL is three periods. */
  heartbeatMs: number;
  /** Leader sweep period (MN_SWEEP_INTERVAL_MS, default 5000). */
  sweepMs: number;
  /** How long a node stays disconnected before it is offline (MN_NODE_DISCONNECT_GRACE_MS, default 30000). */
  disconnectGraceMs: number;
  /** State root (MN_HOME, default `~/.mn`). */
  home: string;
  /** Slots of the `default` executor pool on this node (MN_EXECUTOR_MAX_CONCURRENCY, default 4). */
  executorConcurrency: number;
  /** Slots of named executor pools (MN_EXECUTOR_POOL_CAPACITIES, `pool=n,...`); others get the default's. */
  executorPools: Record<string, number>;
  /** Message delivery settings (spec §2.3, §10.6). */
  messages: MessageSettings;
  /** Longest sleep of the leader's schedule sweep (MN_SCHEDULE_SWEEP_INTERVAL_MS, default 5000); it also wakes at the next due time. */
  scheduleSweepMs: number;
  /** Largest trigger event payload in bytes (MN_MAX_EVENT_BYTES, default 65536). */
  maxEventBytes: number;
  /** Request limits (README "Limits"); {@link DEFAULT_LIMITS} when absent. */
  limits?: Limits;
  /** The dashboard and `/metrics` port (MN_HTTP_PORT). */
  http: HttpSettings;
  /** Log level (MN_LOG_LEVEL: fatal, error, warn, info, debug, trace or silent; default info). */
  logLevel: LogLevel;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVEL_NAMES: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Default dashboard port when MN_HTTP_PORT is unset. */
export const DEFAULT_HTTP_PORT = 4646;

/**
 * The HTTP port (dashboard, JSON API, server-sent events, `/metrics`) on MN_CORE_HOST.
 * MN_HTTP_PORT unset: {@link DEFAULT_HTTP_PORT}, and a daemon that finds it taken (another daemon
 * on the machine) runs without it and says so; a number: that port, which must be free; `0`: a
 * free port picked at start; `off`: no HTTP port.
 */
export interface HttpSettings {
  /** null: disabled. */
  port: number | null;
  /** Whether failing to bind stops the daemon (the port was asked for explicitly). */
  required: boolean;
}

/** Message delivery settings (spec §2.3). */
export interface MessageSettings {
  /** MN_MESSAGE_MAX_PENDING_PER_AGENT (10000). */
  maxPendingPerAgent: number;
  /** MN_MESSAGE_MAX_PENDING_PER_JOB (100000). */
  maxPendingPerJob: number;
  /** MN_MESSAGE_ACK_TIMEOUT_MS (30000): an entry read and not settled for this long is read again. */
  ackTimeoutMs: number;
  /** MN_MESSAGE_DELIVERY_MAX_ATTEMPTS (10): attempts before a message is dead-lettered. */
  maxAttempts: number;
  /** MN_MESSAGE_DELIVERY_POLL_MS (1000): longest wait of one inbox read. */
  pollMs: number;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the daemon settings; `problems` lists every invalid variable. */
export function daemonConfigFromEnv(env: Env, defaults: { hostname: string; homeDir: string }): { config: DaemonConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push({ variable: name, message: `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}` });
      return fallback;
    }
    return n;
  };
  const text = (name: string): string | null => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? null : raw.trim();
  };
  const nodeName = text('MN_NODE_NAME') ?? `${defaults.hostname}@local`;
  if (/\s/.test(nodeName)) problems.push({ variable: 'MN_NODE_NAME', message: `MN_NODE_NAME must not contain whitespace, got ${JSON.stringify(nodeName)}` });
  const config: DaemonConfig = {
    host: text('MN_CORE_HOST') ?? '127.0.0.1',
    port: int('MN_GRPC_PORT', 50051, 0, 65535),
    authToken: text('MN_GRPC_AUTH_TOKEN'),
    adminToken: text('MN_GRPC_ADMIN_TOKEN'),
    nodeName,
    jobLeaseMs: int('MN_JOB_LEASE_DURATION_MS', 60_000, 100),
    jobLeaseRenewMs: int('MN_JOB_LEASE_RENEW_INTERVAL_MS', 10_000, 10),
    leaderLeaseMs: int('MN_LEADER_LEASE_MS', 10_000, 100),
    heartbeatMs: int('MN_HEARTBEAT_INTERVAL_MS', 2_000, 10),
    sweepMs: int('MN_SWEEP_INTERVAL_MS', 5_000, 10),
    disconnectGraceMs: int('MN_NODE_DISCONNECT_GRACE_MS', 30_000, 0),
    home: text('MN_HOME') ?? `${defaults.homeDir}/.mn`,
    executorConcurrency: int('MN_EXECUTOR_MAX_CONCURRENCY', 4, 1, 4096),
    executorPools: poolCapacities(text('MN_EXECUTOR_POOL_CAPACITIES'), problems),
    messages: {
      maxPendingPerAgent: int('MN_MESSAGE_MAX_PENDING_PER_AGENT', 10_000, 1),
      maxPendingPerJob: int('MN_MESSAGE_MAX_PENDING_PER_JOB', 100_000, 1),
      ackTimeoutMs: int('MN_MESSAGE_ACK_TIMEOUT_MS', 30_000, 100),
      maxAttempts: int('MN_MESSAGE_DELIVERY_MAX_ATTEMPTS', 10, 1, 1000),
      pollMs: int('MN_MESSAGE_DELIVERY_POLL_MS', 1_000, 10, 60_000),
    },
    http: httpSettings(text('MN_HTTP_PORT'), problems),
    logLevel: logLevel(text('MN_LOG_LEVEL'), problems),
    scheduleSweepMs: int('MN_SCHEDULE_SWEEP_INTERVAL_MS', 5_000, 10, 3_600_000),
    maxEventBytes: int('MN_MAX_EVENT_BYTES', 65_536, 2, 16 * 1024 * 1024),
  };
  const limits = limitsFromEnv(env);
  problems.push(...limits.problems);
  const preemption = text('MN_PREEMPTION');
  if (preemption !== null) {
    try {
      parsePreemptionList(preemption, 'MN_PREEMPTION');
    } catch (error) {
      problems.push({ variable: 'MN_PREEMPTION', message: error instanceof Error ? error.message : String(error) });
    }
  }
  config.limits = limits.limits;
  if (config.jobLeaseRenewMs >= config.jobLeaseMs) {
    problems.push({
      variable: 'MN_JOB_LEASE_RENEW_INTERVAL_MS',
      message: `MN_JOB_LEASE_RENEW_INTERVAL_MS (${config.jobLeaseRenewMs}) must be shorter than MN_JOB_LEASE_DURATION_MS (${config.jobLeaseMs})`,
    });
  }
  return { config, problems };
}

function httpSettings(raw: string | null, problems: ConfigProblem[]): HttpSettings {
  if (raw === null) return { port: DEFAULT_HTTP_PORT, required: false };
  if (raw.toLowerCase() === 'off') return { port: null, required: false };
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) {
    problems.push({ variable: 'MN_HTTP_PORT', message: `MN_HTTP_PORT must be a port between 0 and 65535 or "off", got ${JSON.stringify(raw)}` });
    return { port: null, required: false };
  }
  return { port: n, required: true };
}

function logLevel(raw: string | null, problems: ConfigProblem[]): LogLevel {
  if (raw === null) return 'info';
  const level = raw.toLowerCase() as LogLevel;
  if (LOG_LEVEL_NAMES.includes(level)) return level;
  problems.push({ variable: 'MN_LOG_LEVEL', message: `MN_LOG_LEVEL must be one of ${LOG_LEVEL_NAMES.join(', ')}, got ${JSON.stringify(raw)}` });
  return 'info';
}

/** Parses `pool=n,pool2=m` (spec §10.7); problems name the variable and the entry. */
function poolCapacities(raw: string | null, problems: ConfigProblem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (raw ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const m = /^([A-Za-z0-9_.-]+)=(\d+)$/.exec(entry);
    const n = m ? Number(m[2]) : NaN;
    if (!m || !Number.isInteger(n) || n < 1 || n > 4096) {
      problems.push({ variable: 'MN_EXECUTOR_POOL_CAPACITIES', message: `MN_EXECUTOR_POOL_CAPACITIES entries must look like pool=n with n between 1 and 4096, got ${JSON.stringify(entry)}` });
      continue;
    }
    out[m[1]!] = n;
  }
  return out;
}

/** Resource limit percentages (spec §3.2): each of cpu, memory, disk, gpu is 25, 50, 75 or 100. */
export interface ResourceLimits {
  cpu: number;
  memory: number;
  disk: number;
  gpu: number;
}

export const DEFAULT_RESOURCE_LIMITS: Readonly<ResourceLimits> = Object.freeze({ cpu: 100, memory: 100, disk: 100, gpu: 100 });
const LIMIT_KEYS = ['cpu', 'memory', 'disk', 'gpu'] as const;
const LIMIT_VALUES = [25, 50, 75, 100];

/** Validates a `SetResource` request (spec §3.2, §11.2 #20); returns the merged limits or the errors. */
export function applyResourceLimits(current: ResourceLimits, input: unknown): { ok: true; limits: ResourceLimits } | { ok: false; errors: string[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, errors: ['resource limits must be an object'] };
  const obj = input as Record<string, unknown>;
  const errors: string[] = [];
  for (const key of Object.keys(obj)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) errors.push(`resource type must be one of cpu, gpu, memory, or disk, got ${JSON.stringify(key)}`);
  }
  const given = LIMIT_KEYS.filter((k) => obj[k] !== undefined && obj[k] !== null);
  if (given.length === 0 && errors.length === 0) errors.push('at least one of cpu, gpu, memory, or disk is required');
  const limits = { ...current };
  for (const key of given) {
    const v = obj[key];
    if (typeof v !== 'number' || !LIMIT_VALUES.includes(v)) errors.push(`${key} must be one of 25, 50, 75, 100`);
    else limits[key] = v;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, limits };
}
