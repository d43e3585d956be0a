import { describe, expect, it } from 'vitest';
import { aggregateStatus, checkRestartDue, reportCheck, statusAccepted, MAX_CHECK_OUTPUT } from '../../../src/core/services/health.js';
import type { CheckResult } from '../../../src/core/services/registry.js';

const check = (failures_before_critical = 1) => ({ name: 'http', type: 'http', failures_before_critical });
const pass = (): CheckResult => ({ name: 'c', type: 'tcp', status: 'passing', output: '', checked_at: 0, consecutive_failures: 0 });
const crit = (): CheckResult => ({ name: 'c', type: 'tcp', status: 'critical', output: '', checked_at: 0, consecutive_failures: 1 });

describe('check results and flap damping (spec §5.4)', () => {
  it('with the default of 1 the first failure is critical', () => {
    expect(reportCheck(check(), null, { ok: false, output: 'refused' }, 5)).toEqual({ name: 'http', type: 'http', status: 'critical', output: 'refused', checked_at: 5, consecutive_failures: 1 });
  });

  it('reports failures as passing (suppressed, transient) until failures_before_critical in a row, and resets on a pass', () => {
    let last = reportCheck(check(3), null, { ok: false, output: 'x' }, 1);
    expect(last).toMatchObject({ status: 'passing', suppressed_status: 'critical', transient_failure: true, consecutive_failures: 1 });
    last = reportCheck(check(3), last, { ok: false, output: 'x' }, 2);
    expect(last).toMatchObject({ status: 'passing', suppressed_status: 'critical', consecutive_failures: 2 });
    last = reportCheck(check(3), last, { ok: false, output: 'x' }, 3);
    expect(last).toMatchObject({ status: 'critical', consecutive_failures: 3 });
    expect(last.suppressed_status).toBeUndefined();
    last = reportCheck(check(3), last, { ok: true, output: 'ok' }, 4);
    expect(last).toEqual({ name: 'http', type: 'http', status: 'passing', output: 'ok', checked_at: 4, consecutive_failures: 0 });
    expect(reportCheck(check(3), last, { ok: false, output: 'x' }, 5)).toMatchObject({ status: 'passing', consecutive_failures: 1 });
  });

  it('cuts long output', () => {
    const r = reportCheck(check(), null, { ok: false, output: 'y'.repeat(10_000) }, 0);
    expect(r.output.length).toBe(MAX_CHECK_OUTPUT + 3);
  });

  it('aggregates: all passing → passing; only optional critical → warning; a required critical → critical; unchecked → warning', () => {
    const req = { required: true };
    const opt = { required: false };
    expect(aggregateStatus([], [])).toBe('passing');
    expect(aggregateStatus([req, opt], [pass(), pass()])).toBe('passing');
    expect(aggregateStatus([req, opt], [pass(), crit()])).toBe('warning');
    expect(aggregateStatus([req, opt], [crit(), pass()])).toBe('critical');
    expect(aggregateStatus([req, opt], [crit(), crit()])).toBe('critical');
    expect(aggregateStatus([req], [undefined])).toBe('warning');
    expect(aggregateStatus([req, req], [pass(), undefined])).toBe('warning');
    expect(aggregateStatus([req, req], [crit(), undefined])).toBe('critical');
  });

  it('accepts 200..399 by default, or the declared ranges', () => {
    expect([199, 200, 302, 399, 400, 500].map((c) => statusAccepted(c, []))).toEqual([false, true, true, true, false, false]);
    expect([200, 204, 404, 418].map((c) => statusAccepted(c, [[204, 204], [400, 410]]))).toEqual([false, true, true, false]);
  });

  it('check_restart is due after limit critical results since the grace ended, never within the grace', () => {
    const rule = { limit: 3, grace_ms: 1000 };
    expect(checkRestartDue(rule, 3, 0, 999)).toBe(false);
    expect(checkRestartDue(rule, 2, 0, 5000)).toBe(false);
    expect(checkRestartDue(rule, 3, 0, 1000)).toBe(true);
    expect(checkRestartDue({ limit: 1, grace_ms: 0 }, 1, 10, 10)).toBe(true);
  });
});
