/**
 * The service monitor of one daemon (spec §5.5): runs the checks of the instances registered on
 * its own machine, each check on its own `interval_ms`, many at once but bounded, none waiting
 * for another; writes the damped results and the aggregated status to the registry; asks for an
 * agent restart when a check's `check_restart` is due.
 *
 * Checks are asynchronous I/O (sockets, HTTP, the gRPC health call) or processes spawned by the
 * launcher process, so the daemon's event loop only ever schedules them.
 */
import { DueQueue } from '../core/services/due-queue.js';
import { aggregateStatus, checkRestartDue, reportCheck } from '../core/services/health.js';
import type { InstanceCheck } from '../core/services/instance.js';
import type { CheckResult, ServiceRecord } from '../core/services/registry.js';
import type { Launcher } from '../runtime/exec/launcher.js';
import { runCheck } from './checks/index.js';
import { serviceChecks } from '../observability/metrics.js';
import type { ServiceDirectory } from './directory.js';

export interface ServiceMonitorOptions {
  directory: ServiceDirectory;
  node: string;
  launcher: Launcher;
  /** Working directory of script checks. */
  cwd: string;
  now?: () => number;
  /** How often the machine's instances are read again (default 1000 ms). */
  refreshMs?: number;
  /** Delay of an instance's first check (spec: 100 ms). */
  firstCheckMs?: number;
  /** Checks running at once (default 128). */
  maxInFlight?: number;
  /** An unchanged result is still written this often, to keep `last_check_at` fresh (default 10000 ms). */
  rewriteMs?: number;
  /** A check's `check_restart` is due for the instance's agent. */
  onCheckRestart?: (record: ServiceRecord, check: InstanceCheck, reason: string) => void;
  onError?: (error: unknown) => void;
}

interface CheckState {
  check: InstanceCheck;
  nextAt: number;
  running: boolean;
  last: CheckResult | undefined;
  /** Critical results since the check's restart grace ended (and since the last restart it asked for). */
  criticalSinceGrace: number;
}

interface Watched {
  record: ServiceRecord;
  checks: CheckState[];
  lastWriteAt: number;
  lastWritten: string;
  /** When this monitor last asked for the agent's restart: its grace counts from then until the re-registration is read. */
  restartAskedAt: number;
}

/** Longest sleep of the scheduler between two looks at what is due. */
const MAX_IDLE_MS = 250;
/** Check starts whose lag the metrics report. */
const LAG_WINDOW = 10_000;

/** What the monitor reports in the daemon's metrics. */
export interface MonitorMetrics {
  instances: number;
  runs: number;
  in_flight: number;
  /** How late checks started after they were due, over the newest runs. */
  lag_ms: { p50: number; p99: number; max: number };
}

export class ServiceMonitor {
  private readonly watched = new Map<string, Watched>();
  /** Checks by due time; an entry of an instance no longer watched is skipped when it comes up. */
  private readonly due = new DueQueue<{ w: Watched; state: CheckState }>();
  /** Due checks waiting for a free slot. */
  private readonly waiting: Array<{ w: Watched; state: CheckState }> = [];
  private readonly now: () => number;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private refresher: NodeJS.Timeout | null = null;
  private refreshing = false;
  private stopped = true;
  /** Checks run so far and how late each started after it was due (the newest ones). */
  private readonly stats = { runs: 0, lagMs: [] as number[] };

  constructor(private readonly o: ServiceMonitorOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Instances watched now. */
  get size(): number {
    return this.watched.size;
  }

  metrics(): MonitorMetrics {
    const lag = this.stats.lagMs.slice(-LAG_WINDOW).sort((a, b) => a - b);
    const at = (q: number): number => (lag.length === 0 ? 0 : lag[Math.min(lag.length - 1, Math.floor(q * lag.length))]!);
    return { instances: this.watched.size, runs: this.stats.runs, in_flight: this.inFlight, lag_ms: { p50: at(0.5), p99: at(0.99), max: lag[lag.length - 1] ?? 0 } };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.refresh();
    this.refresher = setInterval(() => void this.refresh(), this.o.refreshMs ?? 1000);
    this.refresher.unref();
    this.schedule(this.o.firstCheckMs ?? 100);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.refresher) clearInterval(this.refresher);
    this.timer = this.refresher = null;
  }

  /** Reads this machine's instances: new ones are watched, re-registered ones start over, removed ones are dropped. */
  async refresh(): Promise<void> {
    if (this.refreshing || this.stopped) return;
    this.refreshing = true;
    try {
      const records = await this.o.directory.list({ node: this.o.node, include_candidates: true });
      const seen = new Set<string>();
      const now = this.now();
      for (const r of records) {
        if (r.checks.length === 0) continue;
        seen.add(r.id);
        const w = this.watched.get(r.id);
        if (w && w.record.registered_at === r.registered_at) {
          w.record = { ...r, status: w.record.status };
          continue;
        }
        const fresh: Watched = {
          record: r,
          checks: r.checks.map((check) => ({ check, nextAt: now + (this.o.firstCheckMs ?? 100), running: false, last: undefined, criticalSinceGrace: 0 })),
          lastWriteAt: 0,
          lastWritten: '',
          restartAskedAt: 0,
        };
        this.watched.set(r.id, fresh);
        for (const state of fresh.checks) this.due.push(state.nextAt, { w: fresh, state });
        this.schedule(this.o.firstCheckMs ?? 100);
      }
      for (const id of [...this.watched.keys()]) if (!seen.has(id)) this.watched.delete(id);
    } catch (error) {
      this.o.onError?.(error);
    } finally {
      this.refreshing = false;
    }
  }

  /** Wakes the scheduler in `ms`, unless it is already due to wake sooner. */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.now() + Math.max(0, ms);
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, ms));
    this.timer.unref();
  }

  /** Starts every due check (up to the in-flight bound), then sleeps until the next one is due. */
  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.now();
    const max = this.o.maxInFlight ?? 128;
    for (;;) {
      const next = this.waiting.shift() ?? this.due.popDue(now);
      if (!next) break;
      if (this.watched.get(next.w.record.id) !== next.w) continue; // re-registered or removed
      if (this.inFlight >= max) {
        this.waiting.unshift(next); // started as soon as a running check ends
        return;
      }
      void this.run(next.w, next.state);
    }
    const at = this.due.peek();
    this.schedule(at === null ? MAX_IDLE_MS : Math.min(MAX_IDLE_MS, at - now));
  }

  private async run(w: Watched, state: CheckState): Promise<void> {
    const due = state.nextAt;
    state.running = true;
    this.inFlight++;
    const started = this.now();
    this.stats.runs++;
    this.stats.lagMs.push(Math.max(0, started - due));
    if (this.stats.lagMs.length > 2 * LAG_WINDOW) this.stats.lagMs.splice(0, this.stats.lagMs.length - LAG_WINDOW);
    try {
      const raw = await runCheck(state.check, w.record, { launcher: this.o.launcher, cwd: this.o.cwd });
      const now = this.now();
      const result = reportCheck(state.check, state.last ?? null, raw, now);
      state.last = result;
      serviceChecks.inc({ service: w.record.name, status: result.status });
      if (this.watched.get(w.record.id) !== w) return; // re-registered or gone meanwhile
      // The next run is due one interval after this one was due, so checks do not drift; a run that
      // overran its interval starts again at once.
      state.nextAt = Math.max(due + state.check.interval_ms, now);
      this.due.push(state.nextAt, { w, state });
      this.schedule(state.nextAt - now);
      this.restartIfDue(w, state, result, now);
      await this.write(w, now);
    } catch (error) {
      this.o.onError?.(error);
    } finally {
      state.running = false;
      this.inFlight--;
      if (this.waiting.length > 0) this.schedule(0);
    }
  }

  private restartIfDue(w: Watched, state: CheckState, result: CheckResult, now: number): void {
    const rule = state.check.check_restart;
    if (!rule || !this.o.onCheckRestart || w.record.agent_id === null) return;
    if (result.status !== 'critical') {
      state.criticalSinceGrace = 0;
      return;
    }
    const startedAt = Math.max(w.record.registered_at, w.restartAskedAt);
    if (now - startedAt >= rule.grace_ms) state.criticalSinceGrace++;
    if (!checkRestartDue(rule, state.criticalSinceGrace, startedAt, now)) return;
    for (const c of w.checks) c.criticalSinceGrace = 0;
    w.restartAskedAt = now;
    this.o.onCheckRestart(w.record, state.check, `check ${state.check.name} of service ${w.record.name} was critical ${rule.limit} times in a row: ${result.output}`);
  }

  /** Writes the instance's health when it changed, or when the last write is getting old. */
  private async write(w: Watched, now: number): Promise<void> {
    const results = w.checks.map((c) => c.last);
    const status = aggregateStatus(w.record.checks, results);
    const seen = `${status}|${results.map((r) => (r ? `${r.status}:${r.suppressed_status ?? ''}:${r.output}` : '-')).join('|')}`;
    if (seen === w.lastWritten && now - w.lastWriteAt < (this.o.rewriteMs ?? 10_000)) return;
    const checks = results.filter((r): r is CheckResult => r !== undefined);
    w.lastWritten = seen;
    w.lastWriteAt = now;
    const written = await this.o.directory.recordHealth(w.record, { status, health: { status, checks }, last_check_at: now });
    if (!written) {
      if (this.watched.get(w.record.id) === w) this.watched.delete(w.record.id);
      return;
    }
    w.record = { ...w.record, status };
  }
}
