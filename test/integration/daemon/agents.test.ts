/**
 * Built-in agents and edge routing end to end (spec §1.3, §2): one real `mn agent` daemon on a
 * private redis-server runs every job of this file; executors run real `node -e` child processes.
 */
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { ROOT } from '../../helpers/cli.js';
import { type AgentProcess, FAST_CLUSTER_ENV, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

interface JobView {
  status: string;
  agents: Array<{ agent_id: string; state: string }>;
  details: { result?: unknown; completed_by?: string; failure?: { reason: string; agent_id: string } };
}
interface JobEvent {
  type: string;
  agent_id?: string;
  payload: Record<string, unknown>;
}

/** `node -e` argv for a script that gets the incoming message (parsed) as `m`. */
const nodeScript = (body: string): string[] => ['node', '-e', `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const m=JSON.parse(s);${body}});`];


const manifest = (graphId: string, rest: Record<string, unknown>): string => JSON.stringify({ manifest_version: '1', graph_id: graphId, ...rest });

describe('built-in agents and routing on the daemon', () => {
  let redis: RedisServer;
  let agent: AgentProcess;

  const submit = async (json: string, payloads?: Record<string, Buffer>): Promise<string> => {
    const r = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: json, ...(payloads ? { payloads } : {}) });
    expect(r.details).toBe('');
    expect(r.code).toBe(grpc.status.OK);
    return r.res!.job_id;
  };
  const getJob = async (jobId: string): Promise<JobView> => {
    const r = await rawCall<{ job_json: string }>(agent.target, JOB_SERVICE, 'GetJob', { job_id: jobId });
    return JSON.parse(r.res!.job_json) as JobView;
  };
  /** The job once it ended; on a timeout the error carries the job, its events and the daemon's output. */
  const finished = async (jobId: string): Promise<JobView> => {
    try {
      return await eventually(async () => {
        const j = await getJob(jobId);
        return j.status === 'completed' || j.status === 'failed' ? j : null;
      }, 20_000, 100);
    } catch (error) {
      const trail = await events(jobId).catch(() => []);
      throw new Error(`${String(error)}\njob: ${JSON.stringify(await getJob(jobId).catch(() => null))}\nevents: ${JSON.stringify(trail)}\ndaemon: ${agent.output().slice(-4000)}`);
    }
  };
  const events = async (jobId: string): Promise<JobEvent[]> => {
    const r = await rawCall<{ events_json: string }>(agent.target, JOB_SERVICE, 'ListJobEvents', { job_id: jobId, limit: 5000 });
    return JSON.parse(r.res!.events_json) as JobEvent[];
  };
  const ofType = (trail: JobEvent[], type: string): JobEvent[] => trail.filter((e) => e.type === type);

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('agents@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'agents', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')) });
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('router fans out to 5 executors, their results are aggregated once each, and the aggregator completes the job', async () => {
    const jobId = await submit(
      manifest('fanout', {
        entrypoints: ['in'],
        initial_inputs: { in: [{ task: 't1' }] },
        nodes: [
          { node_id: 'in', agent_type: 'router', config: { emit_type: 'work' } },
          { node_id: 'w', agent_type: 'executor', count: 5, config: { command: nodeScript("console.log('worked on '+m.envelope.type+' '+m.body.task)") } },
          // Reached only by the router's original type: must never receive anything.
          { node_id: 'trap', agent_type: 'aggregator', config: { complete_on_message: true, complete_job: true } },
          { node_id: 'sink', agent_type: 'aggregator', config: { complete_after: 5 } },
        ],
        edges: [
          { edge_id: 'in-w', from_node: 'in', to_node: 'w', message_type: 'work' },
          { edge_id: 'in-trap', from_node: 'in', to_node: 'trap', message_type: 'init' },
          { edge_id: 'w-sink', from_node: 'w', to_node: 'sink', message_type: 'executor_result' },
        ],
      }),
    );
    const done = await finished(jobId);
    expect(done.details.failure).toBeUndefined();
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string; sandbox: { exit_code: number; stdout: string }; input: unknown }> };
    expect(result.count).toBe(5);
    expect(result.messages.map((m) => m.agent_id).sort()).toEqual(['w-0', 'w-1', 'w-2', 'w-3', 'w-4']);
    for (const m of result.messages) {
      expect(m.sandbox.exit_code).toBe(0);
      expect(m.sandbox.stdout.trim()).toBe('worked on work t1'); // the router's emit_type reached the executor
      expect(m.input).toEqual({ task: 't1' });
    }
    const trail = await events(jobId);
    expect(trail.filter((e) => e.agent_id === 'trap')).toEqual([]);
    expect(ofType(trail, 'aggregator_received').filter((e) => e.agent_id === 'sink').map((e) => e.payload.count)).toEqual([1, 2, 3, 4, 5]);
  });

  it('first_match delivers to the first edge whose conditions hold, all_match to every one, and the job completes by quiescence', async () => {
    const recorder = { agent_type: 'executor', config: { command: nodeScript("console.log(JSON.stringify({events:[{type:'seen',payload:{by:process.env.MN_AGENT_ID,priority:m.body.priority,type:m.envelope.type}}]}))") } };
    const jobId = await submit(
      manifest('routing', {
        entrypoints: ['in'],
        initial_inputs: { in: [{ priority: 9 }, { priority: 1 }, { priority: 5 }] },
        nodes: [{ node_id: 'in', agent_type: 'router' }, ...['high', 'low', 'a1', 'a2', 'never'].map((id) => ({ node_id: id, ...recorder }))],
        edges: [
          { edge_id: 'to-high', from_node: 'in', to_node: 'high', message_type: 'init', routing_mode: 'first_match', conditions: '${body.priority} >= 5' },
          { edge_id: 'to-low', from_node: 'in', to_node: 'low', message_type: 'init', routing_mode: 'first_match', conditions: { all: [] } },
          { edge_id: 'to-a1', from_node: 'in', to_node: 'a1', message_type: 'init', routing_mode: 'all_match', conditions: { path: 'body.priority', op: '>', value: 0 } },
          { edge_id: 'to-a2', from_node: 'in', to_node: 'a2', message_type: '*', routing_mode: 'all_match', conditions: { any: ['${body.priority} < 9', '${body.missing} exists'] } },
          { edge_id: 'to-never', from_node: 'in', to_node: 'never', message_type: 'init', routing_mode: 'all_match', conditions: { not: '${body.priority} exists' } },
        ],
      }),
    );
    const done = await finished(jobId);
    expect(done.details.failure).toBeUndefined();
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('quiescence');
    expect(done.details.result).toMatchObject({ agents: 6, dead_letters: 0 });
    const trail = await events(jobId);
    const seen = (by: string): number[] => ofType(trail, 'seen').filter((e) => e.payload.by === by).map((e) => Number(e.payload.priority)).sort((a, b) => a - b);
    expect(seen('high')).toEqual([5, 9]);
    expect(seen('low')).toEqual([1]);
    expect(seen('a1')).toEqual([1, 5, 9]);
    expect(seen('a2')).toEqual([1, 5]);
    expect(seen('never')).toEqual([]);
    expect(ofType(trail, 'seen').every((e) => e.payload.type === 'init' && e.agent_id === e.payload.by)).toBe(true);
    // Structured stdout is carried by its actions: no log lines for it.
    expect(ofType(trail, 'agent_log')).toEqual([]);
  });

  it('an aggregator counts two messages from the same body.agent_id once and records the duplicate', async () => {
    const out = {
      emit_messages: [
        { type: 'part', to: 'agg', body: { agent_id: 'same', n: 1 } },
        { type: 'part', to: 'agg', body: { agent_id: 'same', n: 2 } },
        { type: 'part', to: 'agg', body: { agent_id: 'other', n: 3 } },
      ],
    };
    const jobId = await submit(
      manifest('dedupe', {
        entrypoints: ['p'],
        nodes: [
          { node_id: 'p', agent_type: 'executor', config: { command: nodeScript(`console.log(${JSON.stringify(JSON.stringify(out))})`) } },
          { node_id: 'agg', agent_type: 'aggregator', config: { complete_after: 2 } },
        ],
      }),
    );
    const done = await finished(jobId);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string; n: number }>; last_message: unknown };
    expect(result.count).toBe(2);
    expect(result.messages).toEqual([{ agent_id: 'same', n: 1 }, { agent_id: 'other', n: 3 }]);
    expect(result.last_message).toEqual({ agent_id: 'other', n: 3 });
    const trail = await events(jobId);
    expect(ofType(trail, 'aggregator_duplicate_ignored').map((e) => [e.agent_id, e.payload.key])).toEqual([['agg', 'agent:same']]);
    expect(ofType(trail, 'aggregator_received').map((e) => e.payload.count)).toEqual([1, 2]);
  });

  it('a sensor completes the job after complete_after observations', async () => {
    const jobId = await submit(
      manifest('sensor-plain', {
        entrypoints: ['s'],
        initial_inputs: { s: [{ reading: 1 }, { reading: 2 }] },
        nodes: [{ node_id: 's', agent_type: 'sensor', config: { complete_after: 2, complete_job: true } }],
      }),
    );
    const done = await finished(jobId);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    expect(done.details.result).toEqual({ count: 2, last_message: { reading: 2 } });
    expect(ofType(await events(jobId), 'sensor_observed').map((e) => e.payload.count)).toEqual([1, 2]);
  });

  it('an interval sensor observes max_ticks times, 100 ms apart, feeding an aggregator that completes the job', async () => {
    const jobId = await submit(
      manifest('sensor-interval', {
        entrypoints: ['s'],
        initial_inputs: { s: [{ start: true }] },
        nodes: [
          { node_id: 's', agent_type: 'sensor', config: { interval_ms: 100, max_ticks: 3, output_message_type: 'observation' } },
          { node_id: 'agg', agent_type: 'aggregator', config: { complete_after: 3 } },
        ],
        edges: [{ edge_id: 's-agg', from_node: 's', to_node: 'agg', message_type: 'observation' }],
      }),
    );
    const done = await finished(jobId);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { count: number; messages: Array<Record<string, unknown>> };
    expect(result.count).toBe(3);
    // The first message starts the timer and is observation 1; the timer's ticks are 2 and 3.
    expect(result.messages[0]).toEqual({ start: true });
    expect(result.messages.slice(1).map((m) => m.tick)).toEqual([2, 3]);
    const at = result.messages.slice(1).map((m) => Date.parse(String(m.at)));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(90);
    // No fourth tick after max_ticks: give a stray timer time to show up.
    await new Promise((r) => setTimeout(r, 300));
    const trail = await events(jobId);
    expect(ofType(trail, 'sensor_observed').map((e) => e.payload.count)).toEqual([1, 2, 3]);
  });

  it('retries a transient executor failure (connection refused) and succeeds on the second attempt', async () => {
    const script = nodeScript(
      [
        "const fs=require('fs');",
        "if(!fs.existsSync('attempted')){fs.writeFileSync('attempted','1');console.error('connect ECONNREFUSED 127.0.0.1:1: connection refused');process.exit(1);}",
        "console.log('second try in '+require('path').basename(process.cwd()));",
      ].join(''),
    );
    const jobId = await submit(
      manifest('transient', {
        entrypoints: ['x'],
        nodes: [{ node_id: 'x', agent_type: 'executor', config: { command: script, max_attempts: 3, retry_backoff_ms: 50, complete_job: true } }],
        policies: { restart: { attempts: 0 } },
      }),
    );
    const done = await finished(jobId);
    expect(done.details.failure).toBeUndefined();
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { agent_id: string; sandbox: { attempts: number; exit_code: number; stdout: string } };
    expect(result.agent_id).toBe('x');
    expect(result.sandbox.attempts).toBe(2);
    expect(result.sandbox.exit_code).toBe(0);
    expect(result.sandbox.stdout.trim()).toBe('second try in x'); // cwd is $MN_HOME/jobs/<job>/<agent>
    const trail = await events(jobId);
    const retries = ofType(trail, 'executor_retry_scheduled');
    expect(retries).toHaveLength(1);
    expect(retries[0]!.payload).toMatchObject({ attempt: 1, delay_ms: 50 });
    expect(ofType(trail, 'agent_restart_scheduled')).toEqual([]);
    expect(ofType(trail, 'agent_log').map((e) => e.payload.line)).toContain('connect ECONNREFUSED 127.0.0.1:1: connection refused');
  });

  it('reports malformed structured stdout, keeps its lines as logs and falls back to the default result', async () => {
    const jobId = await submit(
      manifest('malformed', {
        entrypoints: ['bad1', 'bad2'],
        nodes: [
          { node_id: 'bad1', agent_type: 'executor', config: { command: nodeScript(`console.log('step one');console.log('{"emit_messages": "nope"}')`) } },
          { node_id: 'bad2', agent_type: 'executor', config: { command: nodeScript(`console.log('{"emit_messages": [{"body": 1}]}')`) } },
          { node_id: 'agg', agent_type: 'aggregator', config: { complete_after: 2 } },
        ],
        edges: [
          { edge_id: 'b1', from_node: 'bad1', to_node: 'agg', message_type: 'executor_result' },
          { edge_id: 'b2', from_node: 'bad2', to_node: 'agg', message_type: 'executor_result' },
        ],
      }),
    );
    const done = await finished(jobId);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string; sandbox: { stdout: string } }> };
    expect(result.count).toBe(2);
    const byAgent = Object.fromEntries(result.messages.map((m) => [m.agent_id, m.sandbox.stdout.trim()]));
    expect(byAgent).toEqual({ bad1: 'step one\n{"emit_messages": "nope"}', bad2: '{"emit_messages": [{"body": 1}]}' });
    const trail = await events(jobId);
    const warnings = Object.fromEntries(ofType(trail, 'executor_output_invalid').map((e) => [e.agent_id, String(e.payload.warning)]));
    expect(Object.keys(warnings).sort()).toEqual(['bad1', 'bad2']);
    expect(warnings.bad1).toMatch(/emit_messages must be a list/);
    expect(warnings.bad2).toMatch(/emit_messages\[0\]\.type must be a non-empty string/);
    const logs = (id: string): unknown[] => ofType(trail, 'agent_log').filter((e) => e.agent_id === id).map((e) => e.payload.line);
    expect(logs('bad1')).toEqual(['step one', '{"emit_messages": "nope"}']);
    expect(logs('bad2')).toEqual(['{"emit_messages": [{"body": 1}]}']);
  });

  it('carries a body_base64 payload as base64 text in an octet-stream message', async () => {
    const jobId = await submit(
      manifest('bytes', {
        entrypoints: ['blob'],
        nodes: [
          { node_id: 'blob', agent_type: 'executor', config: { command: nodeScript(`console.log(JSON.stringify({emit_messages: [{type: 'blob', body_base64: Buffer.from('hello').toString('base64')}]}))`) } },
          { node_id: 'agg', agent_type: 'aggregator', config: { complete_after: 1 } },
        ],
        edges: [{ from_node: 'blob', to_node: 'agg', message_type: 'blob' }],
      }),
    );
    const done = await finished(jobId);
    expect(done.status).toBe('completed');
    const result = done.details.result as { messages: unknown[] };
    expect(result.messages).toEqual([Buffer.from('hello').toString('base64')]);
  });

  it('runs a module agent whose source is shipped in SubmitJob payloads: ctx.emit, ctx.setState and ctx.completeJob', async () => {
    const bundle = path.join(ROOT, 'test', 'fixtures', 'agents', 'module-bundle');
    const jobId = await submit(readFileSync(path.join(bundle, 'manifest.json'), 'utf8'), { 'agents/m.mjs': readFileSync(path.join(bundle, 'agents', 'm.mjs')) });
    const done = await finished(jobId);
    expect(done.details.failure).toBeUndefined();
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    expect(done.details.result).toEqual({ agent: 'm', words: ['ALPHA', 'BETA'], counts: [1, 2], state: ['alpha', 'beta'] });
    expect(ofType(await events(jobId), 'module_done').map((e) => [e.agent_id, e.payload.count])).toEqual([['m', 2]]);
  });

  it('runs a module agent shipped in a bundle (mn dev --once): ctx.emit, ctx.setState and ctx.completeJob', async () => {
    // The same bundle submitted from disk by `mn dev --once` (embedded store, prints the result).
    const bundle = path.join(ROOT, 'test', 'fixtures', 'agents', 'module-bundle');
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'mn.js'), 'dev', '--once', bundle], {
        cwd: ROOT,
        env: { ...process.env, ...FAST_CLUSTER_ENV, NO_COLOR: '1', MN_NODE_NAME: 'dev@lab', MN_GRPC_PORT: '0', MN_CORE_HOST: '127.0.0.1', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-dev-')) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const m = /\(([^)]+)\) completed\n([\s\S]*)$/.exec(run.stdout);
    expect(m, run.stdout).not.toBeNull();
    expect(JSON.parse(m![2]!)).toEqual({ agent: 'm', words: ['ALPHA', 'BETA'], counts: [1, 2], state: ['alpha', 'beta'] });
  });

  it('refuses a module agent whose file is not in the submission, naming nodes[i].config.module', async () => {
    const r = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: manifest('module-missing', {
        entrypoints: ['in'],
        nodes: [
          { node_id: 'in', agent_type: 'router' },
          { node_id: 'm', agent_type: 'module', config: { module: 'agents/m.mjs' } },
        ],
        edges: [{ edge_id: 'in-m', from_node: 'in', to_node: 'm', message_type: 'init' }],
      }),
    });
    expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.details).toContain('nodes[1].config.module');
    expect(r.details).toContain('agents/m.mjs');
  });
});
