/**
 * Schedule records from validated schedule specs (spec §7.1, §7.6): the next run is computed
 * here, with the time passed in.
 */
import { ValidationContext } from '../manifest/context.js';
import { parseSchedule } from '../manifest/schedule.js';
import type { ScheduleKind, ScheduleSpec, ValidationIssue } from '../manifest/types.js';
import { type BundleRef, type ScheduleRecord, type ScheduleStatus, emptyCounters } from './records.js';
import { iso, nextFire } from './timing.js';

/**
 * Parses a schedule object (`schedule_json`, a manifest's `schedule`, CLI flags as attributes).
 * `forceKind` makes it an event schedule for `mn trigger create`. Errors name the field.
 */
export function parseScheduleAttrs(
  value: unknown,
  opts: { defaultName: string; forceKind?: ScheduleKind; path?: string },
): { ok: true; spec: ScheduleSpec; warnings: ValidationIssue[] } | { ok: false; errors: ValidationIssue[] } {
  const ctx = new ValidationContext();
  const path = opts.path ?? 'schedule';
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [{ path, message: 'schedule must be an object' }] };
  }
  const spec = parseSchedule(ctx, value, path, { defaultName: opts.defaultName, ...(opts.forceKind ? { forceKind: opts.forceKind } : {}) });
  if (spec === null || ctx.errors.length > 0) return { ok: false, errors: ctx.errors.length > 0 ? ctx.errors : [{ path, message: 'schedule must be an object' }] };
  return { ok: true, spec, warnings: ctx.warnings };
}

/**
 * The next run of a schedule that is (re)activated at `now`: periodic → the next cron time after
 * now; delayed → `run_at` (or now + `delay_ms`; a `run_at` in the past runs at the next sweep);
 * event → null.
 */
export function initialNextRun(spec: Pick<ScheduleSpec, 'kind' | 'crons' | 'timezone' | 'run_at' | 'delay_ms'>, now: number): { run_at: string | null; next_run_at: string | null } {
  if (spec.kind === 'periodic') {
    const next = nextFire(spec.crons, spec.timezone, now);
    return { run_at: null, next_run_at: next === null ? null : iso(next) };
  }
  if (spec.kind === 'delayed') {
    const runAt = spec.run_at ?? iso(now + Math.max(spec.delay_ms ?? 0, 0));
    return { run_at: runAt, next_run_at: runAt };
  }
  return { run_at: null, next_run_at: null };
}

/** A new schedule record at `now`. */
export function newScheduleRecord(
  spec: ScheduleSpec,
  args: { schedule_id: string; bundle_ref: BundleRef; source: Record<string, unknown>; now: number },
): ScheduleRecord {
  const status: ScheduleStatus = spec.enabled ? 'active' : 'paused';
  const { run_at, next_run_at } = initialNextRun(spec, args.now);
  const at = iso(args.now);
  return {
    schedule_id: args.schedule_id,
    name: spec.name,
    kind: spec.kind,
    status,
    enabled: spec.enabled,
    crons: spec.crons,
    timezone: spec.timezone,
    run_at,
    prohibit_overlap: spec.prohibit_overlap,
    missed_policy: spec.missed_policy,
    catchup_limit: spec.catchup_limit,
    missed_grace_ms: spec.missed_grace_ms,
    window: spec.window,
    trigger: spec.trigger,
    parameterized: spec.parameterized,
    metadata: spec.metadata,
    next_run_at: status === 'active' ? next_run_at : null,
    bundle_ref: args.bundle_ref,
    source: args.source,
    dispatches: [],
    active_job_ids: [],
    counters: emptyCounters(),
    last_missed_at: null,
    last_blocked_reason: null,
    last_blocked_at: null,
    last_status_reason: null,
    created_at: at,
    updated_at: at,
    version: 1,
  };
}

/** The record's schedule fields as a spec (to merge an update into and re-normalise). */
export function specOf(record: ScheduleRecord): Record<string, unknown> {
  return {
    kind: record.kind,
    enabled: record.enabled,
    name: record.name,
    crons: record.crons,
    timezone: record.timezone,
    ...(record.kind === 'delayed' && record.run_at !== null ? { run_at: record.run_at } : {}),
    prohibit_overlap: record.prohibit_overlap,
    missed_policy: record.missed_policy,
    catchup_limit: record.catchup_limit,
    missed_grace_ms: record.missed_grace_ms,
    window: Object.fromEntries(Object.entries(record.window).filter(([, v]) => v !== null)),
    ...(record.trigger ? { trigger: { event_type: record.trigger.event_types, filters: record.trigger.filters, ...(record.trigger.payload !== null ? { payload: record.trigger.payload } : {}), meta_required: record.trigger.meta_required, meta_optional: record.trigger.meta_optional } } : {}),
    parameterized: record.parameterized,
    metadata: record.metadata,
  };
}
