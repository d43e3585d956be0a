import { describe, expect, it } from 'vitest';
import { CRON_SHORTCUTS, isValidCron, isValidTimeZone, nextCronFire, nextCronFireOfAny, parseCron } from '../../../src/core/schedule/cron.js';

const at = (iso: string): Date => new Date(iso);
const next = (expr: string, after: string, tz = 'UTC'): string | null => nextCronFire(expr, tz, at(after))?.toISOString() ?? null;

describe('parseCron: grammar accepts', () => {
  it.each([
    '* * * * *',
    '0 9 * * *',
    '*/15 * * * *',
    '0 0 13 * 5',
    '1-5/2 * * * *',
    '0,30 8-18 * * 1-5',
    '0 0 * * 7',
    '0 0 * * 0-7',
    '5/15 * * * *',
    '59 23 31 12 7',
    '0 0 29 2 *',
    '0 0 31 2,3 *',
    '0 0 30 2 1',
    '00 09 * * *',
    '*/60 * * * *',
  ])('%s', (expr) => {
    const r = parseCron(expr);
    expect(r.ok).toBe(true);
    expect(isValidCron(expr)).toBe(true);
  });

  it('trims and collapses whitespace', () => {
    const r = parseCron('  0   9 *\t* *  ');
    expect(r).toMatchObject({ ok: true, expression: '0 9 * * *' });
  });
});

describe('parseCron: grammar rejects', () => {
  it.each([
    ['61 * * * *', 'minute value 61 is out of range 0-59'],
    ['* 24 * * *', 'hour value 24 is out of range 0-23'],
    ['* * 0 * *', 'day-of-month value 0 is out of range 1-31'],
    ['* * 32 * *', 'day-of-month value 32 is out of range 1-31'],
    ['* * * 0 *', 'month value 0 is out of range 1-12'],
    ['* * * 13 *', 'month value 13 is out of range 1-12'],
    ['* * * * 8', 'day-of-week value 8 is out of range 0-7'],
    ['0-60 * * * *', 'minute value 60 is out of range 0-59'],
    ['0 0 1 1 * *', 'expected 5 fields'],
    ['* * * *', 'expected 5 fields'],
    ['', 'empty'],
    ['   ', 'empty'],
    ['*/0 * * * *', 'step in "*/0" must be greater than zero'],
    ['5-1 * * * *', 'minute range 5-1 is reversed'],
    ['1,,2 * * * *', 'empty list item'],
    ['1, * * * *', 'empty list item'],
    ['0 0 * * MON', 'malformed'],
    ['0 0 * JAN *', 'malformed'],
    ['? * * * *', 'malformed'],
    ['0 0 L * *', 'malformed'],
    ['0 0 * * 1#2', 'malformed'],
    ['0 0 * * 5L', 'malformed'],
    ['0 0 15W * *', 'malformed'],
    ['H * * * *', 'malformed'],
    ['-1 * * * *', 'malformed'],
    ['1- * * * *', 'malformed'],
    ['*/ * * * *', 'malformed'],
    ['*/-1 * * * *', 'malformed'],
    ['1.5 * * * *', 'malformed'],
    ['@every 5m', 'unknown shortcut'],
    ['@reboot', 'unknown shortcut'],
    ['0 0 30 2 *', 'never'],
    ['0 0 31 4,6,9,11 *', 'never'],
    ['0 0 30-31 2 *', 'never'],
  ])('%j → %s', (expr, fragment) => {
    const r = parseCron(expr);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(fragment);
    expect(isValidCron(expr)).toBe(false);
  });
});

describe('parseCron: shortcuts and fields', () => {
  it.each(Object.entries({
    '@hourly': '0 * * * *',
    '@daily': '0 0 * * *',
    '@weekly': '0 0 * * 0',
    '@monthly': '0 0 1 * *',
    '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
    '@DAILY': '0 0 * * *',
  }))('%s expands to %s', (shortcut, expansion) => {
    expect(parseCron(shortcut)).toMatchObject({ ok: true, expression: expansion });
  });

  it('lists exactly the documented shortcuts', () => {
    expect(Object.keys(CRON_SHORTCUTS).sort()).toEqual(['@annually', '@daily', '@hourly', '@monthly', '@weekly', '@yearly']);
  });

  it('expands steps, ranges and lists; folds day-of-week 7 onto 0', () => {
    const r = parseCron('*/20 1-3,22 */10 1-12/6 5-7');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields.minute).toEqual([0, 20, 40]);
    expect(r.fields.hour).toEqual([1, 2, 3, 22]);
    expect(r.fields.dayOfMonth).toEqual([1, 11, 21, 31]);
    expect(r.fields.month).toEqual([1, 7]);
    expect(r.fields.dayOfWeek).toEqual([0, 5, 6]);
  });

  it('N/step counts from N to the field maximum', () => {
    const r = parseCron('50/5 * * * *');
    expect(r.ok && r.fields.minute).toEqual([50, 55]);
  });

  it('marks day fields restricted unless they are the bare *', () => {
    const both = parseCron('0 0 13 * 5');
    expect(both.ok && [both.fields.dayOfMonthRestricted, both.fields.dayOfWeekRestricted]).toEqual([true, true]);
    const neither = parseCron('0 0 * * *');
    expect(neither.ok && [neither.fields.dayOfMonthRestricted, neither.fields.dayOfWeekRestricted]).toEqual([false, false]);
    const stepped = parseCron('0 0 */2 * *');
    expect(stepped.ok && stepped.fields.dayOfMonthRestricted).toBe(true);
  });
});

describe('isValidTimeZone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5'])('accepts %s', (tz) => {
    expect(isValidTimeZone(tz)).toBe(true);
  });
  it.each(['Not/AZone', '', '  ', 'Mars/Olympus_Mons', '+02:00'])('rejects %j', (tz) => {
    expect(isValidTimeZone(tz)).toBe(false);
  });
});

describe('nextCronFire', () => {
  it('is strictly after the reference instant, on whole minutes', () => {
    expect(next('*/15 * * * *', '2026-05-24T10:07:30Z')).toBe('2026-05-24T10:15:00.000Z');
    expect(next('*/15 * * * *', '2026-05-24T10:15:00Z')).toBe('2026-05-24T10:30:00.000Z');
    expect(next('*/15 * * * *', '2026-05-24T10:14:59.999Z')).toBe('2026-05-24T10:15:00.000Z');
    expect(next('5 10 * * *', '2026-05-24T10:00:00Z')).toBe('2026-05-24T10:05:00.000Z');
    expect(next('5 10 * * *', '2026-05-24T10:05:00Z')).toBe('2026-05-25T10:05:00.000Z');
  });

  it('is pure: the same input gives the same output', () => {
    const after = at('2026-05-24T10:07:30Z');
    expect(nextCronFire('*/15 * * * *', 'UTC', after)?.getTime()).toBe(nextCronFire('*/15 * * * *', 'UTC', after)?.getTime());
    expect(after.toISOString()).toBe('2026-05-24T10:07:30.000Z');
  });

  it('matches day-of-month OR day-of-week when both are restricted', () => {
    // 2026-05-01 is a Friday.
    expect(next('0 0 13 * 5', '2026-05-01T00:00:00Z')).toBe('2026-05-08T00:00:00.000Z');
    expect(next('0 0 13 * 5', '2026-05-08T00:00:00Z')).toBe('2026-05-13T00:00:00.000Z');
    expect(next('0 0 13 * 5', '2026-05-13T00:00:00Z')).toBe('2026-05-15T00:00:00.000Z');
  });

  it('uses only the restricted day field when the other is *', () => {
    expect(next('0 0 13 * *', '2026-05-01T00:00:00Z')).toBe('2026-05-13T00:00:00.000Z');
    expect(next('0 0 * * 5', '2026-05-01T00:00:00Z')).toBe('2026-05-08T00:00:00.000Z');
  });

  it('treats day-of-week 7 and 0 as Sunday', () => {
    expect(next('0 0 * * 7', '2026-05-01T00:00:00Z')).toBe('2026-05-03T00:00:00.000Z');
    expect(next('0 0 * * 0', '2026-05-01T00:00:00Z')).toBe('2026-05-03T00:00:00.000Z');
  });

  it('evaluates shortcuts', () => {
    expect(next('@weekly', '2026-05-01T12:00:00Z')).toBe('2026-05-03T00:00:00.000Z');
    expect(next('@hourly', '2026-05-01T12:00:00Z')).toBe('2026-05-01T13:00:00.000Z');
    expect(next('@daily', '2026-05-01T12:00:00Z')).toBe('2026-05-02T00:00:00.000Z');
    expect(next('@monthly', '2026-05-01T12:00:00Z')).toBe('2026-06-01T00:00:00.000Z');
    expect(next('@yearly', '2026-05-01T12:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('finds a leap day years ahead', () => {
    expect(next('0 0 29 2 *', '2026-05-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('honours the time zone across DST changes (Europe/Berlin)', () => {
    // Summer time starts 2026-03-29 and ends 2026-10-25.
    expect(next('0 9 * * *', '2026-03-27T12:00:00Z', 'Europe/Berlin')).toBe('2026-03-28T08:00:00.000Z');
    expect(next('0 9 * * *', '2026-03-28T12:00:00Z', 'Europe/Berlin')).toBe('2026-03-29T07:00:00.000Z');
    expect(next('0 9 * * *', '2026-07-01T00:00:00Z', 'Europe/Berlin')).toBe('2026-07-01T07:00:00.000Z');
    expect(next('0 9 * * *', '2026-10-24T12:00:00Z', 'Europe/Berlin')).toBe('2026-10-25T08:00:00.000Z');
    expect(next('0 9 * * *', '2026-12-01T00:00:00Z', 'Europe/Berlin')).toBe('2026-12-01T08:00:00.000Z');
    // The same expression in UTC ignores all of that.
    expect(next('0 9 * * *', '2026-07-01T00:00:00Z', 'UTC')).toBe('2026-07-01T09:00:00.000Z');
  });

  it('honours the zone for the day too', () => {
    // Midnight on the 1st in New York is 04:00Z/05:00Z on the 1st, not on the day before.
    expect(next('0 0 1 * *', '2026-05-01T00:00:00Z', 'America/New_York')).toBe('2026-05-01T04:00:00.000Z');
    expect(next('0 2 * * *', '2026-01-10T00:00:00Z', 'America/New_York')).toBe('2026-01-10T07:00:00.000Z');
    expect(next('0 0 * * *', '2026-05-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-05-01T18:30:00.000Z');
  });

  it('fires a wall time skipped by spring-forward once, just after the gap', () => {
    expect(next('30 2 * * *', '2026-03-28T12:00:00Z', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z');
    expect(next('30 2 * * *', '2026-03-29T01:30:00Z', 'Europe/Berlin')).toBe('2026-03-30T00:30:00.000Z');
  });

  it('fires a wall time repeated by fall-back once', () => {
    expect(next('0 2 * * *', '2026-10-24T12:00:00Z', 'Europe/Berlin')).toBe('2026-10-25T00:00:00.000Z');
    expect(next('0 2 * * *', '2026-10-25T00:00:00Z', 'Europe/Berlin')).toBe('2026-10-26T01:00:00.000Z');
  });

  it('keeps real-time spacing for minute steps through fall-back', () => {
    const fires: string[] = [];
    let t = at('2026-10-24T23:50:00Z');
    for (let i = 0; i < 6; i++) {
      const n = nextCronFire('*/30 * * * *', 'Europe/Berlin', t)!;
      fires.push(n.toISOString().slice(11, 16));
      t = n;
    }
    expect(fires).toEqual(['00:00', '00:30', '01:00', '01:30', '02:00', '02:30']);
  });

  it('returns null for invalid input or an expression that never fires', () => {
    expect(next('61 * * * *', '2026-05-01T00:00:00Z')).toBeNull();
    expect(next('0 0 1 1 * *', '2026-05-01T00:00:00Z')).toBeNull();
    expect(next('0 0 * * MON', '2026-05-01T00:00:00Z')).toBeNull();
    expect(next('0 0 30 2 *', '2026-05-01T00:00:00Z')).toBeNull();
    expect(next('0 9 * * *', '2026-05-01T00:00:00Z', 'Not/AZone')).toBeNull();
    expect(nextCronFire('0 9 * * *', 'UTC', new Date(Number.NaN))).toBeNull();
  });
});

describe('nextCronFireOfAny', () => {
  it('takes the earliest of several expressions', () => {
    const r = nextCronFireOfAny(['0 12 * * *', '30 10 * * *', 'bad'], 'UTC', at('2026-05-24T10:00:00Z'));
    expect(r?.toISOString()).toBe('2026-05-24T10:30:00.000Z');
  });
  it('is null when nothing fires', () => {
    expect(nextCronFireOfAny([], 'UTC', at('2026-05-24T10:00:00Z'))).toBeNull();
    expect(nextCronFireOfAny(['bad'], 'UTC', at('2026-05-24T10:00:00Z'))).toBeNull();
  });
});
