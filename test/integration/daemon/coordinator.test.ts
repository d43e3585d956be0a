import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinators } from '../../../src/runtime/coordinators.js';
import { redisConfigFromEnv } from '../../../src/store/connect.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';
import { anyJob } from '../../helpers/records.js';

describe('job coordinator fencing on a real Redis', () => {
  let redis: RedisServer;
  let storeA: RedisStore;
  let storeB: RedisStore;

  beforeAll(async () => {
    redis = await startRedis();
    const config = redisConfigFromEnv({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'fence' });
    storeA = await RedisStore.connect({ config });
    storeB = await RedisStore.connect({ config });
  }, 60_000);

  afterAll(async () => {
    await storeA?.close();
    await storeB?.close();
    await redis?.stop();
  });

  it("rejects a stalled coordinator's write once another daemon took the job over", async () => {
    await storeA.createJob({ job_id: 'j1', manifest: {}, job: anyJob(), status: 'scheduled' });
    const a = new Coordinators({ store: storeA, holder: 'daemon-a', leaseMs: 300, renewMs: 100 });
    const b = new Coordinators({ store: storeB, holder: 'daemon-b', leaseMs: 300, renewMs: 100 });
    const fenceA = await a.adopt('j1');
    expect(fenceA).not.toBeNull();
    expect(await b.adopt('j1')).toBeNull();

    // Daemon A stalls: it stops renewing but still believes it coordinates the job.
    a.stop();
    await new Promise((r) => setTimeout(r, 450));
    const fenceB = await b.adopt('j1');
    expect(fenceB!.token).toBeGreaterThan(fenceA!.token);

    // A's late write, made with its old token, is rejected by the store; B's goes through.
    await expect(storeA.updateJob('j1', { status: 'failed' }, { fence: fenceA! })).rejects.toMatchObject({ code: 'MN_E_FENCED' });
    await expect(storeA.commitPlacements('j1', { placements: [] }, fenceA!)).rejects.toMatchObject({ code: 'MN_E_FENCED' });
    await b.transition('j1', 'cancelled', 'job_cancelled');
    expect((await storeA.getJob('j1'))!.status).toBe('cancelled');
    b.stop();
  });
});
