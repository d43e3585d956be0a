import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../src/api/protos.js';
import { daemonConfigFromEnv, type DaemonConfig } from '../../src/core/config.js';
import { type Daemon, startDaemon } from '../../src/daemon.js';
import { localPlanner } from '../../src/runtime/local-planner.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/daemon.js';
import { rawCall } from '../helpers/grpc.js';
import { machine } from '../helpers/jobs.js';

const DAEMON_NODE = 'cli-job@test';
/** A registered, live node that no daemon runs: agents placed there stay pending, whatever the runtime learns to do. */
const PARKED_NODE = 'parked@test';

const manifest = (graphId: string) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['echo'],
    nodes: [{ node_id: 'echo', agent_type: 'executor', count: 2, config: { command: ['node', '-e', ''] }, resources: { cpu_cores: 0.1, memory_mb: 64 } }],
  });

/** `mn` as a child process whose stdout can be watched while it runs (a follower). */
function startCli(args: string[], env: Record<string, string>): { proc: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'mn.js'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

describe('mn job result, logs and dead-letters against a real daemon', () => {
  let store: MemoryStore;
  let daemon: Daemon;
  let home: string;
  let env: Record<string, string>;
  const followers: ChildProcess[] = [];

  const submit = async (graphId: string): Promise<string> => {
    const r = await rawCall<{ job_id: string; status: string }>(daemon.address, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest(graphId), payloads: {} });
    expect(r.details).toBe('');
    return r.res!.job_id;
  };
  /** Ends a job as its coordinator would: status first, then the end event. */
  const finish = async (jobId: string, status: 'completed' | 'failed', details: Record<string, unknown>): Promise<void> => {
    const record = (await store.getJob(jobId))!;
    await store.updateJob(jobId, { status, details: { ...record.details, ...details } });
    await store.appendEvent(jobId, { type: `job_${status}`, payload: { status } });
  };
  const log = (jobId: string, agentId: string, stream: 'stdout' | 'stderr', line: string) =>
    store.appendEvent(jobId, { type: 'agent_log', agent_id: agentId, payload: { stream, line } });

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'mn-cli-job-'));
    store = new MemoryStore();
    const config: DaemonConfig = {
      ...daemonConfigFromEnv({}, { hostname: 'test', homeDir: home }).config,
      host: '127.0.0.1',
      port: 0,
      nodeName: DAEMON_NODE,
      jobLeaseMs: 60_000,
      jobLeaseRenewMs: 10_000,
      leaderLeaseMs: 10_000,
      heartbeatMs: 200,
      sweepMs: 300,
      disconnectGraceMs: 30_000,
      home,
    };
    daemon = await startDaemon({ config, store, inventory: async () => machine(DAEMON_NODE), planner: localPlanner() });
    // The daemon's own node takes no placements, so nothing runs and every job state here is the test's.
    await store.updateNode(DAEMON_NODE, { scheduling_eligible: false });
    await store.upsertNode({ name: PARKED_NODE, status: 'healthy', inventory: machine(PARKED_NODE) });
    await store.heartbeat(PARKED_NODE, 10 * 60_000);
    env = { MN_GRPC_TARGET: daemon.address };
  });

  afterAll(async () => {
    for (const p of followers) p.kill('SIGKILL');
    await daemon?.stop();
    await store?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('serves GetJobResult and ListDeadLetters: NOT_FOUND for an unknown job, INVALID_ARGUMENT naming job_id, no token needed', async () => {
    const jobId = await submit('rpc');
    const ok = await rawCall<{ job_id: string; status: string; result_json: string }>(daemon.address, JOB_SERVICE, 'GetJobResult', { job_id: jobId });
    expect(ok.res).toMatchObject({ job_id: jobId, status: expect.stringMatching(/^(scheduled|running)$/), result_json: '' });
    for (const method of ['GetJobResult', 'ListDeadLetters']) {
      const missing = await rawCall(daemon.address, JOB_SERVICE, method, { job_id: 'no-such-job' });
      expect(missing.code).toBe(grpc.status.NOT_FOUND);
      expect(missing.details).toBe('MN_E_NOT_FOUND: job no-such-job not found');
      const empty = await rawCall(daemon.address, JOB_SERVICE, method, { job_id: '' });
      expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(empty.details).toMatch(/job_id is required/);
    }
  });

  it('lists the new RPCs through server reflection', async () => {
    const dir = path.join(ROOT, 'node_modules', '@grpc', 'reflection', 'build', 'proto');
    const def = protoLoader.loadSync(path.join(dir, 'grpc', 'reflection', 'v1', 'reflection.proto'), { keepCase: true, includeDirs: [dir] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const client = new pkg.grpc.reflection.v1.ServerReflection(daemon.address, grpc.credentials.createInsecure());
    const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { file_descriptor_response?: { file_descriptor_proto: Buffer[] } }> }).ServerReflectionInfo();
    const reply = new Promise<Buffer[]>((resolve, reject) => {
      call.on('data', (r) => resolve(r.file_descriptor_response?.file_descriptor_proto ?? []));
      call.on('error', reject);
    });
    call.write({ file_containing_symbol: JOB_SERVICE });
    const files = Buffer.concat(await reply).toString('latin1');
    call.end();
    client.close();
    for (const name of ['GetJobResult', 'GetJobResultResponse', 'ListDeadLetters', 'ListDeadLettersRequest', 'dead_letters_json']) expect(files).toContain(name);
  });

  it('prints a completed job\'s result, and refuses (exit 1, one line) while the job has none', async () => {
    const jobId = await submit('result');
    const early = await runCli(['job', 'result', jobId], { env });
    expect(early.code).toBe(1);
    expect(early.stdout).toBe('');
    // Scheduled, or running once its coordinator seeded the entrypoints: not ended either way.
    expect(early.stderr).toMatch(new RegExp(`^mn: job ${jobId} is (scheduled|running); it has no result until it completes\n$`));
    const earlyJson = await runCli(['job', 'result', jobId, '--json'], { env });
    expect(earlyJson.code).toBe(1);
    expect(earlyJson.stderr).toBe('');
    expect(JSON.parse(earlyJson.stdout)).toEqual({ job_id: jobId, status: expect.stringMatching(/^(scheduled|running)$/), result: null, completed_by: null, failure: null });

    const result = { answer: 42, items: ['a', 'b'], nested: { ok: true } };
    await finish(jobId, 'completed', { result, completed_by: 'complete_job' });
    const done = await runCli(['job', 'result', jobId], { env });
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual(result);
    expect(done.stdout).toContain('\n  "answer": 42');
    const doneJson = await runCli(['job', 'result', jobId, '--json'], { env });
    expect(doneJson.code).toBe(0);
    expect(JSON.parse(doneJson.stdout)).toEqual({ job_id: jobId, status: 'completed', result, completed_by: 'complete_job', failure: null });
  });

  it('reports a failed job\'s reason instead of a result', async () => {
    const jobId = await submit('failed');
    await finish(jobId, 'failed', { failure: { reason: 'exited with 3', agent_id: 'echo-1' } });
    const r = await runCli(['job', 'result', jobId], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`mn: job ${jobId} failed: exited with 3 (agent echo-1); it has no result\n`);
    const j = await runCli(['job', 'result', jobId, '--json'], { env });
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ job_id: jobId, status: 'failed', result: null, completed_by: null, failure: { reason: 'exited with 3', agent_id: 'echo-1' } });
  });

  it('prints agent log lines, filtered by agent, as text and as one JSON array', async () => {
    const jobId = await submit('logs');
    await log(jobId, 'echo-0', 'stdout', 'hello');
    await log(jobId, 'echo-0', 'stderr', 'warning: low disk');
    await log(jobId, 'echo-1', 'stdout', 'from one');
    await store.appendEvent(jobId, { type: 'agent_started', agent_id: 'echo-1', payload: { node: PARKED_NODE } });

    const all = await runCli(['job', 'logs', jobId], { env });
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('echo-0 stdout: hello\necho-0 stderr: warning: low disk\necho-1 stdout: from one\n');

    const one = await runCli(['job', 'logs', jobId, '--agent', 'echo-1'], { env });
    expect(one.stdout).toBe('echo-1 stdout: from one\n');

    const json = await runCli(['job', 'logs', jobId, '--agent', 'echo-0', '--json'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { agent_id: 'echo-0', stream: 'stdout', line: 'hello', timestamp: expect.any(Number) },
      { agent_id: 'echo-0', stream: 'stderr', line: 'warning: low disk', timestamp: expect.any(Number) },
    ]);

    const unknown = await runCli(['job', 'logs', jobId, '--agent', 'echo-9'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`mn: job ${jobId} has no agent echo-9; its agents: echo-0, echo-1\n`);
  });

  it('follows logs and events until the job ends, as NDJSON with --json', async () => {
    const jobId = await submit('follow');
    await log(jobId, 'echo-0', 'stdout', 'early');
    const logs = startCli(['job', 'logs', jobId, '--follow', '--json', '--agent', 'echo-0'], env);
    const events = startCli(['job', 'events', jobId, '--follow'], env);
    followers.push(logs.proc, events.proc);

    // Past lines first, then live ones while the follower keeps running.
    await eventually(async () => logs.stdout().includes('"early"'));
    await log(jobId, 'echo-1', 'stdout', 'not this agent');
    await log(jobId, 'echo-0', 'stderr', 'late');
    await eventually(async () => logs.stdout().includes('"late"'));
    expect(logs.proc.exitCode).toBeNull();
    expect(events.proc.exitCode).toBeNull();

    await finish(jobId, 'completed', { result: 'ok', completed_by: 'quiescence' });
    const [logsCode, eventsCode] = await Promise.all([logs.exited, events.exited]);
    expect(logsCode).toBe(0);
    expect(logs.stderr()).toBe('');
    const lines = logs.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.agent_id, l.stream, l.line])).toEqual([['echo-0', 'stdout', 'early'], ['echo-0', 'stderr', 'late']]);

    expect(eventsCode).toBe(0);
    const eventLines = events.stdout().trim().split('\n');
    expect(eventLines[0]).toMatch(/ job_pending /);
    expect(eventLines.at(-1)).toMatch(/ job_completed \{"status":"completed"\}$/);
    expect(eventLines.some((l) => l.includes('agent_log echo-0 {"stream":"stderr","line":"late"}'))).toBe(true);

    // A job that already ended is not followed: its past is printed and the command ends.
    const after = await runCli(['job', 'logs', jobId, '--follow'], { env });
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('echo-0 stdout: early\necho-1 stdout: not this agent\necho-0 stderr: late\n');
  });

  it('lists dead letters as a table and as {job_id, total, data} with each message parsed', async () => {
    const jobId = await submit('dead');
    const none = await runCli(['job', 'dead-letters', jobId], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`job ${jobId} has no dead letters\n`);

    const bodies = { 'm-1': { type: 'work', body: { n: 1 } }, 'm-2': { type: 'work', body: { n: 2 } } };
    await store.sendMessages(Object.entries(bodies).map(([id, m]) => ({ job_id: jobId, agent_id: 'echo-0', node: PARKED_NODE, message_id: id, message: JSON.stringify(m) })));
    const entries = (await store.readInbox(PARKED_NODE, 'c', { count: 100, blockMs: 0, claimIdleMs: 60_000 })).filter((e) => e.job_id === jobId && e.message_id in bodies);
    expect(entries).toHaveLength(2);
    for (const e of entries.sort((a, b) => a.message_id.localeCompare(b.message_id))) await store.deadLetter(e, `handler threw: boom ${e.message_id}`);

    const json = await runCli(['job', 'dead-letters', jobId, '--json'], { env });
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toEqual({
      job_id: jobId,
      total: 2,
      data: [
        { job_id: jobId, agent_id: 'echo-0', message_id: 'm-1', attempts: 1, reason: 'handler threw: boom m-1', message: bodies['m-1'], at: expect.any(Number) },
        { job_id: jobId, agent_id: 'echo-0', message_id: 'm-2', attempts: 1, reason: 'handler threw: boom m-2', message: bodies['m-2'], at: expect.any(Number) },
      ],
    });

    const text = await runCli(['job', 'dead-letters', jobId], { env });
    const rows = text.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^AGENT\s+MESSAGE\s+ATTEMPTS\s+REASON\s+AT$/);
    expect(rows[1]).toMatch(/^echo-0\s+m-1\s+1\s+handler threw: boom m-1\s+\d{4}-\d\d-\d\dT/);
    expect(rows).toHaveLength(3);

    const limited = await runCli(['job', 'dead-letters', jobId, '--limit', '1'], { env });
    expect(limited.stdout.trim().split('\n').at(-1)).toBe('(1 of 2 shown; raise --limit for more)');
    const bad = await runCli(['job', 'dead-letters', jobId, '--limit', 'lots'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit must be a positive integer, got "lots"/);
  });

  it('answers an unknown job with exit 1 and an unreachable daemon with exit 2, one line each', async () => {
    for (const args of [['result'], ['logs'], ['logs', '--follow'], ['dead-letters'], ['events', '--follow']]) {
      const [verb, ...flags] = args;
      const missing = await runCli(['job', verb!, 'no-such-job', ...flags], { env });
      expect(missing.code, args.join(' ')).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toBe('mn: MN_E_NOT_FOUND: job no-such-job not found\n');

      const unreachable = await runCli(['job', verb!, 'some-job', ...flags, '--json'], { env: { MN_GRPC_TARGET: '127.0.0.1:1' } });
      expect(unreachable.code, args.join(' ')).toBe(2);
      expect(unreachable.stdout).toBe('');
      expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
      expect(unreachable.stderr).toMatch(/^mn: cannot reach the daemon at 127\.0\.0\.1:1/);
    }
  });
});
