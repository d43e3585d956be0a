/**
 * One copy of each kernel rule: the scalar fit rule (`fitsScalar`) is what both kernels apply,
 * and the constants the WebAssembly core is compiled with are the JS side's.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPU_RESERVE, GPU_RESERVE_PARTIAL, JsKernel } from '../../../src/core/placement/kernel.js';
import { DIMENSIONS, fitsScalar, STRATEGY_BINPACK, STRATEGY_SPREAD, type PlacementKernel } from '../../../src/core/placement/kernel-types.js';
import { requireWasmApi } from '../../../src/solver/wasm-api.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { compilePlacementBuild, placementWasmPath } from '../../../src/solver/wasm-module.js';
import { ensureWasm } from '../solver/ensure-wasm.js';
import { manifest, node, plan } from '../placement/fixtures.js';

describe('fitsScalar', () => {
  it('fits a zero ask anywhere, even on overcommitted or NaN free capacity', () => {
    expect(fitsScalar(5, 0)).toBe(true);
    expect(fitsScalar(-3, 0)).toBe(true);
    expect(fitsScalar(Number.NaN, 0)).toBe(true);
    expect(fitsScalar(0, -0)).toBe(true);
  });

  it('fits a positive ask where free >= ask, exactly at the boundary too', () => {
    expect(fitsScalar(4, 4)).toBe(true);
    expect(fitsScalar(4.5, 4)).toBe(true);
    expect(fitsScalar(3.999, 4)).toBe(false);
    expect(fitsScalar(-1, 1)).toBe(false);
    expect(fitsScalar(Number.NaN, 1)).toBe(false);
  });

  it('never fits a NaN ask and fits a negative ask where free >= ask', () => {
    expect(fitsScalar(100, Number.NaN)).toBe(false);
    expect(fitsScalar(0, Number.NaN)).toBe(false);
    expect(fitsScalar(0, -1)).toBe(true);
    expect(fitsScalar(-1, -1)).toBe(true);
    expect(fitsScalar(-2, -1)).toBe(false);
  });
});

describe('kernels apply fitsScalar', () => {
  beforeAll(() => ensureWasm());

  const engines = (): Array<[string, PlacementKernel]> => [
    ['js', new JsKernel()],
    ['wasm-simd', new WasmKernel(compilePlacementBuild('simd'))],
    ['wasm', new WasmKernel(compilePlacementBuild('scalar'))],
  ];

  it('places one agent on a one-node cluster exactly when every dimension fits', () => {
    const frees = [-2, 0, 1, 5];
    const needs = [Number.NaN, -1, 0, 1, 5];
    for (const [name, kernel] of engines()) {
      for (const f of frees) {
        for (const need of needs) {
          for (let d = 0; d < DIMENSIONS; d++) {
            const cap = Float64Array.from([8, 8, 8, 8]);
            const free = Float64Array.from([8, 8, 8, 8]);
            free[d] = f;
            const ask = new Float64Array(DIMENSIONS);
            ask[d] = need;
            kernel.load(cap, free, 1);
            kernel.elig()[0] = 1;
            kernel.slots()[0] = -1;
            const placed = kernel.place({ ask, strategy: STRATEGY_BINPACK, count: 1, sampleK: 0, seed: 0 }).placed;
            expect({ name, d, f, need, placed: placed === 1 }).toEqual({ name, d, f, need, placed: fitsScalar(f, need) });
          }
        }
      }
    }
  });
});

describe('constants of the WebAssembly core', () => {
  beforeAll(() => ensureWasm());

  for (const file of ['placement.wasm', 'placement.simd.wasm']) {
    it(`${file} is compiled with the JS side's values`, () => {
      const api = requireWasmApi();
      const path = placementWasmPath().replace(/placement\.wasm$/, file);
      const instance = new api.Instance(new api.Module(readFileSync(path)), { env: { abort: () => undefined } });
      const value = (name: string): unknown => (instance.exports[name] as { value: unknown } | undefined)?.value;
      expect({
        DIMENSIONS: value('DIMENSIONS'),
        STRATEGY_BINPACK: value('STRATEGY_BINPACK'),
        STRATEGY_SPREAD: value('STRATEGY_SPREAD'),
        GPU_RESERVE: value('GPU_RESERVE'),
        GPU_RESERVE_PARTIAL: value('GPU_RESERVE_PARTIAL'),
      }).toEqual({ DIMENSIONS, STRATEGY_BINPACK, STRATEGY_SPREAD, GPU_RESERVE, GPU_RESERVE_PARTIAL });
    });
  }
});

describe('explanations apply fitsScalar', () => {
  it('blame only the dimension that does not fit: a zero ask on an overcommitted dimension fits', () => {
    // cpu free is -2 (allocations exceed capacity); the agent asks no cpu but too much memory.
    const p = plan(
      { nodes: [node('small@lab', 4, 4096)], allocations: [{ job_id: 'old', agent_id: 'o', node: 'small@lab', resources: { cpu_cores: 6 } }] },
      [manifest('j', [{ node_id: 'w', resources: { cpu_cores: 0, memory_mb: 8192 } }])],
    );
    expect(p.failures[0]!.filtered).toEqual({ memory: 1 });
    expect(p.failures[0]!.nearest[0]!.shortfall).toEqual({ memory: 'needs 8192 MB memory, has 4096 MB free of 4096' });
  });

  it('blame the overcommitted dimension for a positive ask, as the kernel refuses it', () => {
    const p = plan(
      { nodes: [node('small@lab', 4, 4096)], allocations: [{ job_id: 'old', agent_id: 'o', node: 'small@lab', resources: { cpu_cores: 6 } }] },
      [manifest('j', [{ node_id: 'w', resources: { cpu_cores: 0.5, memory_mb: 1024 } }])],
    );
    expect(p.failures[0]!.filtered).toEqual({ cpu: 1 });
    expect(Object.keys(p.failures[0]!.nearest[0]!.shortfall)).toEqual(['cpu']);
  });
});
