/**
 * The clock schedules run on. Production: the wall clock. Tests with real daemons set
 * `MN_SCHEDULE_CLOCK_FILE` to a file holding the time (epoch ms, or an ISO-8601 timestamp); the
 * test moves time by rewriting the file, so no test waits for a real minute. Only schedule
 * decisions (due times, missed runs, windows, dispatch timestamps) read this clock; leases,
 * heartbeats and jobs keep real time.
 */
import { readFileSync } from 'node:fs';

export type Clock = () => number;

/** The wall clock, or the file clock named by `MN_SCHEDULE_CLOCK_FILE`. */
export function scheduleClock(env: Readonly<Record<string, string | undefined>>): Clock {
  const file = env.MN_SCHEDULE_CLOCK_FILE?.trim();
  if (!file) return Date.now;
  return fileClock(file);
}

/**
 * A clock read from `file` at every call. An unreadable or malformed file keeps the last good
 * time (a test writing the file may be caught mid-write); before the first good read it is the
 * wall clock.
 */
export function fileClock(file: string): Clock {
  let last: number | null = null;
  return () => {
    try {
      const text = readFileSync(file, 'utf8').trim();
      const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
      if (Number.isFinite(t)) last = t;
    } catch {
      // keep the last good time
    }
    return last ?? Date.now();
  };
}
