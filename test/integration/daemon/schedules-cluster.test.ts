/**
 * Schedules on real daemons sharing a real redis-server, driven by the test clock file
 * (`MN_SCHEDULE_CLOCK_FILE`): no test waits for schedule time. Covers the §11.8 dispatcher cases
 * end to end: missed runs per policy, catchup_all capped by catchup_limit, overlap blocked and
 * then allowed once the job ends, a window cancelling its job, a delayed schedule completing,
 * a bundle that no longer validates, run-now, triggers with filters, what a dispatched job sees,
 * and the errors of bad input.
 */
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import type { ScheduleRecord } from '../../../src/core/schedules/records.js';
import { redisConfigFromEnv } from '../../../src/store/connect.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import type { JobRecord } from '../../../src/store/store.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';
import { TestClock, createSchedule, getSchedule, quickManifest, scheduleCall, slowManifest } from '../../helpers/schedules.js';

describe('schedules on real daemons (Redis, test clock)', () => {
  let redis: RedisServer;
  let store: RedisStore;
  const daemons: AgentProcess[] = [];
  let target: string;
  const clock = new TestClock('2026-05-24T10:00:30Z');
  const NS = `sched_${randomUUID().slice(0, 6)}`;

  const jobsOf = async (scheduleId: string): Promise<JobRecord[]> => {
    const out: JobRecord[] = [];
    for (const j of await store.listJobs()) {
      const r = await store.getJob(j.job_id);
      const meta = (r?.manifest as { metadata?: { schedule_dispatch?: { schedule_id?: string } } } | undefined)?.metadata?.schedule_dispatch;
      if (r && meta?.schedule_id === scheduleId) out.push(r);
    }
    return out.sort((a, b) => String(scheduledFor(a)).localeCompare(String(scheduledFor(b))));
  };
  const scheduledFor = (r: JobRecord): string | undefined => (r.manifest as { metadata: { schedule_dispatch: { scheduled_for?: string } } }).metadata.schedule_dispatch.scheduled_for;
  /** Lets the daemons sweep at the current test time (they sweep every 50 ms). */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 400));

  beforeAll(async () => {
    redis = await startRedis();
    const env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS, MN_SCHEDULE_CLOCK_FILE: clock.file, MN_SCHEDULE_SWEEP_INTERVAL_MS: '50' };
    for (const name of ['alpha@lab', 'beta@lab']) daemons.push(await startAgent(name, { ...env, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-sched-')) }));
    target = daemons[1]!.target;
    store = await RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS }) });
  }, 90_000);

  afterAll(async () => {
    await store?.close();
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('skip: dispatches each due time once; after an outage runs only the newest within grace and counts the rest missed (#80, #83)', async () => {
    clock.set('2026-05-24T10:00:30Z');
    const s = await createSchedule(target, quickManifest('every5'), { cron: '*/5 * * * *', timezone: 'UTC', missed_grace_ms: 60_000 });
    expect(s.next_run_at).toBe('2026-05-24T10:05:00.000Z');
    await settle();
    expect(await jobsOf(s.schedule_id)).toHaveLength(0);
    clock.set('2026-05-24T10:05:10Z');
    await eventually(async () => (await jobsOf(s.schedule_id)).length === 1);
    await settle();
    expect((await jobsOf(s.schedule_id)).map(scheduledFor)).toEqual(['2026-05-24T10:05:00.000Z']);
    // 10:10, 10:15 and 10:20 are due at 10:20:30: only 10:20 is within the grace period.
    clock.set('2026-05-24T10:20:30Z');
    await eventually(async () => (await jobsOf(s.schedule_id)).length === 2);
    await settle();
    expect((await jobsOf(s.schedule_id)).map(scheduledFor)).toEqual(['2026-05-24T10:05:00.000Z', '2026-05-24T10:20:00.000Z']);
    const after = await getSchedule(target, s.schedule_id);
    expect(after.counters).toMatchObject({ dispatched: 2, missed: 2 });
    expect(after.next_run_at).toBe('2026-05-24T10:25:00.000Z');
    // Past the grace period nothing runs at all.
    clock.set('2026-05-24T10:27:00Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).counters.missed === 3);
    expect(await jobsOf(s.schedule_id)).toHaveLength(2);
    expect((await getSchedule(target, s.schedule_id)).next_run_at).toBe('2026-05-24T10:30:00.000Z');
    // Dispatched jobs are ordinary jobs: they complete.
    for (const j of await jobsOf(s.schedule_id)) await eventually(async () => (await store.getJob(j.job_id))?.status === 'completed', 20_000);
    await scheduleCall(target, 'PauseSchedule', { schedule_id: s.schedule_id, reason: 'test done' });
  });

  it('catchup_all runs every missed time in order, at most catchup_limit, the rest counted missed', async () => {
    clock.set('2026-05-24T11:00:30Z');
    const s = await createSchedule(target, quickManifest('catchup'), { cron: '* * * * *', timezone: 'UTC', missed_policy: 'catchup_all', catchup_limit: 4, prohibit_overlap: false });
    clock.set('2026-05-24T11:10:30Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).counters.dispatched === 4);
    await settle();
    const jobs = await jobsOf(s.schedule_id);
    expect(jobs.map(scheduledFor)).toEqual(['2026-05-24T11:01:00.000Z', '2026-05-24T11:02:00.000Z', '2026-05-24T11:03:00.000Z', '2026-05-24T11:04:00.000Z']);
    const after = await getSchedule(target, s.schedule_id);
    expect(after.counters).toMatchObject({ dispatched: 4, missed: 6 });
    expect(after.next_run_at).toBe('2026-05-24T11:11:00.000Z');
    await scheduleCall(target, 'PauseSchedule', { schedule_id: s.schedule_id, reason: '' });
  });

  it('overlap: a running child blocks the next run; once it ends the run is dispatched (#90, #87)', async () => {
    clock.set('2026-05-24T12:00:30Z');
    const s = await createSchedule(target, slowManifest('overlap'), { cron: '*/10 * * * *', timezone: 'UTC', missed_grace_ms: 600_000 });
    clock.set('2026-05-24T12:10:05Z');
    const [first] = await eventually(async () => {
      const jobs = await jobsOf(s.schedule_id);
      return jobs.length === 1 && jobs;
    });
    await eventually(async () => (await store.getJob(first!.job_id))?.status === 'running', 20_000);
    clock.set('2026-05-24T12:20:05Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).last_blocked_reason === 'overlap');
    await settle();
    expect(await jobsOf(s.schedule_id)).toHaveLength(1);
    const blocked = await getSchedule(target, s.schedule_id);
    expect(blocked.counters.blocked).toBe(1);
    expect(blocked.next_run_at).toBe('2026-05-24T12:20:00.000Z');
    expect(blocked.active_job_ids).toEqual([first!.job_id]);
    // The job ends: the due run goes out, and the ended job is pruned from the active ids.
    await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: first!.job_id });
    const second = await eventually(async () => {
      const jobs = await jobsOf(s.schedule_id);
      return jobs.length === 2 && jobs[1];
    });
    expect(scheduledFor(second)).toBe('2026-05-24T12:20:00.000Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).active_job_ids.join() === second.job_id);
    await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: second.job_id });
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: s.schedule_id });
  });

  it('--allow-overlap dispatches while a child still runs', async () => {
    clock.set('2026-05-24T13:00:30Z');
    const s = await createSchedule(target, slowManifest('overlap-ok'), { cron: '*/10 * * * *', timezone: 'UTC', prohibit_overlap: false });
    clock.set('2026-05-24T13:10:05Z');
    await eventually(async () => (await jobsOf(s.schedule_id)).length === 1);
    const first = (await jobsOf(s.schedule_id))[0]!;
    await eventually(async () => (await store.getJob(first.job_id))?.status === 'running', 20_000);
    clock.set('2026-05-24T13:20:05Z');
    await eventually(async () => (await jobsOf(s.schedule_id)).length === 2);
    for (const j of await jobsOf(s.schedule_id)) await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: j.job_id });
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: s.schedule_id });
  });

  it('a window cancels its job when it ends and marks the dispatch window_closed (#92)', async () => {
    clock.set('2026-05-24T14:00:30Z');
    const s = await createSchedule(target, slowManifest('windowed'), { cron: '5 14 * * *', timezone: 'UTC', window: { duration_ms: 3_600_000 } });
    clock.set('2026-05-24T14:05:10Z');
    const job = await eventually(async () => (await jobsOf(s.schedule_id))[0]);
    await eventually(async () => (await store.getJob(job.job_id))?.status === 'running', 20_000);
    const d = (await getSchedule(target, s.schedule_id)).dispatches[0]!;
    expect(d.window_end_at).toBe('2026-05-24T15:05:10.000Z');
    clock.set('2026-05-24T15:05:09Z');
    await settle();
    expect((await store.getJob(job.job_id))?.status).toBe('running');
    clock.set('2026-05-24T15:05:11Z');
    await eventually(async () => (await store.getJob(job.job_id))?.status === 'cancelled', 20_000);
    const after = await getSchedule(target, s.schedule_id);
    expect(after.dispatches[0]).toMatchObject({ status: 'window_closed', closed_at: '2026-05-24T15:05:11.000Z' });
    expect(after.active_job_ids).toEqual([]);
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: s.schedule_id });
  });

  it('a delayed schedule runs once and completes (#84, #91); a run_at in the past runs at once', async () => {
    clock.set('2026-05-24T16:00:00Z');
    const s = await createSchedule(target, quickManifest('later'), { kind: 'delayed', run_at: '2026-05-24T16:30:00Z' });
    expect(s).toMatchObject({ kind: 'delayed', next_run_at: '2026-05-24T16:30:00.000Z', status: 'active' });
    clock.set('2026-05-24T16:29:59Z');
    await settle();
    expect(await jobsOf(s.schedule_id)).toHaveLength(0);
    clock.set('2026-05-24T16:30:01Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).status === 'completed');
    expect(await getSchedule(target, s.schedule_id)).toMatchObject({ enabled: false, next_run_at: null, counters: { dispatched: 1 } });
    clock.set('2026-05-24T18:00:00Z');
    await settle();
    expect((await jobsOf(s.schedule_id)).map(scheduledFor)).toEqual(['2026-05-24T16:30:00.000Z']);
    const past = await createSchedule(target, quickManifest('past'), { run_at: '2020-01-01T00:00:00Z' });
    await eventually(async () => (await getSchedule(target, past.schedule_id)).status === 'completed');
    expect(await jobsOf(past.schedule_id)).toHaveLength(1);
  });

  it('a bundle that no longer validates records a failed dispatch with the reason and keeps its next run', async () => {
    clock.set('2026-05-24T17:00:30Z');
    const s = await createSchedule(target, quickManifest('broken'), { cron: '*/5 * * * *', timezone: 'UTC' });
    // The archived bundle no longer validates (as after a validator change).
    await store.client.set(store.keys.scheduleBundle(s.schedule_id), JSON.stringify({ manifest_json: JSON.stringify({ graph_id: 'broken', nodes: [] }), files: {} }));
    clock.set('2026-05-24T17:05:05Z');
    await eventually(async () => (await getSchedule(target, s.schedule_id)).counters.failed === 1);
    const after = await getSchedule(target, s.schedule_id);
    expect(after.dispatches[0]).toMatchObject({ status: 'failed', job_id: null, scheduled_for: '2026-05-24T17:05:00.000Z' });
    expect(after.dispatches[0]!.error).toMatch(/invalid manifest/);
    expect(after).toMatchObject({ status: 'active', next_run_at: '2026-05-24T17:10:00.000Z' });
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: s.schedule_id });
  });

  it('status shows the next 5 runs in the zone and in UTC across a DST change', async () => {
    clock.set('2026-03-06T12:00:00Z');
    const s = await createSchedule(target, quickManifest('ny'), { cron: '0 2 * * *', timezone: 'America/New_York' });
    const view = await getSchedule(target, s.schedule_id);
    expect(view.upcoming).toEqual([
      { utc: '2026-03-07T07:00:00.000Z', local: '2026-03-07 02:00:00 EST (-05:00)' },
      { utc: '2026-03-08T07:00:00.000Z', local: '2026-03-08 03:00:00 EDT (-04:00)' },
      { utc: '2026-03-09T06:00:00.000Z', local: '2026-03-09 02:00:00 EDT (-04:00)' },
      { utc: '2026-03-10T06:00:00.000Z', local: '2026-03-10 02:00:00 EDT (-04:00)' },
      { utc: '2026-03-11T06:00:00.000Z', local: '2026-03-11 02:00:00 EDT (-04:00)' },
    ]);
    // UpdateSchedule merges, re-validates and recomputes the next run; counters and id stay.
    const updated = await scheduleCall<ScheduleRecord>(target, 'UpdateSchedule', { schedule_id: s.schedule_id, attrs_json: '{"cron":"30 3 * * *","timezone":"Europe/Berlin"}' });
    expect(updated).toMatchObject({ schedule_id: s.schedule_id, crons: ['30 3 * * *'], timezone: 'Europe/Berlin', next_run_at: '2026-03-07T02:30:00.000Z', status: 'active' });
    const refused = await rawCall(target, JOB_SERVICE, 'UpdateSchedule', { schedule_id: s.schedule_id, attrs_json: '{"missed_policy":"sometimes"}' });
    expect(refused.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused.details).toContain('missed_policy');
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: s.schedule_id });
  });

  it('run-now and events: the job sees metadata.schedule_dispatch, and its initial message carries the payload (#85)', async () => {
    clock.set('2026-05-24T19:00:00Z');
    const periodic = await createSchedule(target, quickManifest('manual'), { cron: '0 0 1 1 *', timezone: 'UTC' });
    const run = await scheduleCall<{ dispatched: number; dispatch: { job_id: string; reason: string } }>(target, 'DispatchSchedule', { schedule_id: periodic.schedule_id, payload_json: '{"k":1}', reason: '' });
    expect(run).toMatchObject({ dispatched: 1, dispatch: { reason: 'manual' } });
    const manual = (await store.getJob(run.dispatch.job_id))!;
    expect(manual.job.initial_inputs).toEqual({ __entrypoints__: [{ k: 1 }] });

    const trig = await createSchedule(target, quickManifest('on-upload'), { event_type: 'demo', filters: { topic: 'alpha' } }, 'event');
    const miss = await scheduleCall<{ matched: number; dispatched: number }>(target, 'EmitTriggerEvent', { event_type: 'demo', payload_json: '{"topic":"beta"}', source: 'test' });
    expect(miss).toMatchObject({ matched: 0, dispatched: 0 });
    const hit = await scheduleCall<{ matched: number; dispatched: number; event: { event_id: string }; dispatches: Array<{ job_id: string }> }>(target, 'EmitTriggerEvent', { event_type: 'demo', payload_json: '{"topic":"alpha","n":7}', source: 'test' });
    expect(hit).toMatchObject({ matched: 1, dispatched: 1 });
    const job = (await store.getJob(hit.dispatches[0]!.job_id))!;
    const meta = (job.manifest as { metadata: { schedule_dispatch: Record<string, unknown> } }).metadata.schedule_dispatch;
    expect(meta).toMatchObject({ schedule_id: trig.schedule_id, schedule_kind: 'event', reason: 'event', payload: { topic: 'alpha', n: 7 }, event: { event_id: hit.event.event_id, event_type: 'demo', source: 'test' } });
    expect(meta.scheduled_for).toBeUndefined();
    expect(job.job.initial_inputs).toEqual({ __entrypoints__: [{ topic: 'alpha', n: 7 }] });
    await eventually(async () => (await store.getJob(job.job_id))?.status === 'completed', 30_000).catch(async (e: unknown) => {
      const events = (await store.readEvents(job.job_id)).map((x) => x.type).join(', ');
      throw new Error(`job ${job.job_id} is ${(await store.getJob(job.job_id))?.status} after events [${events}]: ${String(e)}`);
    });
    // The aggregator's result holds the init message the router passed on: the event payload.
    const result = (await store.getJob(job.job_id))!.details.result as { messages: Array<{ body: unknown }> };
    expect(JSON.stringify(result)).toContain('"topic":"alpha"');
    const events = await scheduleCall<Array<{ event_id: string }>>(target, 'ListTriggerEvents', { limit: 2 });
    expect(events.map((e) => e.event_id)[0]).toBe(hit.event.event_id);
    expect(events).toHaveLength(2);
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: trig.schedule_id });
    await scheduleCall(target, 'DeleteSchedule', { schedule_id: periodic.schedule_id });
  });

  it('refuses bad input naming the field', async () => {
    const bad = async (method: string, request: object): Promise<string> => {
      const r = await rawCall(target, JOB_SERVICE, method, request);
      expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
      return r.details;
    };
    const m = quickManifest('bad');
    expect(await bad('CreateSchedule', { manifest_json: m, schedule_json: '{"cron":"61 * * * *"}' })).toContain('invalid cron expression "61 * * * *"');
    expect(await bad('CreateSchedule', { manifest_json: m, schedule_json: '{"cron":"0 2 * * *","timezone":"Mars/Base"}' })).toContain('schedule.timezone');
    expect(await bad('CreateSchedule', { manifest_json: m, schedule_json: '{"event_type":"x","filters":[1]}', kind: 'event' })).toContain('filters');
    expect(await bad('CreateSchedule', { manifest_json: m, schedule_json: '[1]' })).toContain('schedule must be an object');
    expect(await bad('CreateSchedule', { manifest_json: m, schedule_json: '{"cron":' })).toContain('schedule_json');
    expect(await bad('CreateSchedule', { manifest_json: m })).toContain('schedule_json');
    expect(await bad('EmitTriggerEvent', { event_type: 'demo', payload_json: '{nope' })).toContain('payload_json');
    expect(await bad('EmitTriggerEvent', { event_type: 'demo', payload_json: JSON.stringify({ blob: 'x'.repeat(70_000) }) })).toContain('MN_MAX_EVENT_BYTES');
    expect(await bad('EmitTriggerEvent', { event_type: 'has space', payload_json: '{}' })).toContain('event_type');
    expect(await bad('ListSchedules', { query_json: '{"status":"sleeping"}' })).toContain('query_json.status');
    const missing = await rawCall(target, JOB_SERVICE, 'GetSchedule', { schedule_id: 'sched_nope' });
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    // The daemons are still up.
    expect((await scheduleCall<ScheduleRecord[]>(target, 'ListSchedules', {})).length).toBeGreaterThan(0);
  });
});
