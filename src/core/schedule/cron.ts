import { CronExpressionParser } from 'cron-parser';

/**
 * Cron grammar and next-fire computation (spec §7.2).
 *
 * The grammar is deliberately narrower than what `cron-parser` accepts: exactly five fields
 * (`minute hour day-of-month month day-of-week`), each a comma list of `*`, `N` or `A-B`, optionally
 * followed by `/step`, plus the `@hourly`..`@annually` shortcuts. Seconds, names (`MON`, `JAN`),
 * `?`, `L`, `W`, `#` and `H` are rejected so that an expression means the same thing here as in
 * every other cron the operator knows. Validation is ours (precise messages); evaluation is
 * delegated to `cron-parser`, which handles time zones and DST transitions.
 */

/** Field order, display names and inclusive bounds of a five-field expression. */
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

/** Shortcut → equivalent five-field expression. */
export const CRON_SHORTCUTS: Readonly<Record<string, string>> = Object.freeze({
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
});

/** Longest month length for months 1..12 (February counts its leap day). */
const MAX_MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const PART = /^(\*|\d+|\d+-\d+)(?:\/(\d+))?$/;

/** The values each field admits, after expansion (day-of-week 7 is folded onto 0). */
export interface CronFields {
  minute: number[];
  hour: number[];
  dayOfMonth: number[];
  month: number[];
  dayOfWeek: number[];
  /**
   * True when the field is not the bare `*`. When both day fields are restricted a time matches
   * if either matches; otherwise only the restricted one applies.
   */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

/** Outcome of {@link parseCron}: the normalised five-field text and its fields, or the reason it is invalid. */
export type CronParseResult =
  | { ok: true; expression: string; fields: CronFields }
  | { ok: false; reason: string };

/**
 * Parses and validates a cron expression. Surrounding whitespace is ignored and runs of inner
 * whitespace collapse to one space; shortcuts expand to their five-field form.
 */
export function parseCron(expr: string): CronParseResult {
  const trimmed = expr.trim();
  if (trimmed === '') return { ok: false, reason: 'the expression is empty' };
  if (trimmed.startsWith('@')) {
    const expansion = CRON_SHORTCUTS[trimmed.toLowerCase()];
    if (expansion === undefined) {
      return { ok: false, reason: `unknown shortcut ${trimmed} (use ${Object.keys(CRON_SHORTCUTS).join(', ')})` };
    }
    return parseCron(expansion);
  }
  const texts = trimmed.split(/\s+/);
  if (texts.length !== FIELDS.length) {
    return {
      ok: false,
      reason: `expected 5 fields (minute hour day-of-month month day-of-week), got ${texts.length}`,
    };
  }
  const values: number[][] = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const field = parseField(texts[i]!, FIELDS[i]!);
    if (typeof field === 'string') return { ok: false, reason: field };
    values.push(field);
  }
  const fields: CronFields = {
    minute: values[0]!,
    hour: values[1]!,
    dayOfMonth: values[2]!,
    month: values[3]!,
    dayOfWeek: [...new Set(values[4]!.map((d) => (d === 7 ? 0 : d)))].sort((a, b) => a - b),
    dayOfMonthRestricted: texts[2] !== '*',
    dayOfWeekRestricted: texts[4] !== '*',
  };
  // With day-of-week unrestricted only day-of-month decides; a day that no selected month has
  // (`0 0 30 2 *`) would never fire, which is a mistake worth reporting at validation time.
  if (!fields.dayOfWeekRestricted) {
    const longest = Math.max(...fields.month.map((m) => MAX_MONTH_DAYS[m - 1]!));
    if (fields.dayOfMonth.every((d) => d > longest)) {
      return { ok: false, reason: `day-of-month ${texts[2]} never occurs in month ${texts[3]}, so it never fires` };
    }
  }
  return { ok: true, expression: texts.join(' '), fields };
}

/** True when `expr` is a valid five-field expression or shortcut. */
export function isValidCron(expr: string): boolean {
  return parseCron(expr).ok;
}

function parseField(text: string, field: (typeof FIELDS)[number]): number[] | string {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') return `${field.name} field "${text}" has an empty list item`;
    const m = PART.exec(part);
    if (!m) return `${field.name} field "${text}" is malformed: "${part}" is not *, N or A-B with an optional /step`;
    const base = m[1]!;
    let lo: number;
    let hi: number;
    if (base === '*') {
      lo = field.min;
      hi = field.max;
    } else if (base.includes('-')) {
      const [a, b] = base.split('-') as [string, string];
      lo = Number(a);
      hi = Number(b);
      if (lo > hi) return `${field.name} range ${base} is reversed`;
    } else {
      lo = Number(base);
      // `N/step` counts from N up to the field's maximum.
      hi = m[2] !== undefined ? field.max : lo;
    }
    for (const v of [lo, hi]) {
      if (v < field.min || v > field.max) {
        return `${field.name} value ${v} is out of range ${field.min}-${field.max}`;
      }
    }
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) return `${field.name} step in "${part}" must be greater than zero`;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** True when `timezone` names a zone the platform's time-zone database knows (IANA names, `UTC`). */
export function isValidTimeZone(timezone: string): boolean {
  if (timezone.trim() === '') return false;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first fire time of `expr` strictly after `after`, evaluated as wall-clock time in
 * `timezone` (DST-correct: `0 9 * * *` in `Europe/Berlin` fires at 08:00Z in winter and 07:00Z in
 * summer; a wall time skipped by a spring-forward gap fires once, just after the gap; a wall time
 * repeated by a fall-back fires once). Fire times fall on whole minutes.
 *
 * Returns null when the expression or the time zone is invalid, or when the expression can never
 * fire. Callers validate with {@link parseCron} and {@link isValidTimeZone} first; this function
 * never throws.
 */
export function nextCronFire(expr: string, timezone: string, after: Date): Date | null {
  const parsed = parseCron(expr);
  if (!parsed.ok || !isValidTimeZone(timezone) || Number.isNaN(after.getTime())) return null;
  try {
    const interval = CronExpressionParser.parse(parsed.expression, { currentDate: after, tz: timezone });
    // `next()` is strictly after `currentDate`; the loop only guards that contract.
    for (let i = 0; i < 4; i++) {
      const next = interval.next().toDate();
      if (next.getTime() > after.getTime()) return next;
    }
    return null;
  } catch {
    return null;
  }
}

/** The earliest {@link nextCronFire} over several expressions (a schedule's `crons`), or null. */
export function nextCronFireOfAny(exprs: readonly string[], timezone: string, after: Date): Date | null {
  let best: Date | null = null;
  for (const expr of exprs) {
    const next = nextCronFire(expr, timezone, after);
    if (next && (best === null || next.getTime() < best.getTime())) best = next;
  }
  return best;
}
