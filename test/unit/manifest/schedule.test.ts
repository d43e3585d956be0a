import { describe, expect, it } from 'vitest';
import { ValidationContext } from '../../../src/core/manifest/context.js';
import { parseIsoTimestamp, parseSchedule, parseTriggers } from '../../../src/core/manifest/schedule.js';
import type { ScheduleSpec } from '../../../src/core/manifest/types.js';

const PREFIX = 'schedule: ';

function run(value: unknown, opts: { defaultName?: string; messagePrefix?: string } = {}) {
  const ctx = new ValidationContext();
  const spec = parseSchedule(ctx, value, 'schedule', { defaultName: opts.defaultName ?? 'nightly-job', messagePrefix: opts.messagePrefix ?? PREFIX });
  return { spec, ctx, errors: ctx.errors, messages: ctx.errors.map((e) => e.message) };
}

function ok(value: unknown): ScheduleSpec {
  const { spec, errors } = run(value);
  expect(errors).toEqual([]);
  expect(spec).not.toBeNull();
  return spec!;
}

describe('parseSchedule: defaults', () => {
  it('normalises a minimal periodic schedule', () => {
    expect(ok({ cron: '5 10 * * *' })).toEqual({
      kind: 'periodic',
      enabled: true,
      name: 'nightly-job',
      crons: ['5 10 * * *'],
      timezone: 'UTC',
      run_at: null,
      delay_ms: null,
      prohibit_overlap: true,
      missed_policy: 'skip',
      catchup_limit: 10,
      missed_grace_ms: 60000,
      window: { duration_ms: null, end_action: 'cancel' },
      trigger: null,
      parameterized: {},
      metadata: {},
    });
  });

  it('returns null without errors when absent', () => {
    for (const v of [undefined, null]) {
      const { spec, errors } = run(v);
      expect(spec).toBeNull();
      expect(errors).toEqual([]);
    }
  });

  it('rejects a non-object', () => {
    const { spec, errors } = run(['0 * * * *']);
    expect(spec).toBeNull();
    expect(errors).toEqual([{ path: 'schedule', message: 'schedule: schedule must be an object, got a list' }]);
  });

  it('keeps given fields', () => {
    const s = ok({
      name: 'hourly-report',
      enabled: false,
      crons: ['0 * * * *'],
      timezone: 'Europe/Berlin',
      prohibit_overlap: false,
      missed_policy: 'catchup_all',
      catchup_limit: 3,
      missed_grace_ms: 5000,
      window: { duration_ms: 3600000, end_action: 'none' },
      parameterized: { region: 'eu' },
      metadata: { owner: 'ml' },
    });
    expect(s).toMatchObject({
      name: 'hourly-report',
      enabled: false,
      timezone: 'Europe/Berlin',
      prohibit_overlap: false,
      missed_policy: 'catchup_all',
      catchup_limit: 3,
      missed_grace_ms: 5000,
      window: { duration_ms: 3600000, end_action: 'none' },
      parameterized: { region: 'eu' },
      metadata: { owner: 'ml' },
    });
  });

  it('warns about unknown fields', () => {
    const { ctx, errors } = run({ cron: '@daily', cron_expr: 'x' });
    expect(errors).toEqual([]);
    expect(ctx.warnings).toEqual([
      { path: 'schedule.cron_expr', message: 'schedule: schedule.cron_expr is not a schedule field and is ignored' },
    ]);
  });
});

describe('parseSchedule: kind', () => {
  it.each([
    [{ event_type: 'file_uploaded' }, 'event'],
    [{ trigger: { event_type: 'file_uploaded' } }, 'event'],
    [{ run_at: '2026-05-24T10:00:00Z' }, 'delayed'],
    [{ delay_ms: 60000 }, 'delayed'],
    [{ cron: '@hourly' }, 'periodic'],
    [{ kind: 'Delayed', delay_ms: 0 }, 'delayed'],
    [{ kind: ' EVENT ', event_type: 'x' }, 'event'],
  ])('%j → %s', (value, kind) => {
    expect(ok(value).kind).toBe(kind);
  });

  it('rejects an unknown kind', () => {
    const { messages, errors } = run({ kind: 'hourly', cron: '@hourly' });
    expect(messages).toEqual(['schedule: schedule.kind must be periodic, delayed, or event, got "hourly"']);
    expect(errors[0]!.path).toBe('schedule.kind');
    expect(run({ kind: 'resource_wait', cron: '@hourly' }).messages).toHaveLength(1);
  });
});

describe('parseSchedule: cron', () => {
  it('requires cron or crons for periodic schedules (manifest acceptance #16)', () => {
    const { errors } = run({ kind: 'periodic' });
    expect(errors).toEqual([{ path: 'schedule.cron', message: 'schedule: periodic schedules require cron or crons' }]);
    expect(run({}).messages).toEqual(['schedule: periodic schedules require cron or crons']);
    expect(run({ crons: [] }).messages).toEqual(['schedule: periodic schedules require cron or crons']);
    expect(run({ crons: ['  ', ''] }).messages).toEqual(['schedule: periodic schedules require cron or crons']);
  });

  it('trims crons, drops empties and duplicates, merges cron', () => {
    expect(ok({ crons: [' 0 * * * * ', '', '0 * * * *', '@daily'], cron: '*/5 * * * *' }).crons).toEqual([
      '0 * * * *',
      '@daily',
      '*/5 * * * *',
    ]);
    expect(ok({ crons: '0 9 * * 1-5' }).crons).toEqual(['0 9 * * 1-5']);
  });

  it('reports each invalid expression at its path', () => {
    const { errors, spec } = run({ crons: ['0 * * * *', '61 * * * *', 'nope', 7] });
    expect(errors.map((e) => e.path)).toEqual(['schedule.crons[1]', 'schedule.crons[2]', 'schedule.crons[3]']);
    expect(errors[0]!.message).toMatch(/^schedule: invalid cron expression "61 \* \* \* \*": minute value 61 is out of range 0-59$/);
    expect(errors[1]!.message).toContain('schedule: invalid cron expression "nope"');
    expect(errors[2]!.message).toBe('schedule: schedule.crons[3] must be a cron expression string, got a number');
    expect(spec!.crons).toEqual(['0 * * * *']);
  });

  it('does not also claim cron is missing when the only cron is invalid', () => {
    expect(run({ cron: '0 0 1 1 * *' }).messages).toEqual([
      expect.stringMatching(/^schedule: invalid cron expression "0 0 1 1 \* \*": expected 5 fields/),
    ]);
  });

  it('rejects crons of the wrong type', () => {
    expect(run({ crons: { a: 1 } }).messages).toEqual(['schedule: schedule.crons must be a list of cron expressions, got an object']);
  });
});

describe('parseSchedule: timezone', () => {
  it('defaults to UTC and accepts IANA zones under either spelling', () => {
    expect(ok({ cron: '@daily' }).timezone).toBe('UTC');
    expect(ok({ cron: '@daily', timezone: 'America/New_York' }).timezone).toBe('America/New_York');
    expect(ok({ cron: '@daily', time_zone: 'Asia/Tokyo' }).timezone).toBe('Asia/Tokyo');
  });

  it.each([['Mars/Olympus'], [''], [42], ['+02:00']])('rejects %j', (tz) => {
    const { errors, spec } = run({ cron: '@daily', timezone: tz });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('schedule.timezone');
    expect(errors[0]!.message).toContain('schedule: schedule.timezone must be an IANA time zone');
    expect(spec!.timezone).toBe('UTC');
  });

  it('reports the alias path', () => {
    expect(run({ cron: '@daily', time_zone: 'Nowhere/Land' }).errors[0]!.path).toBe('schedule.time_zone');
  });
});

describe('parseSchedule: delayed', () => {
  it('normalises run_at to UTC milliseconds', () => {
    expect(ok({ run_at: '2026-05-24T10:00:00Z' }).run_at).toBe('2026-05-24T10:00:00.000Z');
    expect(ok({ run_at: '2026-05-24T12:00:00+02:00' }).run_at).toBe('2026-05-24T10:00:00.000Z');
  });

  it('keeps delay_ms for the schedule service to turn into run_at', () => {
    const s = ok({ kind: 'delayed', delay_ms: 60000 });
    expect(s.delay_ms).toBe(60000);
    expect(s.run_at).toBeNull();
    expect(ok({ delay_ms: 0 }).delay_ms).toBe(0);
  });

  it('requires run_at or delay_ms', () => {
    expect(run({ kind: 'delayed' }).errors).toEqual([
      { path: 'schedule.run_at', message: 'schedule: delayed schedules require a valid run_at or delay_ms' },
    ]);
  });

  it.each([['2026-02-30T10:00:00Z'], ['2026-05-24T10:00:00'], ['tomorrow'], [1779616800000], ['2026-05-24T24:00:00Z']])(
    'rejects run_at %j',
    (runAt) => {
      const { messages } = run({ kind: 'delayed', run_at: runAt });
      expect(messages).toContain('schedule: delayed schedules require a valid run_at or delay_ms');
      expect(messages.some((m) => m.startsWith('schedule: schedule.run_at must be an ISO-8601 timestamp'))).toBe(true);
    },
  );

  it.each([[-1], ['60000'], [Number.POSITIVE_INFINITY]])('rejects delay_ms %j', (delay) => {
    const { messages } = run({ delay_ms: delay });
    expect(messages).toContain('schedule: delayed schedules require a valid run_at or delay_ms');
    expect(messages.some((m) => m.startsWith('schedule: schedule.delay_ms must be a number zero or greater'))).toBe(true);
  });

  it('rejects both run_at and delay_ms', () => {
    expect(run({ run_at: '2026-05-24T10:00:00Z', delay_ms: 5 }).messages).toEqual([
      'schedule: schedule must set run_at or delay_ms, not both',
    ]);
  });
});

describe('parseIsoTimestamp', () => {
  it.each([
    ['2026-05-24T10:00:00Z', '2026-05-24T10:00:00.000Z'],
    ['2026-05-24T10:00:00.5Z', '2026-05-24T10:00:00.500Z'],
    ['2026-05-24T10:00:00.123456Z', '2026-05-24T10:00:00.123Z'],
    ['2026-05-24T10:00Z', '2026-05-24T10:00:00.000Z'],
    ['2026-05-24 10:00:00z', '2026-05-24T10:00:00.000Z'],
    ['2026-05-24T05:30:00-0430', '2026-05-24T10:00:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseIsoTimestamp(text)).toBe(iso);
  });

  it.each(['2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-05-24T10:60:00Z', '2026-05-24T10:00:60Z', '2026-05-24', '2026-05-24T10:00:00+25:00', 'Sun, 24 May 2026 10:00:00 GMT'])(
    'rejects %s',
    (text) => {
      expect(parseIsoTimestamp(text)).toBeNull();
    },
  );
});

describe('parseSchedule: policies and window', () => {
  it('reports an unknown missed_policy instead of normalising it', () => {
    const { errors, spec } = run({ cron: '@daily', missed_policy: 'catchup_some' });
    expect(errors).toEqual([
      {
        path: 'schedule.missed_policy',
        message: 'schedule: schedule.missed_policy must be skip, catchup_one, or catchup_all, got "catchup_some"',
      },
    ]);
    expect(spec!.missed_policy).toBe('skip');
  });

  it.each(['skip', 'catchup_one', 'catchup_all'])('accepts missed_policy %s', (policy) => {
    expect(ok({ cron: '@daily', missed_policy: policy }).missed_policy).toBe(policy);
  });

  it.each([[0], [-1], [1.5], ['10']])('rejects catchup_limit and missed_grace_ms %j', (v) => {
    const { errors, spec } = run({ cron: '@daily', catchup_limit: v, missed_grace_ms: v });
    expect(errors.map((e) => e.path)).toEqual(['schedule.catchup_limit', 'schedule.missed_grace_ms']);
    expect(errors.every((e) => e.message.startsWith('schedule: '))).toBe(true);
    expect(spec!.catchup_limit).toBe(10);
    expect(spec!.missed_grace_ms).toBe(60000);
  });

  it('rejects a bad prohibit_overlap / enabled', () => {
    expect(run({ cron: '@daily', prohibit_overlap: 'no', enabled: 1 }).errors.map((e) => e.path)).toEqual([
      'schedule.enabled',
      'schedule.prohibit_overlap',
    ]);
  });

  it('validates the window', () => {
    expect(ok({ cron: '@daily', window: { duration_ms: 60000 } }).window).toEqual({ duration_ms: 60000, end_action: 'cancel' });
    expect(run({ cron: '@daily', window: { end_action: 'stop' } }).errors).toEqual([
      { path: 'schedule.window.end_action', message: 'schedule: schedule.window.end_action must be cancel or none, got "stop"' },
    ]);
    expect(run({ cron: '@daily', window: { duration_ms: 0 } }).errors.map((e) => e.path)).toEqual(['schedule.window.duration_ms']);
    expect(run({ cron: '@daily', window: { duration_ms: -5 } }).spec!.window.duration_ms).toBeNull();
    expect(run({ cron: '@daily', window: 3600 }).errors.map((e) => e.path)).toEqual(['schedule.window']);
  });

  it('requires objects for parameterized and metadata', () => {
    expect(run({ cron: '@daily', parameterized: [], metadata: 'x' }).errors.map((e) => e.path)).toEqual([
      'schedule.parameterized',
      'schedule.metadata',
    ]);
  });
});

describe('parseSchedule: event trigger', () => {
  it('reads the nested trigger', () => {
    const s = ok({
      trigger: {
        event_type: 'file_uploaded',
        filters: { path: { prefix: 'datasets/' }, kind: ['dataset', 'eval'], source: 'otterdesk', any: null, n: 3 },
        payload: 'event',
        meta_required: ['tenant'],
        meta_optional: ['trace_id'],
      },
    });
    expect(s.kind).toBe('event');
    expect(s.trigger).toEqual({
      event_types: ['file_uploaded'],
      filters: { path: { prefix: 'datasets/' }, kind: ['dataset', 'eval'], source: 'otterdesk', any: null, n: 3 },
      payload: 'event',
      meta_required: ['tenant'],
      meta_optional: ['trace_id'],
    });
  });

  it('accepts trigger fields at the top level, the type alias and lists', () => {
    expect(ok({ event_type: 'demo', filters: { topic: 'alpha' } }).trigger).toMatchObject({
      event_types: ['demo'],
      filters: { topic: 'alpha' },
    });
    expect(ok({ kind: 'event', type: ['a.b', 'c:d', 'a.b'] }).trigger!.event_types).toEqual(['a.b', 'c:d']);
    expect(ok({ trigger: { type: 'x-y_z' } }).trigger!.event_types).toEqual(['x-y_z']);
  });

  it('prefers nested trigger fields over top-level ones', () => {
    expect(ok({ event_type: 'outer', trigger: { event_type: 'inner' } }).trigger!.event_types).toEqual(['inner']);
  });

  it('requires an event type', () => {
    expect(run({ kind: 'event' }).errors).toEqual([
      { path: 'schedule.trigger.event_type', message: 'schedule: event schedules require trigger.event_type' },
    ]);
    expect(run({ trigger: { event_type: [] } }).messages).toEqual(['schedule: event schedules require trigger.event_type']);
    expect(run({ trigger: {} }).messages).toEqual(['schedule: event schedules require trigger.event_type']);
  });

  it.each([['has space'], [''], ['x'.repeat(161)], ['a/b'], ['é']])('rejects event type %j', (type) => {
    const { errors } = run({ trigger: { event_type: type } });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('schedule.trigger.event_type');
    expect(errors[0]!.message).toContain('must match ^[a-zA-Z0-9_.:-]{1,160}$');
  });

  it('accepts a 160-character event type', () => {
    expect(ok({ event_type: 'x'.repeat(160) }).trigger!.event_types).toEqual(['x'.repeat(160)]);
  });

  it('addresses bad list items by index', () => {
    expect(run({ event_type: ['ok', 'not ok', 5] }).errors.map((e) => e.path)).toEqual([
      'schedule.event_type[1]',
      'schedule.event_type[2]',
    ]);
  });

  it('rejects filter objects other than prefix/contains', () => {
    const { errors } = run({ event_type: 'x', filters: { path: { regex: '.*' }, n: { prefix: 3 }, m: { prefix: 'a', contains: 'b' }, ok: { contains: 'z' } } });
    expect(errors.map((e) => e.path)).toEqual(['schedule.filters.path', 'schedule.filters.n', 'schedule.filters.m']);
    expect(run({ event_type: 'x', filters: [] }).errors.map((e) => e.path)).toEqual(['schedule.filters']);
  });

  it('rejects a trigger that is not an object and a non-string payload', () => {
    expect(run({ kind: 'event', trigger: 'demo' }).errors.map((e) => e.path)).toEqual([
      'schedule.trigger',
      'schedule.trigger.event_type',
    ]);
    expect(run({ event_type: 'x', payload: { a: 1 } }).errors.map((e) => e.path)).toEqual(['schedule.payload']);
  });

  it('has no trigger for other kinds', () => {
    expect(ok({ cron: '@daily' }).trigger).toBeNull();
  });
});

describe('parseSchedule: message prefix', () => {
  it('prefixes every error and warning, and leaves paths alone', () => {
    const ctx = new ValidationContext();
    parseSchedule(
      ctx,
      { kind: 'nope', crons: ['x'], timezone: 'X/Y', missed_policy: 1, catchup_limit: 0, window: { end_action: 1 }, bogus: 1 },
      'schedule',
      { defaultName: 'j', messagePrefix: 'schedule: ' },
    );
    expect(ctx.errors.length).toBeGreaterThanOrEqual(6);
    for (const issue of [...ctx.errors, ...ctx.warnings]) {
      expect(issue.message.startsWith('schedule: ')).toBe(true);
      expect(issue.path.startsWith('schedule')).toBe(true);
    }
  });

  it('adds no prefix when none is given', () => {
    const ctx = new ValidationContext();
    parseSchedule(ctx, { kind: 'periodic' }, 'schedule', { defaultName: 'j' });
    expect(ctx.errors[0]!.message).toBe('periodic schedules require cron or crons');
  });
});

describe('parseTriggers', () => {
  function triggers(value: unknown) {
    const ctx = new ValidationContext();
    const list = parseTriggers(ctx, value, 'triggers');
    return { list, errors: ctx.errors };
  }

  it('parses named and unnamed triggers as event schedules', () => {
    const { list, errors } = triggers([
      { name: 'on-upload', event_type: 'file_uploaded', filters: { path: { prefix: 'datasets/' } } },
      { trigger: { type: 'demo' }, prohibit_overlap: false },
    ]);
    expect(errors).toEqual([]);
    expect(list.map((t) => [t.name, t.kind, t.trigger.event_types, t.prohibit_overlap])).toEqual([
      ['on-upload', 'event', ['file_uploaded'], true],
      ['trigger-1', 'event', ['demo'], false],
    ]);
  });

  it('forces kind event even without trigger fields', () => {
    const { list, errors } = triggers([{ name: 't', run_at: '2026-05-24T10:00:00Z' }]);
    expect(list[0]!.kind).toBe('event');
    expect(list[0]!.trigger).toEqual({ event_types: [], filters: {}, payload: null, meta_required: [], meta_optional: [] });
    expect(errors).toEqual([{ path: 'triggers[0].trigger.event_type', message: 'trigger t: event schedules require trigger.event_type' }]);
  });

  it('rejects another kind', () => {
    expect(triggers([{ name: 'p', kind: 'periodic', event_type: 'x' }]).errors).toEqual([
      { path: 'triggers[0].kind', message: 'trigger p: triggers[0].kind must be event, got "periodic"' },
    ]);
  });

  it('prefixes messages with the trigger name', () => {
    const { errors } = triggers([{ event_type: 'ok' }, { name: 'bad-one', event_type: 'no spaces please' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('triggers[1].event_type');
    expect(errors[0]!.message).toMatch(/^trigger bad-one: triggers\[1\]\.event_type must match/);
  });

  it('reports duplicate names, non-object entries and a non-list', () => {
    const { list, errors } = triggers([{ name: 'a', event_type: 'x' }, { name: 'a', event_type: 'y' }, 'nope']);
    expect(errors).toEqual([
      { path: 'triggers[1].name', message: 'trigger a: duplicate trigger name "a"' },
      { path: 'triggers[2]', message: 'trigger trigger-2: triggers[2] must be an object, got a string' },
    ]);
    expect(list).toHaveLength(2);
    expect(triggers({ a: 1 }).errors).toEqual([{ path: 'triggers', message: 'triggers must be a list, got an object' }]);
    expect(triggers(undefined)).toEqual({ list: [], errors: [] });
  });
});
