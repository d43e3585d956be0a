import { describe, expect, it } from 'vitest';
import { colorEnabled } from '../../../src/cli/output.js';
import { countsOf, progressLine } from '../../../src/cli/progress.js';
import { ageOf, paint, renderTable, statusColour } from '../../../src/cli/table.js';

const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('CLI tables', () => {
  it('aligns columns under the header, prints missing values as -, and leaves no trailing spaces', () => {
    const text = renderTable(['NODE', 'STATUS', 'AGENTS'], [['gpu-a@lab', 'healthy', 12], ['b', 'draining', null], ['c', '', 0]], { color: false });
    expect(text).toBe([
      'NODE       STATUS    AGENTS',
      'gpu-a@lab  healthy   12',
      'b          draining  -',
      'c          -         0',
    ].join('\n'));
  });

  it('colours the header and the status column only when colour is on, keeping the alignment', () => {
    const rows = [['j1', 'completed'], ['j22', 'failed']];
    const plain = renderTable(['JOB', 'STATUS'], rows, { color: false, statusColumn: 'STATUS' });
    expect(plain).not.toContain('\x1b[');
    const coloured = renderTable(['JOB', 'STATUS'], rows, { color: true, statusColumn: 'STATUS' });
    expect(coloured).toContain('\x1b[32mcompleted\x1b[0m');
    expect(coloured).toContain('\x1b[31mfailed\x1b[0m');
    expect(coloured).toContain('\x1b[1mJOB\x1b[0m');
    expect(strip(coloured)).toBe(plain);
  });

  it('colours only on a terminal and never with NO_COLOR set', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorEnabled({}, {})).toBe(false);
    expect(paint('x', 'red', false)).toBe('x');
    expect(statusColour('running')).toBe('green');
    expect(statusColour('something-new')).toBeNull();
  });

  it('states ages as people say them', () => {
    const now = 1_000_000_000;
    expect([0, 59_000, 60_000, 3_599_000, 3_600_000, 86_400_000 * 3].map((d) => ageOf(now - d, now))).toEqual(['0s', '59s', '1m', '59m', '1h', '3d']);
    expect(ageOf(now + 5000, now)).toBe('0s');
  });
});

describe('job progress', () => {
  it('counts agents from a GetJob document against the total after fan-out', () => {
    const record = { job: { agent_count: 5 }, agents: [{ state: 'running' }, { state: 'starting' }, { state: 'completed' }, { state: 'failed' }] };
    const counts = countsOf(record);
    expect(counts).toEqual({ total: 5, placed: 4, running: 2, completed: 1, failed: 1 });
    expect(progressLine('j1', 'running', counts)).toBe('j1 running: placed 4/5, running 2, completed 1, failed 1');
    expect(countsOf({})).toEqual({ total: 0, placed: 0, running: 0, completed: 0, failed: 0 });
    // A big job's document lists its first agents only: the summary counts all of them.
    const big = { job: { agent_count: 100_000 }, agents: [{ state: 'running' }], agent_summary: { total: 99_000, by_state: { running: 50_000, completed: 48_000, failed: 1000 } } };
    expect(countsOf(big)).toEqual({ total: 100_000, placed: 99_000, running: 50_000, completed: 48_000, failed: 1000 });
  });
});
