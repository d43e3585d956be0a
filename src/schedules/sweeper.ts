/**
 * The leader's schedule sweep (spec §7.3): due schedules are dispatched, missed or blocked per
 * their policy, windows that ended cancel their jobs, and child jobs whose dispatching daemon
 * died before placing them are placed. The sweep wakes at the next due time (bounded by its
 * interval, which also catches schedules created on other daemons), not only on a fixed poll.
 *
 * Every write carries the leader lease's fence: a leader that was paused past its lease and
 * comes back writes nothing, and the instance it was about to dispatch is the new leader's,
 * under the same dispatch token.
 */
import { isMnError } from '../core/errors.js';
import { planDue, windowsToClose } from '../core/schedules/due.js';
import type { ScheduleRecord } from '../core/schedules/records.js';
import { iso } from '../core/schedules/timing.js';
import { jobLeaseName } from '../runtime/coordinators.js';
import type { Jobs } from '../runtime/jobs.js';
import type { Fence, Store } from '../store/store.js';
import type { Schedules } from './schedules.js';

export interface SweeperOptions {
  store: Store;
  jobs: Jobs;
  schedules: Schedules;
  /** The leader lease's fence while this daemon leads, else null. */
  leaderFence: () => Fence | null;
  /** Longest sleep between sweeps (MN_SCHEDULE_SWEEP_INTERVAL_MS, default 5000). */
  intervalMs: number;
  /** Due schedules handled per sweep. */
  batch?: number;
  /** This daemon's lease holder id (its coordinator leases carry it). */
  holderPrefix: string;
  /** A pending child job with no coordinator this long after its creation (real ms) is placed by the leader. */
  orphanAfterMs?: number;
  onError?: (error: unknown) => void;
}

/** What one sweep did (spec §7.3 "Sweep result counters"). */
export interface SweepCounts {
  checked: number;
  dispatched: number;
  skipped: number;
  failed: number;
  missed: number;
  blocked: number;
  windows_closed: number;
  placed: number;
}

export class ScheduleSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    this.schedule(this.options.intervalMs);
  }

  /** Sweeps soon (a schedule was created or resumed on this daemon). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), Math.max(0, ms));
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    let wait = this.options.intervalMs;
    try {
      if (this.options.leaderFence()) await this.sweep();
      const next = await this.options.store.schedules.nextDueAt();
      if (next !== null) wait = Math.min(wait, Math.max(0, next - this.options.schedules.clock()));
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      wait = 0;
    }
    // Never spin: a due schedule that cannot make progress (blocked by overlap) is re-checked per interval.
    this.schedule(Math.max(wait, Math.min(this.options.intervalMs, 20)));
  }

  /** One sweep as leader; public for tests. Stops at the first fenced write (leadership lost). */
  async sweep(): Promise<SweepCounts> {
    const counts: SweepCounts = { checked: 0, dispatched: 0, skipped: 0, failed: 0, missed: 0, blocked: 0, windows_closed: 0, placed: 0 };
    const { store, schedules } = this.options;
    const fence = this.options.leaderFence();
    if (!fence) return counts;
    try {
      const now = schedules.clock();
      // Job statuses once per sweep (one pipelined read), for overlap and housekeeping.
      const statuses: Record<string, string | null> = {};
      for (const j of await store.listJobs()) statuses[j.job_id] = j.status;
      const statusOf = (ids: readonly string[]): Record<string, string | null> => Object.fromEntries(ids.map((id) => [id, statuses[id] ?? null]));
      for (const id of await store.schedules.due(now, this.options.batch ?? 100)) {
        const record = await store.schedules.get(id);
        if (!record) continue;
        counts.checked++;
        await this.due(record, now, statusOf(record.active_job_ids), fence, counts);
      }
      await this.housekeeping(schedules.clock(), statuses, fence, counts);
    } catch (error) {
      if (isMnError(error, 'MN_E_FENCED') || isMnError(error, 'MN_E_LEASE_LOST')) return counts;
      throw error;
    }
    return counts;
  }

  private async due(record: ScheduleRecord, now: number, statuses: Record<string, string | null>, fence: Fence, counts: SweepCounts): Promise<void> {
    const { store, schedules } = this.options;
    const decision = planDue(record, now, statuses);
    switch (decision.action) {
      case 'none':
        return;
      case 'missed':
        counts.missed += decision.missed;
        await store.schedules.update(record.schedule_id, { next_run_at: decision.next_run_at, last_missed_at: iso(now) }, { fence }, { missed: decision.missed });
        return;
      case 'blocked':
        counts.blocked++;
        await store.schedules.update(record.schedule_id, { last_blocked_reason: 'overlap', last_blocked_at: iso(now) }, { fence }, decision.count ? { blocked: 1 } : {});
        return;
      case 'dispatch': {
        let prune: string[] | undefined = record.active_job_ids.filter((j) => !decision.active_job_ids.includes(j));
        for (const inst of decision.instances) {
          const set = inst.complete
            ? { next_run_at: null, status: 'completed' as const, enabled: false, last_status_reason: 'delayed run dispatched' }
            : { next_run_at: inst.next_run_at, ...(inst.missed > 0 ? { last_missed_at: iso(now) } : {}) };
          const outcome = await schedules.dispatch(record, { scheduled_for: inst.scheduled_for, reason: inst.reason, set, ...(inst.missed > 0 ? { counters: { missed: inst.missed } } : {}), ...(prune && prune.length > 0 ? { prune } : {}) }, fence);
          prune = undefined;
          counts.missed += inst.missed;
          if (!outcome.committed) counts.skipped++;
          else if (outcome.dispatch.status === 'failed') counts.failed++;
          else counts.dispatched++;
        }
        return;
      }
    }
  }

  /** Windows that ended, and child jobs left pending by a daemon that died before placing them. */
  private async housekeeping(now: number, statuses: Record<string, string | null>, fence: Fence, counts: SweepCounts): Promise<void> {
    const { store, jobs } = this.options;
    for (const record of await store.schedules.list()) {
      const ended = record.active_job_ids.filter((j) => statuses[j] === undefined || statuses[j] === null || ['completed', 'failed', 'cancelled'].includes(statuses[j]!));
      // Only ids known to have ended: a job created after this sweep's read is not in `statuses` yet.
      const known = ended.filter((j) => statuses[j] !== undefined);
      if (known.length > 0) await store.schedules.pruneActive(record.schedule_id, known);
      for (const d of windowsToClose(record, now)) {
        const job = await store.getJob(d.job_id!);
        if (job && !['completed', 'failed', 'cancelled'].includes(job.status)) {
          await jobs.control(job.job_id, 'cancel').catch((error: unknown) => {
            if (!isMnError(error, 'MN_E_FAILED_PRECONDITION')) throw error;
          });
          await store.appendEvent(job.job_id, { type: 'schedule_window_closed', payload: { schedule_id: record.schedule_id, dispatch_id: d.dispatch_id, window_end_at: d.window_end_at } });
        }
        await store.schedules.closeDispatch(record.schedule_id, d.dispatch_id, { status: 'window_closed', closed_at: iso(now) }, fence);
        counts.windows_closed++;
      }
      for (const jobId of record.active_job_ids) {
        if (statuses[jobId] !== 'pending') continue;
        const job = await store.getJob(jobId);
        if (!job || job.status !== 'pending' || job.plan !== null) continue;
        if (Date.now() - job.created_at < (this.options.orphanAfterMs ?? 5000)) continue;
        // Held by a live daemon placing it: leave it. Free, or held here (the leader's sweep
        // adopted it after its dispatching daemon died): place it.
        const lease = await store.getLease(jobLeaseName(jobId));
        if (lease && lease.holder !== this.options.holderPrefix) continue;
        counts.placed++;
        await this.options.schedules.place(jobId);
      }
    }
  }
}
