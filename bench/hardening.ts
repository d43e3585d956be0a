/**
 * Big work must not hold the daemon's event loop. A daemon (real gRPC on loopback, real placement
 * workers) on the embedded store or a real redis-server gets one job of N agents (default 100,000,
 * the default MN_MAX_AGENTS_PER_JOB) submitted, committed and cancelled while a probe calls the
 * standard health check every 50 ms. Reported per store: health-probe latency p50/p99/max
 * (measured from when each probe was due, so a held loop counts in full), the event loop's longest
 * delay, submit and cancel times, leader changes, and RSS before, at peak and after (6 s after the
 * job ended).
 *
 * Run: `npm run bench:hardening` (both stores), `-- --agents 20000`, `-- --store memory|redis`.
 * Needs redis-server on PATH for the Redis run. `MN_BENCH_HEAP_SNAPSHOT=FILE` writes a heap snapshot
 * once the job has ended (to see what stays alive).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { ApiClient, CliError } from '../src/cli/client.js';
import { daemonConfigFromEnv } from '../src/core/config.js';
import { startDaemon } from '../src/daemon.js';
import { poolPlanner } from '../src/runtime/pool-planner.js';
import { PlacementPool } from '../src/solver/pool.js';
import { redisConfigFromEnv } from '../src/store/connect.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { startRedis } from './processes.js';

export interface BigJobReport {
  store: 'memory' | 'redis';
  agents: number;
  probes: number;
  probe_p50_ms: number;
  probe_p99_ms: number;
  probe_max_ms: number;
  /** Probes that failed or took longer than 250 ms. */
  probes_over_250ms: number;
  /** Probes that got no answer (an error or their 5 s deadline). */
  probes_failed: number;
  loop_delay_max_ms: number;
  submit_ms: number;
  cancel_ms: number;
  /** Milliseconds from CancelJob until every placement was released. */
  released_ms: number;
  leader_changes: number;
  /** Error code and message of a submission of one agent over the limit. */
  over_limit_code: string;
  over_limit_details: string;
  over_limit_ms: number;
  rss_baseline_mb: number;
  rss_peak_mb: number;
  rss_after_mb: number;
  /** V8 heap in use (after a full collection) before the job and after it ended. */
  heap_baseline_mb: number;
  heap_after_mb: number;
}

const machine = (name: string) => ({
  name,
  status: 'healthy',
  scheduling_eligible: true,
  resources: { cpu_cores: 64, memory_mb: 262_144, disk_mb: 1_000_000 },
  devices: [],
  attributes: {},
  capabilities: [],
  profiles: [],
  runtime_drivers: ['host_local'],
  host_paths: [],
});

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** `gc()`: the global one under --expose-gc, else one obtained at run time (tests run without the flag). */
function collector(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global) return global;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

async function settledMemory(): Promise<{ rss: number; heap: number }> {
  const gc = collector();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

/**
 * Submits, commits and cancels one job of `agents` agents on a fresh daemon while probing health.
 * The agents are placed on a registered live node no daemon runs, so the work measured is the
 * control plane's (validation, planning, commit, release), not running 100,000 agents; after the
 * cancel, the bench drops the job's queued messages from that node's inbox as its host would.
 */
export async function runBigJob(options: { store: 'memory' | 'redis'; agents: number; redisUrl?: string; probeMs?: number }): Promise<BigJobReport> {
  const { agents } = options;
  const probeMs = options.probeMs ?? 50;
  const home = mkdtempSync(path.join(os.tmpdir(), 'mn-hardening-'));
  const env = { MN_GRPC_PORT: '0', MN_NODE_NAME: 'big@lab', MN_MAX_AGENTS_PER_JOB: String(agents) };
  const { config, problems } = daemonConfigFromEnv(env, { hostname: 'bench', homeDir: home });
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '));
  let store: Store;
  if (options.store === 'redis') {
    if (!options.redisUrl) throw new Error('redisUrl is required for the Redis run');
    store = await RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: options.redisUrl, MN_REDIS_NAMESPACE: `big${Date.now()}` }) });
  } else {
    store = new MemoryStore();
  }
  const pool = new PlacementPool({ threads: 1 });
  let leaderChanges = 0;
  let leaderSeen = false;
  const daemon = await startDaemon({
    config,
    store,
    inventory: async () => machine('big@lab'),
    planner: poolPlanner(pool),
    log: (line) => {
      if (/is the leader|is no longer the leader/.test(line)) {
        if (leaderSeen) leaderChanges++;
        leaderSeen = true;
      }
    },
  });
  const client = new ApiClient(daemon.address, null, 600_000);
  const HealthClient = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
  const health = new HealthClient(daemon.address, grpc.credentials.createInsecure()) as unknown as {
    check(req: object, opts: grpc.CallOptions, cb: (err: Error | null) => void): void;
    close(): void;
  };
  try {
    await store.updateNode('big@lab', { scheduling_eligible: false });
    await store.upsertNode({ name: 'parked@lab', status: 'healthy', inventory: machine('parked@lab') });
    await store.heartbeat('parked@lab', 30 * 60_000);
    // Warm up: one small job, so the first big call does not pay for lazy starts.
    const warm = await client.call<{ job_id: string }>('job', 'SubmitJob', { manifest_json: manifestOf('warm', 10), payloads: {} });
    await client.call('job', 'CancelJob', { job_id: warm.job_id });
    const settled = await settledMemory();
    const baseline = settled.rss;

    const latencies: number[] = [];
    let failed = 0;
    let peak = baseline;
    let probing = true;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const probeLoop = (async () => {
      const start = performance.now();
      for (let k = 0; probing; k++) {
        const due = start + k * probeMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!probing) break;
        peak = Math.max(peak, process.memoryUsage().rss);
        // Each probe runs on its own: a slow answer does not delay the next one's send.
        void new Promise<void>((resolve) => {
          health.check({ service: '' }, { deadline: Date.now() + 5_000 }, (err) => {
            const ms = performance.now() - due;
            if (err) failed++;
            latencies.push(err ? Math.max(ms, 5_000) : ms);
            resolve();
          });
        });
      }
    })();

    const t0 = performance.now();
    const submitted = await client.call<{ job_id: string }>('job', 'SubmitJob', { manifest_json: manifestOf('big', agents), payloads: {} });
    const submitMs = performance.now() - t0;
    // Let the coordinator seed the job, as it would in use.
    await new Promise((r) => setTimeout(r, 1_500));
    const t1 = performance.now();
    await client.call('job', 'CancelJob', { job_id: submitted.job_id });
    const cancelMs = performance.now() - t1;
    for (;;) {
      const summary = await store.agentSummary(submitted.job_id);
      if (summary.total === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const releasedMs = performance.now() - t1;
    // The parked machine's host (not measured here) drops the queued messages of a job that
    // ended, as every host does when it reads them.
    for (;;) {
      const entries = await store.readInbox('parked@lab', 'bench-host', { count: 5_000, blockMs: 0, claimIdleMs: 60_000 });
      if (entries.length === 0) break;
      await store.dropMessages(entries);
    }
    const t2 = performance.now();
    const over = await client.call('job', 'SubmitJob', { manifest_json: manifestOf('over', agents + 1), payloads: {} }).then(
      () => ({ code: 'accepted', details: '' }),
      (error: unknown) => ({ code: error instanceof CliError ? String(error.code) : 'unknown', details: (error as Error).message }),
    );
    const overMs = performance.now() - t2;
    await new Promise((r) => setTimeout(r, 500));
    probing = false;
    await probeLoop;
    await new Promise((r) => setTimeout(r, 300));
    loop.disable();
    // "After": once the daemon idled a while (caches of the ended job's plan lapse in 5 s).
    await new Promise((r) => setTimeout(r, 6_000));
    const afterMemory = await settledMemory();
    const after = afterMemory.rss;
    if (process.env.MN_BENCH_HEAP_SNAPSHOT) v8.writeHeapSnapshot(process.env.MN_BENCH_HEAP_SNAPSHOT);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      store: options.store,
      agents,
      probes: latencies.length,
      probe_p50_ms: round(percentile(sorted, 50)),
      probe_p99_ms: round(percentile(sorted, 99)),
      probe_max_ms: round(sorted[sorted.length - 1] ?? 0),
      probes_over_250ms: sorted.filter((ms) => ms > 250).length,
      probes_failed: failed,
      loop_delay_max_ms: round(loop.max / 1e6),
      submit_ms: Math.round(submitMs),
      cancel_ms: Math.round(cancelMs),
      released_ms: Math.round(releasedMs),
      leader_changes: leaderChanges,
      over_limit_code: over.code,
      over_limit_details: over.details,
      over_limit_ms: Math.round(overMs),
      rss_baseline_mb: mb(baseline),
      rss_peak_mb: mb(peak),
      rss_after_mb: mb(after),
      heap_baseline_mb: mb(settled.heap),
      heap_after_mb: mb(afterMemory.heap),
    };
  } finally {
    health.close();
    client.close();
    await daemon.stop();
    await pool.close();
    await store.close();
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

function manifestOf(graphId: string, count: number): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'router', count, resources: { cpu_cores: 0 } }],
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const agents = Number(flag('--agents') ?? 100_000);
  const stores = (flag('--store') ? [flag('--store')] : ['memory', 'redis']) as Array<'memory' | 'redis'>;
  const reports: BigJobReport[] = [];
  for (const store of stores) {
    if (store === 'redis') {
      const redis = await startRedis();
      try {
        reports.push(await runBigJob({ store, agents, redisUrl: redis.url }));
      } finally {
        redis.stop();
      }
    } else {
      reports.push(await runBigJob({ store, agents }));
    }
    console.error(JSON.stringify(reports[reports.length - 1]));
  }
  const keys = Object.keys(reports[0]!) as Array<keyof BigJobReport>;
  console.log(['metric', ...reports.map((r) => r.store)].join('\t'));
  for (const key of keys.filter((k) => k !== 'store')) console.log([key, ...reports.map((r) => String(r[key]))].join('\t'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
