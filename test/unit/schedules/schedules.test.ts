import { describe, expect, it } from 'vitest';
import { planDue, windowsToClose, liveChildren, windowEnd } from '../../../src/core/schedules/due.js';
import { newScheduleRecord, parseScheduleAttrs } from '../../../src/core/schedules/normalize.js';
import type { ScheduleRecord, TriggerEvent } from '../../../src/core/schedules/records.js';
import { fireTimesBetween, formatInZone, upcomingFires } from '../../../src/core/schedules/timing.js';
import { dispatchId, dispatchJobId, dispatchToken } from '../../../src/core/schedules/token.js';
import { checkEvent, dispatchManifest, eventMatches, filterMatches, readPath } from '../../../src/core/schedules/triggers.js';

const T = (iso: string): number => Date.parse(iso);
const REF = { bundle_fingerprint: 'sha256:x', files: [] };

function schedule(attrs: Record<string, unknown>, now: string, patch: Partial<ScheduleRecord> = {}): ScheduleRecord {
  const parsed = parseScheduleAttrs(attrs, { defaultName: 'nightly' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return { ...newScheduleRecord(parsed.spec, { schedule_id: 'sched_1', bundle_ref: REF, source: {}, now: T(now) }), ...patch };
}

function event(type: string, payload: unknown, source = 'cli'): TriggerEvent {
  return { event_id: 'event_1', event_type: type, source, payload, created_at: '2026-05-24T10:00:00.000Z' };
}

describe('normalise (spec §11.8)', () => {
  it('#80 periodic defaults and the next cron time', () => {
    const s = schedule({ cron: '5 10 * * *' }, '2026-05-24T10:00:00Z');
    expect(s).toMatchObject({ kind: 'periodic', prohibit_overlap: true, missed_policy: 'skip', status: 'active', enabled: true, timezone: 'UTC', catchup_limit: 10, missed_grace_ms: 60000 });
    expect(s.next_run_at).toBe('2026-05-24T10:05:00.000Z');
  });

  it('#81 delayed with delay_ms: run_at and next_run_at', () => {
    const s = schedule({ kind: 'delayed', delay_ms: 60000 }, '2026-05-24T10:00:00Z');
    expect(s.run_at).toBe('2026-05-24T10:01:00.000Z');
    expect(s.next_run_at).toBe('2026-05-24T10:01:00.000Z');
  });

  it('#84 delayed with run_at keeps it', () => {
    const s = schedule({ kind: 'delayed', run_at: '2026-05-24T10:00:00Z' }, '2026-05-24T09:00:00Z');
    expect(s).toMatchObject({ kind: 'delayed', next_run_at: '2026-05-24T10:00:00.000Z' });
  });

  it('a run_at in the past runs at the next sweep', () => {
    const s = schedule({ run_at: '2026-05-24T08:00:00Z' }, '2026-05-24T09:00:00Z');
    expect(planDue(s, T('2026-05-24T09:00:01Z'), {})).toMatchObject({ action: 'dispatch', instances: [{ scheduled_for: '2026-05-24T08:00:00.000Z', reason: 'delayed', complete: true }] });
  });

  it('a disabled schedule is paused with no next run', () => {
    const s = schedule({ cron: '* * * * *', enabled: false }, '2026-05-24T10:00:00Z');
    expect(s).toMatchObject({ status: 'paused', next_run_at: null });
  });

  it('event schedules have no next run', () => {
    const s = schedule({ event_type: 'demo' }, '2026-05-24T10:00:00Z');
    expect(s).toMatchObject({ kind: 'event', next_run_at: null });
    expect(s.trigger?.event_types).toEqual(['demo']);
  });

  it.each([
    [{ cron: '61 * * * *' }, 'schedule.cron', 'invalid cron expression "61 * * * *"'],
    [{ cron: '0 2 * * *', timezone: 'Mars/Olympus' }, 'schedule.timezone', 'IANA time zone'],
    [{ kind: 'weekly' }, 'schedule.kind', 'must be periodic, delayed, or event'],
    [{ kind: 'periodic' }, 'schedule.cron', 'periodic schedules require cron or crons'],
    [{ kind: 'delayed' }, 'schedule.run_at', 'delayed schedules require a valid run_at or delay_ms'],
    [{ kind: 'event' }, 'schedule.trigger.event_type', 'event schedules require trigger.event_type'],
    [{ event_type: 'x', filters: { path: { regex: 'a' } } }, 'schedule.filters.path', 'prefix'],
    [{ event_type: 'x', filters: 'path' }, 'schedule.filters', 'must be an object'],
    [{ cron: '* * * * *', window: { duration_ms: 1000, end_action: 'explode' } }, 'schedule.window.end_action', 'must be cancel or none'],
  ])('rejects %j naming %s', (attrs, path, message) => {
    const parsed = parseScheduleAttrs(attrs, { defaultName: 'x' });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.some((e) => e.path === path && e.message.includes(message))).toBe(true);
  });

  it('a schedule that is not an object', () => {
    expect(parseScheduleAttrs([1], { defaultName: 'x' })).toEqual({ ok: false, errors: [{ path: 'schedule', message: 'schedule must be an object' }] });
  });
});

describe('due processing (spec §7.3, §11.8)', () => {
  const every5 = (patch: Partial<ScheduleRecord> = {}, attrs: Record<string, unknown> = {}): ScheduleRecord =>
    schedule({ cron: '*/5 * * * *', ...attrs }, '2026-05-24T09:58:00Z', patch);

  it('nothing before the due time, nothing when paused or completed', () => {
    const s = every5();
    expect(s.next_run_at).toBe('2026-05-24T10:00:00.000Z');
    expect(planDue(s, T('2026-05-24T09:59:59Z'), {})).toEqual({ action: 'none', reason: 'not_due' });
    expect(planDue({ ...s, status: 'paused', enabled: false }, T('2026-05-24T10:00:00Z'), {})).toEqual({ action: 'none', reason: 'inactive' });
    expect(planDue({ ...s, status: 'completed' }, T('2026-05-24T10:00:00Z'), {})).toEqual({ action: 'none', reason: 'inactive' });
  });

  it('on time: one periodic instance, then the next fire after now', () => {
    expect(planDue(every5(), T('2026-05-24T10:00:01Z'), {})).toEqual({
      action: 'dispatch',
      active_job_ids: [],
      instances: [{ scheduled_for: '2026-05-24T10:00:00.000Z', reason: 'periodic', next_run_at: '2026-05-24T10:05:00.000Z', missed: 0, complete: false }],
    });
  });

  it('#83 skip: late past the grace period is missed, and moves on', () => {
    const s = schedule({ cron: '0 10 * * *', missed_grace_ms: 1000 }, '2026-05-24T09:00:00Z');
    expect(planDue(s, T('2026-05-24T10:00:02Z'), {})).toEqual({ action: 'missed', missed: 1, next_run_at: '2026-05-25T10:00:00.000Z' });
    // Within the grace period it runs.
    expect(planDue(s, T('2026-05-24T10:00:00.900Z'), {})).toMatchObject({ action: 'dispatch' });
  });

  it('skip: after an outage runs only the newest time within grace, counting the older ones missed', () => {
    const s = every5();
    expect(planDue(s, T('2026-05-24T10:20:30Z'), {})).toEqual({
      action: 'dispatch',
      active_job_ids: [],
      instances: [{ scheduled_for: '2026-05-24T10:20:00.000Z', reason: 'periodic', next_run_at: '2026-05-24T10:25:00.000Z', missed: 4, complete: false }],
    });
  });

  it('catchup_one: one run for every missed time', () => {
    const s = every5({}, { missed_policy: 'catchup_one' });
    const d = planDue(s, T('2026-05-24T10:22:00Z'), {});
    expect(d).toMatchObject({ action: 'dispatch', instances: [{ scheduled_for: '2026-05-24T10:00:00.000Z', next_run_at: '2026-05-24T10:25:00.000Z', missed: 4 }] });
  });

  it('catchup_all: every missed time in order, each committing the next one as next_run_at', () => {
    const s = every5({}, { missed_policy: 'catchup_all' });
    const d = planDue(s, T('2026-05-24T10:12:00Z'), {});
    expect(d.action).toBe('dispatch');
    if (d.action !== 'dispatch') return;
    expect(d.instances.map((i) => [i.scheduled_for.slice(11, 16), i.next_run_at?.slice(11, 16), i.missed])).toEqual([
      ['10:00', '10:05', 0],
      ['10:05', '10:10', 0],
      ['10:10', '10:15', 0],
    ]);
  });

  it('catchup_all is capped by catchup_limit, the rest counted missed', () => {
    const s = every5({}, { missed_policy: 'catchup_all', catchup_limit: 3 });
    const d = planDue(s, T('2026-05-24T11:00:00Z'), {});
    if (d.action !== 'dispatch') throw new Error(d.action);
    expect(d.instances.map((i) => i.scheduled_for.slice(11, 16))).toEqual(['10:00', '10:05', '10:10']);
    expect(d.instances[2]).toMatchObject({ next_run_at: '2026-05-24T11:05:00.000Z', missed: 10 });
  });

  it('#90 overlap: a running child blocks; a terminal or missing one is pruned; allow-overlap dispatches', () => {
    const s = every5({ active_job_ids: ['j-run', 'j-done', 'j-gone'] });
    const now = T('2026-05-24T10:00:10Z');
    expect(planDue(s, now, { 'j-run': 'running', 'j-done': 'completed', 'j-gone': null })).toEqual({ action: 'blocked', active_job_ids: ['j-run'], count: true });
    // Counted once per due time.
    expect(planDue({ ...s, last_blocked_reason: 'overlap', last_blocked_at: '2026-05-24T10:00:05.000Z' }, now, { 'j-run': 'running' })).toMatchObject({ action: 'blocked', count: false });
    // #87 once the job ended it dispatches, and the active list is pruned.
    expect(planDue(s, now, { 'j-run': 'completed', 'j-done': 'completed', 'j-gone': null })).toMatchObject({ action: 'dispatch', active_job_ids: [] });
    const open = every5({ active_job_ids: ['j-run'], prohibit_overlap: false });
    expect(planDue(open, now, { 'j-run': 'running' })).toMatchObject({ action: 'dispatch', active_job_ids: ['j-run'] });
  });

  it('#91 delayed: one instance that completes the schedule', () => {
    const s = schedule({ run_at: '2026-05-24T10:00:00Z' }, '2026-05-24T09:00:00Z');
    expect(planDue(s, T('2026-05-24T10:00:00Z'), {})).toEqual({
      action: 'dispatch',
      active_job_ids: [],
      instances: [{ scheduled_for: '2026-05-24T10:00:00.000Z', reason: 'delayed', next_run_at: null, missed: 0, complete: true }],
    });
  });

  it('#92 windows: submitted dispatches past their end are closed; end_action none keeps them', () => {
    const s = every5({}, { window: { duration_ms: 3_600_000 } });
    expect(windowEnd(s, T('2026-05-24T10:00:00Z'))).toBe('2026-05-24T11:00:00.000Z');
    const d = { dispatch_id: 'd', token: 't', job_id: 'j', status: 'submitted' as const, scheduled_for: null, reason: 'periodic', event_id: null, submitted_at: '', window_end_at: '2026-05-24T11:00:00.000Z' };
    const withDispatch = { ...s, dispatches: [d, { ...d, dispatch_id: 'e', status: 'window_closed' as const }] };
    expect(windowsToClose(withDispatch, T('2026-05-24T10:59:59Z'))).toEqual([]);
    expect(windowsToClose(withDispatch, T('2026-05-24T11:00:00Z')).map((x) => x.dispatch_id)).toEqual(['d']);
    expect(windowsToClose({ ...withDispatch, window: { duration_ms: 3_600_000, end_action: 'none' } }, T('2026-05-24T12:00:00Z'))).toEqual([]);
  });

  it('liveChildren keeps only jobs that may still run', () => {
    expect(liveChildren(['a', 'b', 'c', 'd'], { a: 'pending', b: 'failed', c: 'paused', d: null })).toEqual(['a', 'c']);
  });
});

describe('time zones and DST (the original evaluated every cron in UTC)', () => {
  const daily = (tz: string, cron = '0 2 * * *'): ScheduleRecord => schedule({ cron, timezone: tz }, '2026-01-01T00:00:00Z');
  const times = (s: ScheduleRecord, from: string, until: string): string[] =>
    fireTimesBetween(s.crons, s.timezone, upcomingFires(s.crons, s.timezone, T(from), 1)[0]!, T(until)).times.map((t) => new Date(t).toISOString());

  it('0 2 * * * in America/New_York is 02:00 local on both sides of spring-forward; the skipped 02:00 runs once at 03:00 EDT', () => {
    const s = daily('America/New_York');
    expect(upcomingFires(s.crons, s.timezone, T('2026-03-06T12:00:00Z'), 4).map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-07T07:00:00.000Z', // 02:00 EST
      '2026-03-08T07:00:00.000Z', // 02:00 does not exist: 03:00 EDT, once
      '2026-03-09T06:00:00.000Z', // 02:00 EDT
      '2026-03-10T06:00:00.000Z',
    ]);
  });

  it('0 2 * * * in America/New_York across fall-back stays at 02:00 local', () => {
    const s = daily('America/New_York');
    expect(upcomingFires(s.crons, s.timezone, T('2026-10-30T12:00:00Z'), 3).map((t) => new Date(t).toISOString())).toEqual([
      '2026-10-31T06:00:00.000Z', // 02:00 EDT
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-02T07:00:00.000Z',
    ]);
  });

  it('a repeated local time runs once (01:30 in New York on the fall-back night)', () => {
    const s = daily('America/New_York', '30 1 * * *');
    expect(times(s, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z')).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('Europe/Berlin: 02:30 skipped on spring-forward runs once, an hour later in wall time; repeated on fall-back runs once', () => {
    const s = daily('Europe/Berlin', '30 2 * * *');
    expect(upcomingFires(s.crons, s.timezone, T('2026-03-27T12:00:00Z'), 3).map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(times(s, '2026-10-24T23:00:00Z', '2026-10-25T23:00:00Z')).toEqual(['2026-10-25T00:30:00.000Z']);
    expect(upcomingFires(s.crons, s.timezone, T('2026-10-25T01:00:00Z'), 1).map((t) => new Date(t).toISOString())).toEqual(['2026-10-26T01:30:00.000Z']);
  });

  it('hourly crons keep real-time spacing through the repeated hour', () => {
    const s = daily('America/New_York', '0 * * * *');
    expect(times(s, '2026-11-01T04:30:00Z', '2026-11-01T07:30:00Z')).toEqual(['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z']);
  });

  it('a leader that computes the next run from inside the repeated hour does not run the fixed time again', () => {
    const s = daily('America/New_York', '30 1 * * *');
    // 06:10Z is 01:10 EST, the second pass of the 01:00 hour; 01:30 EDT already ran at 05:30Z.
    expect(upcomingFires(s.crons, s.timezone, T('2026-11-01T06:10:00Z'), 1).map((t) => new Date(t).toISOString())).toEqual(['2026-11-02T06:30:00.000Z']);
  });

  it('due processing across a DST change in Berlin runs the daily job once per local day', () => {
    let s = daily('Europe/Berlin', '0 9 * * *');
    s = { ...s, next_run_at: '2026-03-28T08:00:00.000Z' };
    const d1 = planDue(s, T('2026-03-28T08:00:05Z'), {});
    if (d1.action !== 'dispatch') throw new Error(d1.action);
    expect(d1.instances[0]!.next_run_at).toBe('2026-03-29T07:00:00.000Z'); // 09:00 CEST
  });

  it('formats times in the zone with their offset', () => {
    expect(formatInZone(T('2026-03-08T07:00:00Z'), 'America/New_York')).toBe('2026-03-08 03:00:00 EDT (-04:00)');
    expect(formatInZone(T('2026-01-08T07:00:00Z'), 'UTC')).toBe('2026-01-08 07:00:00 UTC (+00:00)');
  });
});

describe('dispatch token (spec §7.4)', () => {
  const key = { schedule_id: 'sched_1', scheduled_for: '2026-05-24T10:00:00.000Z', reason: 'periodic', event_id: null };
  it('is deterministic, URL-safe and differs per field', () => {
    const t = dispatchToken(key);
    expect(dispatchToken({ ...key })).toBe(t);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(dispatchToken({ ...key, scheduled_for: '2026-05-24T10:05:00.000Z' })).not.toBe(t);
    expect(dispatchToken({ ...key, reason: 'manual' })).not.toBe(t);
    expect(dispatchToken({ ...key, schedule_id: 'sched_2' })).not.toBe(t);
    expect(dispatchToken({ ...key, scheduled_for: null, reason: 'event', event_id: 'e1' })).not.toBe(dispatchToken({ ...key, scheduled_for: null, reason: 'event', event_id: 'e2' }));
    expect(dispatchId(t)).toBe(`dispatch_${t}`);
  });
  it('names one job per token', () => {
    const t = dispatchToken(key);
    expect(dispatchJobId('my graph', t)).toBe(dispatchJobId('my graph', t));
    expect(dispatchJobId('my graph', t)).toMatch(/^my-graph-s[0-9a-f]{16}$/);
  });
});

describe('events and triggers (spec §7.5)', () => {
  const trigger = (filters: Record<string, unknown>, types: string | string[] = 'file_uploaded'): ScheduleRecord =>
    schedule({ event_type: types, filters }, '2026-05-24T10:00:00Z');

  it('#82 prefix filter', () => {
    const s = trigger({ path: { prefix: 'datasets/' } });
    expect(eventMatches(s, event('file_uploaded', { path: 'datasets/input.jsonl' }))).toBe(true);
    expect(eventMatches(s, event('file_uploaded', { path: 'tmp/input.jsonl' }))).toBe(false);
  });

  it('#85 equality, and the type must match', () => {
    const s = trigger({ topic: 'alpha' }, 'demo');
    expect(eventMatches(s, event('demo', { topic: 'alpha' }))).toBe(true);
    expect(eventMatches(s, event('demo', { topic: 'beta' }))).toBe(false);
    expect(eventMatches(s, event('other', { topic: 'alpha' }))).toBe(false);
  });

  it('#89 list membership; source reads the event, not the payload', () => {
    const s = trigger({ kind: ['dataset', 'eval'] });
    expect(eventMatches(s, event('file_uploaded', { kind: 'eval' }))).toBe(true);
    expect(eventMatches(s, event('file_uploaded', { kind: 'model' }))).toBe(false);
    expect(eventMatches(s, event('file_uploaded', {}))).toBe(false);
    const bySource = trigger({ source: 'otterdesk' });
    expect(eventMatches(bySource, event('file_uploaded', { source: 'otterdesk' }, 'cli'))).toBe(false);
    expect(eventMatches(bySource, event('file_uploaded', {}, 'otterdesk'))).toBe(true);
  });

  it('contains, null, dot-paths, numbers as text, a list of event types', () => {
    const s = trigger({ 'file.meta.owner': { contains: 'ops' }, 'file.size': 10, anything: null }, ['a', 'file_uploaded']);
    expect(eventMatches(s, event('file_uploaded', { file: { meta: { owner: 'team-ops-1' }, size: 10 } }))).toBe(true);
    expect(eventMatches(s, event('file_uploaded', { file: { meta: { owner: 'team-dev' }, size: 10 } }))).toBe(false);
    expect(eventMatches(s, event('file_uploaded', { file: { meta: { owner: 'ops' }, size: '10' } }))).toBe(true);
    expect(eventMatches(s, event('file_uploaded', { file: { meta: { owner: 'ops' }, size: 11 } }))).toBe(false);
    expect(readPath({ a: [{ b: 1 }] }, 'a.0.b')).toBe(1);
    expect(readPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(filterMatches(undefined, '')).toBe(true); // nil → "" as in the original
    expect(filterMatches(5, { prefix: '5' })).toBe(false); // prefix needs a string
  });

  it('paused trigger schedules never match', () => {
    const s = { ...trigger({}), status: 'paused' as const, enabled: false };
    expect(eventMatches(s, event('file_uploaded', {}))).toBe(false);
  });

  it('checks event type and payload size', () => {
    expect(checkEvent('file_uploaded', 'cli', '{}')).toEqual({ ok: true });
    expect(checkEvent('bad type', 'cli', '{}')).toMatchObject({ ok: false, field: 'event_type' });
    expect(checkEvent('t', 'cli', JSON.stringify({ x: 'y'.repeat(100) }), 50)).toMatchObject({ ok: false, field: 'payload_json' });
  });

  it('the dispatched manifest carries schedule_dispatch and the payload as initial input', () => {
    const m = dispatchManifest({ graph_id: 'g', metadata: { owner: 'me' }, initial_inputs: { a: [1] } }, { schedule_id: 's', schedule_name: 'n', schedule_kind: 'event', dispatch_id: 'd', reason: 'event', payload: { path: 'x' }, scheduled_for: '' });
    expect(m.metadata).toEqual({ owner: 'me', schedule_dispatch: { schedule_id: 's', schedule_name: 'n', schedule_kind: 'event', dispatch_id: 'd', reason: 'event', payload: { path: 'x' } } });
    expect(m.initial_inputs).toEqual({ __entrypoints__: [{ path: 'x' }] });
    const periodic = dispatchManifest({ graph_id: 'g', initial_inputs: { a: [1] } }, { schedule_id: 's', schedule_name: 'n', schedule_kind: 'periodic', dispatch_id: 'd', reason: 'periodic' });
    expect(periodic.initial_inputs).toEqual({ a: [1] });
  });
});
