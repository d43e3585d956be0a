/**
 * The schedule part of the {@link Store} (spec §7, §8.2): schedule records with their archived
 * bundle, an index of due times, the dispatch history (50 newest), the active child jobs, the
 * counters, and the trigger events (1,000 newest). Both stores pass one contract suite
 * (`test/integration/store/schedule-contract.ts`).
 *
 * Exactly-once dispatch: {@link ScheduleStore.commitDispatch} creates the child job, records the
 * dispatch, advances the schedule and claims the dispatch token in one atomic step (one Lua
 * script in Redis). A second commit of the same token, by any daemon, at any time within the
 * token's retention, creates nothing and returns the first one's dispatch.
 */
import type { ScheduleBundle, ScheduleCounters, ScheduleDispatch, SchedulePatch, ScheduleRecord, ScheduleStatus, TriggerEvent } from '../core/schedules/records.js';
import type { Fence, NewJob, WriteGuard } from './store.js';

/** How long a dispatch token is remembered (the retention of terminal jobs, 7 days). */
export const DISPATCH_TOKEN_TTL_MS = 7 * 24 * 3600 * 1000;

export interface ScheduleQuery {
  kind?: ScheduleRecord['kind'];
  status?: ScheduleStatus;
  enabled?: boolean;
}

/** One dispatch to commit (see {@link ScheduleStore.commitDispatch}). */
export interface DispatchCommit {
  schedule_id: string;
  /** The instance's record; `token` is its idempotency key. */
  dispatch: ScheduleDispatch;
  /** The child job to create with it (absent for a failed dispatch). */
  job?: NewJob;
  /** Schedule fields that change with this dispatch (next_run_at, status, enabled, ...). */
  set?: SchedulePatch;
  /** Counter increments. */
  counters?: Partial<ScheduleCounters>;
  /** Active job ids to drop (terminal or missing jobs pruned at dispatch time). */
  prune?: string[];
}

export interface DispatchOutcome {
  /** False when the token was committed before: nothing was written. */
  committed: boolean;
  /** The dispatch recorded under the token (the earlier one when not committed). */
  dispatch: ScheduleDispatch;
}

export interface ScheduleStore {
  /** Creates a schedule (`MN_E_CONFLICT` if the id exists) with its archived bundle. */
  create(record: ScheduleRecord, bundle: ScheduleBundle): Promise<ScheduleRecord>;
  /** The schedule with its dispatches (newest first), active job ids and counters, or null. */
  get(id: string): Promise<ScheduleRecord | null>;
  /** The archived bundle of a schedule, or null. */
  bundle(id: string): Promise<ScheduleBundle | null>;
  /** Schedules, oldest first, filtered by kind, status and enabled. */
  list(query?: ScheduleQuery): Promise<ScheduleRecord[]>;
  /**
   * Applies `patch`, bumps `version`, and keeps the due index in step (indexed while active with
   * a next run). `expectedVersion` and `fence` as for jobs; `counters` are added in the same step
   * (a missed or blocked run). `MN_E_NOT_FOUND`.
   */
  update(id: string, patch: SchedulePatch, guard?: WriteGuard, counters?: Partial<ScheduleCounters>): Promise<ScheduleRecord>;
  /** Removes a schedule, its bundle, history and index entry; false when unknown. */
  delete(id: string): Promise<boolean>;
  /** Ids of schedules due at `now` (index score ≤ now), earliest first, at most `limit`. */
  due(now: number, limit: number): Promise<string[]>;
  /** The earliest indexed due time (epoch ms), or null. */
  nextDueAt(): Promise<number | null>;
  /**
   * Commits a dispatch atomically (see the module comment). Fenced by the leader lease when the
   * leader's sweep dispatches: a stale leader writes nothing (`MN_E_FENCED` / `MN_E_LEASE_LOST`).
   * `MN_E_NOT_FOUND` when the schedule is gone.
   */
  commitDispatch(commit: DispatchCommit, fence?: Fence): Promise<DispatchOutcome>;
  /**
   * Drops job ids from the active set (jobs that ended: a job never becomes active again, so
   * this needs no fence or version).
   */
  pruneActive(id: string, jobIds: readonly string[]): Promise<void>;
  /** Changes one recorded dispatch (a window closing it) and drops its job from the active ids. */
  closeDispatch(id: string, dispatchId: string, patch: Pick<ScheduleDispatch, 'status'> & Partial<ScheduleDispatch>, fence?: Fence): Promise<void>;
  /** Appends an emitted event; only the 1,000 newest are kept. */
  appendEvent(event: TriggerEvent): Promise<void>;
  /** The newest events first, at most `limit`. */
  listEvents(limit: number): Promise<TriggerEvent[]>;
}
