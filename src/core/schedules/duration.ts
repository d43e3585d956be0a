/**
 * CLI durations for `--in` and `--window` (spec §7.6): a number with a unit `ms`, `s`, `m`, `h`
 * or `d`; a bare number means seconds.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `text`, or an error naming the problem. */
export function parseDuration(text: string): { ok: true; ms: number } | { ok: false; message: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return { ok: false, message: `${JSON.stringify(text)} is not a duration (a number with ms, s, m, h or d; a bare number is seconds)` };
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
  if (!Number.isSafeInteger(ms)) return { ok: false, message: `${JSON.stringify(text)} is too long` };
  return { ok: true, ms };
}
