import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/core/schedules/duration.js';
import { fileClock, scheduleClock } from '../../../src/schedules/clock.js';

describe('parseDuration (CLI --in / --window)', () => {
  it.each([
    ['90', 90_000],
    ['250ms', 250],
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });
  it.each(['', 'soon', '-5m', '5 weeks', '1e3s'])('rejects %j', (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });
});

describe('schedule clock', () => {
  it('is the wall clock without MN_SCHEDULE_CLOCK_FILE', () => {
    expect(scheduleClock({})).toBe(Date.now);
  });
  it('reads epoch ms or ISO from the file at every call, keeping the last good time', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mn-clock-test-')), 'now');
    writeFileSync(file, '1779616800000');
    const clock = fileClock(file);
    expect(clock()).toBe(1_779_616_800_000);
    writeFileSync(file, '2026-05-24T10:05:00Z');
    expect(clock()).toBe(Date.parse('2026-05-24T10:05:00Z'));
    writeFileSync(file, 'garbage');
    expect(clock()).toBe(Date.parse('2026-05-24T10:05:00Z'));
    expect(scheduleClock({ MN_SCHEDULE_CLOCK_FILE: file })()).not.toBeNaN();
  });
});
