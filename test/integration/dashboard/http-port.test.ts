/**
 * The HTTP port of a real `mn dev` process (the built package): `/metrics` counters move when a
 * job runs; the JSON API answers like the gRPC API; actions need the token and a JSON body; the
 * event stream delivers a job's events; unknown routes are 404s; MN_HTTP_PORT and MN_LOG_LEVEL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { ROOT, runCli } from '../../helpers/cli.js';
import { rawCall } from '../../helpers/grpc.js';
import { fanOutManifest, finished, getJob } from '../../helpers/jobs.js';

const TOKEN = 'metrics-secret';

interface Dev { proc: ChildProcess; target: string; url: string | null; out: () => string; err: () => string }

function startDev(env: Record<string, string>): Promise<Dev> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mn-http-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'mn.js'), 'dev'], {
    cwd: ROOT,
    env: { ...process.env, MN_NODE_GPU: 'none', MN_HEARTBEAT_INTERVAL_MS: '200', MN_SWEEP_INTERVAL_MS: '300', MN_GRPC_PORT: '0', MN_CORE_HOST: '127.0.0.1', MN_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  proc.once('exit', () => rmSync(home, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mn dev did not start:\n${out}\n${err}`)), 30_000);
    const check = (): void => {
      const grpcAt = /listening on ([\d.]+:\d+)/.exec(out);
      if (!grpcAt) return;
      // The dashboard line follows the gRPC line at once when the port is served.
      setTimeout(() => {
        clearTimeout(timer);
        resolve({ proc, target: grpcAt[1]!, url: /dashboard at (http:\/\/\S+\/)/.exec(out)?.[1] ?? null, out: () => out, err: () => err });
      }, 200);
      proc.stdout!.off('data', check);
    };
    proc.stdout!.on('data', check);
    // `close`, not `exit`: the output is complete by then.
    proc.once('close', (code, signal) => reject(new Error(`mn dev exited with ${code ?? signal}:\n${out}\n${err}`)));
  });
}

/** Waits until `check()` holds (15 s at most). */
async function eventuallyTrue(check: () => boolean): Promise<void> {
  for (let i = 0; i < 150 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!check()) throw new Error('condition not met within 15 s');
}

/** Retries `attempt` until it answers `want` (a closed stream is released when its socket closes). */
async function eventuallyStatus(attempt: () => Promise<number>, want: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const code = await attempt();
    if (code === want) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  return attempt();
}

async function stop(dev: Dev | undefined): Promise<void> {
  if (!dev || dev.proc.exitCode !== null) return;
  const exited = new Promise((r) => dev.proc.once('exit', r));
  dev.proc.kill('SIGTERM');
  await exited;
}

/** One metric sample's value (labels as written by prom-client, in order), or 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('the HTTP port of mn dev', () => {
  let dev: Dev;
  let base: string;

  beforeAll(async () => {
    dev = await startDev({ MN_HTTP_PORT: '0', MN_GRPC_AUTH_TOKEN: TOKEN, MN_LOG_LEVEL: 'debug' });
    expect(dev.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    base = dev.url!;
  });
  afterAll(() => stop(dev));

  const get = (p: string, init?: RequestInit) => fetch(new URL(p, base), init);

  it('counts placements, deliveries and jobs by status in /metrics when a job runs', async () => {
    const before = await (await get('/metrics')).text();
    expect(before).toContain('# TYPE mn_placements_total counter');
    const submit = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: fanOutManifest('scraped', 6, { command: ['true'] }), payloads: {} }, TOKEN);
    expect(submit.details).toBe('');
    expect((await finished(dev.target, submit.res!.job_id)).status).toBe('completed');
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const after = await res.text();
    // 6 workers + router + aggregator placed in one run; at least the router's, each worker's and the aggregator's messages handled.
    expect(sample(after, 'mn_placements_total', 'engine="wasm",outcome="placed"') - sample(before, 'mn_placements_total', 'engine="wasm",outcome="placed"')).toBe(8);
    expect(sample(after, 'mn_placement_runs_total', 'engine="wasm"') - sample(before, 'mn_placement_runs_total', 'engine="wasm"')).toBe(1);
    expect(sample(after, 'mn_placement_duration_seconds_count', 'engine="wasm"')).toBeGreaterThan(sample(before, 'mn_placement_duration_seconds_count', 'engine="wasm"'));
    expect(sample(after, 'mn_messages_delivered_total') - sample(before, 'mn_messages_delivered_total')).toBeGreaterThanOrEqual(13);
    expect(sample(after, 'mn_jobs', 'status="completed"') - sample(before, 'mn_jobs', 'status="completed"')).toBe(1);
    expect(sample(after, 'mn_jobs', 'status="running"')).toBe(0);
    expect(sample(after, 'mn_leader_changes_total', 'change="elected"')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'mn_leader')).toBe(1);
    expect(sample(after, 'mn_executor_slots', 'pool="default"')).toBe(4);
    expect(after).toMatch(/^mn_node_heartbeat_age_seconds\{node="[^"]+"\} [\d.]+$/m);
    expect(after).toMatch(/^mn_process_resident_memory_bytes \d+/m);
  });

  it('answers the JSON API from the same reads as gRPC', async () => {
    const submit = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: fanOutManifest('api-read', 2, { command: ['true'] }), payloads: {} }, TOKEN);
    const jobId = submit.res!.job_id;
    await finished(dev.target, jobId);
    const viaGrpc = await getJob(dev.target, jobId);
    const viaHttp = (await (await get(`/api/jobs/${jobId}`)).json()) as { status: string; agents: Array<{ agent_id: string; state: string }>; agent_counts: { placed: number; by_state: Record<string, number> } };
    expect(viaHttp.status).toBe(viaGrpc.status);
    expect(viaHttp.agents.map((a) => [a.agent_id, a.state]).sort()).toEqual(viaGrpc.agents.map((a) => [a.agent_id, a.state]).sort());
    expect(viaHttp.agent_counts).toEqual({ placed: 4, by_state: { completed: 4 } });
    const list = (await (await get('/api/jobs')).json()) as Array<{ job_id: string; agents: { placed: number } }>;
    expect(list.find((j) => j.job_id === jobId)?.agents.placed).toBe(4);
    // The job page's evaluations: the same records ListEvaluations answers.
    const evaluations = (await (await get(`/api/jobs/${jobId}/evaluations`)).json()) as { evaluations: Array<{ job_id: string; trigger: string; status: string; placed: number }> };
    expect(evaluations.evaluations).toEqual([expect.objectContaining({ job_id: jobId, trigger: 'submit', status: 'complete', placed: 4 })]);
    expect((await get('/api/jobs/no-such-job/evaluations')).status).toBe(404);
    const nodes = (await (await get('/api/nodes')).json()) as Array<{ name: string; status: string }>;
    expect(nodes).toHaveLength(1);
    expect(nodes[0]!.status).toBe('healthy');

    const missing = await get('/api/jobs/no-such-job');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'MN_E_NOT_FOUND', message: 'job no-such-job not found' } });
    const unknown = await get('/api/nothing-here');
    expect(unknown.status).toBe(404);
    const page = await get('/no/such/page');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('404: no such page');
    const app = await get('/jobs/anything');
    expect(app.status).toBe(200);
    expect(app.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await get('/static/vendor/preact-hooks.mjs').then((r) => r.text()))).toContain('from"/static/vendor/preact.mjs"');
    expect((await get('/static/../package.json')).status).toBe(404);
  });

  it('refuses actions without the token or without a JSON body, and carries them out with both', async () => {
    const submit = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: JSON.stringify({ manifest_version: '1', graph_id: 'to-cancel', entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['sleep', '30'] }, resources: { cpu_cores: 0.01, memory_mb: 1 } }] }),
      payloads: {},
    }, TOKEN);
    const jobId = submit.res!.job_id;
    const json = { 'content-type': 'application/json' };
    const none = await get(`/api/jobs/${jobId}/cancel`, { method: 'POST', headers: json, body: '{}' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('MN_E_UNAUTHENTICATED');
    const wrong = await get(`/api/jobs/${jobId}/cancel`, { method: 'POST', headers: { ...json, authorization: 'Bearer nope' }, body: '{}' });
    expect(wrong.status).toBe(401);
    const form = await get(`/api/jobs/${jobId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TOKEN}` }, body: 'a=1' });
    expect(form.status).toBe(400);
    const asGet = await get(`/api/jobs/${jobId}/cancel`);
    expect(asGet.status).toBe(404);
    expect((await getJob(dev.target, jobId)).status).not.toBe('cancelled');
    const badDrain = await get('/api/nodes/no-such-node/eligibility', { method: 'POST', headers: { ...json, authorization: `Bearer ${TOKEN}` }, body: '{"eligible":"yes"}' });
    expect(badDrain.status).toBe(400);
    expect(((await badDrain.json()) as { error: { message: string } }).error.message).toBe('eligible must be true or false');
    const ok = await get(`/api/jobs/${jobId}/cancel`, { method: 'POST', headers: { ...json, authorization: `Bearer ${TOKEN}` }, body: '{}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ job_id: jobId, status: 'cancelled' });
  });

  it("streams a job's events as server-sent events, resuming after Last-Event-ID", async () => {
    const submit = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: fanOutManifest('streamed', 2, { command: ['true'] }), payloads: {} }, TOKEN);
    const jobId = submit.res!.job_id;
    await finished(dev.target, jobId);
    const read = (lastId: string | null) => new Promise<Array<{ id?: string; data: Record<string, unknown> }>>((resolve, reject) => {
      const req = http.get(new URL(`/api/stream?job=${jobId}`, base), { headers: lastId ? { 'last-event-id': lastId } : {} }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let buf = '';
        const frames: Array<{ id?: string; data: Record<string, unknown> }> = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const id = /^id: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (data) frames.push({ ...(id ? { id } : {}), data: JSON.parse(data) });
            if (frames.some((f) => f.data.type === 'job_completed')) {
              req.destroy();
              resolve(frames);
            }
          }
        });
      });
      req.on('error', (e) => (e.message.includes('aborted') || e.message.includes('socket hang up') ? undefined : reject(e)));
      setTimeout(() => { req.destroy(); resolve([]); }, 5000);
    });
    // From the start of the retained stream (id 0-0): every event of the job, in order.
    const all = await read('0-0');
    expect(all[0]!.data.type).toBe('stream_open');
    const types = all.slice(1).map((f) => f.data.type);
    expect(types[0]).toBe('job_pending');
    expect(types.at(-1)).toBe('job_completed');
    const half = all[Math.floor(all.length / 2)]!;
    const rest = await read(half.id!);
    expect(rest.slice(1).map((f) => f.id)).toEqual(all.slice(all.indexOf(half) + 1).map((f) => f.id));
    expect((await get('/api/stream?job=no-such-job')).status).toBe(404);

    // At most 64 open streams per daemon: the next is refused, and a closed one frees its place.
    const open: http.ClientRequest[] = [];
    const statusOf = () => new Promise<number>((resolve) => {
      const req = http.get(new URL('/api/stream', base), (res) => resolve(res.statusCode ?? 0));
      open.push(req);
    });
    try {
      const codes = await Promise.all(Array.from({ length: 64 }, statusOf));
      expect(codes.every((c) => c === 200)).toBe(true);
      expect(await statusOf()).toBe(429);
      open.shift()!.destroy();
      expect(await eventuallyStatus(statusOf, 200)).toBe(200);
    } finally {
      for (const r of open) r.destroy();
    }
  });

  it('watches a job with mn job status --watch: one line per change when piped, exit 0 completed and 1 failed; tables without colour', async () => {
    // A job that runs until the test cancels it: the watch sees it running, then cancelled (exit 1).
    const slow = JSON.stringify({ manifest_version: '1', graph_id: 'watched', entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', count: 2, config: { command: ['sleep', '60'] }, resources: { cpu_cores: 0.01, memory_mb: 1 } }] });
    const submit = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: slow, payloads: {} }, TOKEN);
    const jobId = submit.res!.job_id;
    const watch = spawn(process.execPath, [path.join(ROOT, 'bin', 'mn.js'), 'job', 'status', jobId, '--watch', '--target', dev.target], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    watch.stdout!.on('data', (d) => (out += d));
    watch.stderr!.on('data', (d) => (errText += d));
    const code = new Promise<number | null>((resolve) => watch.once('close', (c) => resolve(c)));
    await eventuallyTrue(() => out.includes(`${jobId} running: placed 2/2, running 2, completed 0, failed 0`));
    await rawCall(dev.target, JOB_SERVICE, 'CancelJob', { job_id: jobId }, TOKEN);
    expect(await code).toBe(1);
    const lines = out.split('\n').filter((l) => l.startsWith(`${jobId} `) && l.includes(': placed '));
    expect(new Set(lines).size).toBe(lines.length); // a line only when something changed
    expect(lines.at(-1)).toMatch(new RegExp(`^${jobId} cancelled: placed \\d/2, `));
    expect(out).not.toContain('\x1b[');
    expect(errText).toBe('');

    const quick = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: fanOutManifest('watched-ok', 2, { command: ['true'] }), payloads: {} }, TOKEN);
    const done = await runCli(['job', 'status', quick.res!.job_id, '--watch', '--target', dev.target]);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`${quick.res!.job_id} completed: placed 4/4, running 0, completed 4, failed 0`);

    const failing = JSON.stringify({ manifest_version: '1', graph_id: 'watched-fail', entrypoints: ['x'], nodes: [{ node_id: 'x', agent_type: 'executor', config: { command: ['false'] }, resources: { cpu_cores: 0.01, memory_mb: 1 } }], policies: { restart: { enabled: false } } });
    const failed = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: failing, payloads: {} }, TOKEN);
    const json = await runCli(['job', 'status', failed.res!.job_id, '--watch', '--json', '--target', dev.target]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ job_id: failed.res!.job_id, status: 'failed' });

    const nodes = await runCli(['node', 'list', '--target', dev.target]);
    const [head, row] = nodes.stdout.trim().split('\n');
    expect(head).toMatch(/^NODE +STATUS +ELIGIBLE +CPU +MEMORY MB +GPU +AGENTS +ZONE +RACK$/);
    expect(row).toMatch(/^\S+ +healthy +yes +/);
    expect(head!.indexOf('STATUS')).toBe(row!.indexOf('healthy'));
    const jobs = await runCli(['job', 'list', '--all', '--target', dev.target]);
    expect(jobs.stdout.split('\n')[0]).toMatch(/^JOB +STATUS +CREATED +AGE$/);
    expect(jobs.stdout).toContain(quick.res!.job_id);
  });

  it('logs JSON lines with level, time and node when stderr is not a terminal', () => {
    const lines = dev.err().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    const leader = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.leader === true);
    expect(leader).toMatchObject({ level: 'info', node: expect.any(String), msg: expect.stringContaining('is the leader') });
    expect(typeof leader!.time).toBe('string');
  });
});

describe('MN_HTTP_PORT', () => {
  it('refuses to start when the given port is taken or malformed, naming the variable, and serves nothing when off', async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startDev({ MN_HTTP_PORT: String(port) })).rejects.toThrow(/cannot start the daemon.*MN_HTTP_PORT=\d+/s);
    } finally {
      blocker.close();
    }
    const off = await startDev({ MN_HTTP_PORT: 'off' });
    try {
      expect(off.url).toBeNull();
      expect(off.out()).not.toContain('dashboard at');
    } finally {
      await stop(off);
    }
    // Malformed values are refused by the config parser before anything starts (test/unit/http/http-config.test.ts).
    await expect(startDev({ MN_HTTP_PORT: 'eighty' })).rejects.toThrow(/MN_HTTP_PORT must be a port between 0 and 65535 or "off", got "eighty"/);
  });
});
