/**
 * Health decisions of service checks (spec §5.3, §5.4): flap damping, status aggregation, which
 * HTTP statuses pass, and when a check's `check_restart` restarts its agent. Pure.
 */
import type { CheckRestart } from '../manifest/types.js';
import type { CheckResult, ServiceStatus } from './registry.js';

/** What one run of a check found, before damping. */
export interface RawCheckResult {
  ok: boolean;
  /** A short reason (failure) or the start of the output (success). */
  output: string;
}

/** Most characters of a check's output kept in the registry. */
export const MAX_CHECK_OUTPUT = 512;

/**
 * The result reported for a check run (spec §5.4): a critical run is reported as passing, marked
 * `suppressed_status: critical` and `transient_failure`, until `failuresBeforeCritical`
 * consecutive runs failed; a pass resets the count.
 */
export function reportCheck(
  check: { name: string; type: string; failures_before_critical: number },
  previous: Pick<CheckResult, 'consecutive_failures'> | null,
  raw: RawCheckResult,
  now: number,
): CheckResult {
  const output = raw.output.length > MAX_CHECK_OUTPUT ? `${raw.output.slice(0, MAX_CHECK_OUTPUT)}...` : raw.output;
  if (raw.ok) return { name: check.name, type: check.type, status: 'passing', output, checked_at: now, consecutive_failures: 0 };
  const failures = (previous?.consecutive_failures ?? 0) + 1;
  if (failures < check.failures_before_critical) {
    return { name: check.name, type: check.type, status: 'passing', output, checked_at: now, consecutive_failures: failures, suppressed_status: 'critical', transient_failure: true };
  }
  return { name: check.name, type: check.type, status: 'critical', output, checked_at: now, consecutive_failures: failures };
}

/**
 * An instance's status from its checks' reported results (spec §5.4): passing when every check
 * passes (or there are none), warning when only checks that are not required fail, critical when
 * a required one does. A check not run yet counts as `warning` (the status a new instance with
 * checks starts in).
 */
export function aggregateStatus(checks: ReadonlyArray<{ required: boolean }>, results: ReadonlyArray<CheckResult | undefined>): ServiceStatus {
  let status: ServiceStatus = 'passing';
  checks.forEach((c, i) => {
    const r = results[i];
    if (r === undefined) {
      if (status === 'passing') status = 'warning';
      return;
    }
    if (r.status !== 'critical') return;
    if (c.required) status = 'critical';
    else if (status === 'passing') status = 'warning';
  });
  return status;
}

/** Whether an HTTP status passes: within one of the ranges, or 200..399 when none are given. */
export function statusAccepted(code: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  if (ranges.length === 0) return code >= 200 && code <= 399;
  return ranges.some(([lo, hi]) => code >= lo && code <= hi);
}

/**
 * Whether a check's `check_restart` restarts its agent now: at least `limit` consecutive critical
 * results (as reported, after damping), and the agent started at least `grace_ms` ago. A critical
 * result inside the grace time does not count towards the limit either (a slow start is not a
 * failure), which the caller expresses by passing only failures since the grace ended.
 */
export function checkRestartDue(rule: CheckRestart, criticalSinceGrace: number, startedAt: number, now: number): boolean {
  return now - startedAt >= rule.grace_ms && criticalSinceGrace >= rule.limit;
}
