/** GPU reserve through the planner: CPU-only agents keep whole GPU machines free for GPU jobs. */
import { describe, expect, it } from 'vitest';
import { JsKernel } from '../../../src/core/placement/kernel.js';
import { WasmKernel } from '../../../src/solver/wasm-kernel.js';
import { cudaNode, manifest, node, plan, where } from './fixtures.js';

describe.each([
  ['js', () => new JsKernel()],
  ['wasm', () => new WasmKernel()],
])('%s planner: GPU reserve', (_name, kernel) => {
  it('a CPU-only worker goes to the CPU machine; binpack alone would pick the fuller GPU machine', () => {
    // cuda@lab (16 cores, 2 GPUs) already runs a CPU job on 12 cores, so for binpack it is the
    // fuller node; its GPUs are all free, so CPU-only work goes to cpu@lab instead.
    const cluster = {
      nodes: [cudaNode('cuda@lab'), node('cpu@lab', 16, 65536)],
      allocations: [{ job_id: 'other', agent_id: 'a', node: 'cuda@lab', resources: { cpu_cores: 12, memory_mb: 4096 } }],
    };
    const p = plan(cluster, [manifest('cpu', [{ node_id: 'worker', resources: { cpu_cores: 1, memory_mb: 1024 } }])], { kernel: kernel() });
    expect(where(p)).toEqual({ worker: 'cpu@lab' });
    // The reported score is the utilisation score of cpu@lab (the reserve only ranks).
    expect(p.placements[0]!.score).toBeCloseTo((1 / 16 + 1024 / 65536 + 0) / 3, 12);

    // Then a GPU job still finds both GPUs free.
    const both = plan(
      cluster,
      [
        manifest('cpu', [{ node_id: 'worker', count: 4, resources: { cpu_cores: 1, memory_mb: 1024 } }]),
        manifest('gpu', [{ node_id: 'trainer', resources: { cpu_cores: 2, memory_mb: 8192, devices: [{ type: 'nvidia/gpu', count: 2 }] } }]),
      ],
      { kernel: kernel() },
    );
    expect(both.placements.filter((x) => x.job === 'cpu').every((x) => x.node === 'cpu@lab')).toBe(true);
    expect(both.placements.find((x) => x.job === 'gpu')?.node).toBe('cuda@lab');
  });
});
