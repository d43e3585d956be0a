/**
 * Redis connection settings from the environment (spec §10.3) and the client factory.
 *
 * A store uses three kinds of connections:
 * - `data`: ordinary reads and writes; commands issued while Redis is unreachable wait in the
 *   offline queue through `reconnect.attempts` reconnection attempts, then fail.
 * - `lease`: lease traffic only; no offline queue and a `commandTimeout`, so a renewal can never
 *   wait in a queue and reach Redis after the lease has lapsed: it fails at once instead.
 * - `blocking`: one per event follower (`XREAD BLOCK`); waits for Redis indefinitely.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { MnError } from '../core/errors.js';
import { DEFAULT_NAMESPACE } from './keys.js';

/** A Sentinel address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** Reconnection policy: backoff doubles from `backoffMs` up to `maxBackoffMs`, forever. */
export interface ReconnectPolicy {
  /** Reconnection attempts a queued data command waits through before it fails. */
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

interface CommonRedisConfig {
  namespace: string;
  username?: string;
  password?: string;
  reconnect: ReconnectPolicy;
}

/** A single Redis server addressed by URL. */
export interface SingleRedisConfig extends CommonRedisConfig {
  mode: 'single';
  url: string;
  db?: number;
}

/** A Sentinel-managed primary. */
export interface SentinelRedisConfig extends CommonRedisConfig {
  mode: 'sentinel';
  sentinels: SentinelAddress[];
  masterName: string;
  db: number;
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Host rewrites for primaries reported by Sentinel (`MN_REDIS_SENTINEL_HOST_MAP`). */
  hostMap: Record<string, string>;
}

export type RedisConfig = SingleRedisConfig | SentinelRedisConfig;

/** Which connection a client serves; see the module comment. */
export type ConnectionRole = 'data' | 'lease' | 'blocking';

export const DEFAULT_SENTINEL_PORT = 26379;
export const DEFAULT_SENTINEL_MASTER = 'mirror-neuron';

function invalid(variable: string, value: string, reason: string): MnError {
  return new MnError('MN_E_INVALID_ARGUMENT', `${variable}=${JSON.stringify(value)}: ${reason}`, { details: { variable, value } });
}

function parsePort(text: string, variable: string, whole: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(variable, whole, `invalid port "${text}"`);
  return port;
}

/**
 * Parses `MN_REDIS_SENTINELS`: `host:port,host:port` (port defaults to 26379; IPv6 hosts in
 * brackets, `[::1]:26379`).
 */
export function parseSentinels(value: string, variable = 'MN_REDIS_SENTINELS'): SentinelAddress[] {
  const out: SentinelAddress[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(item);
    if (v6) {
      out.push({ host: v6[1]!, port: v6[2] === undefined ? DEFAULT_SENTINEL_PORT : parsePort(v6[2], variable, value) });
      continue;
    }
    const parts = item.split(':');
    if (parts.length > 2 || parts[0] === '') throw invalid(variable, value, `invalid address "${item}" (expected host:port)`);
    out.push({ host: parts[0]!, port: parts.length === 2 ? parsePort(parts[1]!, variable, value) : DEFAULT_SENTINEL_PORT });
  }
  if (out.length === 0) throw invalid(variable, value, 'no sentinel address');
  return out;
}

/** Parses `MN_REDIS_SENTINEL_HOST_MAP`: `from=to,from2=to2`. */
export function parseHostMap(value: string, variable = 'MN_REDIS_SENTINEL_HOST_MAP'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw invalid(variable, value, `invalid entry "${item}" (expected from=to)`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw invalid(name, raw, `expected an integer >= ${min}`);
  return n;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Reads the Redis settings from `MN_REDIS_*` variables. Sentinel mode is chosen by
 * `MN_REDIS_HA_MODE=sentinel`, or by `MN_REDIS_SENTINELS` being set when the mode is not given.
 */
export function redisConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RedisConfig {
  const namespace = optional(env, 'MN_REDIS_NAMESPACE') ?? DEFAULT_NAMESPACE;
  if (/\s/.test(namespace)) throw invalid('MN_REDIS_NAMESPACE', namespace, 'must not contain whitespace');
  const reconnect: ReconnectPolicy = {
    attempts: intVar(env, 'MN_REDIS_RECONNECT_ATTEMPTS', 10, 0),
    backoffMs: intVar(env, 'MN_REDIS_RECONNECT_BACKOFF_MS', 250, 1),
    maxBackoffMs: intVar(env, 'MN_REDIS_RECONNECT_MAX_BACKOFF_MS', 2000, 1),
  };
  const username = optional(env, 'MN_REDIS_USERNAME');
  const password = optional(env, 'MN_REDIS_PASSWORD');
  const credentials = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  const sentinelsRaw = optional(env, 'MN_REDIS_SENTINELS');
  const modeRaw = optional(env, 'MN_REDIS_HA_MODE');
  if (modeRaw !== undefined && modeRaw !== 'single' && modeRaw !== 'sentinel') {
    throw invalid('MN_REDIS_HA_MODE', modeRaw, 'expected "single" or "sentinel"');
  }
  const mode = modeRaw ?? (sentinelsRaw ? 'sentinel' : 'single');
  const dbRaw = optional(env, 'MN_REDIS_DB');
  if (mode === 'sentinel') {
    if (!sentinelsRaw) throw invalid('MN_REDIS_SENTINELS', '', 'required when MN_REDIS_HA_MODE=sentinel');
    const sentinelUsername = optional(env, 'MN_REDIS_SENTINEL_USERNAME');
    const sentinelPassword = optional(env, 'MN_REDIS_SENTINEL_PASSWORD');
    return {
      mode: 'sentinel',
      namespace,
      reconnect,
      ...credentials,
      sentinels: parseSentinels(sentinelsRaw),
      masterName: optional(env, 'MN_REDIS_SENTINEL_MASTER') ?? DEFAULT_SENTINEL_MASTER,
      db: intVar(env, 'MN_REDIS_DB', 0, 0),
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      hostMap: parseHostMap(env['MN_REDIS_SENTINEL_HOST_MAP'] ?? ''),
    };
  }
  const host = optional(env, 'MN_REDIS_HOST') ?? '127.0.0.1';
  const url = optional(env, 'MN_REDIS_URL') ?? `redis://${host}:6379/0`;
  if (!/^rediss?:\/\//.test(url)) throw invalid('MN_REDIS_URL', url, 'expected a redis:// or rediss:// URL');
  return {
    mode: 'single',
    namespace,
    reconnect,
    ...credentials,
    url,
    ...(dbRaw !== undefined ? { db: intVar(env, 'MN_REDIS_DB', 0, 0) } : {}),
  };
}

/** Per-client overrides. */
export interface ClientOptions {
  /** Lease connections: how long a lease command may take before it fails (default 2000 ms). */
  commandTimeoutMs?: number;
}

/** The ioredis options for one connection role (exported for tests). */
export function clientOptions(config: RedisConfig, role: ConnectionRole, options: ClientOptions = {}): RedisOptions {
  const { backoffMs, maxBackoffMs, attempts } = config.reconnect;
  const base: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times: number) => Math.min(backoffMs * 2 ** Math.min(times - 1, 30), maxBackoffMs),
    // A promoted replica answers READONLY until ioredis reconnects to the new primary: reconnect and resend.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
  };
  if (config.mode === 'sentinel') {
    const hostMap = config.hostMap;
    Object.assign(base, {
      sentinels: config.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: config.masterName,
      db: config.db,
      ...(config.sentinelUsername ? { sentinelUsername: config.sentinelUsername } : {}),
      ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
      ...(Object.keys(hostMap).length > 0
        ? {
            natMap: (key: string) => {
              const at = key.lastIndexOf(':');
              const to = hostMap[key.slice(0, at)];
              return to === undefined ? null : { host: to, port: Number(key.slice(at + 1)) };
            },
          }
        : {}),
    } satisfies RedisOptions);
  } else if (config.db !== undefined) {
    base.db = config.db;
  }
  switch (role) {
    case 'data':
      return { ...base, maxRetriesPerRequest: attempts };
    case 'lease':
      return { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: options.commandTimeoutMs ?? 2000 };
    case 'blocking':
      return { ...base, maxRetriesPerRequest: null };
  }
}

/** Opens a client for `role`. */
export function createRedisClient(config: RedisConfig, role: ConnectionRole, options: ClientOptions = {}): Redis {
  const opts = clientOptions(config, role, options);
  const client = config.mode === 'single' ? new Redis(config.url, opts) : new Redis(opts);
  // Failures reach callers through the commands that fail; without a listener ioredis would
  // print every reconnection error to stderr.
  client.on('error', () => {});
  return client;
}
