/**
 * Locates and compiles the placement core once per thread. Two builds exist: `placement.simd.wasm`
 * (f32x4 pruning passes, used when present and the runtime validates it) and `placement.wasm` (no SIMD, the
 * fallback). Files are found relative to this module, so the same code works from `src/` (tests)
 * and from `dist/src/` (the built package).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireWasmApi, type CompiledModule } from './wasm-api.js';

const WASM_FILE = join('build', 'placement.wasm');
const SIMD_FILE = join('build', 'placement.simd.wasm');

let cached: CompiledModule | null = null;

/** Absolute path of `build/placement.wasm` in the nearest package directory above this file. */
export function placementWasmPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, WASM_FILE);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`placement core not found: no ${WASM_FILE} above ${fileURLToPath(import.meta.url)} (run npm run build:wasm)`);
}

/** Which build `placementModule` compiled (`null` before the first call). */
export let placementVariant: 'simd' | 'scalar' | null = null;

/**
 * The compiled placement module; compiled on first use and reused for every instance. Set
 * `MN_WASM_SIMD=0` to force the scalar build.
 */
export function placementModule(): CompiledModule {
  if (cached !== null) return cached;
  const api = requireWasmApi();
  const scalarPath = placementWasmPath();
  const simdPath = join(dirname(dirname(scalarPath)), SIMD_FILE);
  if (process.env.MN_WASM_SIMD !== '0' && existsSync(simdPath)) {
    const bytes = readFileSync(simdPath);
    if (api.validate(bytes)) {
      cached = new api.Module(bytes);
      placementVariant = 'simd';
      return cached;
    }
  }
  cached = new api.Module(readFileSync(scalarPath));
  placementVariant = 'scalar';
  return cached;
}

/** Compiles a specific build (for differential tests and benchmarks). */
export function compilePlacementBuild(variant: 'simd' | 'scalar'): CompiledModule {
  const scalarPath = placementWasmPath();
  const path = variant === 'simd' ? join(dirname(dirname(scalarPath)), SIMD_FILE) : scalarPath;
  return new (requireWasmApi().Module)(readFileSync(path));
}

/** The compiled module, or null when the file is missing or WebAssembly cannot compile it. */
export function tryPlacementModule(): CompiledModule | null {
  try {
    return placementModule();
  } catch {
    return null;
  }
}
