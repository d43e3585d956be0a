/**
 * Control-plane benchmark: a daemon on a real redis-server (started here on a free port), with
 * 100 registered machines, measured over real gRPC on loopback:
 *  - one job of 10,000 agents: seconds from SubmitJob until its placements are committed in Redis
 *    (SubmitJob returns after the atomic commit);
 *  - 1,000 small jobs from 50 concurrent clients: jobs/s and per-submit latency percentiles.
 * Run: `npm run build && node dist/bench/control-plane.js` (needs redis-server on PATH).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient } from '../src/cli/client.js';
import { daemonConfigFromEnv } from '../src/core/config.js';
import { startDaemon } from '../src/daemon.js';
import { poolPlanner } from '../src/runtime/pool-planner.js';
import { PlacementPool } from '../src/solver/pool.js';
import { redisConfigFromEnv } from '../src/store/connect.js';
import { RedisStore } from '../src/store/redis-store.js';
import { startRedis } from './processes.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function manifest(graphId: string, count: number): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'router', count, resources: { cpu_cores: 0.01, memory_mb: 8 } }],
  });
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-bench-home-'));
  const env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'bench' };
  const store = await RedisStore.connect({ config: redisConfigFromEnv(env) });
  const pool = new PlacementPool({ threads: 1 });
  const { config } = daemonConfigFromEnv({ MN_GRPC_PORT: '0', MN_NODE_NAME: 'bench-0@lab' }, { hostname: 'bench', homeDir: dir });
  const machine = (name: string) => ({
    name,
    status: 'healthy',
    scheduling_eligible: true,
    resources: { cpu_cores: 64, memory_mb: 262_144, disk_mb: 1_000_000 },
    devices: [],
    attributes: { zone: `z${name.length % 3}` },
    capabilities: [],
    profiles: [],
    runtime_drivers: ['host_local'],
    host_paths: [],
  });
  const daemon = await startDaemon({ config, store, inventory: async () => machine('bench-0@lab'), planner: poolPlanner(pool) });
  for (let i = 1; i < 100; i++) {
    const name = `bench-${i}@lab`;
    await store.upsertNode({ name, status: 'healthy', inventory: machine(name) });
    await store.heartbeat(name, 600_000);
  }
  const client = new ApiClient(daemon.address, null, 120_000);

  // Warm-up: the pool's first plan compiles and loads the core.
  await client.call('job', 'SubmitJob', { manifest_json: manifest('warmup', 10) });

  const t0 = performance.now();
  const big = await client.call<{ job_id: string }>('job', 'SubmitJob', { manifest_json: manifest('fanout-10k', 10_000) });
  const bigSeconds = (performance.now() - t0) / 1000;
  const committed = (await store.listAgents(big.job_id)).length;

  const clients = Array.from({ length: 50 }, () => new ApiClient(daemon.address, null, 120_000));
  const latencies: number[] = [];
  let next = 0;
  const t1 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (next < 1000) {
        const k = next++;
        const s = performance.now();
        await c.call('job', 'SubmitJob', { manifest_json: manifest(`small-${k}`, 4) });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const smallSeconds = (performance.now() - t1) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    node: process.version,
    at: new Date().toISOString(),
    machines: 100,
    submit_10k_agents_seconds: Number(bigSeconds.toFixed(3)),
    submit_10k_agents_committed: committed,
    small_jobs: 1000,
    concurrent_clients: 50,
    small_jobs_per_second: Number((1000 / smallSeconds).toFixed(1)),
    small_submit_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    small_submit_p99_ms: Number(percentile(latencies, 99).toFixed(1)),
  };
  console.log('| measure | value |\n|---|---|');
  for (const [k, v] of Object.entries(result)) console.log(`| ${k} | ${v} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/control-plane.json', JSON.stringify(result, null, 2));

  for (const c of clients) c.close();
  client.close();
  await daemon.stop();
  await pool.close();
  await store.close();
  redis.stop();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
