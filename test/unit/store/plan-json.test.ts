/**
 * The Redis store serialises a big plan a chunk of placements at a time: the text must be the
 * one `JSON.stringify` gives, whatever the plan holds.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/core/placement/plan-types.js';
import { planJson } from '../../../src/store/redis-store.js';
import { LOOP_CHUNK } from '../../../src/yield.js';

const row = (i: number) => ({
  job: 'j "quoted"',
  agent_id: `w-${i}`,
  source_node_id: 'w',
  node: `n${i % 7}`,
  resources: { cpu_cores: 0.5, memory_mb: 1, disk_mb: 0, gpu_count: 0 },
  allocations: { devices: i % 3 ? [] : [{ id: `GPU-${i % 4}` }], ports: [], volumes: [], runtime_driver: 'host_local' },
  score: i / 3,
});

describe('planJson', () => {
  it.each([0, 1, LOOP_CHUNK, LOOP_CHUNK + 1, 2 * LOOP_CHUNK + 17])('gives JSON.stringify text for %i placements', async (n) => {
    const plan = { status: 'planned', strategy: 'spread', placements: Array.from({ length: n }, (_, i) => row(i)), failures: [{ reason: 'placements: [] \u0000' }], jobs: [], stats: { nodes: 7, agents: n, placed: n, elapsed_ms: 1, engine: 'wasm' }, note: '\u0000mn-placements\u0000' } as unknown as Plan;
    expect(await planJson(plan)).toBe(JSON.stringify(plan));
  });
});
