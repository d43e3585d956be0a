/**
 * Service check throughput: one `mn agent` daemon on a private redis-server monitors N service
 * instances registered on its machine (default 1,000), each with a check every second (tcp and
 * http against local servers, and a share of script checks). Measured over a steady window:
 * checks run per second, how late checks start after they are due (p50/p99, from the daemon's
 * GetMetrics), and heartbeat lag (how much later than its interval each heartbeat of the
 * daemon lands in the store, p50/p99/max, from polling its node record).
 * Run: `npm run bench:services [-- --instances 1000 --seconds 20]` (needs redis-server on PATH).
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { ApiClient } from '../src/cli/client.js';
import { serviceInstance } from '../src/core/services/instance.js';
import { serviceRecord } from '../src/core/services/registry.js';
import type { CheckSpec } from '../src/core/manifest/types.js';
import { redisConfigFromEnv } from '../src/store/connect.js';
import { RedisStore } from '../src/store/redis-store.js';
import { runBench, startDaemon } from './processes.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const INSTANCES = arg('instances', 1000);
const SECONDS = arg('seconds', 20);
const HEARTBEAT_MS = 500;

function check(type: CheckSpec['type'], port: number): CheckSpec {
  return {
    type, name: type, timeout_ms: 500, interval_ms: 1000, required: true, failures_before_critical: 1,
    address: '127.0.0.1', port, url: null, scheme: 'http', path: type === 'http' ? '/health' : null, method: 'GET', expected_status: [], contains: null, service: null,
    command: type === 'script' ? ['true'] : null,
  };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

runBench('services', async (redisUrl) => {
  const tcp = createTcpServer((s) => s.end());
  const http = createHttpServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as AddressInfo).port;
  const httpPort = (http.address() as AddressInfo).port;
  const env = { MN_REDIS_URL: redisUrl, MN_REDIS_NAMESPACE: 'services-bench', MN_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), MN_SWEEP_INTERVAL_MS: '1000' };
  const daemon = await startDaemon('checks@bench', env);
  const store = await RedisStore.connect({ config: redisConfigFromEnv(env) });
  const client = new ApiClient(daemon.target, null, 30_000);
  try {
    await store.createJob({ job_id: 'svc-bench', manifest: {}, job: { services: [] } as never, status: 'running' });
    const now = Date.now();
    for (let i = 0; i < INSTANCES; i++) {
      // 70% tcp, 25% http, 5% script.
      const type: CheckSpec['type'] = i % 20 === 0 ? 'script' : i % 4 === 1 ? 'http' : 'tcp';
      const port = type === 'http' ? httpPort : tcpPort;
      const spec = { name: `svc${i % 50}`, id: null, address: '127.0.0.1', port, tags: [], meta: {}, provider: 'mirror_neuron' as const, origin: 'internal' as const, required: true, checks: [check(type, port)] };
      await store.services.register(serviceRecord(serviceInstance(spec, { job_id: 'svc-bench', agent_id: `a${i}`, node: 'checks@bench', env: {} }), {}, now));
    }
    const metrics = async () => JSON.parse((await client.call<{ metrics_json: string }>('observability', 'GetMetrics', {})).metrics_json) as { service_checks: { runs: number; instances: number; lag_ms: { p50: number; p99: number; max: number } } };
    // Warm up until every instance is watched and checked once.
    const warmStart = Date.now();
    while ((await metrics()).service_checks.runs < INSTANCES && Date.now() - warmStart < 30_000) await new Promise((r) => setTimeout(r, 200));
    const before = await metrics();
    const started = Date.now();
    const beats: number[] = [];
    let last: number | null = null;
    while (Date.now() - started < SECONDS * 1000) {
      const node = JSON.parse((await client.call<{ node_json: string }>('cluster', 'GetNode', { node_name: 'checks@bench' })).node_json) as { heartbeat_at: number | null };
      if (node.heartbeat_at !== null && node.heartbeat_at !== last) {
        if (last !== null) beats.push(node.heartbeat_at - last - HEARTBEAT_MS);
        last = node.heartbeat_at;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await metrics();
    const elapsed = (Date.now() - started) / 1000;
    beats.sort((a, b) => a - b);
    const healthy = (await store.services.list({ job_id: 'svc-bench', passing_only: true })).length;
    return {
      rows: [
        {
          instances: INSTANCES,
          checks_per_s: Math.round((after.service_checks.runs - before.service_checks.runs) / elapsed),
          check_lag_p50_ms: after.service_checks.lag_ms.p50,
          check_lag_p99_ms: after.service_checks.lag_ms.p99,
          check_lag_max_ms: after.service_checks.lag_ms.max,
          heartbeat_lag_p50_ms: quantile(beats, 0.5),
          heartbeat_lag_p99_ms: quantile(beats, 0.99),
          heartbeat_lag_max_ms: beats[beats.length - 1] ?? 0,
          passing: healthy,
          daemon_peak_rss_mb: daemon.peakRssMb(),
        },
      ],
      extra: { seconds: SECONDS, heartbeat_ms: HEARTBEAT_MS, check_interval_ms: 1000, mix: '70% tcp, 25% http, 5% script' },
    };
  } finally {
    client.close();
    daemon.kill();
    await store.close();
    tcp.close();
    http.close();
  }
});
