import { describe, expect, it } from 'vitest';
import { renderProgress } from '../../src/cli/output.js';

describe('the mn job run progress bar', () => {
  it('fills the bar with completed agents and states the counts over the total', () => {
    const line = renderProgress({ total: 1000, placed: 1000, running: 300, completed: 512, failed: 2 }, 56);
    expect(line).toBe('[#####!----] 512/1000 completed · 300 running · 2 failed');
    expect(line).toHaveLength(56);
  });

  it('shows placed agents while not all are placed, and never divides by a zero total', () => {
    expect(renderProgress({ total: 10, placed: 4, running: 4, completed: 0, failed: 0 }, 80)).toMatch(/^\[-+\] 0\/10 completed · 4 running · 0 failed · 4 placed$/);
    expect(renderProgress({ total: 0, placed: 0, running: 0, completed: 0, failed: 0 }, 80)).toMatch(/^\[-+\] 0\/0 completed · 0 running · 0 failed$/);
  });

  it('is full when every agent completed, and keeps one cell for a single failure among many', () => {
    expect(renderProgress({ total: 4, placed: 4, running: 0, completed: 4, failed: 0 }, 80)).toMatch(/^\[#{40}\] 4\/4 completed/);
    const bar = /^\[([#!-]+)\]/.exec(renderProgress({ total: 100_000, placed: 100_000, running: 0, completed: 0, failed: 1 }, 80))![1]!;
    expect(bar).toBe(`!${'-'.repeat(bar.length - 1)}`);
  });

  it('never exceeds the width: the bar goes first, then the text is cut', () => {
    const counts = { total: 1000, placed: 1000, running: 300, completed: 512, failed: 2 };
    for (const width of [200, 80, 60, 50, 40, 20, 0]) expect(renderProgress(counts, width).length).toBeLessThanOrEqual(width);
    expect(renderProgress(counts, 50)).toBe('512/1000 completed · 300 running · 2 failed');
    expect(renderProgress(counts, 200)).toMatch(/^\[[#!-]{40}\] /);
  });
});
