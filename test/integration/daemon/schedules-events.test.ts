/**
 * Event triggers under concurrency, on two real daemons sharing a real redis-server: 1,000
 * events emitted by 10 concurrent gRPC clients (half to each daemon), some of them retried with
 * the same event id. Every matching event starts exactly one job, non-matching ones none, and a
 * retried emit nothing new; verified from the store (spec §7.5, §11.8 #86). That the dispatched
 * jobs run to completion is covered by schedules-cluster.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConfigFromEnv } from '../../../src/store/connect.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';
import { createSchedule, quickManifest, scheduleCall } from '../../helpers/schedules.js';

const CLIENTS = 10;
const PER_CLIENT = Number(process.env.MN_TEST_EVENTS_PER_CLIENT ?? 100);

describe('event triggers: 1,000 events from 10 concurrent clients', () => {
  let redis: RedisServer;
  let store: RedisStore;
  const daemons: AgentProcess[] = [];
  const NS = `events_${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS, MN_EXECUTOR_MAX_CONCURRENCY: '8' };
    for (const name of ['alpha@lab', 'beta@lab']) daemons.push(await startAgent(name, { ...env, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-events-')) }));
    store = await RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS }) });
  }, 90_000);

  afterAll(async () => {
    await store?.close();
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('each matching event starts exactly one job', async () => {
    const trigger = await createSchedule(daemons[0]!.target, quickManifest('on-file'), { event_type: 'file_uploaded', filters: { path: { prefix: 'datasets/' } }, prohibit_overlap: false }, 'event');
    const matching = new Set<string>();
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const target = daemons[c % daemons.length]!.target;
        let dispatched = 0;
        for (let i = 0; i < PER_CLIENT; i++) {
          const id = `ev-${c}-${i}`;
          const match = i % 10 !== 0;
          if (match) matching.add(id);
          const payload = JSON.stringify({ path: `${match ? 'datasets' : 'tmp'}/${c}/${i}.jsonl`, client: c });
          const r = await scheduleCall<{ dispatched: number; matched: number }>(target, 'EmitTriggerEvent', { event_type: 'file_uploaded', payload_json: payload, source: `client-${c}`, event_id: id });
          expect(r.matched).toBe(match ? 1 : 0);
          dispatched += r.dispatched;
          // A client that retries (it lost the reply): the same event id, from the other daemon.
          if (i % 25 === 1) {
            const again = await scheduleCall<{ dispatched: number; skipped: number }>(daemons[(c + 1) % daemons.length]!.target, 'EmitTriggerEvent', { event_type: 'file_uploaded', payload_json: payload, source: `client-${c}`, event_id: id });
            expect(again).toMatchObject({ dispatched: 0, skipped: 1 });
          }
        }
        return dispatched;
      }),
    );
    const expected = (CLIENTS * PER_CLIENT * 9) / 10;
    expect(matching.size).toBe(expected);
    expect(results.reduce((a, b) => a + b, 0)).toBe(expected);

    // From the store: one job per matching event id, none for the others.
    const byEvent = new Map<string, string[]>();
    for (const j of await store.listJobs()) {
      const record = await store.getJob(j.job_id);
      const meta = (record?.manifest as { metadata?: { schedule_dispatch?: { schedule_id?: string; event?: { event_id: string } } } } | undefined)?.metadata?.schedule_dispatch;
      if (meta?.schedule_id !== trigger.schedule_id || !meta.event) continue;
      byEvent.set(meta.event.event_id, [...(byEvent.get(meta.event.event_id) ?? []), j.job_id]);
    }
    expect([...byEvent.keys()].sort()).toEqual([...matching].sort());
    expect([...byEvent.values()].filter((ids) => ids.length !== 1)).toEqual([]);
    const s = (await store.schedules.get(trigger.schedule_id))!;
    expect(s.counters.dispatched).toBe(expected);
    expect(s.dispatches).toHaveLength(Math.min(50, expected));
    // The newest 1,000 events are kept (1,000 emitted plus retries).
    expect(await store.schedules.listEvents(5000)).toHaveLength(Math.min(1000, CLIENTS * PER_CLIENT + Math.ceil(PER_CLIENT / 25) * CLIENTS));
  }, 400_000);
});
