import { describe, expect, it } from 'vitest';
import { agentIndexOf } from '../../../src/core/runtime/agent-index.js';
import { agentIdOf } from '../../../src/core/placement/group.js';
import type { NodeSpec } from '../../../src/core/manifest/types.js';

const spec = (node_id: string, count: number) => ({ node_id, count }) as NodeSpec;

describe("an agent's fan-out index from its id", () => {
  it('is the inverse of agentIdOf for every copy, also for system copies', () => {
    for (const s of [spec('worker', 12), spec('w-1', 3), spec('a-b-c', 101)]) {
      for (let i = 0; i < s.count; i++) {
        expect(agentIndexOf(agentIdOf(s, i), s)).toBe(i);
        expect(agentIndexOf(`${agentIdOf(s, i)}@gpu-a@lab`, s)).toBe(i);
      }
    }
  });

  it('is null for a node without fan-out and for ids that are not a copy', () => {
    expect(agentIndexOf('worker', spec('worker', 1))).toBeNull();
    expect(agentIndexOf('worker@n1', spec('worker', 1))).toBeNull();
    const s = spec('worker', 4);
    for (const id of ['worker', 'worker-', 'worker-4', 'worker-01', 'worker-1x', 'worker--1', 'other-1', 'workers-1', 'worker-1.5']) {
      expect(agentIndexOf(id, s), id).toBeNull();
    }
  });
});
