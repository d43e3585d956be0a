import path from 'node:path';
import type { Command } from 'commander';
import { loadBundle, moduleFiles } from '../../bundle/load.js';
import { parseJson } from '../../core/json.js';
import { parseDuration } from '../../core/schedules/duration.js';
import type { ScheduleRecord, TriggerEvent } from '../../core/schedules/records.js';
import type { ApiClient } from '../client.js';
import { CliError } from '../client.js';
import { EXIT, printJson, say, table } from '../output.js';
import { readPayloads, withClient } from './job.js';

interface Opts { target?: string; json?: boolean }
type Result = { result_json: string };
type View = ScheduleRecord & { upcoming?: Array<{ utc: string; local: string }> };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function call<T>(c: ApiClient, method: string, request: object): Promise<T> {
  return JSON.parse((await c.call<Result>('job', method, request)).result_json) as T;
}

/** A bundle's manifest and files as CreateSchedule takes them; an invalid bundle exits 1 (2 when unreadable). */
async function bundleOf(target: string): Promise<{ manifest_json: string; payloads: Record<string, Buffer> }> {
  const bundle = await loadBundle(target);
  if (!bundle.ok || !bundle.manifest) {
    const lines = bundle.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`);
    throw new CliError(`${target} is not a valid bundle:\n  ${lines.join('\n  ')}`, bundle.unreadable ? EXIT.usage : EXIT.invalid);
  }
  const payloads = {
    ...(await readPayloads(bundle.root, bundle.manifestPath !== path.join(bundle.root, 'manifest.json'))),
    ...(await moduleFiles(bundle.root, bundle.manifest)),
  };
  return { manifest_json: JSON.stringify(bundle.manifest), payloads };
}

function jsonFlag(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  const parsed = parseJson(text);
  if (!parsed.ok) throw new CliError(`${flag}: ${parsed.message}`, EXIT.usage);
  return parsed.value;
}

function durationFlag(text: string, flag: string): number {
  const d = parseDuration(text);
  if (!d.ok) throw new CliError(`${flag}: ${d.message}`, EXIT.usage);
  return d.ms;
}

function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function scheduleRows(records: readonly ScheduleRecord[]): string {
  return table([
    ['ID', 'NAME', 'KIND', 'STATUS', 'WHEN', 'NEXT RUN (UTC)', 'DISPATCHED', 'ACTIVE'],
    ...records.map((r) => [r.schedule_id, r.name, r.kind, r.status, r.kind === 'periodic' ? `${r.crons.join(' | ')} ${r.timezone}` : r.kind === 'event' ? (r.trigger?.event_types.join(',') ?? '-') : r.run_at, r.next_run_at, r.counters.dispatched, r.active_job_ids.length]),
  ]);
}

function printStatus(v: View): void {
  say(`${v.schedule_id}: ${v.name} (${v.kind}, ${v.status})`);
  if (v.kind === 'periodic') say(`cron: ${v.crons.join(' | ')}  timezone: ${v.timezone}  missed policy: ${v.missed_policy}${v.missed_policy === 'catchup_all' ? ` (limit ${v.catchup_limit})` : ''}  grace: ${v.missed_grace_ms} ms`);
  if (v.kind === 'delayed') say(`run at: ${v.run_at}`);
  if (v.kind === 'event' && v.trigger) say(`event: ${v.trigger.event_types.join(', ')}  filters: ${JSON.stringify(v.trigger.filters)}`);
  say(`overlap: ${v.prohibit_overlap ? 'prohibited' : 'allowed'}  window: ${v.window.duration_ms === null ? 'none' : `${v.window.duration_ms} ms, then ${v.window.end_action}`}`);
  say(`counters: dispatched ${v.counters.dispatched}, missed ${v.counters.missed}, failed ${v.counters.failed}, blocked ${v.counters.blocked}`);
  if (v.last_blocked_reason) say(`last blocked: ${v.last_blocked_reason} at ${v.last_blocked_at}`);
  if (v.upcoming && v.upcoming.length > 0) {
    say('');
    say(table([['NEXT RUNS (UTC)', `LOCAL (${v.timezone})`], ...v.upcoming.map((u) => [u.utc, u.local])]));
  }
  if (v.active_job_ids.length > 0) say(`active jobs: ${v.active_job_ids.join(', ')}`);
  if (v.dispatches.length > 0) {
    say('');
    say(table([['DISPATCHED AT', 'SCHEDULED FOR', 'REASON', 'STATUS', 'JOB', 'ERROR'], ...v.dispatches.slice(0, 10).map((d) => [d.submitted_at, d.scheduled_for, d.reason, d.status, d.job_id, d.error])]));
  }
}

/** `mn schedule ...`, `mn trigger ...`, `mn event ...` (spec §7.5, §7.6). */
export function registerScheduleCommands(program: Command): void {
  const common = (c: Command): Command => c.option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document');
  const schedule = program.command('schedule').description('periodic and delayed runs of a bundle');

  common(schedule.command('create').description('run a bundle on cron schedules').argument('<bundle>'))
    .option('--cron <expr>', 'cron expression, five fields or @daily etc. (repeatable)', collect)
    .option('--name <name>', 'schedule name (default: the job name)')
    .option('--timezone <tz>', 'IANA time zone the cron is evaluated in (default: this machine\'s zone)')
    .option('--missed-policy <policy>', 'skip, catchup_one or catchup_all')
    .option('--catchup-limit <n>', 'most missed runs catchup_all runs')
    .option('--allow-overlap', 'start a run even while the previous one still runs')
    .option('--window <dur>', 'cancel a run this long after it started (e.g. 30m, 2h)')
    .option('--schedule-json <json>', 'the whole schedule object (spec §7.1); flags override its fields')
    .action(async (target: string, opts: Opts & { cron?: string[]; name?: string; timezone?: string; missedPolicy?: string; catchupLimit?: string; allowOverlap?: boolean; window?: string; scheduleJson?: string }) => {
      const base = jsonFlag(opts.scheduleJson, '--schedule-json');
      if (base !== undefined && (base === null || typeof base !== 'object' || Array.isArray(base))) throw new CliError('--schedule-json must be a JSON object', EXIT.usage);
      const attrs: Record<string, unknown> = { ...((base as Record<string, unknown> | undefined) ?? {}) };
      if (opts.cron?.length) attrs.crons = opts.cron;
      if (opts.name) attrs.name = opts.name;
      attrs.timezone = opts.timezone ?? attrs.timezone ?? localZone();
      if (opts.missedPolicy) attrs.missed_policy = opts.missedPolicy;
      if (opts.catchupLimit !== undefined) attrs.catchup_limit = Number(opts.catchupLimit);
      if (opts.allowOverlap) attrs.prohibit_overlap = false;
      if (opts.window) attrs.window = { ...((attrs.window as object | undefined) ?? {}), duration_ms: durationFlag(opts.window, '--window') };
      if (!attrs.kind && !attrs.cron && !attrs.crons && !attrs.run_at && !attrs.delay_ms && !attrs.event_type && !attrs.trigger) attrs.kind = 'periodic';
      const bundle = await bundleOf(target);
      const created = await withClient(opts, (c) => call<View>(c, 'CreateSchedule', { ...bundle, schedule_json: JSON.stringify(attrs), source_json: JSON.stringify({ via: 'cli', bundle: target }) }));
      if (opts.json) return printJson(created);
      say(`${created.schedule_id} created; next run ${created.next_run_at ?? '-'}${created.upcoming?.[0] ? ` (${created.upcoming[0].local})` : ''}`);
    });

  common(schedule.command('delay').description('run a bundle once, later').argument('<bundle>'))
    .option('--at <iso>', 'when, an ISO-8601 time with a zone (a time in the past runs at once)')
    .option('--in <dur>', 'after this long (e.g. 90s, 10m, 2h)')
    .option('--name <name>', 'schedule name')
    .option('--allow-overlap', 'start even while an earlier run of it still runs')
    .action(async (target: string, opts: Opts & { at?: string; in?: string; name?: string; allowOverlap?: boolean }) => {
      if ((opts.at === undefined) === (opts.in === undefined)) throw new CliError('give exactly one of --at ISO or --in DUR', EXIT.usage);
      const attrs: Record<string, unknown> = { kind: 'delayed', ...(opts.at !== undefined ? { run_at: opts.at } : { delay_ms: durationFlag(opts.in!, '--in') }), ...(opts.name ? { name: opts.name } : {}), ...(opts.allowOverlap ? { prohibit_overlap: false } : {}) };
      const bundle = await bundleOf(target);
      const created = await withClient(opts, (c) => call<View>(c, 'CreateSchedule', { ...bundle, schedule_json: JSON.stringify(attrs), source_json: JSON.stringify({ via: 'cli', bundle: target }) }));
      if (opts.json) return printJson(created);
      say(`${created.schedule_id} created; runs at ${created.run_at}`);
    });

  common(schedule.command('list').description('list schedules'))
    .option('--kind <kind>', 'periodic, delayed or event')
    .option('--status <status>', 'active, paused or completed')
    .action(async (opts: Opts & { kind?: string; status?: string }) => {
      const query = { ...(opts.kind ? { kind: opts.kind } : {}), ...(opts.status ? { status: opts.status } : {}) };
      const records = await withClient(opts, (c) => call<ScheduleRecord[]>(c, 'ListSchedules', { query_json: JSON.stringify(query) }));
      if (opts.json) return printJson(records);
      if (records.length === 0) return say('no schedules');
      say(scheduleRows(records));
    });

  common(schedule.command('status').description('a schedule, its next 5 runs (in its zone and in UTC) and its recent dispatches').argument('<schedule_id>'))
    .action(async (id: string, opts: Opts) => {
      const view = await withClient(opts, (c) => call<View>(c, 'GetSchedule', { schedule_id: id }));
      if (opts.json) return printJson(view);
      printStatus(view);
    });

  common(schedule.command('pause').description('stop dispatching a schedule').argument('<schedule_id>'))
    .option('--reason <text>', 'why')
    .action(async (id: string, opts: Opts & { reason?: string }) => {
      const r = await withClient(opts, (c) => call<ScheduleRecord>(c, 'PauseSchedule', { schedule_id: id, reason: opts.reason ?? '' }));
      if (opts.json) return printJson(r);
      say(`${r.schedule_id} ${r.status}`);
    });

  common(schedule.command('resume').description('dispatch a paused schedule again, from now on').argument('<schedule_id>'))
    .action(async (id: string, opts: Opts) => {
      const r = await withClient(opts, (c) => call<View>(c, 'ResumeSchedule', { schedule_id: id }));
      if (opts.json) return printJson(r);
      say(`${r.schedule_id} ${r.status}; next run ${r.next_run_at ?? '-'}`);
    });

  common(schedule.command('delete').description('remove a schedule (its jobs keep running)').argument('<schedule_id>'))
    .action(async (id: string, opts: Opts) => {
      const r = await withClient(opts, (c) => call<{ schedule_id: string; deleted: boolean }>(c, 'DeleteSchedule', { schedule_id: id }));
      if (opts.json) return printJson(r);
      say(`${r.schedule_id} deleted`);
    });

  common(schedule.command('run-now').description('dispatch one run now (overlap and missed rules do not apply)').argument('<schedule_id>'))
    .option('--payload-json <json>', 'initial input of every entrypoint')
    .option('--reason <text>', 'recorded reason (default manual)')
    .action(async (id: string, opts: Opts & { payloadJson?: string; reason?: string }) => {
      jsonFlag(opts.payloadJson, '--payload-json');
      const r = await withClient(opts, (c) => call<{ dispatched: number; dispatch: { job_id: string | null; status: string; error?: string } }>(c, 'DispatchSchedule', { schedule_id: id, payload_json: opts.payloadJson ?? '', reason: opts.reason ?? '' }));
      if (opts.json) return printJson(r);
      if (r.dispatch.status === 'failed') {
        say(`dispatch failed: ${r.dispatch.error ?? 'unknown'}`);
        process.exitCode = EXIT.invalid;
        return;
      }
      say(`${r.dispatch.job_id} ${r.dispatch.status}`);
    });

  const trigger = program.command('trigger').description('start a bundle when a matching event is emitted');
  common(trigger.command('create').description('an event schedule').argument('<bundle>'))
    .requiredOption('--event <type>', 'event type to match (repeatable: any of them)', collect)
    .option('--name <name>', 'trigger name')
    .option('--filter-json <json>', 'filters on the event: {"path.in.payload": value | [values] | {"prefix": s} | {"contains": s} | null}')
    .option('--allow-overlap', 'start a run even while the previous one still runs')
    .action(async (target: string, opts: Opts & { event: string[]; name?: string; filterJson?: string; allowOverlap?: boolean }) => {
      const filters = jsonFlag(opts.filterJson, '--filter-json');
      const attrs = { kind: 'event', trigger: { event_type: opts.event.length === 1 ? opts.event[0] : opts.event, ...(filters !== undefined ? { filters } : {}) }, ...(opts.name ? { name: opts.name } : {}), ...(opts.allowOverlap ? { prohibit_overlap: false } : {}) };
      const bundle = await bundleOf(target);
      const created = await withClient(opts, (c) => call<View>(c, 'CreateSchedule', { ...bundle, kind: 'event', schedule_json: JSON.stringify(attrs), source_json: JSON.stringify({ via: 'cli', bundle: target }) }));
      if (opts.json) return printJson(created);
      say(`${created.schedule_id} created; starts on ${created.trigger?.event_types.join(', ')}`);
    });

  common(trigger.command('list').description('list event triggers'))
    .action(async (opts: Opts) => {
      const records = await withClient(opts, (c) => call<ScheduleRecord[]>(c, 'ListSchedules', { query_json: JSON.stringify({ kind: 'event' }) }));
      if (opts.json) return printJson(records);
      if (records.length === 0) return say('no triggers');
      say(table([['ID', 'NAME', 'STATUS', 'EVENT', 'FILTERS', 'DISPATCHED'], ...records.map((r) => [r.schedule_id, r.name, r.status, r.trigger?.event_types.join(',') ?? '-', JSON.stringify(r.trigger?.filters ?? {}), r.counters.dispatched])]));
    });

  common(trigger.command('delete').description('remove a trigger').argument('<schedule_id>'))
    .action(async (id: string, opts: Opts) => {
      const r = await withClient(opts, (c) => call<{ schedule_id: string; deleted: boolean }>(c, 'DeleteSchedule', { schedule_id: id }));
      if (opts.json) return printJson(r);
      say(`${r.schedule_id} deleted`);
    });

  const event = program.command('event').description('emit and list trigger events');
  common(event.command('emit').description('emit an event; matching triggers start their bundles').argument('<type>'))
    .option('--payload-json <json>', 'the event payload', '{}')
    .option('--source <source>', 'who emitted it', 'cli')
    .option('--event-id <id>', 'an id that makes a retried emit start nothing new')
    .action(async (type: string, opts: Opts & { payloadJson: string; source: string; eventId?: string }) => {
      jsonFlag(opts.payloadJson, '--payload-json');
      const r = await withClient(opts, (c) => call<{ event: TriggerEvent; matched: number; dispatched: number; blocked: number; failed: number; dispatches: Array<{ job_id: string | null }> }>(c, 'EmitTriggerEvent', { event_type: type, payload_json: opts.payloadJson, source: opts.source, event_id: opts.eventId ?? '' }));
      if (opts.json) return printJson(r);
      say(`${r.event.event_id}: matched ${r.matched}, dispatched ${r.dispatched}, blocked ${r.blocked}, failed ${r.failed}`);
      for (const d of r.dispatches) if (d.job_id) say(`  ${d.job_id}`);
    });

  common(event.command('list').description('the newest events'))
    .option('--limit <n>', 'at most n events', '50')
    .action(async (opts: Opts & { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive integer, got ${JSON.stringify(opts.limit)}`, EXIT.usage);
      const events = await withClient(opts, (c) => call<TriggerEvent[]>(c, 'ListTriggerEvents', { limit }));
      if (opts.json) return printJson(events);
      if (events.length === 0) return say('no events');
      say(table([['EVENT', 'TYPE', 'SOURCE', 'CREATED', 'PAYLOAD'], ...events.map((e) => [e.event_id, e.event_type, e.source, e.created_at, JSON.stringify(e.payload).slice(0, 80)])]));
    });
}
