/** The scheduler configuration: stored cluster-wide, overridden by MN_PREEMPTION, bad input refused naming the field. */
import { describe, expect, it } from 'vitest';
import { SCHEDULER_CONFIG_SETTING, readSchedulerConfig, updateSchedulerConfig } from '../../../src/cluster/scheduler-config.js';
import { MemoryStore } from '../../../src/store/memory-store.js';

describe('scheduler configuration', () => {
  it('defaults to system only, stores changes over the stored value, and MN_PREEMPTION overrides what is in effect', async () => {
    const store = new MemoryStore();
    expect(await readSchedulerConfig(store)).toMatchObject({ preemption: { system: true, sysbatch: false, batch: false, service: false }, source: 'default', enabled: 'system', priority_delta: 10 });
    await updateSchedulerConfig(store, { preemption: 'service=true' });
    await updateSchedulerConfig(store, { preemption: { batch: true } });
    expect(await store.getSetting(SCHEDULER_CONFIG_SETTING)).toEqual({ preemption: { system: true, sysbatch: false, batch: true, service: true } });
    expect(await readSchedulerConfig(store)).toMatchObject({ source: 'stored', enabled: 'system,batch,service' });
    const env = await readSchedulerConfig(store, { MN_PREEMPTION: 'sysbatch' });
    expect(env).toMatchObject({ source: 'env', enabled: 'sysbatch', stored: { preemption: { batch: true, service: true } } });
  });

  it('refuses unknown fields, unknown job types and values that are not booleans', async () => {
    const store = new MemoryStore();
    await expect(updateSchedulerConfig(store, { preempt: 'service=true' })).rejects.toThrow(/config_json: unknown field "preempt"/);
    await expect(updateSchedulerConfig(store, { preemption: 'cron=true' })).rejects.toThrow(/preemption: "cron" is not a job type/);
    await expect(updateSchedulerConfig(store, { preemption: { batch: 'yes' } })).rejects.toThrow(/preemption.batch must be true or false/);
    await expect(updateSchedulerConfig(store, { preemption: 3 })).rejects.toThrow(/preemption is required/);
    await expect(updateSchedulerConfig(store, [])).rejects.toMatchObject({ code: 'MN_E_INVALID_ARGUMENT' });
    expect(await store.getSetting(SCHEDULER_CONFIG_SETTING)).toBeNull();
  });
});
