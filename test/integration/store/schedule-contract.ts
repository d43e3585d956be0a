/**
 * The schedule part of the Store contract (spec §7, §8.2), run against every implementation
 * from contract.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import { newScheduleRecord, parseScheduleAttrs } from '../../../src/core/schedules/normalize.js';
import type { ScheduleDispatch, ScheduleRecord, TriggerEvent } from '../../../src/core/schedules/records.js';
import { dispatchId, dispatchToken } from '../../../src/core/schedules/token.js';
import type { Store } from '../../../src/store/store.js';
import { anyJob } from '../../helpers/records.js';
import { freshStore, type StoreHarness } from './contract.js';

const NOW = Date.parse('2026-05-24T10:00:00Z');
const BUNDLE = { manifest_json: '{"graph_id":"g"}', files: { 'agents/a.js': 'export default {}' } };

function record(id: string, attrs: Record<string, unknown> = { cron: '*/5 * * * *' }, now = NOW): ScheduleRecord {
  const parsed = parseScheduleAttrs(attrs, { defaultName: id });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return newScheduleRecord(parsed.spec, { schedule_id: id, bundle_ref: { bundle_fingerprint: 'sha256:abc', files: ['agents/a.js'] }, source: { via: 'test' }, now });
}

function dispatch(scheduleId: string, scheduledFor: string | null, jobId: string | null, extra: Partial<ScheduleDispatch> = {}): ScheduleDispatch {
  const token = dispatchToken({ schedule_id: scheduleId, scheduled_for: scheduledFor, reason: extra.reason ?? 'periodic', event_id: extra.event_id ?? null });
  return { dispatch_id: dispatchId(token), token, job_id: jobId, status: jobId ? 'submitted' : 'failed', scheduled_for: scheduledFor, reason: 'periodic', event_id: null, submitted_at: '2026-05-24T10:00:01.000Z', window_end_at: null, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

export function scheduleContract(name: string, create: () => Promise<StoreHarness>): void {
  describe(`Store contract (schedules): ${name}`, () => {
    const fresh = freshStore(create);
    let store: Store;
    beforeEach(() => {
      store = fresh.store;
    });

    it('creates a schedule with its archived bundle; get and list return it; a second create is a conflict', async () => {
      const created = await store.schedules.create(record('sched_a'), BUNDLE);
      expect(created).toMatchObject({ schedule_id: 'sched_a', version: 1, dispatches: [], active_job_ids: [], counters: { dispatched: 0, missed: 0, failed: 0, blocked: 0 } });
      const got = await store.schedules.get('sched_a');
      expect(got).toMatchObject({ schedule_id: 'sched_a', kind: 'periodic', next_run_at: '2026-05-24T10:05:00.000Z', bundle_ref: { bundle_fingerprint: 'sha256:abc' }, source: { via: 'test' } });
      expect(await store.schedules.bundle('sched_a')).toEqual(BUNDLE);
      expect(await store.schedules.get('nope')).toBeNull();
      expect(await store.schedules.bundle('nope')).toBeNull();
      const again = await failure(store.schedules.create(record('sched_a'), BUNDLE));
      expect(isMnError(again, 'MN_E_CONFLICT')).toBe(true);
    });

    it('lists by kind, status and enabled', async () => {
      await store.schedules.create(record('s1'), BUNDLE);
      await store.schedules.create(record('s2', { event_type: 'demo' }), BUNDLE);
      await store.schedules.create(record('s3', { cron: '* * * * *', enabled: false }), BUNDLE);
      expect((await store.schedules.list()).map((s) => s.schedule_id).sort()).toEqual(['s1', 's2', 's3']);
      expect((await store.schedules.list({ kind: 'event' })).map((s) => s.schedule_id)).toEqual(['s2']);
      expect((await store.schedules.list({ status: 'paused' })).map((s) => s.schedule_id)).toEqual(['s3']);
      expect((await store.schedules.list({ enabled: true })).map((s) => s.schedule_id).sort()).toEqual(['s1', 's2']);
    });

    it('indexes due times of active schedules only, and keeps the index in step with updates', async () => {
      await store.schedules.create(record('early', { cron: '1 10 * * *' }), BUNDLE);
      await store.schedules.create(record('late', { cron: '30 10 * * *' }), BUNDLE);
      await store.schedules.create(record('event', { event_type: 'x' }), BUNDLE);
      await store.schedules.create(record('off', { cron: '0 10 * * *', enabled: false }), BUNDLE);
      expect(await store.schedules.nextDueAt()).toBe(Date.parse('2026-05-24T10:01:00Z'));
      expect(await store.schedules.due(Date.parse('2026-05-24T10:01:00Z'), 10)).toEqual(['early']);
      expect(await store.schedules.due(Date.parse('2026-05-24T11:00:00Z'), 10)).toEqual(['early', 'late']);
      expect(await store.schedules.due(Date.parse('2026-05-24T11:00:00Z'), 1)).toEqual(['early']);
      const paused = await store.schedules.update('early', { status: 'paused', enabled: false, next_run_at: null });
      expect(paused).toMatchObject({ status: 'paused', version: 2 });
      expect(await store.schedules.due(Date.parse('2026-05-24T11:00:00Z'), 10)).toEqual(['late']);
      await store.schedules.update('early', { status: 'active', enabled: true, next_run_at: '2026-05-24T09:00:00.000Z' });
      expect(await store.schedules.due(Date.parse('2026-05-24T09:30:00Z'), 10)).toEqual(['early']);
      // Status alone moves it out of the index too.
      await store.schedules.update('late', { status: 'completed' });
      expect(await store.schedules.due(Date.parse('2026-05-24T11:00:00Z'), 10)).toEqual(['early']);
    });

    it('updates are optimistic and fenced; unknown schedules are not found', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      const conflict = await failure(store.schedules.update('s', { name: 'x' }, { expectedVersion: 7 }));
      expect(isMnError(conflict, 'MN_E_CONFLICT')).toBe(true);
      expect((await store.schedules.update('s', { name: 'x' }, { expectedVersion: 1 })).name).toBe('x');
      const grant = (await store.acquireLease('leader', 'd1', 60_000))!;
      const fenced = await failure(store.schedules.update('s', { name: 'y' }, { fence: { lease: 'leader', token: grant.token + 1 } }));
      expect(isMnError(fenced, 'MN_E_FENCED')).toBe(true);
      expect(isMnError(await failure(store.schedules.update('nope', { name: 'y' })), 'MN_E_NOT_FOUND')).toBe(true);
      const missed = await store.schedules.update('s', { last_missed_at: '2026-05-24T10:06:00.000Z' }, {}, { missed: 3, blocked: 1 });
      expect(missed).toMatchObject({ last_missed_at: '2026-05-24T10:06:00.000Z', counters: { missed: 3, blocked: 1, dispatched: 0 } });
    });

    it('commits a dispatch with its child job atomically, and a second commit of the token creates nothing', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      const d = dispatch('s', '2026-05-24T10:05:00.000Z', 'job-1');
      const out = await store.schedules.commitDispatch({
        schedule_id: 's',
        dispatch: d,
        job: { job_id: 'job-1', manifest: { graph_id: 'g' }, job: anyJob({ graph_id: 'g' }), status: 'pending', details: { schedule_dispatch: { dispatch_id: d.dispatch_id } } },
        set: { next_run_at: '2026-05-24T10:10:00.000Z' },
        counters: { dispatched: 1, missed: 2 },
      });
      expect(out).toEqual({ committed: true, dispatch: d });
      const job = await store.getJob('job-1');
      expect(job).toMatchObject({ job_id: 'job-1', status: 'pending', version: 1, details: { schedule_dispatch: { dispatch_id: d.dispatch_id } } });
      expect((await store.listJobs()).map((j) => j.job_id)).toEqual(['job-1']);
      const s = await store.schedules.get('s');
      expect(s).toMatchObject({ next_run_at: '2026-05-24T10:10:00.000Z', active_job_ids: ['job-1'], counters: { dispatched: 1, missed: 2, failed: 0 }, version: 2 });
      expect(s!.dispatches).toEqual([d]);
      expect(await store.schedules.due(Date.parse('2026-05-24T10:09:59Z'), 10)).toEqual([]);
      expect(await store.schedules.due(Date.parse('2026-05-24T10:10:00Z'), 10)).toEqual(['s']);

      const again = await store.schedules.commitDispatch({ schedule_id: 's', dispatch: { ...d, job_id: 'job-2' }, job: { job_id: 'job-2', manifest: {}, job: anyJob() }, counters: { dispatched: 1 }, set: { next_run_at: '2026-05-24T11:00:00.000Z' } });
      expect(again).toEqual({ committed: false, dispatch: d });
      expect(await store.getJob('job-2')).toBeNull();
      expect(await store.schedules.get('s')).toMatchObject({ next_run_at: '2026-05-24T10:10:00.000Z', counters: { dispatched: 1 }, active_job_ids: ['job-1'] });
    });

    it('concurrent commits of one token create exactly one job; of distinct tokens lose no update', async () => {
      await store.schedules.create(record('s', { event_type: 'demo' }), BUNDLE);
      const same = dispatch('s', null, null, { reason: 'event', event_id: 'e-1' });
      const outs = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.schedules.commitDispatch({ schedule_id: 's', dispatch: { ...same, job_id: `race-${i}`, status: 'submitted' }, job: { job_id: `race-${i}`, manifest: {}, job: anyJob() }, counters: { dispatched: 1 } }),
        ),
      );
      expect(outs.filter((o) => o.committed).length).toBe(1);
      const winner = outs.find((o) => o.committed)!.dispatch.job_id;
      expect(new Set(outs.map((o) => o.dispatch.job_id))).toEqual(new Set([winner]));
      expect((await store.listJobs()).map((j) => j.job_id)).toEqual([winner]);

      await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const d = dispatch('s', null, `ev-${i}`, { reason: 'event', event_id: `concurrent-event-${i}` });
          return store.schedules.commitDispatch({ schedule_id: 's', dispatch: d, job: { job_id: `ev-${i}`, manifest: {}, job: anyJob() }, counters: { dispatched: 1 } });
        }),
      );
      const s = (await store.schedules.get('s'))!;
      expect(s.counters.dispatched).toBe(13);
      expect(s.dispatches.length).toBe(13);
      expect(new Set(s.dispatches.map((d) => d.job_id)).size).toBe(13);
      expect(s.active_job_ids.length).toBe(13);
    });

    it('a stale leader cannot commit: the fence is checked in the same step', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      const first = (await store.acquireLease('leader', 'old', 60_000))!;
      await store.releaseLease('leader', 'old', first.token);
      const second = (await store.acquireLease('leader', 'new', 60_000))!;
      const d = dispatch('s', '2026-05-24T10:05:00.000Z', 'job-stale');
      const stale = await failure(store.schedules.commitDispatch({ schedule_id: 's', dispatch: d, job: { job_id: 'job-stale', manifest: {}, job: anyJob() } }, { lease: 'leader', token: first.token }));
      expect(isMnError(stale, 'MN_E_FENCED')).toBe(true);
      expect(await store.getJob('job-stale')).toBeNull();
      expect((await store.schedules.get('s'))!.dispatches).toEqual([]);
      const ok = await store.schedules.commitDispatch({ schedule_id: 's', dispatch: d, job: { job_id: 'job-stale', manifest: {}, job: anyJob() } }, { lease: 'leader', token: second.token });
      expect(ok.committed).toBe(true);
      const gone = await failure(store.schedules.commitDispatch({ schedule_id: 'nope', dispatch: d }));
      expect(isMnError(gone, 'MN_E_NOT_FOUND')).toBe(true);
    });

    it('a job id that exists refuses the commit without recording it', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      await store.createJob({ job_id: 'taken', manifest: {}, job: anyJob() });
      const d = dispatch('s', '2026-05-24T10:05:00.000Z', 'taken');
      expect(isMnError(await failure(store.schedules.commitDispatch({ schedule_id: 's', dispatch: d, job: { job_id: 'taken', manifest: {}, job: anyJob() } })), 'MN_E_CONFLICT')).toBe(true);
      expect((await store.schedules.get('s'))!.dispatches).toEqual([]);
    });

    it('records failed dispatches without a job, prunes active ids, keeps the 50 newest dispatches', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      await store.schedules.commitDispatch({ schedule_id: 's', dispatch: dispatch('s', '2026-05-24T09:00:00.000Z', 'j-old'), job: { job_id: 'j-old', manifest: {}, job: anyJob() } });
      const failed = dispatch('s', '2026-05-24T09:05:00.000Z', null, { error: 'invalid manifest: nodes: required' });
      await store.schedules.commitDispatch({ schedule_id: 's', dispatch: failed, counters: { failed: 1 }, prune: ['j-old'], set: { next_run_at: '2026-05-24T09:10:00.000Z' } });
      const s = (await store.schedules.get('s'))!;
      expect(s.active_job_ids).toEqual([]);
      expect(s.counters.failed).toBe(1);
      expect(s.dispatches[0]).toEqual(failed);
      for (let i = 0; i < 55; i++) {
        await store.schedules.commitDispatch({ schedule_id: 's', dispatch: dispatch('s', new Date(NOW + i * 60_000).toISOString(), null) });
      }
      const after = (await store.schedules.get('s'))!;
      expect(after.dispatches.length).toBe(50);
      expect(after.dispatches[0]!.scheduled_for).toBe(new Date(NOW + 54 * 60_000).toISOString());
    });

    it('closes a dispatch (window) and drops its job from the active ids', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      const d = dispatch('s', '2026-05-24T10:05:00.000Z', 'j1', { window_end_at: '2026-05-24T11:05:00.000Z' });
      await store.schedules.commitDispatch({ schedule_id: 's', dispatch: d, job: { job_id: 'j1', manifest: {}, job: anyJob() } });
      await store.schedules.closeDispatch('s', d.dispatch_id, { status: 'window_closed', closed_at: '2026-05-24T11:05:01.000Z' });
      const s = (await store.schedules.get('s'))!;
      expect(s.dispatches[0]).toEqual({ ...d, status: 'window_closed', closed_at: '2026-05-24T11:05:01.000Z' });
      expect(s.active_job_ids).toEqual([]);
      expect(isMnError(await failure(store.schedules.closeDispatch('s', 'dispatch_nope', { status: 'window_closed' })), 'MN_E_NOT_FOUND')).toBe(true);
    });

    it('prunes ended jobs from the active ids', async () => {
      await store.schedules.create(record('s'), BUNDLE);
      for (const id of ['j1', 'j2', 'j3']) {
        await store.schedules.commitDispatch({ schedule_id: 's', dispatch: dispatch('s', `2026-05-24T10:0${id.slice(1)}:00.000Z`, id), job: { job_id: id, manifest: {}, job: anyJob() } });
      }
      await store.schedules.pruneActive('s', ['j1', 'j3', 'unknown']);
      expect((await store.schedules.get('s'))!.active_job_ids).toEqual(['j2']);
      await store.schedules.pruneActive('s', []);
      await store.schedules.pruneActive('nope', ['j2']);
      expect((await store.schedules.get('s'))!.active_job_ids).toEqual(['j2']);
    });

    it('deletes a schedule with its index entry and bundle', async () => {
      await store.schedules.create(record('s', { cron: '1 10 * * *' }), BUNDLE);
      expect(await store.schedules.delete('s')).toBe(true);
      expect(await store.schedules.get('s')).toBeNull();
      expect(await store.schedules.bundle('s')).toBeNull();
      expect(await store.schedules.nextDueAt()).toBeNull();
      expect(await store.schedules.delete('s')).toBe(false);
    });

    it('keeps the 1,000 newest trigger events, newest first', async () => {
      const ev = (i: number): TriggerEvent => ({ event_id: `event_${i}`, event_type: 'demo', source: 'test', payload: { i }, created_at: new Date(NOW + i).toISOString() });
      for (let i = 0; i < 1005; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => (i + k < 1005 ? store.schedules.appendEvent(ev(i + k)) : Promise.resolve())));
      const all = await store.schedules.listEvents(5000);
      expect(all.length).toBe(1000);
      const ids = new Set(all.map((e) => e.event_id));
      expect(ids.has('event_0')).toBe(false);
      expect(ids.has('event_1004')).toBe(true);
      const top = await store.schedules.listEvents(3);
      expect(top.length).toBe(3);
      expect(await store.schedules.listEvents(0)).toEqual([]);
    });
  });
}
