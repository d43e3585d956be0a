import { parseCron, isValidTimeZone } from '../schedule/cron.js';
import { type JsonObject, ValidationContext, describeType, isObject, joinPath, pickAlias } from './context.js';
import type { NamedTrigger, ScheduleKind, ScheduleSpec, TriggerSpec } from './types.js';

/**
 * Parsers for the manifest `schedule` object and the `triggers` list (spec §7.1, §7.5). Both only
 * validate and normalise: `next_run_at`, and `run_at` from `delay_ms`, are computed by the schedule
 * service at creation time, since time is not an input here.
 */

const KINDS: readonly ScheduleKind[] = ['periodic', 'delayed', 'event'];
const MISSED_POLICIES = ['skip', 'catchup_one', 'catchup_all'] as const;
const END_ACTIONS = ['cancel', 'none'] as const;
/** Event types are short identifiers: they are matched by equality and stored in keys. */
export const EVENT_TYPE_PATTERN = /^[a-zA-Z0-9_.:-]{1,160}$/;

const TRIGGER_FIELDS = ['event_type', 'type', 'filters', 'payload', 'meta_required', 'meta_optional'] as const;
const SCHEDULE_FIELDS = new Set<string>([
  'kind',
  'enabled',
  'name',
  'cron',
  'crons',
  'timezone',
  'time_zone',
  'run_at',
  'delay_ms',
  'prohibit_overlap',
  'missed_policy',
  'catchup_limit',
  'missed_grace_ms',
  'window',
  'trigger',
  'parameterized',
  'metadata',
  ...TRIGGER_FIELDS,
]);
const WINDOW_FIELDS = new Set<string>(['duration_ms', 'end_action']);

export interface ParseScheduleOptions {
  /** Name used when the schedule has none (the manifest's `job_name`). */
  defaultName: string;
  /**
   * Put in front of every recorded message: `"schedule: "` for a manifest's schedule,
   * `"trigger <name>: "` for a trigger. Default: none. Paths are never prefixed.
   */
  messagePrefix?: string;
  /** Overrides inference; an explicit different `kind` is reported. Used for `triggers`. */
  forceKind?: ScheduleKind;
}

export interface ParseTriggersOptions {
  /** Prefix of the default name of an unnamed trigger, followed by its index. Default `trigger-`. */
  defaultNamePrefix?: string;
}

/**
 * Records every message with a fixed prefix so that the typed readers of {@link ValidationContext}
 * can be reused for schedule and trigger fields.
 */
class PrefixedContext extends ValidationContext {
  constructor(
    private readonly inner: ValidationContext,
    private readonly prefix: string,
  ) {
    super();
  }

  override error(path: string, message: string): void {
    this.inner.error(path, this.prefix + message);
  }

  override warn(path: string, message: string): void {
    this.inner.warn(path, this.prefix + message);
  }
}

/**
 * Parses a schedule object (spec §7.1). Returns null when `value` is absent, or not an object
 * (after recording `schedule must be an object`). Otherwise returns a fully defaulted schedule,
 * even when errors were recorded, so that one validation run reports every problem.
 */
export function parseSchedule(
  ctx: ValidationContext,
  value: unknown,
  path: string,
  opts: ParseScheduleOptions,
): ScheduleSpec | null {
  const c = opts.messagePrefix ? new PrefixedContext(ctx, opts.messagePrefix) : ctx;
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    c.error(path, `${path} must be an object, got ${describeType(value)}`);
    return null;
  }
  for (const key of Object.keys(value)) {
    if (!SCHEDULE_FIELDS.has(key)) c.warn(joinPath(path, key), `${joinPath(path, key)} is not a schedule field and is ignored`);
  }

  const kind = parseKind(c, value, path, opts.forceKind);
  const enabled = c.boolean(value, 'enabled', path, true);
  const name = c.optionalString(value, 'name', path, { nonEmpty: true }) ?? opts.defaultName;

  const { crons, rejected } = parseCrons(c, value, path);
  if (kind === 'periodic' && crons.length === 0 && rejected === 0) {
    c.error(joinPath(path, 'cron'), 'periodic schedules require cron or crons');
  } else if (kind !== 'periodic' && hasCronField(value)) {
    c.warn(joinPath(path, 'crons' in value ? 'crons' : 'cron'), `cron expressions are ignored for ${kind} schedules`);
  }

  const timezone = parseTimezone(c, value, path);
  const { runAt, delayMs } = parseDelay(c, value, path, kind);

  const prohibitOverlap = c.boolean(value, 'prohibit_overlap', path, true);
  const missedPolicy = c.enumValue(value, 'missed_policy', path, MISSED_POLICIES, 'skip', {
    normalise: (s) => s.trim().toLowerCase(),
    message: (raw) =>
      `${joinPath(path, 'missed_policy')} must be skip, catchup_one, or catchup_all, got ${JSON.stringify(raw)}`,
  });
  const catchupLimit = c.number(value, 'catchup_limit', path, 10, { integer: true, exclusiveMin: 0 });
  const missedGraceMs = c.number(value, 'missed_grace_ms', path, 60_000, { integer: true, exclusiveMin: 0 });
  const window = parseWindow(c, value, path);

  const trigger = kind === 'event' ? parseTrigger(c, value, path) : null;
  if (kind !== 'event' && value.trigger !== undefined && value.trigger !== null) {
    c.warn(joinPath(path, 'trigger'), `${joinPath(path, 'trigger')} is ignored for ${kind} schedules`);
  }

  return {
    kind,
    enabled,
    name,
    crons,
    timezone,
    run_at: runAt,
    delay_ms: delayMs,
    prohibit_overlap: prohibitOverlap,
    missed_policy: missedPolicy,
    catchup_limit: catchupLimit,
    missed_grace_ms: missedGraceMs,
    window,
    trigger,
    parameterized: c.object(value, 'parameterized', path),
    metadata: c.object(value, 'metadata', path),
  };
}

/**
 * Parses the manifest `triggers` list (spec §7.5): each entry is an event schedule (kind forced to
 * `event`), named by `name` or `trigger-<i>`. Messages are prefixed `trigger <name>: `. Entries
 * that are not objects are reported and dropped.
 */
export function parseTriggers(
  ctx: ValidationContext,
  value: unknown,
  path: string,
  opts: ParseTriggersOptions = {},
): NamedTrigger[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    ctx.error(path, `${path} must be a list, got ${describeType(value)}`);
    return [];
  }
  const out: NamedTrigger[] = [];
  const seen = new Set<string>();
  value.forEach((raw, i) => {
    const p = joinPath(path, i);
    const fallbackName = `${opts.defaultNamePrefix ?? 'trigger-'}${i}`;
    if (!isObject(raw)) {
      ctx.error(p, `trigger ${fallbackName}: ${p} must be an object, got ${describeType(raw)}`);
      return;
    }
    const name = typeof raw.name === 'string' && raw.name.trim() !== '' ? raw.name : fallbackName;
    const prefix = `trigger ${name}: `;
    if (seen.has(name)) ctx.error(joinPath(p, 'name'), `${prefix}duplicate trigger name "${name}"`);
    seen.add(name);
    const spec = parseSchedule(ctx, raw, p, { defaultName: name, messagePrefix: prefix, forceKind: 'event' });
    if (spec === null) return;
    out.push({ ...spec, trigger: spec.trigger ?? emptyTrigger() });
  });
  return out;
}

function parseKind(c: ValidationContext, value: JsonObject, path: string, forced: ScheduleKind | undefined): ScheduleKind {
  const inferred: ScheduleKind =
    forced ?? (present(value.event_type) || present(value.trigger)
      ? 'event'
      : present(value.run_at) || present(value.delay_ms)
        ? 'delayed'
        : 'periodic');
  if (!present(value.kind)) return inferred;
  const p = joinPath(path, 'kind');
  const raw = value.kind;
  const kind = typeof raw === 'string' ? raw.trim().toLowerCase() : null;
  if (kind === null || !(KINDS as readonly string[]).includes(kind)) {
    c.error(p, `${p} must be periodic, delayed, or event, got ${JSON.stringify(raw)}`);
    return inferred;
  }
  if (forced !== undefined && kind !== forced) {
    c.error(p, `${p} must be ${forced}, got ${JSON.stringify(raw)}`);
    return forced;
  }
  return kind as ScheduleKind;
}

function hasCronField(value: JsonObject): boolean {
  return present(value.cron) || present(value.crons);
}

/** `crons` then `cron`, trimmed, empty entries dropped, duplicates removed; each validated. */
function parseCrons(c: ValidationContext, value: JsonObject, path: string): { crons: string[]; rejected: number } {
  const out: string[] = [];
  let rejected = 0;
  const add = (raw: unknown, p: string): void => {
    if (typeof raw !== 'string') {
      rejected++;
      c.error(p, `${p} must be a cron expression string, got ${describeType(raw)}`);
      return;
    }
    const expr = raw.trim();
    if (expr === '') return;
    const parsed = parseCron(expr);
    if (!parsed.ok) {
      rejected++;
      c.error(p, `invalid cron expression ${JSON.stringify(expr)}: ${parsed.reason}`);
      return;
    }
    if (!out.includes(expr)) out.push(expr);
  };
  if (present(value.crons)) {
    const p = joinPath(path, 'crons');
    if (typeof value.crons === 'string') add(value.crons, p);
    else if (Array.isArray(value.crons)) value.crons.forEach((raw, i) => add(raw, joinPath(p, i)));
    else {
      rejected++;
      c.error(p, `${p} must be a list of cron expressions, got ${describeType(value.crons)}`);
    }
  }
  if (present(value.cron)) add(value.cron, joinPath(path, 'cron'));
  return { crons: out, rejected };
}

function parseTimezone(c: ValidationContext, value: JsonObject, path: string): string {
  const found = pickAlias(value, ['timezone', 'time_zone']);
  if (found === null || found.value === null) return 'UTC';
  const p = joinPath(path, found.key);
  if (typeof found.value !== 'string' || !isValidTimeZone(found.value)) {
    c.error(p, `${p} must be an IANA time zone such as "UTC" or "Europe/Berlin", got ${JSON.stringify(found.value)}`);
    return 'UTC';
  }
  return found.value;
}

function parseDelay(
  c: ValidationContext,
  value: JsonObject,
  path: string,
  kind: ScheduleKind,
): { runAt: string | null; delayMs: number | null } {
  let runAt: string | null = null;
  let delayMs: number | null = null;
  let bad = false;
  if (present(value.run_at)) {
    const p = joinPath(path, 'run_at');
    runAt = typeof value.run_at === 'string' ? parseIsoTimestamp(value.run_at) : null;
    if (runAt === null) {
      bad = true;
      c.error(
        p,
        `${p} must be an ISO-8601 timestamp with a time zone (e.g. "2026-05-24T10:00:00Z"), got ${JSON.stringify(value.run_at)}`,
      );
    }
  }
  if (present(value.delay_ms)) {
    const p = joinPath(path, 'delay_ms');
    const d = value.delay_ms;
    if (typeof d === 'number' && Number.isFinite(d) && d >= 0) delayMs = d;
    else {
      bad = true;
      c.error(p, `${p} must be a number zero or greater, got ${JSON.stringify(d)}`);
    }
  }
  if (kind === 'delayed') {
    if (runAt !== null && delayMs !== null) {
      c.error(path, `${path} must set run_at or delay_ms, not both`);
    } else if (runAt === null && delayMs === null) {
      const p = present(value.run_at) || !present(value.delay_ms) ? joinPath(path, 'run_at') : joinPath(path, 'delay_ms');
      c.error(p, 'delayed schedules require a valid run_at or delay_ms');
    }
  } else if (!bad && (runAt !== null || delayMs !== null)) {
    c.warn(joinPath(path, runAt !== null ? 'run_at' : 'delay_ms'), `run_at and delay_ms are ignored for ${kind} schedules`);
  }
  return { runAt, delayMs };
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an ISO-8601 / RFC 3339 timestamp that carries a zone (`Z` or an offset) and names a real
 * calendar instant; returns it normalised to UTC with millisecond precision, or null. Unlike
 * `Date.parse`, it rejects `2026-02-30`, `24:00` and timestamps without a zone (those would
 * depend on the host's local zone).
 */
export function parseIsoTimestamp(text: string): string | null {
  const m = ISO_TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  return new Date(utc.getTime() - offsetMinutes * 60_000).toISOString();
}

function parseWindow(c: ValidationContext, value: JsonObject, path: string): ScheduleSpec['window'] {
  const p = joinPath(path, 'window');
  const raw = c.object(value, 'window', path);
  for (const key of Object.keys(raw)) {
    if (!WINDOW_FIELDS.has(key)) c.warn(joinPath(p, key), `${joinPath(p, key)} is not a window field and is ignored`);
  }
  const duration = present(raw.duration_ms)
    ? c.number(raw, 'duration_ms', p, Number.NaN, { integer: true, exclusiveMin: 0 })
    : Number.NaN;
  const endAction = c.enumValue(raw, 'end_action', p, END_ACTIONS, 'cancel', {
    normalise: (s) => s.trim().toLowerCase(),
    message: (v) => `${joinPath(p, 'end_action')} must be cancel or none, got ${JSON.stringify(v)}`,
  });
  return { duration_ms: Number.isNaN(duration) ? null : duration, end_action: endAction };
}

/**
 * The trigger of an event schedule: fields of `trigger` win; each may instead be given at the top
 * level of the schedule. Error paths name where the field was found.
 */
function parseTrigger(c: ValidationContext, value: JsonObject, path: string): TriggerSpec {
  const triggerPath = joinPath(path, 'trigger');
  const nested = c.object(value, 'trigger', path);
  const locate = (keys: readonly string[]): { obj: JsonObject; key: string; path: string } | null => {
    const inner = pickAlias(nested, keys);
    if (inner !== null && inner.value !== null) return { obj: nested, key: inner.key, path: triggerPath };
    const outer = pickAlias(value, keys);
    if (outer !== null && outer.value !== null) return { obj: value, key: outer.key, path };
    return null;
  };

  const eventTypes: string[] = [];
  const et = locate(['event_type', 'type']);
  if (et !== null) {
    const p = joinPath(et.path, et.key);
    const raw = et.obj[et.key];
    const check = (v: unknown, vp: string): void => {
      if (typeof v !== 'string') {
        c.error(vp, `${vp} must be an event type string, got ${describeType(v)}`);
      } else if (!EVENT_TYPE_PATTERN.test(v)) {
        c.error(vp, `${vp} must match ${EVENT_TYPE_PATTERN.source}, got ${JSON.stringify(v)}`);
      } else if (!eventTypes.includes(v)) {
        eventTypes.push(v);
      }
    };
    if (Array.isArray(raw)) raw.forEach((v, i) => check(v, joinPath(p, i)));
    else check(raw, p);
    if (Array.isArray(raw) && raw.length === 0) {
      c.error(joinPath(triggerPath, 'event_type'), 'event schedules require trigger.event_type');
    }
  } else {
    c.error(joinPath(triggerPath, 'event_type'), 'event schedules require trigger.event_type');
  }

  const filtersAt = locate(['filters']);
  const filters = filtersAt ? parseFilters(c, filtersAt.obj, filtersAt.path) : {};
  const payloadAt = locate(['payload']);
  const payload = payloadAt ? c.optionalString(payloadAt.obj, 'payload', payloadAt.path) : null;
  const reqAt = locate(['meta_required']);
  const optAt = locate(['meta_optional']);
  return {
    event_types: eventTypes,
    filters,
    payload,
    meta_required: reqAt ? c.stringList(reqAt.obj, 'meta_required', reqAt.path) : [],
    meta_optional: optAt ? c.stringList(optAt.obj, 'meta_optional', optAt.path) : [],
  };
}

/**
 * Event filters (spec §7.5): each `path → expected` is null (always matches), a scalar (string
 * equality), a list (membership), `{"prefix": string}` or `{"contains": string}`. Any other object
 * is rejected: matching would otherwise silently compare against its string form.
 */
function parseFilters(c: ValidationContext, obj: JsonObject, path: string): Record<string, unknown> {
  const p = joinPath(path, 'filters');
  const filters = c.object(obj, 'filters', path);
  for (const [key, expected] of Object.entries(filters)) {
    const fp = joinPath(p, key);
    if (key.trim() === '') c.error(fp, `${p} keys must be non-empty payload paths`);
    if (!isObject(expected)) continue;
    const keys = Object.keys(expected);
    const op = keys[0];
    if (keys.length !== 1 || (op !== 'prefix' && op !== 'contains') || typeof expected[op] !== 'string') {
      c.error(
        fp,
        `${fp} must be null, a string, number or boolean, a list, {"prefix": string} or {"contains": string}, got ${JSON.stringify(expected)}`,
      );
    }
  }
  return filters;
}

function emptyTrigger(): TriggerSpec {
  return { event_types: [], filters: {}, payload: null, meta_required: [], meta_optional: [] };
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}
