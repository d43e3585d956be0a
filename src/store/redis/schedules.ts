import { MAX_TRIGGER_EVENTS, SCHEDULE_RECORD_FIELDS, type ScheduleBundle, type ScheduleCounters, type ScheduleDispatch, type SchedulePatch, type ScheduleRecord, type TriggerEvent, emptyCounters } from '../../core/schedules/records.js';
import { DISPATCH_TOKEN_TTL_MS, type DispatchCommit, type DispatchOutcome, type ScheduleQuery, type ScheduleStore } from '../schedules.js';
import { scriptError, ScriptCode } from '../script-codes.js';
import { runScript } from '../script-loader.js';
import type { Fence, NewJob, WriteGuard } from '../store.js';
import { checkGuard, checkName } from '../validate.js';
import type { RedisCore } from './core.js';

/** Field/value pairs of a new job record, as `createJob` writes them. */
export type JobEncoder = (job: NewJob) => string[];

/** The durable schedules (keys: docs/redis-keys.md, "Schedules and events"). */
export class RedisSchedules implements ScheduleStore {
  constructor(
    private readonly core: RedisCore,
    private readonly encodeJob: JobEncoder,
  ) {}

  async create(record: ScheduleRecord, bundle: ScheduleBundle): Promise<ScheduleRecord> {
    checkName(record.schedule_id, 'schedule_id');
    const { keys } = this.core;
    const now = new Date(this.core.clock()).toISOString();
    const stored: ScheduleRecord = { ...record, dispatches: [], active_job_ids: [], counters: emptyCounters(), created_at: now, updated_at: now, version: 1 };
    const id = record.schedule_id;
    await this.core.script('createSchedule', [keys.schedule(id), keys.schedules(), keys.scheduleBundle(id), keys.scheduleDue()], [id, JSON.stringify(bundle), ...fieldPairs(stored)], {
      object: `schedule "${id}"`,
    });
    return JSON.parse(JSON.stringify(stored)) as ScheduleRecord;
  }

  async get(id: string): Promise<ScheduleRecord | null> {
    const { client, keys } = this.core;
    const [hash, dispatches, active, counters] = await this.core.call(() =>
      Promise.all([client.hgetall(keys.schedule(id)), client.lrange(keys.scheduleDispatches(id), 0, -1), client.smembers(keys.scheduleActiveJobs(id)), client.hgetall(keys.scheduleCounters(id))]),
    );
    if (Object.keys(hash).length === 0) return null;
    return decode(hash, dispatches, active, counters);
  }

  async bundle(id: string): Promise<ScheduleBundle | null> {
    const text = await this.core.call(() => this.core.client.get(this.core.keys.scheduleBundle(id)));
    return text === null ? null : (JSON.parse(text) as ScheduleBundle);
  }

  async list(query: ScheduleQuery = {}): Promise<ScheduleRecord[]> {
    const { client, keys } = this.core;
    const ids = await this.core.call(() => client.smembers(keys.schedules()));
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) {
      pipeline.hgetall(keys.schedule(id));
      pipeline.lrange(keys.scheduleDispatches(id), 0, -1);
      pipeline.smembers(keys.scheduleActiveJobs(id));
      pipeline.hgetall(keys.scheduleCounters(id));
    }
    const replies = (await this.core.call(() => pipeline.exec())) ?? [];
    const out: ScheduleRecord[] = [];
    for (let i = 0; i < ids.length; i++) {
      const part = replies.slice(i * 4, i * 4 + 4);
      for (const [error] of part) if (error) throw error;
      const [hash, dispatches, active, counters] = part.map(([, v]) => v) as [Record<string, string>, string[], string[], Record<string, string>];
      if (Object.keys(hash).length > 0) out.push(decode(hash, dispatches, active, counters));
    }
    return out
      .filter((r) => (query.kind === undefined || r.kind === query.kind) && (query.status === undefined || r.status === query.status) && (query.enabled === undefined || r.enabled === query.enabled))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.schedule_id.localeCompare(b.schedule_id));
  }

  async update(id: string, patch: SchedulePatch, guard: WriteGuard = {}, counters: Partial<ScheduleCounters> = {}): Promise<ScheduleRecord> {
    checkGuard(guard);
    const { keys } = this.core;
    const key = keys.schedule(id);
    await this.core.script(
      'updateSchedule',
      [key, guard.fence ? keys.lease(guard.fence.lease) : key, keys.scheduleDue(), keys.scheduleCounters(id)],
      [guard.fence ? String(guard.fence.token) : '', guard.expectedVersion === undefined ? '' : String(guard.expectedVersion), this.nowJson(), id, ...counterArgs(counters), ...fieldPairs(patch)],
      {
        object: `schedule "${id}"`,
        ...(guard.fence ? { lease: guard.fence.lease, token: guard.fence.token } : {}),
        ...(guard.expectedVersion !== undefined ? { expectedVersion: guard.expectedVersion } : {}),
      },
    );
    const record = await this.get(id);
    if (!record) throw scriptError(ScriptCode.NotFound, { object: `schedule "${id}"` });
    return record;
  }

  async delete(id: string): Promise<boolean> {
    const { client, keys } = this.core;
    const removed = await this.core.call(async () => {
      const replies = await client
        .multi()
        .srem(keys.schedules(), id)
        .zrem(keys.scheduleDue(), id)
        .del(keys.schedule(id), keys.scheduleBundle(id), keys.scheduleDispatches(id), keys.scheduleActiveJobs(id), keys.scheduleCounters(id))
        .exec();
      return Number(replies?.[0]?.[1] ?? 0);
    });
    return removed > 0;
  }

  async due(now: number, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return this.core.call(() => this.core.client.zrangebyscore(this.core.keys.scheduleDue(), '-inf', String(now), 'LIMIT', '0', String(limit)));
  }

  async nextDueAt(): Promise<number | null> {
    const reply = await this.core.call(() => this.core.client.zrange(this.core.keys.scheduleDue(), '0', '0', 'WITHSCORES'));
    return reply.length >= 2 ? Number(reply[1]) : null;
  }

  async commitDispatch(commit: DispatchCommit, fence?: Fence): Promise<DispatchOutcome> {
    const { keys } = this.core;
    const id = commit.schedule_id;
    const key = keys.schedule(id);
    const jobId = commit.job?.job_id ?? '';
    const counters = counterArgs(commit.counters ?? {});
    const prune = commit.prune ?? [];
    const fields = fieldPairs(commit.set ?? {});
    const args = [
      fence ? String(fence.token) : '',
      String(DISPATCH_TOKEN_TTL_MS),
      JSON.stringify(commit.dispatch),
      id,
      jobId,
      commit.dispatch.status === 'submitted' && commit.dispatch.job_id !== null && jobId !== '' ? '1' : '0',
      this.nowJson(),
      ...counters,
      String(prune.length),
      ...prune,
      String(fields.length / 2),
      ...fields,
      ...(commit.job ? this.encodeJob(commit.job) : []),
    ];
    const jobKey = jobId === '' ? key : keys.job(jobId);
    const scriptKeys = [key, keys.scheduleToken(commit.dispatch.token), fence ? keys.lease(fence.lease) : key, keys.scheduleDispatches(id), keys.scheduleActiveJobs(id), keys.scheduleCounters(id), keys.scheduleDue(), jobKey, keys.jobs()];
    const reply = (await this.core.call(() => runScript(this.core.client, 'commitDispatch', scriptKeys, args))) as unknown[];
    const code = Number(reply[0]);
    if (code === 1) return { committed: false, dispatch: JSON.parse(String(reply[1])) as ScheduleDispatch };
    if (code !== ScriptCode.Ok) {
      throw scriptError(code, { object: code === ScriptCode.AlreadyExists ? `job "${jobId}" of schedule "${id}"` : `schedule "${id}"`, ...(fence ? { lease: fence.lease, token: fence.token } : {}) }, reply.slice(1));
    }
    return { committed: true, dispatch: JSON.parse(JSON.stringify(commit.dispatch)) as ScheduleDispatch };
  }

  async pruneActive(id: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.core.call(() => this.core.client.srem(this.core.keys.scheduleActiveJobs(id), ...jobIds));
  }

  async closeDispatch(id: string, dispatchId: string, patch: Pick<ScheduleDispatch, 'status'> & Partial<ScheduleDispatch>, fence?: Fence): Promise<void> {
    const record = await this.get(id);
    if (!record) throw scriptError(ScriptCode.NotFound, { object: `schedule "${id}"` });
    const current = record.dispatches.find((d) => d.dispatch_id === dispatchId);
    if (!current) throw scriptError(ScriptCode.NotFound, { object: `dispatch "${dispatchId}" of schedule "${id}"` });
    const { keys } = this.core;
    const key = keys.schedule(id);
    await this.core.script(
      'closeDispatch',
      [key, fence ? keys.lease(fence.lease) : key, keys.scheduleDispatches(id), keys.scheduleActiveJobs(id)],
      [fence ? String(fence.token) : '', dispatchId, JSON.stringify({ ...current, ...patch }), current.job_id ?? '', this.nowJson()],
      { object: `dispatch "${dispatchId}" of schedule "${id}"`, ...(fence ? { lease: fence.lease, token: fence.token } : {}) },
    );
  }

  async appendEvent(event: TriggerEvent): Promise<void> {
    const { client, keys } = this.core;
    await this.core.call(() => client.multi().lpush(keys.triggerEvents(), JSON.stringify(event)).ltrim(keys.triggerEvents(), 0, MAX_TRIGGER_EVENTS - 1).exec());
  }

  async listEvents(limit: number): Promise<TriggerEvent[]> {
    if (limit <= 0) return [];
    const items = await this.core.call(() => this.core.client.lrange(this.core.keys.triggerEvents(), 0, limit - 1));
    return items.map((s) => JSON.parse(s) as TriggerEvent);
  }

  private nowJson(): string {
    return JSON.stringify(new Date(this.core.clock()).toISOString());
  }
}

const RECORD_FIELDS = new Set<string>(SCHEDULE_RECORD_FIELDS);

/** `n`, then n counter name, increment pairs. */
function counterArgs(counters: Partial<ScheduleCounters>): string[] {
  const entries = Object.entries(counters).filter(([, v]) => v !== undefined && v !== 0);
  return [String(entries.length), ...entries.flatMap(([k, v]) => [k, String(v)])];
}

/** Field/value pairs of a record or patch (JSON values), with `next_run_ms` beside `next_run_at`. */
function fieldPairs(record: Partial<ScheduleRecord>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined || !RECORD_FIELDS.has(k)) continue;
    out.push(k, JSON.stringify(v));
  }
  if ('next_run_at' in record && record.next_run_at !== undefined) {
    const ms = record.next_run_at === null ? null : Date.parse(record.next_run_at);
    out.push('next_run_ms', JSON.stringify(ms === null || Number.isNaN(ms) ? null : ms));
  }
  return out;
}

function decode(hash: Record<string, string>, dispatches: string[], active: string[], counters: Record<string, string>): ScheduleRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) if (RECORD_FIELDS.has(k)) out[k] = JSON.parse(v);
  const c: ScheduleCounters = emptyCounters();
  for (const [k, v] of Object.entries(counters)) if (k in c) c[k as keyof ScheduleCounters] = Number(v);
  return {
    ...(out as unknown as ScheduleRecord),
    dispatches: dispatches.map((d) => JSON.parse(d) as ScheduleDispatch),
    active_job_ids: [...active].sort(),
    counters: c,
  };
}
