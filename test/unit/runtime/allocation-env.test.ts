import { describe, expect, it } from 'vitest';
import { allocatedDevices, allocationEnv, envSuffix } from '../../../src/core/runtime/allocation-env.js';

describe('allocation environment hints (spec §3.8)', () => {
  it('§11.2 #18: devices, CUDA indices, drivers and port labels', () => {
    const env = allocationEnv({
      devices: [
        { id: 'GPU-abc', driver: 'cuda', index: 1 },
        { id: 'metal-0', driver: 'metal', index: 0 },
      ],
      ports: [{ label: 'agent-api', port: 8080, protocol: 'tcp' }],
      volumes: [],
      runtime_driver: 'host_local',
    });
    expect(env).toMatchObject({
      MN_ALLOCATED_DEVICE_IDS: 'GPU-abc,metal-0',
      CUDA_VISIBLE_DEVICES: '1',
      MN_GPU_DRIVER: 'cuda,metal',
      MN_PORT_AGENT_API: '8080',
    });
    expect(JSON.parse(env.MN_ALLOCATION_JSON!).devices[0].id).toBe('GPU-abc');
  });

  it('names volumes by their upper-cased name and leaves out what was not allocated', () => {
    const env = allocationEnv({ devices: [], ports: [], volumes: [{ name: 'model.cache', source: '/mnt/models', target: '/models' }] });
    expect(env).toEqual({
      MN_ALLOCATION_JSON: expect.any(String),
      MN_VOLUME_MODEL_CACHE: '/mnt/models',
      MN_VOLUME_MODEL_CACHE_TARGET: '/models',
    });
    expect(envSuffix('a-b.c d')).toBe('A_B_C_D');
  });

  it('numbers allocated devices among the machine devices of their driver, as CUDA_VISIBLE_DEVICES counts', () => {
    const inventory = [{ id: 'metal-0', driver: 'metal' }, { id: 'GPU-a', driver: 'cuda' }, { id: 'GPU-b', driver: 'cuda' }];
    expect(allocatedDevices([{ id: 'GPU-b' }, { id: 'metal-0' }, { id: 'GPU-gone' }], inventory)).toEqual([
      { id: 'GPU-b', driver: 'cuda', index: 1 },
      { id: 'metal-0', driver: 'metal', index: 0 },
      { id: 'GPU-gone', driver: null, index: null },
    ]);
    expect(allocationEnv({ devices: allocatedDevices([{ id: 'GPU-b' }], inventory), ports: [], volumes: [] }).CUDA_VISIBLE_DEVICES).toBe('1');
  });
});
