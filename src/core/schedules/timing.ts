/**
 * When a schedule is due (spec §7.1, §7.2 with real time zones). Cron expressions are evaluated
 * as wall-clock time in the schedule's IANA `timezone` by `cron-parser` (see `nextCronFire`).
 *
 * DST rule (documented in README "Schedules"): a wall time that a spring-forward change skips
 * (02:30 on the night clocks jump from 02:00 to 03:00) fires once, at the first instant after
 * the gap (03:00 local); a wall time that a fall-back change repeats (01:30 happens twice) fires
 * once, at its first occurrence. `0 2 * * *` therefore runs exactly once every local day.
 * Expressions whose hour field is `*` (hourly, minute steps) keep real-time spacing through the
 * repeated hour instead, as Vixie cron does for wildcard jobs.
 */
import { nextCronFire, parseCron } from '../schedule/cron.js';

/** Most cron times enumerated for one decision (bounds the work of a long outage). */
export const MAX_ENUMERATED_TIMES = 10_000;

/** The first fire time of any of `crons` strictly after `afterMs`, in epoch ms, or null. */
export function nextFire(crons: readonly string[], timezone: string, afterMs: number): number | null {
  let best: number | null = null;
  for (const expr of crons) {
    const parsed = parseCron(expr);
    const fixedHours = parsed.ok && parsed.fields.hour.length < 24;
    let t = nextCronFire(expr, timezone, new Date(afterMs))?.getTime() ?? null;
    // A fixed-hour time inside a repeated (fall-back) hour already ran at its first occurrence.
    for (let guard = 0; fixedHours && t !== null && guard < 4 && isRepeatedWallTime(t, timezone); guard++) {
      t = nextCronFire(expr, timezone, new Date(t))?.getTime() ?? null;
    }
    if (t !== null && (best === null || t < best)) best = t;
  }
  return best;
}

const wallFormats = new Map<string, Intl.DateTimeFormat>();

/** Local `YYYY-MM-DD HH:MM` of `atMs` in `timezone`. */
function wallMinute(atMs: number, timezone: string): string {
  let f = wallFormats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    wallFormats.set(timezone, f);
  }
  return f.format(new Date(atMs));
}

/** True when the wall time of `atMs` already occurred 30 or 60 minutes earlier (a fall-back repeat). */
export function isRepeatedWallTime(atMs: number, timezone: string): boolean {
  const wall = wallMinute(atMs, timezone);
  return wallMinute(atMs - 3_600_000, timezone) === wall || wallMinute(atMs - 1_800_000, timezone) === wall;
}

/**
 * Every fire time from `fromMs` (inclusive: it is the stored next run) up to `untilMs`
 * (inclusive), at most `max` of them, plus whether more were left out.
 */
export function fireTimesBetween(
  crons: readonly string[],
  timezone: string,
  fromMs: number,
  untilMs: number,
  max: number = MAX_ENUMERATED_TIMES,
): { times: number[]; truncated: boolean } {
  const times: number[] = [];
  let t: number | null = fromMs;
  while (t !== null && t <= untilMs) {
    if (times.length >= max) return { times, truncated: true };
    times.push(t);
    t = nextFire(crons, timezone, t);
  }
  return { times, truncated: false };
}

/** The next `count` fire times after `afterMs` (for `mn schedule status`). */
export function upcomingFires(crons: readonly string[], timezone: string, afterMs: number, count: number): number[] {
  const out: number[] = [];
  let t = afterMs;
  for (let i = 0; i < count; i++) {
    const next = nextFire(crons, timezone, t);
    if (next === null) break;
    out.push(next);
    t = next;
  }
  return out;
}

/**
 * `at` as wall-clock time in `timezone` with its UTC offset, e.g. `2026-03-08 03:00:00 EDT (-04:00)`.
 */
export function formatInZone(atMs: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(atMs));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const offsetParts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' }).formatToParts(new Date(atMs));
  const offset = (offsetParts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${get('timeZoneName')} (${offset})`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function ms(isoText: string | null): number | null {
  if (isoText === null) return null;
  const t = Date.parse(isoText);
  return Number.isNaN(t) ? null : t;
}
