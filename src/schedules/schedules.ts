/**
 * Schedules, delayed jobs and event triggers (spec §7): the operations every daemon serves
 * (create, update, pause, resume, delete, run-now, emit) and the dispatch they share with the
 * leader's sweep. Decisions are in `src/core/schedules/`; this shell reads state, calls them and
 * writes the result.
 *
 * A dispatch builds the child job from the schedule's archived bundle, then commits the job, the
 * dispatch record and the schedule's advance in one atomic store step keyed by the dispatch
 * token: a dispatch of an instance that was already dispatched, by this daemon or another,
 * writes nothing. Placement follows the commit, as for any submitted job.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MnError, isMnError } from '../core/errors.js';
import { parseJson } from '../core/json.js';
import type { ScheduleKind } from '../core/manifest/types.js';
import { liveChildren, windowEnd } from '../core/schedules/due.js';
import { initialNextRun, newScheduleRecord, parseScheduleAttrs, specOf } from '../core/schedules/normalize.js';
import type { DispatchReason, ScheduleCounters, ScheduleDispatch, SchedulePatch, ScheduleRecord, TriggerEvent } from '../core/schedules/records.js';
import { formatInZone, iso, ms, upcomingFires } from '../core/schedules/timing.js';
import { dispatchId, dispatchJobId, dispatchToken } from '../core/schedules/token.js';
import { DEFAULT_MAX_EVENT_BYTES, type ScheduleDispatchMeta, checkEvent, dispatchManifest, eventMatches } from '../core/schedules/triggers.js';
import type { Jobs } from '../runtime/jobs.js';
import type { DispatchOutcome, ScheduleQuery } from '../store/schedules.js';
import type { Fence, NewJob, Store } from '../store/store.js';
import type { Clock } from './clock.js';

export interface SchedulesOptions {
  store: Store;
  jobs: Jobs;
  /** `<node>` of this daemon, recorded as the dispatch lease owner. */
  nodeName: string;
  clock: Clock;
  /** Largest event payload (MN_MAX_EVENT_BYTES). */
  maxEventBytes?: number;
  /** A schedule was created or resumed here: its next run may be earlier than the sweep's plan. */
  onChange?: () => void;
  onError?: (error: unknown) => void;
}

/** One instance to dispatch. */
export interface DispatchRequest {
  scheduled_for: string | null;
  reason: DispatchReason;
  event?: TriggerEvent;
  payload?: unknown;
  /** Schedule changes committed with the dispatch (the sweep's advance). */
  set?: SchedulePatch;
  counters?: Partial<ScheduleCounters>;
  prune?: string[];
}

/** What `emit` did (spec §7.5 "Return counters plus event"). */
export interface EmitResult {
  event: TriggerEvent;
  checked: number;
  matched: number;
  dispatched: number;
  blocked: number;
  failed: number;
  skipped: number;
  dispatches: ScheduleDispatch[];
}

/** A schedule with its next runs in its zone and in UTC (`mn schedule status`). */
export interface ScheduleView extends ScheduleRecord {
  upcoming: Array<{ utc: string; local: string }>;
}

export class Schedules {
  private readonly maxEventBytes: number;

  constructor(private readonly options: SchedulesOptions) {
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  get clock(): Clock {
    return this.options.clock;
  }

  /**
   * Creates a schedule from a bundle. `attrs` (schedule_json or CLI flags) win; without them the
   * manifest's own `schedule` is used. The manifest and module sources are archived with it.
   */
  async create(input: { manifestJson: string; files: Readonly<Record<string, Buffer | string>>; attrs: unknown; source: Record<string, unknown>; forceKind?: ScheduleKind }): Promise<ScheduleRecord> {
    const { job, modules } = this.options.jobs.validate(input.manifestJson, input.files);
    if (Object.keys(job.parameters).length > 0) {
      // A template's variables (secrets among them) are given per dispatch; a schedule has none to give.
      throw new MnError('MN_E_INVALID_ARGUMENT', `parameters: the manifest declares parameters (${Object.keys(job.parameters).join(', ')}), so it is a job template and cannot be scheduled; register it with \`mn job register\` and dispatch it with \`mn job dispatch ${job.job_name} --var NAME=VALUE\``, {
        details: { field: 'parameters' },
      });
    }
    let spec;
    if (input.attrs !== null && input.attrs !== undefined) {
      const parsed = parseScheduleAttrs(input.attrs, { defaultName: job.job_name, ...(input.forceKind ? { forceKind: input.forceKind } : {}) });
      if (!parsed.ok) throw invalidSchedule(parsed.errors);
      spec = parsed.spec;
    } else if (job.schedule && (!input.forceKind || job.schedule.kind === input.forceKind)) {
      spec = job.schedule;
    } else {
      throw new MnError('MN_E_INVALID_ARGUMENT', 'schedule_json: a schedule is required (schedule_json, CLI flags, or the manifest\'s "schedule")', { details: { field: 'schedule_json' } });
    }
    const bundle = { manifest_json: input.manifestJson, files: modules };
    const record = newScheduleRecord(spec, {
      schedule_id: `sched_${randomBytes(8).toString('base64url')}`,
      bundle_ref: { bundle_fingerprint: fingerprint(bundle.manifest_json, modules), files: Object.keys(modules).sort() },
      source: input.source,
      now: this.options.clock(),
    });
    const created = await this.options.store.schedules.create(record, bundle);
    this.options.onChange?.();
    return created;
  }

  async get(id: string): Promise<ScheduleRecord> {
    const record = await this.options.store.schedules.get(id);
    if (!record) throw new MnError('MN_E_NOT_FOUND', `schedule ${id} not found`, { details: { schedule_id: id } });
    return record;
  }

  /** The record with its next 5 runs in its zone and in UTC. */
  view(record: ScheduleRecord, count = 5): ScheduleView {
    const start = ms(record.next_run_at);
    let times: number[] = [];
    if (record.kind === 'periodic' && start !== null) times = [start, ...upcomingFires(record.crons, record.timezone, start, count - 1)];
    else if (record.kind === 'delayed' && start !== null) times = [start];
    return { ...record, upcoming: times.map((t) => ({ utc: iso(t), local: formatInZone(t, record.timezone) })) };
  }

  list(query: ScheduleQuery = {}): Promise<ScheduleRecord[]> {
    return this.options.store.schedules.list(query);
  }

  /** Merges `attrs` into the schedule's settings and re-normalises (spec §7.6 update). */
  async update(id: string, attrs: unknown): Promise<ScheduleRecord> {
    const record = await this.get(id);
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) {
      throw new MnError('MN_E_INVALID_ARGUMENT', 'attrs_json must be an object', { details: { field: 'attrs_json' } });
    }
    const merged = { ...specOf(record), ...(attrs as Record<string, unknown>) };
    if ('cron' in (attrs as object) && !('crons' in (attrs as object))) delete merged.crons;
    if ('delay_ms' in (attrs as object)) delete merged.run_at;
    const parsed = parseScheduleAttrs(merged, { defaultName: record.name, forceKind: record.kind });
    if (!parsed.ok) throw invalidSchedule(parsed.errors);
    const spec = parsed.spec;
    const { run_at, next_run_at } = initialNextRun(spec, this.options.clock());
    const status = record.status === 'completed' ? 'completed' : spec.enabled ? 'active' : 'paused';
    const updated = await this.options.store.schedules.update(id, {
      name: spec.name, enabled: spec.enabled, status, crons: spec.crons, timezone: spec.timezone, run_at, prohibit_overlap: spec.prohibit_overlap,
      missed_policy: spec.missed_policy, catchup_limit: spec.catchup_limit, missed_grace_ms: spec.missed_grace_ms, window: spec.window, trigger: spec.trigger,
      parameterized: spec.parameterized, metadata: spec.metadata, next_run_at: status === 'active' ? next_run_at : null,
    });
    this.options.onChange?.();
    return updated;
  }

  async pause(id: string, reason: string): Promise<ScheduleRecord> {
    const record = await this.get(id);
    if (record.status === 'completed') throw new MnError('MN_E_FAILED_PRECONDITION', `schedule ${id} is completed`, { details: { schedule_id: id } });
    return this.options.store.schedules.update(id, { status: 'paused', enabled: false, next_run_at: null, last_status_reason: reason || 'paused' });
  }

  /** Re-activates a schedule; its next run is computed from now (missed times are not caught up). */
  async resume(id: string): Promise<ScheduleRecord> {
    const record = await this.get(id);
    if (record.status === 'completed') throw new MnError('MN_E_FAILED_PRECONDITION', `schedule ${id} is completed`, { details: { schedule_id: id } });
    const { next_run_at } = initialNextRun({ ...record, delay_ms: null }, this.options.clock());
    const resumed = await this.options.store.schedules.update(id, { status: 'active', enabled: true, next_run_at, last_status_reason: 'resumed' });
    this.options.onChange?.();
    return resumed;
  }

  async remove(id: string): Promise<{ schedule_id: string; deleted: boolean }> {
    const deleted = await this.options.store.schedules.delete(id);
    if (!deleted) throw new MnError('MN_E_NOT_FOUND', `schedule ${id} not found`, { details: { schedule_id: id } });
    return { schedule_id: id, deleted };
  }

  /** `run-now` (DispatchSchedule): one instance now, ignoring overlap and missed rules. */
  async runNow(id: string, payload: unknown, reason: string): Promise<DispatchOutcome> {
    const record = await this.get(id);
    return this.dispatch(record, { scheduled_for: iso(this.options.clock()), reason: reason || 'manual', ...(payload !== undefined ? { payload } : {}) });
  }

  /**
   * Emits an event (spec §7.5): stores it (1,000 newest kept) and dispatches every matching
   * active event schedule once, unless overlap blocks it. `eventId` makes a retried emit
   * idempotent: its dispatches are recognised by their tokens.
   */
  async emit(eventType: string, payloadJson: string, source: string, eventId?: string): Promise<EmitResult> {
    const text = payloadJson.trim() === '' ? '{}' : payloadJson;
    const check = checkEvent(eventType, source, text, this.maxEventBytes);
    if (!check.ok) throw new MnError('MN_E_INVALID_ARGUMENT', check.message, { details: { field: check.field } });
    const parsed = parseJson(text);
    if (!parsed.ok) throw new MnError('MN_E_INVALID_ARGUMENT', `payload_json: ${parsed.message}`, { details: { field: 'payload_json' } });
    const event: TriggerEvent = { event_id: eventId ?? `event_${randomBytes(8).toString('base64url')}`, event_type: eventType, source, payload: parsed.value, created_at: iso(this.options.clock()) };
    await this.options.store.schedules.appendEvent(event);
    const candidates = await this.options.store.schedules.list({ kind: 'event', status: 'active' });
    const result: EmitResult = { event, checked: candidates.length, matched: 0, dispatched: 0, blocked: 0, failed: 0, skipped: 0, dispatches: [] };
    for (const schedule of candidates) {
      if (!eventMatches(schedule, event)) continue;
      result.matched++;
      // Overlap allowed: no need to read the children (the leader's sweep prunes ended ones).
      const statuses = schedule.prohibit_overlap ? await this.jobStatuses(schedule.active_job_ids) : {};
      const live = schedule.prohibit_overlap ? liveChildren(schedule.active_job_ids, statuses) : schedule.active_job_ids;
      if (schedule.prohibit_overlap && live.length > 0) {
        result.blocked++;
        await this.options.store.schedules.update(schedule.schedule_id, { last_blocked_reason: 'overlap', last_blocked_at: event.created_at }, {}, { blocked: 1 });
        continue;
      }
      const prune = schedule.active_job_ids.filter((j) => !live.includes(j));
      const outcome = await this.dispatch(schedule, { scheduled_for: null, reason: 'event', event, payload: event.payload, prune });
      result.dispatches.push(outcome.dispatch);
      if (!outcome.committed) result.skipped++;
      else if (outcome.dispatch.status === 'failed') result.failed++;
      else result.dispatched++;
    }
    return result;
  }

  async listEvents(limit: number): Promise<TriggerEvent[]> {
    return this.options.store.schedules.listEvents(limit);
  }

  /** Status of each job id, null for a job that no longer exists. */
  async jobStatuses(jobIds: readonly string[]): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    await Promise.all(
      jobIds.map(async (id) => {
        out[id] = (await this.options.store.getJob(id))?.status ?? null;
      }),
    );
    return out;
  }

  /**
   * Dispatches one instance (spec §7.4). A bundle that no longer validates, or a failed service
   * preflight, records a failed dispatch with the reason (the schedule still advances). With a
   * fence (the leader's), a stale leader's commit is refused by the store.
   */
  async dispatch(record: ScheduleRecord, req: DispatchRequest, fence?: Fence): Promise<DispatchOutcome> {
    const { store, jobs, clock } = this.options;
    const eventId = req.event?.event_id ?? null;
    const token = dispatchToken({ schedule_id: record.schedule_id, scheduled_for: req.scheduled_for, reason: req.reason, event_id: eventId });
    const now = clock();
    const base: ScheduleDispatch = { dispatch_id: dispatchId(token), token, job_id: null, status: 'failed', scheduled_for: req.scheduled_for, reason: req.reason, event_id: eventId, submitted_at: iso(now), window_end_at: null };
    let job: NewJob | undefined;
    let error: string | undefined;
    try {
      const bundle = await store.schedules.bundle(record.schedule_id);
      if (!bundle) throw new MnError('MN_E_NOT_FOUND', `the archived bundle of schedule ${record.schedule_id} is missing`);
      const meta: ScheduleDispatchMeta = {
        schedule_id: record.schedule_id,
        schedule_name: record.name,
        schedule_kind: record.kind,
        dispatch_id: base.dispatch_id,
        ...(req.scheduled_for ? { scheduled_for: req.scheduled_for } : {}),
        reason: req.reason,
        ...(req.payload !== undefined ? { payload: req.payload } : {}),
        ...(req.event ? { event: req.event } : {}),
        ...(fence ? { lease: { owner: this.options.nodeName, epoch: fence.token } } : {}),
      };
      const manifest = dispatchManifest(JSON.parse(bundle.manifest_json) as Record<string, unknown>, meta);
      const text = JSON.stringify(manifest);
      const { job: parsed, modules } = jobs.validate(text, bundle.files);
      const preflight = await jobs.preflight(parsed, {});
      job = await jobs.pendingRecord(dispatchJobId(parsed.graph_id, token), parsed, manifest, modules, { schedule_dispatch: { ...meta, event: undefined, payload: undefined }, ...(preflight ? { preflight } : {}) });
    } catch (e) {
      if (isMnError(e, 'MN_E_STORE_UNAVAILABLE')) throw e;
      error = e instanceof Error ? e.message : String(e);
    }
    const dispatch: ScheduleDispatch = job ? { ...base, job_id: job.job_id, status: 'submitted', window_end_at: windowEnd(record, now) } : { ...base, error: error ?? 'unknown error' };
    const counters: Partial<ScheduleCounters> = { ...(req.counters ?? {}), ...(job ? { dispatched: 1 } : { failed: 1 }) };
    // The child's coordinator lease is taken before the job exists, so that no sweep adopts it
    // as an orphan before it is placed here.
    const reserved = job ? await jobs.reserve(job.job_id).catch(() => null) : null;
    let outcome: DispatchOutcome;
    try {
      outcome = await store.schedules.commitDispatch({ schedule_id: record.schedule_id, dispatch, ...(job ? { job } : {}), ...(req.set ? { set: req.set } : {}), counters, ...(req.prune ? { prune: req.prune } : {}) }, fence);
    } catch (e) {
      if (job && reserved) await jobs.unreserve(job.job_id).catch(() => undefined);
      throw e;
    }
    if (job && reserved && !outcome.committed) await jobs.unreserve(job.job_id).catch(() => undefined);
    if (outcome.committed && job) {
      const jobId = job.job_id;
      await store.appendEvent(jobId, { type: 'schedule_dispatched', payload: { schedule_id: record.schedule_id, dispatch_id: dispatch.dispatch_id, reason: req.reason, scheduled_for: req.scheduled_for, event_id: eventId } }).catch(() => undefined);
      void this.place(jobId);
    }
    return outcome;
  }

  /** Plans and commits a dispatched job (errors are on the job record and in the log). */
  async place(jobId: string): Promise<void> {
    const record = await this.options.store.getJob(jobId);
    if (!record || record.status !== 'pending' || record.plan !== null) return;
    await this.options.jobs.placeExisting(record).catch((error: unknown) => {
      if (!isMnError(error, 'MN_E_PLACEMENT_FAILED') && !isMnError(error, 'MN_E_CONFLICT')) this.options.onError?.(error);
    });
  }
}

/** `sha256:<hex>` over the manifest text and the archived files, in path order. */
function fingerprint(manifestJson: string, files: Record<string, string>): string {
  const h = createHash('sha256').update(manifestJson);
  for (const path of Object.keys(files).sort()) h.update('\0').update(path).update('\0').update(files[path]!);
  return `sha256:${h.digest('hex')}`;
}

function invalidSchedule(errors: ReadonlyArray<{ path: string; message: string }>): MnError {
  const text = errors.slice(0, 10).map((e) => (e.message.includes(e.path) ? e.message : `${e.path}: ${e.message}`)).join('; ');
  return new MnError('MN_E_INVALID_ARGUMENT', `invalid schedule: ${text}`, { details: { field: errors[0]?.path ?? 'schedule', errors } });
}
