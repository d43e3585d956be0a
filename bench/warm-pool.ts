/**
 * Warm pool allocation latency: one `mn agent` daemon on a private redis-server, two job
 * templates that run the same executor command, one taking a member of a warm pool
 * (`config.warm_pool`), the other spawning cold. Each sample is one template dispatch (the
 * DispatchJob gRPC call, as `mn job dispatch` makes it): the time from just before the call to
 * the moment the executor's process reads its input (the process writes that instant to a file
 * named after its job). Warm and cold dispatches alternate, one at a time, so both see the same
 * machine. Prints p50/p99 side by side with their ratio; target: warm p99 < 500 ms.
 *
 * Run: `npm run bench:warm-pool [-- --dispatches 200 --size 8]` (needs redis-server on PATH).
 */
import { mkdtempSync, readFileSync, watch } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiClient } from '../src/cli/client.js';
import { runBench, startDaemon } from './processes.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DISPATCHES = arg('dispatches', 200);
const SIZE = arg('size', 8);
const TOKEN = 'warm-bench';

/** The executor: notes when its input arrives (wall clock, sub-millisecond), then answers. */
const EXECUTOR = [
  "const fs=require('fs'),p=require('path');let s='';",
  "process.stdin.on('data',d=>{if(s==='')process.stdin.arrived=performance.timeOrigin+performance.now();s+=d;});",
  "process.stdin.on('end',()=>{const m=JSON.parse(s);fs.writeFileSync(p.join(process.argv[1],m.envelope.job_id),String(process.stdin.arrived));console.log('{}');});",
].join('');

const template = (name: string, dir: string, warm: boolean) => ({
  manifest_version: '1',
  graph_id: name,
  job_name: `${name}-\${var.USER_ID}`,
  parameters: { USER_ID: { required: true, pattern: '[0-9]+' } },
  entrypoints: ['run'],
  initial_inputs: { run: [{ user: '${var.USER_ID}' }] },
  nodes: [{ node_id: 'run', agent_type: 'executor', config: { ...(warm ? { warm_pool: 'bench' } : {}), command: ['node', '-e', EXECUTOR, dir], complete_job: true }, resources: { cpu_cores: 0.001, memory_mb: 1 } }],
});

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
const round = (x: number): number => Math.round(x * 10) / 10;

runBench('warm-pool', async (redisUrl) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-warm-bench-'));
  const daemon = await startDaemon('warm@bench', { MN_REDIS_URL: redisUrl, MN_REDIS_NAMESPACE: 'warm-bench', MN_GRPC_AUTH_TOKEN: TOKEN, MN_EXECUTOR_MAX_CONCURRENCY: '16' });
  const client = new ApiClient(daemon.target, TOKEN, 30_000);
  // Each process writes a file named after its job; a watcher hands the instant to the waiting dispatch.
  const waiting = new Map<string, (at: number) => void>();
  const watcher = watch(dir, (_event, file) => {
    if (!file) return;
    const done = waiting.get(file);
    if (!done) return;
    let text = '';
    try {
      text = readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return;
    }
    if (text === '') return;
    waiting.delete(file);
    done(Number(text));
  });
  const call = <T>(service: 'job' | 'cluster', method: string, req: object): Promise<T> => client.call<T>(service, method, req);
  try {
    await call('job', 'SubmitJob', {
      manifest_json: JSON.stringify({
        manifest_version: '1',
        graph_id: 'bench-pool',
        type: 'service',
        entrypoints: ['pool'],
        nodes: [{ node_id: 'pool', agent_type: 'executor', warm_pool: { name: 'bench', size: SIZE, provider: 'openai' }, config: { command: ['node', '-e', EXECUTOR, dir] }, resources: { cpu_cores: 0.01, memory_mb: 1 } }],
      }),
    });
    for (const [name, warm] of [['warm-run', true], ['cold-run', false]] as const) {
      await call('job', 'RegisterJobTemplate', { manifest_json: JSON.stringify(template(name, dir, warm)) });
    }
    const pools = async () => JSON.parse((await call<{ result_json: string }>('cluster', 'ListWarmPools', {})).result_json) as Array<{ idle: number; served_warm: number; served_cold: number }>;
    const deadline = Date.now() + 30_000;
    while (((await pools())[0]?.idle ?? 0) < SIZE && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const samples: Record<'warm' | 'cold', number[]> = { warm: [], cold: [] };
    const once = async (kind: 'warm' | 'cold', i: number): Promise<void> => {
      const t0 = performance.timeOrigin + performance.now();
      const res = await call<{ result_json: string }>('job', 'DispatchJob', { name: `${kind}-run`, variables: { USER_ID: String(i) } });
      const jobId = (JSON.parse(res.result_json) as { job_id: string }).job_id;
      const at = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${kind} dispatch ${i} (${jobId}) was not handled within 30 s`)), 30_000);
        waiting.set(jobId, (v) => (clearTimeout(timer), resolve(v)));
        // Written before the watcher was armed: read it now.
        try {
          const text = readFileSync(path.join(dir, jobId), 'utf8');
          if (text !== '') {
            waiting.get(jobId)?.(Number(text));
            waiting.delete(jobId);
          }
        } catch {
          // not yet: the watcher answers
        }
      });
      samples[kind].push(at - t0);
    };
    // A few unmeasured rounds load both paths (JIT, connections, the solver worker).
    for (let i = 0; i < 5; i++) {
      await once('warm', 100_000 + i);
      await once('cold', 100_000 + i);
    }
    samples.warm.length = 0;
    samples.cold.length = 0;
    const load = os.loadavg();
    for (let i = 0; i < DISPATCHES; i++) {
      await once('warm', i);
      await once('cold', i);
    }
    const loadAfter = os.loadavg();
    const [pool] = await pools();
    const stat = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] ?? NaN };
    };
    const warm = stat(samples.warm);
    const cold = stat(samples.cold);
    return {
      rows: [
        { path: 'warm pool', dispatches: samples.warm.length, p50_ms: round(warm.p50), p99_ms: round(warm.p99), max_ms: round(warm.max) },
        { path: 'cold spawn', dispatches: samples.cold.length, p50_ms: round(cold.p50), p99_ms: round(cold.p99), max_ms: round(cold.max) },
        { path: 'cold / warm', dispatches: '', p50_ms: round(cold.p50 / warm.p50), p99_ms: round(cold.p99 / warm.p99), max_ms: '' },
      ],
      extra: {
        pool_size: SIZE,
        warm_p99_target_ms: 500,
        warm_p99_met: warm.p99 < 500,
        served_warm: pool?.served_warm ?? null,
        served_cold_in_pool: pool?.served_cold ?? null,
        loadavg_before: load,
        loadavg_after: loadAfter,
      },
    };
  } finally {
    watcher.close();
    client.close();
    daemon.kill();
  }
});
