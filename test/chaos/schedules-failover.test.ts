/**
 * Exactly-once dispatch across leader failover, on three real daemons sharing a real
 * redis-server: a schedule fires on every tick of the test clock (one minute of schedule time per
 * tick) while the leader is killed (-9) and paused (SIGSTOP, then SIGCONT after its lease has
 * passed to another daemon, so a stale leader comes back mid-sweep) several times. Verified from
 * the store: exactly one job per scheduled time, none missing.
 *
 * The default run has 300 ticks (about half a minute on two cores); the full run is
 * `MN_CHAOS_SCHEDULE_TICKS=1000 npx vitest run test/chaos/schedules-failover.test.ts` (about two
 * minutes: the cost is placing and running 1,000 child jobs, not the dispatch).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConfigFromEnv } from '../../src/store/connect.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { CLUSTER_EVENTS_JOB_ID } from '../../src/store/store.js';
import { type AgentProcess, eventually, startAgent } from '../helpers/daemon.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { TestClock, createSchedule, quickManifest } from '../helpers/schedules.js';

const TICKS = Number(process.env.MN_CHAOS_SCHEDULE_TICKS ?? 300);
const TICK_MS = 60_000;
/** Real time between ticks. */
const PACE_MS = 15;

describe('chaos: schedule dispatch while the leader is killed and paused', () => {
  let redis: RedisServer;
  let store: RedisStore;
  const names = ['alpha@lab', 'beta@lab', 'gamma@lab'];
  const daemons = new Map<string, AgentProcess>();
  const start = Date.parse('2026-01-01T00:00:30Z');
  const clock = new TestClock(start);
  const NS = `chaos_sched_${randomUUID().slice(0, 6)}`;
  let env: Record<string, string>;

  const launch = async (name: string): Promise<void> => {
    daemons.set(name, await startAgent(name, { ...env, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-chaos-sched-')) }));
  };
  /** The daemon that holds the leader lease now: a live process of ours (not one killed a moment ago). */
  const leaderName = async (): Promise<string> =>
    eventually(async () => {
      const lease = await store.getLease('leader');
      if (!lease) return null;
      const [name, rest] = lease.holder.split('#') as [string, string];
      const d = daemons.get(name);
      return d && d.proc.exitCode === null && d.proc.signalCode === null && String(d.proc.pid) === rest.split('-')[0] ? name : null;
    }, 30_000, 20);

  beforeAll(async () => {
    redis = await startRedis();
    env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS, MN_SCHEDULE_CLOCK_FILE: clock.file, MN_SCHEDULE_SWEEP_INTERVAL_MS: '20', MN_EXECUTOR_MAX_CONCURRENCY: '8' };
    for (const name of names) await launch(name);
    store = await RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NS }) });
  }, 90_000);

  afterAll(async () => {
    for (const [name, d] of daemons) if (process.env.MN_CHAOS_DEBUG) console.log(`==== ${name} exit=${d.proc.exitCode} sig=${d.proc.signalCode}\n${d.output().slice(-3000)}`);
    await store?.close();
    await Promise.all([...daemons.values()].map((d) => d.kill()));
    await redis?.stop();
  });

  it(`one job per scheduled time over ${TICKS} ticks, none missing`, async () => {
    const target = daemons.get('alpha@lab')!.target;
    const s = await createSchedule(target, quickManifest('tick'), { cron: '* * * * *', timezone: 'UTC', missed_policy: 'catchup_all', catchup_limit: 100_000, prohibit_overlap: false });
    expect(s.next_run_at).toBe('2026-01-01T00:01:00.000Z');

    // Disruptions at fixed ticks: kill -9 (the daemon is started again) and SIGSTOP/SIGCONT of the leader.
    const kills = new Set([0.15, 0.45, 0.75].map((f) => Math.floor(TICKS * f)));
    const pauses = new Set([0.3, 0.6, 0.9].map((f) => Math.floor(TICKS * f)));
    const pending: Array<Promise<void>> = [];
    let disruptions = 0;
    for (let tick = 1; tick <= TICKS; tick++) {
      clock.set(start + tick * TICK_MS);
      if (kills.has(tick) || pauses.has(tick)) {
        // One disruption at a time: the previous one has resolved (daemon back, or resumed).
        await Promise.all(pending.splice(0));
      }
      if (kills.has(tick)) {
        const name = await leaderName();
        await daemons.get(name)!.kill();
        disruptions++;
        pending.push(launch(name));
      } else if (pauses.has(tick)) {
        const name = await leaderName();
        const proc = daemons.get(name)!.proc;
        process.kill(proc.pid!, 'SIGSTOP');
        disruptions++;
        // Resumed once another daemon holds the lease: it comes back believing it still leads.
        pending.push(
          (async () => {
            try {
              await eventually(async () => (await leaderName()) !== name, 20_000, 20);
            } finally {
              proc.kill('SIGCONT');
            }
          })(),
        );
      }
      await new Promise((r) => setTimeout(r, PACE_MS));
    }
    await Promise.all(pending);
    expect(disruptions).toBe(kills.size + pauses.size);

    const last = new Date(start + TICKS * TICK_MS - 30_000).toISOString();
    await eventually(async () => {
      const now = await store.schedules.get(s.schedule_id);
      return now !== null && now.next_run_at !== null && now.next_run_at > last && now;
    }, 60_000 + TICKS * 200, 100);

    // Verified from the store: every job this schedule created, by the time it stands for.
    const byTime = new Map<string, string[]>();
    for (const j of await store.listJobs()) {
      const record = await store.getJob(j.job_id);
      const meta = (record?.manifest as { metadata?: { schedule_dispatch?: { schedule_id?: string; scheduled_for?: string } } } | undefined)?.metadata?.schedule_dispatch;
      if (meta?.schedule_id !== s.schedule_id) continue;
      byTime.set(meta.scheduled_for!, [...(byTime.get(meta.scheduled_for!) ?? []), j.job_id]);
    }
    const expected = Array.from({ length: TICKS }, (_, i) => new Date(start - 30_000 + (i + 1) * TICK_MS).toISOString());
    const missing = expected.filter((t) => !byTime.has(t));
    const doubled = [...byTime].filter(([, ids]) => ids.length > 1);
    expect(missing).toEqual([]);
    expect(doubled).toEqual([]);
    expect([...byTime.keys()].sort()).toEqual(expected);
    const final = (await store.schedules.get(s.schedule_id))!;
    expect(final.counters).toMatchObject({ dispatched: TICKS, failed: 0 });

    // Leadership really moved: kill and pause each hand the lease to another daemon.
    const elected = (await store.readEvents(CLUSTER_EVENTS_JOB_ID, { limit: 10_000 })).filter((e) => e.type === 'leader_elected');
    expect(elected.length).toBeGreaterThanOrEqual(1 + disruptions);
  }, 120_000 + TICKS * 400);
});
