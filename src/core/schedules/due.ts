/**
 * What the leader does with a due schedule (spec §7.3), as a pure decision over the record, the
 * time and the statuses of its active child jobs.
 *
 * Every instance carries the `next_run_at` to commit with it: the next instance's time, and for
 * the last one the next fire after now. An instance and the schedule's advance are committed
 * together, so a leader that dies between instances leaves the rest due, never lost.
 */
import type { DispatchReason, ScheduleRecord } from './records.js';
import { fireTimesBetween, iso, ms, nextFire } from './timing.js';

/** Statuses after which a child job no longer counts for overlap. */
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** One instance to dispatch. */
export interface DueInstance {
  scheduled_for: string;
  reason: DispatchReason;
  /** `next_run_at` committed with this instance. */
  next_run_at: string | null;
  /** Missed times counted with this instance (the first one carries them). */
  missed: number;
  /** Delayed schedules complete with their run. */
  complete: boolean;
}

export type DueDecision =
  | { action: 'none'; reason: 'inactive' | 'not_due' }
  /** Nothing runs; the schedule moves on to its next fire after now. */
  | { action: 'missed'; missed: number; next_run_at: string | null }
  /** A previous child job still runs and overlap is prohibited; `count` says whether to count this block. */
  | { action: 'blocked'; active_job_ids: string[]; count: boolean }
  | { action: 'dispatch'; instances: DueInstance[]; active_job_ids: string[] };

/**
 * Child jobs that still count for overlap: ids whose job is missing or terminal are pruned.
 * `statuses` maps each of `active_job_ids` to its job's status, or null when the job is gone.
 */
export function liveChildren(activeJobIds: readonly string[], statuses: Readonly<Record<string, string | null>>): string[] {
  return activeJobIds.filter((id) => {
    const s = statuses[id];
    return s !== null && s !== undefined && !TERMINAL.has(s);
  });
}

/** The due decision for `record` at `now` (epoch ms). */
export function planDue(record: ScheduleRecord, now: number, statuses: Readonly<Record<string, string | null>>): DueDecision {
  if (!record.enabled || record.status !== 'active' || record.kind === 'event') return { action: 'none', reason: 'inactive' };
  const dueAt = ms(record.next_run_at);
  if (dueAt === null || dueAt > now) return { action: 'none', reason: 'not_due' };
  const live = liveChildren(record.active_job_ids, statuses);

  if (record.kind === 'delayed') {
    if (record.prohibit_overlap && live.length > 0) return blocked(record, live, dueAt);
    return { action: 'dispatch', active_job_ids: live, instances: [{ scheduled_for: iso(dueAt), reason: 'delayed', next_run_at: null, missed: 0, complete: true }] };
  }

  const after = nextFire(record.crons, record.timezone, now);
  const nextAfterNow = after === null ? null : iso(after);
  const { times, truncated } = fireTimesBetween(record.crons, record.timezone, dueAt, now);
  // `times[0]` is the stored next run; an empty list only happens when the stored time is not a fire time of the crons any more.
  if (times.length === 0) times.push(dueAt);

  if (record.missed_policy === 'skip') {
    // The newest due time runs if it is within the grace period; older ones are missed.
    const newest = times[times.length - 1]!;
    const older = times.length - 1 + (truncated ? 1 : 0);
    if (now - newest > record.missed_grace_ms) return { action: 'missed', missed: older + 1, next_run_at: nextAfterNow };
    if (record.prohibit_overlap && live.length > 0) return blocked(record, live, dueAt);
    return { action: 'dispatch', active_job_ids: live, instances: [{ scheduled_for: iso(newest), reason: 'periodic', next_run_at: nextAfterNow, missed: older, complete: false }] };
  }

  if (record.prohibit_overlap && live.length > 0) return blocked(record, live, dueAt);
  if (record.missed_policy === 'catchup_one') {
    // One run stands for every missed time: the oldest, so its scheduled_for says how late it is.
    return { action: 'dispatch', active_job_ids: live, instances: [{ scheduled_for: iso(times[0]!), reason: 'periodic', next_run_at: nextAfterNow, missed: times.length - 1 + (truncated ? 1 : 0), complete: false }] };
  }
  // catchup_all: every due time, oldest first, at most catchup_limit; the rest are missed.
  const run = times.slice(0, record.catchup_limit);
  const dropped = times.length - run.length + (truncated ? 1 : 0);
  const instances: DueInstance[] = run.map((t, i) => ({
    scheduled_for: iso(t),
    reason: 'periodic',
    next_run_at: i + 1 < run.length ? iso(run[i + 1]!) : nextAfterNow,
    missed: i === run.length - 1 ? dropped : 0,
    complete: false,
  }));
  return { action: 'dispatch', active_job_ids: live, instances };
}

function blocked(record: ScheduleRecord, live: string[], dueAt: number): DueDecision {
  // A block is counted once per due time, however many sweeps see it.
  const since = ms(record.last_blocked_at);
  const count = !(record.last_blocked_reason === 'overlap' && since !== null && since >= dueAt);
  return { action: 'blocked', active_job_ids: live, count };
}

/** Dispatches whose window has ended and whose job is to be cancelled (spec §7.3 step 6). */
export function windowsToClose(record: ScheduleRecord, now: number): ScheduleRecord['dispatches'] {
  if (record.window.end_action !== 'cancel') return [];
  return record.dispatches.filter((d) => {
    const end = ms(d.window_end_at);
    return d.status === 'submitted' && d.job_id !== null && end !== null && end <= now;
  });
}

/** When a job dispatched at `now` must end (its window), or null. */
export function windowEnd(record: ScheduleRecord, now: number): string | null {
  return record.window.duration_ms === null ? null : iso(now + record.window.duration_ms);
}
