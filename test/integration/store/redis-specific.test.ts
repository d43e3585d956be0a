/**
 * Behaviour only the Redis store has: namespaces, the on-disk key layout, surviving a Redis
 * restart, the lease connection's refusal to queue, connection settings from the environment,
 * and the Lua script files' conventions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { isMnError } from '../../../src/core/errors.js';
import { clientOptions, parseHostMap, parseSentinels, redisConfigFromEnv, type RedisConfig } from '../../../src/store/connect.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { loadScripts } from '../../../src/store/script-loader.js';
import type { StoredEvent } from '../../../src/store/store.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { anyJob } from '../../helpers/records.js';

const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/store/scripts');

describe('RedisStore on a private redis-server', () => {
  let server: RedisServer;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  const open = (namespace: string) => RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: server.url, MN_REDIS_NAMESPACE: namespace }) });

  it('isolates namespaces and keeps every key under its namespace', async () => {
    const a = await open('ns_a');
    const b = await open('ns_b');
    try {
      await a.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
      await a.upsertNode({ name: 'n1' });
      await a.appendEvent('j', { type: 'job_pending' });
      const lease = await a.acquireLease('job:j', 'x', 10_000);
      expect(await b.getJob('j')).toBeNull();
      expect(await b.listNodes()).toEqual([]);
      expect(await b.readEvents('j')).toEqual([]);
      expect(await b.readEvents(null)).toEqual([]);
      // Same lease name, other namespace: independent lease and token sequence.
      expect(await b.acquireLease('job:j', 'y', 10_000)).toEqual(expect.objectContaining({ token: lease!.token }));
      const keys = (await raw.keys('*')).sort();
      expect(keys.every((k) => k.startsWith('ns_a:') || k.startsWith('ns_b:'))).toBe(true);
      expect(keys.filter((k) => k.startsWith('ns_a:'))).toEqual([
        'ns_a:events',
        'ns_a:job:j',
        'ns_a:job:j:events',
        'ns_a:jobs',
        'ns_a:lease:job:j',
        'ns_a:lease:job:j:epoch',
        'ns_a:node:n1',
        'ns_a:nodes',
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('stages a big commit\'s placements and leaves no staging list; a lapsed one is refused with nothing written', async () => {
    const store = await open('ns_stage');
    try {
      await store.createJob({ job_id: 'big', manifest: {}, job: anyJob() });
      await store.upsertNode({ name: 'n1', status: 'healthy' });
      const lease = (await store.acquireLease('job:big', 'c', 60_000))!;
      const fence = { lease: 'job:big', token: lease.token };
      const resources = { cpu_cores: 0, memory_mb: 1, disk_mb: 0, gpu_count: 0 };
      const placements = Array.from({ length: 12_345 }, (_, i) => ({ agent_id: `w-${i}`, node: 'n1', resources }));
      await store.commitPlacements('big', { placements, status: 'scheduled' }, fence);
      expect(await raw.hlen('ns_stage:job:big:agents')).toBe(12_345);
      expect((await store.listNodes())[0]!.usage).toMatchObject({ memory_mb: 12_345, agents: 12_345 });
      expect(await raw.keys('ns_stage:job:big:staged:*')).toEqual([]);

      // The script run against a staging list that is gone (lapsed): refused, nothing written.
      const { lua } = loadScripts().get('commitPlacements')!;
      const keys = ['ns_stage:job:big', 'ns_stage:job:big:agents', 'ns_stage:lease:job:big', 'ns_stage:job:big:staged:gone'];
      const args = [String(fence.token), 'merge', '1', '', '', 'ns_stage:node:', ':usage', ':holds', '1', '0', '0'];
      const reply = (await raw.eval(lua, keys.length, ...keys, ...args)) as unknown[];
      expect(reply.slice(0, 2)).toEqual([-4, 'staged']);
      expect(await raw.hlen('ns_stage:job:big:agents')).toBe(12_345);
    } finally {
      await store.close();
    }
  });

  it('keeps the queue durable and evaluations for the retention time after their last write', async () => {
    const store = await RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: server.url, MN_REDIS_NAMESPACE: 'ns_q' }), terminalJobTtlSeconds: 3600 });
    try {
      await store.queue.enqueue({ job_id: 'j', priority: 70, since: 5, evaluation_id: 'ev-1' });
      await store.evaluations.record({ id: 'ev-1', job_id: 'j', trigger: 'submit', status: 'blocked', placed: 0, failed: 1, explanation: { summary: 'x', failures: [] }, queue: null });
      expect((await raw.keys('ns_q:*')).sort()).toEqual(['ns_q:evaluation:ev-1', 'ns_q:evaluation_seq', 'ns_q:evaluations', 'ns_q:job:j:evaluations', 'ns_q:queue', 'ns_q:queue:entries']);
      expect(await raw.ttl('ns_q:queue')).toBe(-1);
      expect(await raw.ttl('ns_q:queue:entries')).toBe(-1);
      expect(Number(await raw.zscore('ns_q:queue', 'j'))).toBe(31 * 1e13 + 5);
      for (const key of ['ns_q:evaluation:ev-1', 'ns_q:job:j:evaluations']) {
        const ttl = await raw.ttl(key);
        expect(ttl).toBeGreaterThan(3500);
        expect(ttl).toBeLessThanOrEqual(3600);
      }
      await raw.expire('ns_q:evaluation:ev-1', 10);
      await store.evaluations.update('ev-1', { status: 'complete' });
      expect(await raw.ttl('ns_q:evaluation:ev-1')).toBeGreaterThan(3500);
    } finally {
      await store.close();
    }
  });

  it('commits a 100,000-agent job in one script call (about a million script arguments)', async () => {
    const store = await open('huge');
    try {
      await store.createJob({ job_id: 'big', manifest: {}, job: anyJob() });
      const fence = { lease: 'job:big', token: (await store.acquireLease('job:big', 'daemon-1#42', 60_000))!.token };
      const placements = Array.from({ length: 100_000 }, (_, i) => ({ agent_id: `w-${i}`, node: `n${i % 10}`, resources: { cpu_cores: 0, memory_mb: 1, disk_mb: 0, gpu_count: 0 } }));
      await store.commitPlacements('big', { placements, status: 'scheduled' }, fence);
      expect(await raw.hlen('huge:job:big:agents')).toBe(100_000);
      expect(await raw.hget('huge:node:n3:usage', 'memory_mb')).toBe('10000');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('stores the documented layout: job hash of JSON fields, lease value holder|token', async () => {
    const store = await open('layout');
    try {
      await store.createJob({ job_id: 'j', manifest: { a: 1 }, job: anyJob() });
      const grant = await store.acquireLease('job:j', 'daemon-1#42', 10_000);
      expect(await raw.type('layout:job:j')).toBe('hash');
      expect(await raw.hget('layout:job:j', 'status')).toBe('"pending"');
      expect(await raw.hget('layout:job:j', 'manifest')).toBe('{"a":1}');
      expect(await raw.get('layout:lease:job:j')).toBe(`daemon-1#42|${grant!.token}`);
      expect(Number(await raw.pttl('layout:lease:job:j'))).toBeGreaterThan(0);
      // Terminal jobs start their retention clock; active ones have none.
      expect(await raw.ttl('layout:job:j')).toBe(-1);
      await store.updateJob('j', { status: 'completed' });
      expect(await raw.ttl('layout:job:j')).toBeGreaterThan(0);

      // A job ended by its final placement commit expires with its messages and collections.
      await store.createJob({ job_id: 'k', manifest: {}, job: anyJob() });
      const fence = { lease: 'job:k', token: (await store.acquireLease('job:k', 'daemon-1#42', 10_000))!.token };
      await store.commitPlacements('k', { placements: [{ agent_id: 'a', node: 'n', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } }] }, fence);
      await store.sendMessages([{ job_id: 'k', agent_id: 'a', node: 'n', message_id: 'm1', message: '{}' }]);
      await store.collect('k', 'agg', 'x', '1');
      expect(await raw.type('layout:node:n:inbox')).toBe('stream');
      await store.commitPlacements('k', { status: 'completed', placements: [] }, fence);
      for (const key of ['layout:job:k', 'layout:job:k:message_ids', 'layout:job:k:message_counts', 'layout:job:k:agent:agg:collected']) {
        expect(await raw.ttl(key), key).toBeGreaterThan(0);
      }
    } finally {
      await store.close();
    }
  });

  it('survives a redis-server restart: data persists (AOF), the store reconnects, followers resume', async () => {
    const durable = await startRedis({ appendonly: true });
    // Fast reconnection, and enough attempts that a queued write outlasts a slow restart.
    const store = await RedisStore.connect({
      config: redisConfigFromEnv({ MN_REDIS_URL: durable.url, MN_REDIS_RECONNECT_BACKOFF_MS: '50', MN_REDIS_RECONNECT_MAX_BACKOFF_MS: '200', MN_REDIS_RECONNECT_ATTEMPTS: '300' }),
    });
    const controller = new AbortController();
    try {
      await store.createJob({ job_id: 'j', manifest: {}, job: anyJob() });
      const grant = (await store.acquireLease('job:j', 'coordinator', 60_000))!;
      const first = await store.appendEvent('j', { type: 'job_pending' });
      const seen: StoredEvent[] = [];
      let resolveSeen!: () => void;
      const gotAfterRestart = new Promise<void>((r) => (resolveSeen = r));
      const following = (async () => {
        for await (const e of store.followEvents('j', { afterId: first.id, signal: controller.signal })) {
          seen.push(e);
          if (e.type === 'job_running') resolveSeen();
        }
      })();

      await durable.kill('SIGKILL');
      // The lease connection never queues: while Redis is down a renewal fails at once.
      const error = await store.renewLease('job:j', 'coordinator', grant.token, 60_000).catch((e: unknown) => e);
      expect(isMnError(error, 'MN_E_STORE_UNAVAILABLE')).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);

      // A data write issued while Redis is down waits for the reconnection.
      const pending = store.updateJob('j', { status: 'running' }, { fence: { lease: 'job:j', token: grant.token } });
      await durable.restart();
      expect(await pending).toMatchObject({ status: 'running', version: 2 });
      // The lease connection fails fast (retryable) until it has reconnected too; callers retry.
      let lease: unknown;
      for (let i = 0; i < 100; i++) {
        try {
          lease = await store.getLease('job:j');
          break;
        } catch (e) {
          if (!isMnError(e, 'MN_E_STORE_UNAVAILABLE')) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(lease).toMatchObject({ holder: 'coordinator', token: grant.token });
      await store.appendEvent('j', { type: 'job_running' });
      await gotAfterRestart;
      expect(seen.map((e) => e.type)).toEqual(['job_running']);
      controller.abort();
      await following;
    } finally {
      controller.abort();
      await store.close();
      await durable.stop();
    }
  });
});

describe('Redis connection settings', () => {
  it('defaults to a single local Redis and the mirror_neuron namespace', () => {
    expect(redisConfigFromEnv({})).toMatchObject({ mode: 'single', url: 'redis://127.0.0.1:6379/0', namespace: 'mirror_neuron', reconnect: { attempts: 10, backoffMs: 250, maxBackoffMs: 2000 } });
    expect(redisConfigFromEnv({ MN_REDIS_HOST: 'redis.lan' })).toMatchObject({ url: 'redis://redis.lan:6379/0' });
  });

  it('parses Sentinel settings', () => {
    const config = redisConfigFromEnv({
      MN_REDIS_SENTINELS: 's1:26380, s2 ,[::1]:26381',
      MN_REDIS_SENTINEL_MASTER: 'main',
      MN_REDIS_SENTINEL_PASSWORD: 'pw',
      MN_REDIS_SENTINEL_HOST_MAP: 'host.docker.internal=127.0.0.1',
      MN_REDIS_DB: '2',
    });
    expect(config).toMatchObject({
      mode: 'sentinel',
      masterName: 'main',
      db: 2,
      sentinelPassword: 'pw',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      hostMap: { 'host.docker.internal': '127.0.0.1' },
    });
    const opts = clientOptions(config, 'data') as Record<string, unknown>;
    expect(opts).toMatchObject({ name: 'main', db: 2, sentinels: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }, { host: '::1', port: 26381 }] });
    const natMap = opts['natMap'] as (key: string) => unknown;
    expect(natMap('host.docker.internal:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(natMap('10.0.0.5:6379')).toBeNull();
    expect(redisConfigFromEnv({ MN_REDIS_HA_MODE: 'sentinel', MN_REDIS_SENTINELS: 'a' })).toMatchObject({ masterName: 'mirror-neuron' });
  });

  it('rejects malformed settings naming the variable', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isMnError(e) ? [e.code, e.details['variable']] : e;
      }
      return 'no error';
    };
    expect(code(() => parseSentinels('a:notaport'))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_SENTINELS']);
    expect(code(() => parseSentinels(' , '))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_SENTINELS']);
    expect(code(() => parseHostMap('nohost'))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_SENTINEL_HOST_MAP']);
    expect(code(() => redisConfigFromEnv({ MN_REDIS_HA_MODE: 'sentinel' }))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_SENTINELS']);
    expect(code(() => redisConfigFromEnv({ MN_REDIS_HA_MODE: 'cluster' }))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_HA_MODE']);
    expect(code(() => redisConfigFromEnv({ MN_REDIS_RECONNECT_ATTEMPTS: 'many' }))).toEqual(['MN_E_INVALID_ARGUMENT', 'MN_REDIS_RECONNECT_ATTEMPTS']);
  });

  it('gives lease connections no offline queue and a command timeout', () => {
    const config: RedisConfig = redisConfigFromEnv({});
    expect(clientOptions(config, 'lease', { commandTimeoutMs: 750 })).toMatchObject({ enableOfflineQueue: false, commandTimeout: 750 });
    expect(clientOptions(config, 'data')).toMatchObject({ maxRetriesPerRequest: 10 });
    expect(clientOptions(config, 'blocking')).toMatchObject({ maxRetriesPerRequest: null });
    const retry = clientOptions(config, 'data').retryStrategy as (n: number) => number;
    expect([1, 2, 3, 4, 5, 50].map(retry)).toEqual([250, 500, 1000, 2000, 2000, 2000]);
  });
});

describe('Lua scripts', () => {
  it('follow verbNoun-<numKeys>.lua (or -v for a variable key count) and document KEYS, ARGV and the output', () => {
    const files = readdirSync(SCRIPTS).filter((f) => f.endsWith('.lua'));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const [, keys] = /^[a-z][A-Za-z]*-(\d+|v)\.lua$/.exec(file) ?? [];
      expect(keys, file).toBeDefined();
      const source = readFileSync(path.join(SCRIPTS, file), 'utf8');
      expect(source.startsWith('--[['), file).toBe(true);
      expect(source, file).toContain('Output:');
      if (keys === 'v') expect(source, file).toContain('variable number of keys');
      else for (let k = 1; k <= Number(keys); k++) expect(source, file).toContain(`KEYS[${k}]`);
    }
    expect(loadScripts().get('settleMessage')!.numberOfKeys).toBeNull();
    // Includes are expanded by the loader.
    const update = loadScripts().get('updateRecord')!;
    expect(update.numberOfKeys).toBe(4);
    expect(update.lua).toContain('local function checkFence');
    expect(update.lua).not.toMatch(/^--- @include/m);
  });
});
