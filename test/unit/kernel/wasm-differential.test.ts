import { beforeAll, describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { compilePlacementBuild } from '../../../src/solver/wasm-module.js';
import { ensureWasm } from '../solver/ensure-wasm.js';
import { randomScenario, rng, runScenario } from './scenarios.js';

beforeAll(ensureWasm);

describe.each(['simd', 'scalar'] as const)('WasmKernel (%s build) equals JsKernel', (variant) => {
  const make = (): WasmKernel => new WasmKernel(compilePlacementBuild(variant));
  it('on 5000 random scenarios: identical out, free, slots and counters', () => {
    const js = new JsKernel();
    const wasm = make();
    let placedSomething = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const s = randomScenario(seed * 7919 + (variant === 'simd' ? 1 : 0));
      const want = runScenario(js, s);
      const got = runScenario(wasm, s);
      if (want.placed > 0) placedSomething++;
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ seed, ...got }).toEqual({ seed, ...want });
    }
    expect(placedSomething).toBeGreaterThan(2500);
  });

  it('on growing node counts reusing one instance (memory growth re-creates views)', () => {
    const js = new JsKernel();
    const wasm = make();
    for (const maxNodes of [5, 50, 500, 5000, 50_000, 30]) {
      for (let seed = 1; seed <= 5; seed++) {
        const s = randomScenario(seed + maxNodes, maxNodes);
        s.options.count = 200;
        expect(runScenario(wasm, s)).toEqual(runScenario(js, s));
      }
    }
  });

  it('scores bit-identically', () => {
    const js = new JsKernel();
    const wasm = make();
    for (let seed = 1; seed <= 200; seed++) {
      const s = randomScenario(seed, 20);
      js.load(s.cap, s.free, s.n);
      wasm.load(s.cap, s.free, s.n);
      for (let i = 0; i < s.n; i++) {
        for (const strategy of [0, 1]) {
          expect(Object.is(wasm.score(i, s.options.ask, strategy), js.score(i, s.options.ask, strategy))).toBe(true);
        }
      }
    }
  });
});

describe('pruned exhaustive scan', () => {
  it('matches the literal greedy on clusters full of exact ties and near-ties', () => {
    const js = new JsKernel();
    const simd = new WasmKernel(compilePlacementBuild('simd'));
    const scalar = new WasmKernel(compilePlacementBuild('scalar'));
    for (let seed = 1; seed <= 300; seed++) {
      const s = randomScenario(seed * 31, 64);
      // Identical capacities with free values one ulp apart: scores tie or differ in the last bits.
      for (let k = 0; k < s.cap.length; k++) {
        s.cap[k] = k % 3 === 0 ? 0 : 3;
        s.free[k] = seed % 2 === 0 ? 3 - 2 ** -51 * (k % 4) : 1 + 2 ** -52 * (k % 2);
      }
      s.options.spread = null;
      s.options.property = null;
      s.options.sampleK = 0;
      s.options.count = 1 + (seed % 2);
      const want = runScenario(js, s);
      expect(runScenario(simd, s)).toEqual(want);
      expect(runScenario(scalar, s)).toEqual(want);
    }
  });
});

describe('pruned exhaustive scan with sparse eligibility', () => {
  it('skips runs of ineligible nodes without changing the choice', () => {
    const js = new JsKernel();
    const simd = new WasmKernel(compilePlacementBuild('simd'));
    const scalar = new WasmKernel(compilePlacementBuild('scalar'));
    for (let seed = 1; seed <= 200; seed++) {
      const s = randomScenario(seed * 131, 400);
      const r = rng(seed);
      for (let i = 0; i < s.n; i++) s.elig[i] = r() < 0.03 ? 1 : 0;
      s.options.spread = null;
      s.options.property = null;
      s.options.sampleK = 0;
      s.options.count = 1 + (seed % 2);
      const want = runScenario(js, s);
      expect(runScenario(simd, s)).toEqual(want);
      expect(runScenario(scalar, s)).toEqual(want);
    }
  });
});
