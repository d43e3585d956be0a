import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../src/core/cluster/types.js';
import { decodeSnapshot, encodeSnapshot, fromSnapshot, snapshotCapacity, snapshotSize, toSnapshot } from '../../../src/core/snapshot/index.js';
import { packColumn } from '../../../src/core/snapshot/layout.js';
import { makeCluster } from '../../../bench/fixtures.js';

function withAllocations(state: ClusterState): ClusterState {
  const [a, b] = state.nodes;
  state.nodes[1] = { ...b!, status: 'draining', scheduling_eligible: false };
  state.allocations = [
    { job_id: 'j1', agent_id: 'j1-0', node: a!.name, resources: { cpu_cores: 0.25, memory_mb: 512, disk_mb: 10, gpu_count: 0 }, devices: [], ports: [{ port: 8080, protocol: 'tcp' }], priority: 50, job_type: 'batch' },
    { job_id: 'j2', agent_id: 'j2-0', node: 'gone-node', resources: { cpu_cores: 1.3333, memory_mb: 0.5, disk_mb: 0, gpu_count: 1 }, devices: ['GPU-0'], ports: [], priority: 75, job_type: 'system' },
    { job_id: 'j1', agent_id: 'j1-1', node: a!.name, resources: { cpu_cores: 2, memory_mb: 1024, disk_mb: 0, gpu_count: 0 }, devices: [], ports: [{ port: 9000, protocol: 'udp' }, { port: 9001, protocol: 'grpc' }], priority: 40, job_type: 'service' },
  ];
  state.services = [{ name: 'redis', node: a!.name, tags: ['cache'], status: 'passing', origin: 'internal' }];
  return state;
}

describe('cluster snapshot', () => {
  it('round-trips a cluster through columns and msgpack unchanged', () => {
    for (const mix of ['hetero-ai', 'nomad-bench', 'k8s-default'] as const) {
      const state = withAllocations(makeCluster(mix, 300, 5));
      const decoded = decodeSnapshot(encodeSnapshot(toSnapshot(state, 7)));
      expect(decoded.generation).toBe(7);
      expect(fromSnapshot(decoded)).toEqual(state);
    }
  });

  it('derives free capacity by subtracting allocations in order', () => {
    const state = withAllocations(makeCluster('k8s-default', 4, 1));
    const { n, cap, free } = snapshotCapacity(decodeSnapshot(encodeSnapshot(toSnapshot(state, 1))));
    expect(n).toBe(4);
    expect(cap[0]).toBe(4);
    expect(free[0]).toBe(4 - 0.25 - 2);
    expect(free[n]).toBe(32 * 1024 - 512 - 1024);
    expect(free[1]).toBe(4);
  });

  it('packs integral columns narrowly and keeps inexact values as doubles', () => {
    expect(packColumn([1, 2, 300]).values).toBeInstanceOf(Uint16Array);
    expect(packColumn([0.25, 64], 1000).values).toBeInstanceOf(Uint16Array);
    expect(packColumn([1 / 3]).values).toBeInstanceOf(Float64Array);
    expect(packColumn([-1]).values).toBeInstanceOf(Float64Array);
  });

  it('stays within 64 bytes per node of numeric columns at 10,000 nodes', () => {
    const s = toSnapshot(makeCluster('hetero-ai', 10_000, 1), 1);
    const size = snapshotSize(s);
    expect(size.nodeColumnBytesPerNode).toBeLessThanOrEqual(64);
    expect(size.encodedBytes).toBeGreaterThan(size.nodeColumnBytes);
  });

  it('rejects bytes that are not a snapshot', () => {
    expect(() => decodeSnapshot(encodeSnapshot({ format: 99 } as never))).toThrow(/unsupported format/);
  });
});
