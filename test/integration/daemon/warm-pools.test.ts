/**
 * Warm pools on a real daemon, on the embedded store and on a real redis-server: members are
 * started before any consumer exists (each writes a marker named after its pid when it starts),
 * a consumer's input is handled by one of those pre-started processes, the pool refills behind
 * it, a killed idle member is replaced, `MN_WARM_POOL_<NAME>_SIZE` overrides the manifest's size,
 * a pool of size 0 serves cold, and `mn pool list` reports it all through the mn binary.
 */
import * as grpc from '@grpc/grpc-js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import type { WarmPoolView } from '../../../src/api/warm-pool-handlers.js';
import { runCli } from '../../helpers/cli.js';
import { type AgentProcess, eventually, startAgent, processAlive } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const TOKEN = 'pools-token';

/** A member: marks its start (`started-<pid>` in argv[1]), waits for its input, answers with its pid. */
const MEMBER = [
  "const fs=require('fs'),p=require('path');",
  "fs.writeFileSync(p.join(process.argv[1],'started-'+process.pid),String(Date.now()));",
  "let s='';process.stdin.on('data',d=>s+=d);",
  "process.stdin.on('end',()=>{const m=JSON.parse(s);console.log('handled pid='+process.pid+' member='+(process.env.MN_WARM_POOL_MEMBER||'none')+' body='+JSON.stringify(m.body));});",
].join('');

const poolJob = (markers: string) => ({
  manifest_version: '1',
  graph_id: 'pools',
  type: 'service',
  entrypoints: ['py', 'spare', 'empty'],
  nodes: [
    { node_id: 'py', agent_type: 'executor', warm_pool: { name: 'py', size: 2, provider: 'openai' }, config: { command: ['node', '-e', MEMBER, path.join(markers, 'py')] }, resources: { cpu_cores: 0.01, memory_mb: 1 } },
    { node_id: 'spare', agent_type: 'executor', warm_pool: { name: 'spare', size: 1, provider: 'anthropic' }, config: { command: ['node', '-e', MEMBER, path.join(markers, 'spare')] }, resources: { cpu_cores: 0.01, memory_mb: 1 } },
    { node_id: 'empty', agent_type: 'executor', warm_pool: { name: 'empty', size: 0, provider: 'google' }, config: { command: ['node', '-e', MEMBER, path.join(markers, 'empty')] }, resources: { cpu_cores: 0.01, memory_mb: 1 } },
  ],
});

const consumer = (pool: string, body: unknown) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: `use-${pool}`,
    entrypoints: ['run'],
    initial_inputs: { run: [body] },
    nodes: [{ node_id: 'run', agent_type: 'executor', config: { warm_pool: pool, complete_job: true }, resources: { cpu_cores: 0.01, memory_mb: 1 } }],
  });


const startedPids = (dir: string): number[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('started-')).map((f) => Number(f.slice(8))) : []);

describe.each(['embedded', 'redis'] as const)('warm pools on the %s store', (kind) => {
  let redis: RedisServer | null = null;
  let agent: AgentProcess;
  let cliEnv: Record<string, string>;
  let poolJobId = '';
  const markers = mkdtempSync(path.join(os.tmpdir(), 'mn-warm-'));
  const node = `warm-${kind}@lab`;

  const pools = async (): Promise<WarmPoolView[]> => {
    const r = await rawCall<{ result_json: string }>(agent.target, CLUSTER_SERVICE, 'ListWarmPools', {});
    if (!r.res) throw new Error(r.details);
    return JSON.parse(r.res.result_json) as WarmPoolView[];
  };
  const poolOf = async (name: string): Promise<WarmPoolView | undefined> => (await pools()).find((p) => p.pool === name);
  const submit = async (manifest: string) => rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest }, TOKEN);
  const result = async (jobId: string): Promise<string> => {
    const r = await rawCall<{ result_json: string }>(agent.target, JOB_SERVICE, 'GetJobResult', { job_id: jobId });
    return (JSON.parse(r.res!.result_json) as { sandbox: { stdout: string } }).sandbox.stdout;
  };

  beforeAll(async () => {
    for (const d of ['py', 'spare', 'empty']) mkdirSync(path.join(markers, d), { recursive: true });
    const env: Record<string, string> = { MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')), MN_GRPC_AUTH_TOKEN: TOKEN, MN_WARM_POOL_PY_SIZE: '3', MN_HTTP_PORT: '0' };
    if (kind === 'redis') {
      redis = await startRedis();
      agent = await startAgent(node, { ...env, MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'pools' });
    } else {
      agent = await startAgent(node, env, 30_000, 'dev');
    }
    cliEnv = { MN_GRPC_TARGET: agent.target, MN_GRPC_AUTH_TOKEN: TOKEN };
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('refuses bad pool declarations and a consumer of a pool nobody declared, naming the field', async () => {
    const bad = poolJob(markers);
    bad.nodes[0]!.warm_pool = { name: 'py', size: -1, provider: 'openai' };
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'mn-warm-bad-'));
    writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(bad));
    const v = await runCli(['validate', bundle, '--json']);
    expect(v.code).toBe(1);
    const report = JSON.parse(v.stdout) as { errors: Array<{ path: string; message: string }> };
    expect(report.errors).toContainEqual({ path: 'nodes[0].warm_pool.size', message: 'nodes[0].warm_pool.size must be an integer between 0 and 1000 (idle processes per machine), got -1' });

    const unknown = await submit(consumer('nope', {}));
    expect(unknown.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unknown.details).toContain('nodes[0].config.warm_pool: no warm pool named nope is declared in the cluster');
  });

  it('pre-starts the members before any consumer; the size comes from MN_WARM_POOL_PY_SIZE or the manifest', async () => {
    const r = await submit(JSON.stringify(poolJob(markers)));
    expect(r.details).toBe('');
    poolJobId = r.res!.job_id;
    const py = await eventually(async () => {
      const p = await poolOf('py');
      return p && p.idle === 3 ? p : null;
    }, 30_000);
    expect(py).toMatchObject({ pool: 'py', provider: 'openai', node, job_id: poolJobId, size: 3, idle: 3, in_use: 0, served_warm: 0, alive: true });
    const spare = await eventually(async () => {
      const p = await poolOf('spare');
      return p && p.idle === 1 ? p : null;
    }, 30_000);
    expect(spare).toMatchObject({ provider: 'anthropic', size: 1, idle: 1 });
    expect(await poolOf('empty')).toMatchObject({ size: 0, idle: 0 });
    // The processes exist and are waiting: each marked its start, none has handled anything.
    const pids = await eventually(async () => {
      const found = startedPids(path.join(markers, 'py'));
      return found.length >= 3 ? found : null;
    }, 15_000);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(processAlive(pid)).toBe(true);
    // The job keeping pools gets the lower default priority.
    const job = await rawCall<{ job_json: string }>(agent.target, JOB_SERVICE, 'GetJob', { job_id: poolJobId });
    expect((JSON.parse(job.res!.job_json) as { job: { priority: number } }).job.priority).toBe(40);
  }, 60_000);

  it('hands a consumer’s input to a pre-started member, then refills the pool to its size', async () => {
    const before = startedPids(path.join(markers, 'py'));
    const r = await submit(consumer('py', { user: 'u1' }));
    expect(r.details).toBe('');
    const done = await finished(agent.target, r.res!.job_id);
    expect(done.status).toBe('completed');
    const out = await result(r.res!.job_id);
    const m = /handled pid=(\d+) member=(py-\d+) body=\{"user":"u1"\}/.exec(out);
    expect(m, out).not.toBeNull();
    // The process that handled it is one that was started before the consumer was submitted.
    expect(before).toContain(Number(m![1]));
    const events = await jobEvents(agent.target, r.res!.job_id);
    expect(events.find((e) => e.type === 'warm_member_taken')?.payload).toMatchObject({ pool: 'py', member: m![2], pid: Number(m![1]) });
    // Refilled: a fourth member started behind it, and three wait again.
    const p = await eventually(async () => {
      const v = await poolOf('py');
      return v && v.idle === 3 && v.in_use === 0 && v.served_warm === 1 ? v : null;
    }, 30_000);
    expect(p.size).toBe(3);
    await eventually(async () => startedPids(path.join(markers, 'py')).length === 4, 15_000);
  }, 60_000);

  it('replaces an idle member that dies', async () => {
    const [victim] = await eventually(async () => {
      const found = startedPids(path.join(markers, 'spare'));
      return found.length === 1 ? found : null;
    }, 15_000);
    expect(victim).toBeDefined();
    process.kill(victim!, 'SIGKILL');
    const p = await eventually(async () => {
      const v = await poolOf('spare');
      return v && v.idle === 1 && startedPids(path.join(markers, 'spare')).length === 2 ? v : null;
    }, 30_000);
    expect(p.last_error).toMatch(/member spare-1 (exited|failed its check)/);
    const fresh = startedPids(path.join(markers, 'spare')).find((pid) => pid !== victim)!;
    expect(processAlive(fresh)).toBe(true);
  }, 60_000);

  it('spawns cold when the pool has no idle member, and records it on the agent and the pool', async () => {
    const r = await submit(consumer('empty', { user: 'u2' }));
    expect(r.details).toBe('');
    const done = await finished(agent.target, r.res!.job_id);
    expect(done.status).toBe('completed');
    // The pool's own command ran as a fresh process, outside the pool.
    expect(await result(r.res!.job_id)).toContain('member=none body={"user":"u2"}');
    const events = await jobEvents(agent.target, r.res!.job_id);
    expect(events.find((e) => e.type === 'warm_pool_cold_spawn')?.payload).toMatchObject({ pool: 'empty', reason: 'no idle member' });
    await eventually(async () => (await poolOf('empty'))?.served_cold === 1, 15_000);
  }, 60_000);

  it('serves a template dispatch warm, and one with a secret variable cold (a secret reaches only a fresh process)', async () => {
    const template = {
      manifest_version: '1', graph_id: 'runtime', job_name: 'runtime-${var.USER_ID}', entrypoints: ['run'], initial_inputs: { run: [{ user: '${var.USER_ID}' }] },
      parameters: { USER_ID: { required: true, pattern: '[0-9]+' }, API_KEY: { secret: true } },
      nodes: [{ node_id: 'run', agent_type: 'executor', config: { warm_pool: 'py', complete_job: true }, resources: { cpu_cores: 0.01, memory_mb: 1 } }],
    };
    const reg = await rawCall(agent.target, JOB_SERVICE, 'RegisterJobTemplate', { manifest_json: JSON.stringify(template) }, TOKEN);
    expect(reg.details).toBe('');
    const dispatch = async (variables: Record<string, string>) => {
      const d = await rawCall<{ result_json: string }>(agent.target, JOB_SERVICE, 'DispatchJob', { name: 'runtime', variables }, TOKEN);
      expect(d.details).toBe('');
      const jobId = (JSON.parse(d.res!.result_json) as { job_id: string }).job_id;
      expect((await finished(agent.target, jobId)).status).toBe('completed');
      return { jobId, out: await result(jobId), events: await jobEvents(agent.target, jobId) };
    };
    const warm = await dispatch({ USER_ID: '7' });
    expect(warm.out).toMatch(/member=py-\d+ body=\{"user":"7"\}/);
    expect(warm.events.some((e) => e.type === 'warm_member_taken')).toBe(true);
    const secret = await dispatch({ USER_ID: '8', API_KEY: 'sk-not-for-members' });
    expect(secret.out).toContain('member=none body={"user":"8"}');
    expect(secret.events.find((e) => e.type === 'warm_pool_cold_spawn')?.payload).toMatchObject({ pool: 'py', reason: 'the job has secret variables, which reach only a fresh process' });
    await eventually(async () => {
      const p = await poolOf('py');
      return p && p.idle === 3 && p.served_warm === 2 && p.served_cold === 1;
    }, 30_000);
  }, 60_000);

  it('mn pool list shows each pool per machine through the mn binary', async () => {
    const json = await runCli(['pool', 'list', '--json'], { env: cliEnv });
    expect(json.stderr).toBe('');
    const listed = JSON.parse(json.stdout) as WarmPoolView[];
    expect(listed.map((p) => [p.pool, p.node, p.size])).toEqual([
      ['empty', node, 0],
      ['py', node, 3],
      ['spare', node, 1],
    ]);
    const text = await runCli(['pool', 'list'], { env: cliEnv });
    expect(text.stdout).toMatch(/POOL\s+PROVIDER\s+MACHINE\s+SIZE\s+IDLE\s+IN USE/);
    expect(text.stdout).toMatch(new RegExp(`py\\s+openai\\s+${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+3\\s+3\\s+0`));
    const filtered = JSON.parse((await runCli(['pool', 'list', '--pool', 'spare', '--json'], { env: cliEnv })).stdout) as WarmPoolView[];
    expect(filtered.map((p) => p.pool)).toEqual(['spare']);
    // The dashboard's Services page reads the same list.
    const url = /dashboard at (http:\/\/\S+?\/) /.exec(await eventually(async () => (agent.output().includes('dashboard at') ? agent.output() : null)))![1]!;
    const page = (await (await fetch(`${url}api/pools`)).json()) as WarmPoolView[];
    expect(page.map((p) => [p.pool, p.size])).toEqual([['empty', 0], ['py', 3], ['spare', 1]]);
  });

  it('stops the members and drops the pool when its job ends', async () => {
    const idle = startedPids(path.join(markers, 'py')).filter(processAlive);
    expect(idle.length).toBeGreaterThanOrEqual(3);
    const c = await rawCall(agent.target, JOB_SERVICE, 'CancelJob', { job_id: poolJobId }, TOKEN);
    expect(c.details).toBe('');
    await eventually(async () => (await pools()).length === 0, 30_000);
    await eventually(async () => idle.every((pid) => !processAlive(pid)), 15_000);
  }, 60_000);
});
