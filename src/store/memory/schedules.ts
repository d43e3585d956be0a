import { MAX_DISPATCHES, MAX_TRIGGER_EVENTS, type ScheduleBundle, type ScheduleCounters, type ScheduleDispatch, type SchedulePatch, type ScheduleRecord, type TriggerEvent, emptyCounters } from '../../core/schedules/records.js';
import { DISPATCH_TOKEN_TTL_MS, type DispatchCommit, type DispatchOutcome, type ScheduleQuery, type ScheduleStore } from '../schedules.js';
import { scriptError, ScriptCode } from '../script-codes.js';
import type { Fence, NewJob, WriteGuard } from '../store.js';
import { checkGuard, checkName } from '../validate.js';
import { copy, type MemoryCore } from './core.js';

interface Entry {
  record: ScheduleRecord;
  bundle: ScheduleBundle;
}

/**
 * The embedded store's schedules. Every method runs to completion without awaiting, so each is
 * atomic like its Redis script; `insertJob` creates the child job of a dispatch in the same step.
 */
export class MemorySchedules implements ScheduleStore {
  private readonly entries = new Map<string, Entry>();
  /** Dispatch token → the dispatch and when the token is forgotten. */
  private readonly tokens = new Map<string, { dispatch: ScheduleDispatch; expiresAt: number }>();
  private readonly events: TriggerEvent[] = [];

  constructor(
    private readonly core: MemoryCore,
    /** Creates a job record (`MN_E_CONFLICT` when the id exists) synchronously. */
    private readonly insertJob: (job: NewJob) => void,
  ) {}

  async create(record: ScheduleRecord, bundle: ScheduleBundle): Promise<ScheduleRecord> {
    this.core.open();
    checkName(record.schedule_id, 'schedule_id');
    if (this.entries.has(record.schedule_id)) throw scriptError(ScriptCode.AlreadyExists, { object: `schedule "${record.schedule_id}"` });
    const now = new Date(this.core.clock()).toISOString();
    const stored = copy({ ...record, dispatches: [], active_job_ids: [], counters: emptyCounters(), created_at: now, updated_at: now, version: 1 });
    this.entries.set(record.schedule_id, { record: stored, bundle: copy(bundle) });
    return copy(stored);
  }

  async get(id: string): Promise<ScheduleRecord | null> {
    this.core.open();
    const record = this.entries.get(id)?.record;
    return record ? view(record) : null;
  }

  async bundle(id: string): Promise<ScheduleBundle | null> {
    this.core.open();
    return copy(this.entries.get(id)?.bundle ?? null);
  }

  async list(query: ScheduleQuery = {}): Promise<ScheduleRecord[]> {
    this.core.open();
    return (
      [...this.entries.values()]
        .map((e) => view(e.record))
        .filter((r) => (query.kind === undefined || r.kind === query.kind) && (query.status === undefined || r.status === query.status) && (query.enabled === undefined || r.enabled === query.enabled))
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.schedule_id.localeCompare(b.schedule_id))
    );
  }

  async update(id: string, patch: SchedulePatch, guard: WriteGuard = {}, counters: Partial<ScheduleCounters> = {}): Promise<ScheduleRecord> {
    this.core.open();
    checkGuard(guard);
    const context = { object: `schedule "${id}"`, ...(guard.expectedVersion !== undefined ? { expectedVersion: guard.expectedVersion } : {}) };
    const entry = this.entries.get(id);
    if (!entry) throw scriptError(ScriptCode.NotFound, context);
    if (guard.fence) this.core.enforceFence(guard.fence, context.object);
    if (guard.expectedVersion !== undefined && guard.expectedVersion !== entry.record.version) throw scriptError(ScriptCode.VersionMismatch, context, [entry.record.version]);
    this.bump(entry.record, counters);
    this.apply(entry.record, patch);
    return view(entry.record);
  }

  async delete(id: string): Promise<boolean> {
    this.core.open();
    return this.entries.delete(id);
  }

  async due(now: number, limit: number): Promise<string[]> {
    this.core.open();
    return this.indexed()
      .filter(([, at]) => at <= now)
      .slice(0, Math.max(0, limit))
      .map(([id]) => id);
  }

  async nextDueAt(): Promise<number | null> {
    this.core.open();
    return this.indexed()[0]?.[1] ?? null;
  }

  async commitDispatch(commit: DispatchCommit, fence?: Fence): Promise<DispatchOutcome> {
    this.core.open();
    const object = `schedule "${commit.schedule_id}"`;
    const entry = this.entries.get(commit.schedule_id);
    if (!entry) throw scriptError(ScriptCode.NotFound, { object });
    if (fence) this.core.enforceFence(fence, object);
    const now = this.core.clock();
    const known = this.tokens.get(commit.dispatch.token);
    if (known && known.expiresAt > now) return { committed: false, dispatch: copy(known.dispatch) };
    if (commit.job) this.insertJob(commit.job);
    const record = entry.record;
    const dispatch = copy(commit.dispatch);
    record.dispatches = [dispatch, ...record.dispatches].slice(0, MAX_DISPATCHES);
    const prune = new Set(commit.prune ?? []);
    record.active_job_ids = record.active_job_ids.filter((j) => !prune.has(j));
    if (dispatch.job_id !== null && dispatch.status === 'submitted' && !record.active_job_ids.includes(dispatch.job_id)) record.active_job_ids.push(dispatch.job_id);
    this.bump(record, commit.counters ?? {});
    this.apply(record, commit.set ?? {});
    this.tokens.set(dispatch.token, { dispatch: copy(dispatch), expiresAt: now + DISPATCH_TOKEN_TTL_MS });
    return { committed: true, dispatch: copy(dispatch) };
  }

  async pruneActive(id: string, jobIds: readonly string[]): Promise<void> {
    this.core.open();
    const entry = this.entries.get(id);
    if (!entry) return;
    const drop = new Set(jobIds);
    entry.record.active_job_ids = entry.record.active_job_ids.filter((j) => !drop.has(j));
  }

  async closeDispatch(id: string, dispatchId: string, patch: Pick<ScheduleDispatch, 'status'> & Partial<ScheduleDispatch>, fence?: Fence): Promise<void> {
    this.core.open();
    const object = `schedule "${id}"`;
    const entry = this.entries.get(id);
    if (!entry) throw scriptError(ScriptCode.NotFound, { object });
    if (fence) this.core.enforceFence(fence, object);
    const d = entry.record.dispatches.find((x) => x.dispatch_id === dispatchId);
    if (!d) throw scriptError(ScriptCode.NotFound, { object: `dispatch "${dispatchId}" of ${object}` });
    Object.assign(d, copy(patch));
    entry.record.active_job_ids = entry.record.active_job_ids.filter((j) => j !== d.job_id);
    this.apply(entry.record, {});
  }

  async appendEvent(event: TriggerEvent): Promise<void> {
    this.core.open();
    this.events.unshift(copy(event));
    if (this.events.length > MAX_TRIGGER_EVENTS) this.events.length = MAX_TRIGGER_EVENTS;
  }

  async listEvents(limit: number): Promise<TriggerEvent[]> {
    this.core.open();
    return copy(this.events.slice(0, Math.max(0, limit)));
  }

  private bump(record: ScheduleRecord, counters: Partial<ScheduleCounters>): void {
    for (const [k, v] of Object.entries(counters)) {
      const key = k as keyof ScheduleCounters;
      if (key in record.counters) record.counters[key] += v ?? 0;
    }
  }

  private apply(record: ScheduleRecord, patch: SchedulePatch): void {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    Object.assign(record, copy(defined), { version: record.version + 1, updated_at: new Date(this.core.clock()).toISOString() });
  }

  /** Active schedules with a next run, earliest first: the due index. */
  private indexed(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [id, { record }] of this.entries) {
      if (record.status !== 'active' || record.next_run_at === null) continue;
      out.push([id, Date.parse(record.next_run_at)]);
    }
    return out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  }
}

/** A copy of a record as a reader sees it (active job ids sorted, as the Redis set reads). */
function view(record: ScheduleRecord): ScheduleRecord {
  const out = copy(record);
  out.active_job_ids.sort();
  return out;
}
