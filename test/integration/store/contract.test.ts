/**
 * Runs the one Store contract against the memory store (fake clock) and the Redis store (a
 * private redis-server started here; each test gets its own namespace).
 */
import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { redisConfigFromEnv } from '../../../src/store/connect.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { CONTRACT_MAX_EVENTS, type StoreHarness, storeContract } from './contract.js';
import { messageContract } from './message-contract.js';
import { serviceContract } from './service-contract.js';
import { deploymentContract } from './deployment-contract.js';
import { scheduleContract } from './schedule-contract.js';
import { pagingContract } from './paging-contract.js';
import { jobTemplateContract } from './job-template-contract.js';
import { preemptionContract } from './preemption-contract.js';
import { queueContract } from './queue-contract.js';
import { warmPoolContract } from './warm-pool-contract.js';

const memory = async (): Promise<StoreHarness> => {
  let now = 1_750_000_000_000;
  const store = new MemoryStore({ clock: () => now, maxEvents: CONTRACT_MAX_EVENTS, maxGlobalEvents: CONTRACT_MAX_EVENTS });
  return {
    store,
    advance: async (ms) => {
      now += ms;
    },
    close: () => store.close(),
  };
};
storeContract('MemoryStore', memory);
messageContract('MemoryStore', memory);
serviceContract('MemoryStore', memory);
deploymentContract('MemoryStore', memory);
scheduleContract('MemoryStore', memory);
pagingContract('MemoryStore', memory);
jobTemplateContract('MemoryStore', memory);
queueContract('MemoryStore', memory);
warmPoolContract('MemoryStore', memory);

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const redis = async (): Promise<StoreHarness> => {
  const config = redisConfigFromEnv({ MN_REDIS_URL: server.url, MN_REDIS_NAMESPACE: `mn_test_${randomUUID().slice(0, 8)}` });
  const store = await RedisStore.connect({ config, maxEvents: CONTRACT_MAX_EVENTS, maxGlobalEvents: CONTRACT_MAX_EVENTS });
  return {
    store,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    close: () => store.close(),
  };
};
storeContract('RedisStore', redis);
messageContract('RedisStore', redis);
serviceContract('RedisStore', redis);
deploymentContract('RedisStore', redis);
scheduleContract('RedisStore', redis);
pagingContract('RedisStore', redis);
jobTemplateContract('RedisStore', redis);
queueContract('RedisStore', redis);
warmPoolContract('RedisStore', redis);

preemptionContract('MemoryStore', memory);
preemptionContract('RedisStore', redis);
