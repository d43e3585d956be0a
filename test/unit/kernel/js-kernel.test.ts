import { describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { naivePlace } from './naive-kernel.js';
import { cloneOptions, randomScenario, runScenario, type RunResult, type Scenario } from './scenarios.js';

function runNaive(s: Scenario): RunResult {
  const state = { n: s.n, cap: s.cap.slice(), free: s.free.slice(), elig: s.elig.slice(), slots: s.slots.slice() };
  const o = cloneOptions(s.options);
  const r = naivePlace(state, o);
  return {
    placed: r.placed,
    out: Array.from(r.out),
    free: Array.from(state.free),
    slots: Array.from(state.slots),
    counts: o.spread ? Array.from(o.spread.counts) : [],
    remaining: o.property ? Array.from(o.property.remaining) : [],
  };
}

describe('JsKernel equals the literal sequential greedy', () => {
  it('on 3000 random scenarios (both strategies, sampling, spread blocks, property limits)', () => {
    const kernel = new JsKernel();
    for (let seed = 1; seed <= 3000; seed++) {
      const s = randomScenario(seed);
      const got = runScenario(kernel, s);
      const want = runNaive(s);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        expect({ seed, ...got }).toEqual({ seed, ...want });
      }
    }
  });

  it('on larger scenarios that exercise the heap path', () => {
    const kernel = new JsKernel();
    for (let seed = 10_001; seed <= 10_200; seed++) {
      const s = randomScenario(seed, 300);
      s.options.spread = null;
      s.options.sampleK = 0;
      s.options.count = 3 + (seed % 200);
      expect(runScenario(kernel, s)).toEqual(runNaive(s));
    }
  });
});
