import { type JsonObject, ValidationContext, describeType, isObject, joinPath } from './context.js';
import type { CheckRestart, CheckSpec, CheckType, ServiceRequirement, ServiceSpec } from './types.js';

/**
 * Parsers for service declarations, service requirements and health checks (spec §5.2, §5.3,
 * §5.6). Templates (`${config.x}`, `${env.NAME}`, `${service.port}`, ...) are kept as written;
 * they are resolved when the service is registered.
 */

/** Service names are used in discovery queries, instance ids and registry keys. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const CHECK_TYPES: readonly CheckType[] = ['http', 'tcp', 'script', 'grpc'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'] as const;
const SCHEMES = ['http', 'https'] as const;
/**
 * Characters that make a single-string command need a shell. A string command runs as argv
 * split on whitespace, so these would either be passed literally (surprising) or, if someone
 * later ran it through a shell, be interpreted (dangerous). Either way the author should write
 * an explicit argv list.
 */
const UNSAFE_COMMAND = /[;&|`<>\n\r]|\$\(/;

const SERVICE_FIELDS = new Set(['name', 'id', 'address', 'port', 'tags', 'meta', 'provider', 'origin', 'required', 'checks']);
const REQUIREMENT_FIELDS = new Set(['name', 'tags', 'origin', 'required', 'address', 'port', 'checks']);
const CHECK_FIELDS = new Set([
  'type',
  'name',
  'timeout_ms',
  'interval_ms',
  'required',
  'failures_before_critical',
  'address',
  'port',
  'url',
  'scheme',
  'path',
  'method',
  'expected_status',
  'contains',
  'service',
  'command',
  'check_restart',
]);

/** Where a check inherits its target from: the enclosing service or requirement. */
export interface CheckDefaults {
  address?: string | null;
  port?: number | string | null;
}

/**
 * Parses a `services` list (job-level at `services`, agent-level at `nodes[i].services`).
 * Invalid entries are reported and dropped.
 */
export function parseServices(ctx: ValidationContext, value: unknown, path: string): ServiceSpec[] {
  const items = listOf(ctx, value, path);
  const out: ServiceSpec[] = [];
  const seen = new Map<string, string>();
  items.forEach((raw, i) => {
    const p = joinPath(path, i);
    if (!isObject(raw)) {
      ctx.error(p, `${p} must be an object, got ${describeType(raw)}`);
      return;
    }
    warnUnknown(ctx, raw, p, SERVICE_FIELDS, 'service');
    const name = serviceName(ctx, raw, p);
    const id = ctx.optionalString(raw, 'id', p, { nonEmpty: true });
    const address = ctx.optionalString(raw, 'address', p, { nonEmpty: true });
    const port = parsePort(ctx, raw, p);
    const tags = stringList(ctx, raw, 'tags', p);
    const meta = ctx.object(raw, 'meta', p, `${joinPath(p, 'meta')} must be an object, got ${describeType(raw.meta)}`);
    if (raw.provider !== undefined && raw.provider !== null && raw.provider !== 'mirror_neuron') {
      ctx.error(joinPath(p, 'provider'), `${joinPath(p, 'provider')} must be mirror_neuron, got ${JSON.stringify(raw.provider)}`);
    }
    const origin = parseOrigin(ctx, raw, p) ?? 'internal';
    const required = ctx.boolean(raw, 'required', p, true);
    const checks = parseChecks(ctx, raw.checks, joinPath(p, 'checks'), { address, port });
    if (name === null) return;
    // Instance ids default to `<job_id>:<agent|job>:<name>`, so two entries with one name and no
    // distinct `id` would register over each other.
    const identity = id ?? `name:${name}`;
    const first = seen.get(identity);
    if (first !== undefined) {
      ctx.error(
        joinPath(p, id !== null ? 'id' : 'name'),
        `${p} duplicates ${first}: ${id !== null ? `id "${id}"` : `service "${name}" without a distinct id`}`,
      );
      return;
    }
    seen.set(identity, p);
    out.push({ name, id, address, port, tags, meta, provider: 'mirror_neuron', origin, required, checks });
  });
  return out;
}

/**
 * Parses `required_services` (preflight, spec §5.6) or a node's `requires_services` (placement,
 * §3.3). An entry may be an object or a bare service name. `origin` stays null unless given.
 * `address`/`port`/`checks` make preflight check the target directly instead of asking the registry.
 */
export function parseServiceRequirements(ctx: ValidationContext, value: unknown, path: string): ServiceRequirement[] {
  const items = listOf(ctx, value, path);
  const out: ServiceRequirement[] = [];
  items.forEach((raw, i) => {
    const p = joinPath(path, i);
    const obj: JsonObject | null = typeof raw === 'string' ? { name: raw } : isObject(raw) ? raw : null;
    if (obj === null) {
      ctx.error(p, `${p} must be an object or a service name, got ${describeType(raw)}`);
      return;
    }
    warnUnknown(ctx, obj, p, REQUIREMENT_FIELDS, 'service requirement');
    const name = serviceName(ctx, obj, p);
    const tags = stringList(ctx, obj, 'tags', p);
    const origin = parseOrigin(ctx, obj, p);
    const required = ctx.boolean(obj, 'required', p, true);
    const address = ctx.optionalString(obj, 'address', p, { nonEmpty: true });
    const port = parsePort(ctx, obj, p);
    const checks = parseChecks(ctx, obj.checks, joinPath(p, 'checks'), { address, port });
    if (name === null) return;
    out.push({ name, tags, origin, required, address, port, checks });
  });
  return out;
}

/**
 * Parses a `checks` list (spec §5.3). `defaults` are the enclosing service's (or requirement's)
 * address and port, which a check inherits when it names none; the returned checks carry the
 * effective values. Invalid entries are reported and dropped.
 */
export function parseChecks(ctx: ValidationContext, value: unknown, path: string, defaults: CheckDefaults = {}): CheckSpec[] {
  const items = listOf(ctx, value, path);
  const out: CheckSpec[] = [];
  items.forEach((raw, j) => {
    const check = parseCheck(ctx, raw, joinPath(path, j), defaults);
    if (check !== null) out.push(check);
  });
  return out;
}

/** Forwards to another context and counts the errors recorded through it. */
class CountingContext extends ValidationContext {
  count = 0;

  constructor(private readonly inner: ValidationContext) {
    super();
  }

  override error(path: string, message: string): void {
    this.count++;
    this.inner.error(path, message);
  }

  override warn(path: string, message: string): void {
    this.inner.warn(path, message);
  }
}

function parseCheck(outer: ValidationContext, raw: unknown, p: string, defaults: CheckDefaults): CheckSpec | null {
  if (!isObject(raw)) {
    outer.error(p, `${p} must be an object, got ${describeType(raw)}`);
    return null;
  }
  warnUnknown(outer, raw, p, CHECK_FIELDS, 'check');
  const ctx = new CountingContext(outer);
  const type = ctx.enumValue(raw, 'type', p, CHECK_TYPES, 'tcp', {
    normalise: (s) => s.trim().toLowerCase(),
    message: (v) => `${joinPath(p, 'type')} must be http, tcp, script, or grpc, got ${JSON.stringify(v)}`,
  });
  const name = ctx.optionalString(raw, 'name', p, { nonEmpty: true }) ?? type;
  const positive = (key: string, fallback: number): number =>
    ctx.number(raw, key, p, fallback, {
      integer: true,
      exclusiveMin: 0,
      message: `${joinPath(p, key)} must be positive (an integer greater than zero), got ${JSON.stringify(raw[key])}`,
    });
  const timeoutMs = positive('timeout_ms', 2000);
  const intervalMs = positive('interval_ms', 10_000);
  const failuresBeforeCritical = positive('failures_before_critical', 1);
  const required = ctx.boolean(raw, 'required', p, true);
  const address = ctx.optionalString(raw, 'address', p, { nonEmpty: true }) ?? defaults.address ?? null;
  const port = parsePort(ctx, raw, p) ?? defaults.port ?? null;
  const url = parseUrl(ctx, raw, p);
  const scheme = ctx.enumValue(raw, 'scheme', p, SCHEMES, 'http', { normalise: (s) => s.trim().toLowerCase() });
  const httpPath = parseHttpPath(ctx, raw, p);
  const method = ctx.enumValue(raw, 'method', p, METHODS, 'GET', {
    normalise: (s) => s.trim().toUpperCase(),
    message: (v) => `${joinPath(p, 'method')} must be GET, HEAD, POST, PUT, or PATCH, got ${JSON.stringify(v)}`,
  });
  const expectedStatus = parseExpectedStatus(ctx, raw.expected_status, joinPath(p, 'expected_status'));
  const contains = ctx.optionalString(raw, 'contains', p);
  const service = ctx.optionalString(raw, 'service', p);
  const command = present(raw.command) ? parseCommand(ctx, raw.command, joinPath(p, 'command')) : null;
  const checkRestart = present(raw.check_restart) ? parseCheckRestart(ctx, raw, p) : null;

  // What each type needs in order to have a target at all.
  switch (type) {
    case 'http':
      if (url === null && port === null && ctx.count === 0) {
        ctx.error(p, `${p} is an http check and needs a url, or a port (on the check or its service) with an optional path`);
      }
      break;
    case 'tcp':
    case 'grpc':
      if (port === null && ctx.count === 0) {
        ctx.error(joinPath(p, 'port'), `${p} is a ${type} check and needs a port (on the check or its service)`);
      }
      break;
    case 'script':
      if (!present(raw.command)) ctx.error(joinPath(p, 'command'), `${joinPath(p, 'command')} is required for a script check`);
      break;
  }
  if (ctx.count !== 0) return null;
  return {
    type,
    name,
    timeout_ms: timeoutMs,
    interval_ms: intervalMs,
    required,
    failures_before_critical: failuresBeforeCritical,
    address,
    port,
    url,
    scheme,
    path: httpPath,
    method,
    expected_status: expectedStatus,
    contains,
    service,
    command,
    ...(checkRestart ? { check_restart: checkRestart } : {}),
  };
}

/**
 * `check_restart: {limit, grace_ms}` (DESIGN §4.4): restart the agent after `limit` consecutive
 * critical results, never within `grace_ms` of a start (default 0). `limit` is required.
 */
function parseCheckRestart(ctx: ValidationContext, raw: JsonObject, p: string): CheckRestart | null {
  const path = joinPath(p, 'check_restart');
  const obj = ctx.object(raw, 'check_restart', p);
  if (!isObject(raw.check_restart)) return null;
  warnUnknown(ctx, obj, path, new Set(['limit', 'grace_ms']), 'check_restart');
  if (!present(obj.limit)) {
    ctx.error(joinPath(path, 'limit'), `${joinPath(path, 'limit')} is required (consecutive critical results before the agent restarts)`);
    return null;
  }
  const limit = ctx.number(obj, 'limit', path, 1, { integer: true, min: 1, max: 1000 });
  const graceMs = ctx.number(obj, 'grace_ms', path, 0, { integer: true, min: 0 });
  return { limit, grace_ms: graceMs };
}

/**
 * A script command: an argv list of strings, or a string without shell metacharacters, split on
 * whitespace. Returns null after recording an error.
 */
function parseCommand(ctx: ValidationContext, raw: unknown, p: string): string[] | null {
  const unsafe = `${p} must be a safe command string or list`;
  if (typeof raw === 'string') {
    if (UNSAFE_COMMAND.test(raw)) {
      ctx.error(p, unsafe);
      return null;
    }
    const argv = raw.trim().split(/\s+/).filter((s) => s !== '');
    if (argv.length === 0) {
      ctx.error(p, `${p} must not be empty`);
      return null;
    }
    return argv;
  }
  if (Array.isArray(raw)) {
    if (raw.length === 0) {
      ctx.error(p, `${p} must not be an empty list`);
      return null;
    }
    let ok = true;
    raw.forEach((arg, i) => {
      if (typeof arg !== 'string') {
        ctx.error(joinPath(p, i), `${unsafe}: ${joinPath(p, i)} must be a string, got ${describeType(arg)}`);
        ok = false;
      }
    });
    if (ok && (raw[0] as string).trim() === '') {
      ctx.error(joinPath(p, 0), `${joinPath(p, 0)} must name the program to run`);
      ok = false;
    }
    return ok ? (raw as string[]) : null;
  }
  ctx.error(p, `${unsafe}, got ${describeType(raw)}`);
  return null;
}

/**
 * `expected_status`: a status, a list of statuses, or a range string `"a..b"` / `"a-b"` (list items
 * may also be ranges). Each status is 100..599. Absent → `[]` (any 200..399).
 */
function parseExpectedStatus(ctx: ValidationContext, raw: unknown, p: string): Array<[number, number]> {
  if (raw === undefined || raw === null) return [];
  const describe = 'an HTTP status 100..599, a list of statuses, or a range string like "200..299"';
  const one = (v: unknown, vp: string): [number, number] | null => {
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 100 && v <= 599) return [v, v];
      ctx.error(vp, `${vp} must be ${describe}, got ${JSON.stringify(v)}`);
      return null;
    }
    if (typeof v === 'string') {
      const m = /^\s*(\d{3})\s*(?:(?:\.\.|-)\s*(\d{3})\s*)?$/.exec(v);
      const lo = m ? Number(m[1]) : Number.NaN;
      const hi = m && m[2] !== undefined ? Number(m[2]) : lo;
      if (m && lo >= 100 && hi <= 599 && lo <= hi) return [lo, hi];
      ctx.error(vp, `${vp} must be ${describe}, got ${JSON.stringify(v)}`);
      return null;
    }
    ctx.error(vp, `${vp} must be ${describe}, got ${describeType(v)}`);
    return null;
  };
  if (Array.isArray(raw)) {
    if (raw.length === 0) {
      ctx.error(p, `${p} must not be an empty list`);
      return [];
    }
    const out: Array<[number, number]> = [];
    raw.forEach((v, i) => {
      const r = one(v, joinPath(p, i));
      if (r) out.push(r);
    });
    return out;
  }
  const r = one(raw, p);
  return r ? [r] : [];
}

/** A port: an integer 1..65535 or a template string (resolved at registration). */
function parsePort(ctx: ValidationContext, obj: JsonObject, path: string): number | string | null {
  const raw = obj.port;
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 65535) return raw;
  if (typeof raw === 'string' && isTemplate(raw)) return raw;
  const p = joinPath(path, 'port');
  ctx.error(p, `${p} must be 1..65535 or a template, got ${JSON.stringify(raw)}`);
  return null;
}

function parseUrl(ctx: ValidationContext, obj: JsonObject, path: string): string | null {
  const url = ctx.optionalString(obj, 'url', path, { nonEmpty: true });
  if (url === null || isTemplate(url)) return url;
  let protocol: string | null = null;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = null;
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    const p = joinPath(path, 'url');
    ctx.error(p, `${p} must be an absolute http:// or https:// URL or a template, got ${JSON.stringify(url)}`);
    return null;
  }
  return url;
}

function parseHttpPath(ctx: ValidationContext, obj: JsonObject, path: string): string | null {
  const value = ctx.optionalString(obj, 'path', path, { nonEmpty: true });
  if (value === null || value.startsWith('/') || isTemplate(value)) return value;
  const p = joinPath(path, 'path');
  ctx.error(p, `${p} must start with "/", got ${JSON.stringify(value)}`);
  return null;
}

function serviceName(ctx: ValidationContext, obj: JsonObject, path: string): string | null {
  const p = joinPath(path, 'name');
  const raw = obj.name;
  if (raw === undefined || raw === null || raw === '') {
    ctx.error(p, `${p} is required`);
    return null;
  }
  if (typeof raw !== 'string' || !SERVICE_NAME_PATTERN.test(raw)) {
    ctx.error(
      p,
      `${p} must be a service name (1-128 letters, digits, "_", "." or "-", starting with a letter or digit), got ${JSON.stringify(raw)}`,
    );
    return null;
  }
  return raw;
}

function parseOrigin(ctx: ValidationContext, obj: JsonObject, path: string): 'internal' | 'external' | null {
  if (obj.origin === undefined || obj.origin === null) return null;
  if (obj.origin === 'internal' || obj.origin === 'external') return obj.origin;
  const p = joinPath(path, 'origin');
  ctx.error(p, `${p} must be internal or external, got ${JSON.stringify(obj.origin)}`);
  return null;
}

function stringList(ctx: ValidationContext, obj: JsonObject, key: string, path: string): string[] {
  const p = joinPath(path, key);
  return ctx.stringList(obj, key, path, { message: `${p} must be a list, got ${describeType(obj[key])}` });
}

function listOf(ctx: ValidationContext, value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    ctx.error(path, `${path} must be a list, got ${describeType(value)}`);
    return [];
  }
  return value;
}

function warnUnknown(ctx: ValidationContext, obj: JsonObject, path: string, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) ctx.warn(joinPath(path, key), `${joinPath(path, key)} is not a ${what} field and is ignored`);
  }
}

function isTemplate(s: string): boolean {
  return s.includes('${');
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}
