import type { KernelPlaceOptions, PlacementKernel } from '../../../src/core/placement/kernel-types.js';

/** Loads hand-written nodes, as rows `[cpu, mem, disk, gpu]`, into a kernel; free defaults to cap. */
export function setup(kernel: PlacementKernel, caps: number[][], frees?: number[][]): void {
  const n = caps.length;
  const cap = new Float64Array(4 * n);
  const free = new Float64Array(4 * n);
  caps.forEach((row, i) =>
    row.forEach((v, d) => {
      cap[d * n + i] = v;
      free[d * n + i] = frees ? frees[i]![d]! : v;
    }),
  );
  kernel.load(cap, free, n);
  kernel.elig().fill(1);
  kernel.slots().fill(-1);
}

/** Place options for `count` agents asking `ask` (binpack, exhaustive unless overridden). */
export function opts(ask: number[], count: number, extra: Partial<KernelPlaceOptions> = {}): KernelPlaceOptions {
  return { ask: Float64Array.from(ask), strategy: 0, count, sampleK: 0, seed: 0, ...extra };
}
