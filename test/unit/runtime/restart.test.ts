import { describe, expect, it } from 'vitest';
import { defaultRestartPolicy, type RestartPolicy } from '../../../src/core/policy/lifecycle.js';
import { restartVerdict, restartsWhenDone } from '../../../src/core/runtime/restart.js';

const policy = (extra: Partial<RestartPolicy> = {}): RestartPolicy => ({ ...defaultRestartPolicy('batch', 'cluster_recover'), attempts: 2, interval_ms: 60_000, delay_ms: 100, delay_function: 'constant', mode: 'fail', ...extra });

describe('restart decisions of a hosted agent (spec §4.1)', () => {
  it('allows attempts within the window, recording each with its delay', () => {
    const first = restartVerdict(policy(), [], 'boom', 1000);
    expect(first).toMatchObject({ kind: 'restart', at: 1100, attempt: 1, delay_ms: 100 });
    if (first.kind !== 'restart') throw new Error('expected a restart');
    expect(first.history).toEqual([{ action: 'restart', reason: 'boom', at: 1000 }]);
    const second = restartVerdict(policy(), first.history, 'boom', 2000);
    expect(second).toMatchObject({ kind: 'restart', attempt: 2 });
  });

  it('is exhausted once the window holds the limit, in fail mode', () => {
    const history = [{ action: 'restart', reason: 'x', at: 1000 }, { action: 'restart', reason: 'x', at: 2000 }];
    expect(restartVerdict(policy(), history, 'boom', 3000)).toEqual({ kind: 'exhausted', reason: 'restart attempts exhausted (2 of 2 within 60000 ms)' });
    // Once the oldest attempt leaves the window, another is allowed.
    expect(restartVerdict(policy(), history, 'boom', 61_001).kind).toBe('restart');
  });

  it('defers in delay mode until the oldest attempt leaves the window (not counted as a restart)', () => {
    const history = [{ action: 'restart', reason: 'x', at: 1000 }, { action: 'restart', reason: 'x', at: 2000 }];
    expect(restartVerdict(policy({ mode: 'delay' }), history, 'boom', 3000)).toEqual({ kind: 'defer', at: 61_000 });
  });

  it('never restarts under a disabled policy, whatever its mode', () => {
    expect(restartVerdict(policy({ enabled: false, mode: 'delay' }), [], 'boom', 0)).toEqual({ kind: 'exhausted', reason: 'restart policy is disabled' });
  });

  it('restarts a finished run only for the init message of a service or system executor', () => {
    expect(restartsWhenDone('service', 'executor', 'init')).toBe(true);
    expect(restartsWhenDone('system', 'executor', 'init')).toBe(true);
    expect(restartsWhenDone('batch', 'executor', 'init')).toBe(false);
    expect(restartsWhenDone('sysbatch', 'executor', 'init')).toBe(false);
    expect(restartsWhenDone('service', 'router', 'init')).toBe(false);
    expect(restartsWhenDone('service', 'executor', 'result')).toBe(false);
  });
});
