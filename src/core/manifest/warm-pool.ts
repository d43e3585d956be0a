/**
 * Warm pools (DESIGN §4.4): an executor node with `warm_pool: {name, size, provider}` keeps `size`
 * idle, pre-started copies of its command on every machine one of its agents is placed on; an
 * executor with `config.warm_pool: NAME` hands its input to one of them instead of spawning.
 * This module holds the pure parts: validating both fields and the size a daemon applies.
 */
import { type JsonObject, type ValidationContext, describeType, isObject, joinPath } from './context.js';
import type { JobType, NodeSpec } from './types.js';

/** A pool declared on an executor node. */
export interface WarmPoolSpec {
  /** Pool name: what consumers name in `config.warm_pool` (letters, digits, `_` and `-`). */
  name: string;
  /** Idle members kept per machine the pool's agent is placed on (`MN_WARM_POOL_<NAME>_SIZE` overrides it there). */
  size: number;
  /** A free-form tag (`openai`, `anthropic`, ...), shown by `mn pool list`. */
  provider: string;
}

/** Largest `warm_pool.size` (idle processes per machine). */
export const MAX_WARM_POOL_SIZE = 1000;
/** Priority of a job that declares a warm pool and sets none (below the default 50 of ordinary jobs). */
export const DEFAULT_WARM_POOL_PRIORITY = 40;
/** Pool names: they become part of an environment variable name and of store keys. */
export const WARM_POOL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PROVIDER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEYS = new Set(['name', 'size', 'provider']);

/** Parses `nodes[i].warm_pool`; null when absent or invalid (the errors are recorded). */
export function parseWarmPool(ctx: ValidationContext, raw: unknown, path: string, agentType: string, jobType: JobType): WarmPoolSpec | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object {name, size, provider}, got ${describeType(raw)}`);
    return null;
  }
  const errors = ctx.errors.length;
  if (agentType !== 'executor') ctx.error(path, `${path}: a warm pool is a pool of executor processes; agent_type must be executor, got ${agentType}`);
  if (jobType !== 'service' && jobType !== 'system') {
    ctx.error(path, `${path}: a warm pool lives as long as its job; the job must be long-running (type service, or policies.job_type system), got ${jobType}`);
  }
  for (const key of Object.keys(raw)) if (!KEYS.has(key)) ctx.warn(joinPath(path, key), `unknown field "${key}" of ${path} is ignored`);
  const name = raw.name;
  if (typeof name !== 'string' || !WARM_POOL_NAME_PATTERN.test(name)) {
    ctx.error(joinPath(path, 'name'), `${joinPath(path, 'name')} must be a name of letters, digits, "_" and "-" starting with a letter (at most 64), got ${JSON.stringify(name ?? null)}`);
  }
  const size = ctx.number(raw, 'size', path, 0, {
    integer: true,
    min: 0,
    max: MAX_WARM_POOL_SIZE,
    message: `${joinPath(path, 'size')} must be an integer between 0 and ${MAX_WARM_POOL_SIZE} (idle processes per machine), got ${JSON.stringify(raw.size ?? null)}`,
  });
  if (raw.size === undefined || raw.size === null) ctx.error(joinPath(path, 'size'), `${joinPath(path, 'size')} is required (idle processes per machine, 0..${MAX_WARM_POOL_SIZE})`);
  const provider = raw.provider;
  if (typeof provider !== 'string' || !PROVIDER_PATTERN.test(provider)) {
    ctx.error(joinPath(path, 'provider'), `${joinPath(path, 'provider')} must be a tag of letters, digits, ".", "_" and "-" (at most 64), got ${JSON.stringify(provider ?? null)}`);
  }
  if (ctx.errors.length > errors) return null;
  return { name: name as string, size, provider: provider as string };
}

/** Checks a consumer's `config.warm_pool` (an executor's); returns the pool name, or null when absent or invalid. */
export function parseWarmPoolConsumer(ctx: ValidationContext, config: JsonObject, path: string, agentType: string, declares: boolean): string | null {
  const raw = config.warm_pool;
  if (raw === undefined || raw === null) return null;
  const p = joinPath(joinPath(path, 'config'), 'warm_pool');
  if (typeof raw !== 'string' || !WARM_POOL_NAME_PATTERN.test(raw)) {
    ctx.error(p, `${p} must name a warm pool (letters, digits, "_" and "-" starting with a letter), got ${JSON.stringify(raw)}`);
    return null;
  }
  if (agentType !== 'executor') {
    ctx.error(p, `${p}: only executor agents take warm pool members; agent_type is ${agentType}`);
    return null;
  }
  if (declares) {
    ctx.error(p, `${p}: a node that declares a warm pool cannot also take members of one`);
    return null;
  }
  return raw;
}

/** The pool a node declares, if any. */
export function warmPoolOf(node: NodeSpec): WarmPoolSpec | null {
  return node.warm_pool ?? null;
}

/** The pool an executor node takes members of (`config.warm_pool`), if any. */
export function warmPoolConsumed(config: Readonly<Record<string, unknown>>): string | null {
  const v = config.warm_pool;
  return typeof v === 'string' && v !== '' ? v : null;
}

/** `MN_WARM_POOL_<NAME>_SIZE`: the name upper-cased, `-` as `_`. */
export function warmPoolSizeVariable(name: string): string {
  return `MN_WARM_POOL_${name.toUpperCase().replace(/-/g, '_')}_SIZE`;
}

/**
 * The size a daemon keeps for a pool: `MN_WARM_POOL_<NAME>_SIZE` of its environment when that is
 * an integer in range, else the manifest's. A bad value is reported (the manifest's size stays).
 */
export function effectiveWarmPoolSize(spec: WarmPoolSpec, env: Readonly<Record<string, string | undefined>>): { size: number; problem: string | null } {
  const variable = warmPoolSizeVariable(spec.name);
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return { size: spec.size, problem: null };
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 0 || n > MAX_WARM_POOL_SIZE) {
    return { size: spec.size, problem: `${variable} must be an integer between 0 and ${MAX_WARM_POOL_SIZE}, got ${JSON.stringify(raw)}; keeping the manifest's size ${spec.size}` };
  }
  return { size: n, problem: null };
}

/** Where each consumed pool is kept: pool name → machines (from the hosts' reports or the pool jobs' placements). */
export type PoolMachines = ReadonlyMap<string, readonly string[]>;

/**
 * Binds a job's consumers to their pools (the placement rule of warm pools): a consumer of a pool
 * its own job declares is placed freely; any other consumer gets the implicit constraint
 * `node in [machines that keep the pool]`, so it lands where members wait. Returns the nodes
 * (copies where a constraint was added) and the problems (a pool nobody declared) naming
 * `nodes[i].config.warm_pool`.
 */
export function bindWarmPoolConsumers(nodes: readonly NodeSpec[], machines: PoolMachines): { nodes: NodeSpec[]; problems: Array<{ path: string; message: string }> } {
  const own = new Set(nodes.flatMap((n) => (n.warm_pool ? [n.warm_pool.name] : [])));
  const problems: Array<{ path: string; message: string }> = [];
  const bound = nodes.map((node, i) => {
    const name = warmPoolConsumed(node.config);
    if (name === null || own.has(name)) return node;
    const where = machines.get(name);
    const path = `nodes[${i}].config.warm_pool`;
    if (!where || where.length === 0) {
      const known = [...machines.keys()].sort();
      problems.push({ path, message: `${path}: no warm pool named ${name} is declared in the cluster (${known.length > 0 ? `pools: ${known.join(', ')}` : 'no pools are running'}); run the job that declares it (warm_pool: {name: "${name}", ...}) first` });
      return node;
    }
    return { ...node, constraints: [...node.constraints, { attribute: 'node' as const, operator: 'in' as const, value: [...where].sort() }] };
  });
  return { nodes: bound, problems };
}
