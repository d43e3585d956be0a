import * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const job = (graphId: string, node: Record<string, unknown>, policies: Record<string, unknown> = {}) =>
  JSON.stringify({ manifest_version: '1', graph_id: graphId, entrypoints: [node.node_id], initial_inputs: { [String(node.node_id)]: [{ hello: 'world' }] }, nodes: [node], policies });
/** One restart after 50 ms, then the agent fails for good. */
const oneRestart = { restart: { attempts: 1, delay_ms: 50 } };

async function finished(target: string, jobId: string): Promise<{ status: string; agents: Array<{ agent_id: string; state: string }> }> {
  return eventually(async () => {
    const r = await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: jobId });
    const j = JSON.parse(r.res!.job_json);
    return j.status === 'completed' || j.status === 'failed' ? j : null;
  }, 30_000, 150);
}

async function events(target: string, jobId: string): Promise<Array<{ type: string; agent_id?: string; payload: Record<string, unknown> }>> {
  const r = await rawCall<{ events_json: string }>(target, JOB_SERVICE, 'ListJobEvents', { job_id: jobId, limit: 1000 });
  return JSON.parse(r.res!.events_json);
}

describe('executor agents run on the daemon of their node', () => {
  let redis: RedisServer;
  let agent: AgentProcess;

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('exec@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'exec', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')), MN_EXECUTOR_MAX_CONCURRENCY: '2', MN_EXECUTOR_POOL_CAPACITIES: 'long=4' });
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('runs argv commands with the initial message on stdin and the agent id in the environment, and completes the batch job', async () => {
    const script = [
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{",
      "const m=JSON.parse(s);",
      "console.log([process.env.MN_AGENT_ID, m.envelope.spec_version, m.envelope.type, JSON.stringify(m.body), process.env.MN_PORT_API].join(' '));",
      '});',
    ].join('');
    const submit = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('hello', { node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['node', '-e', script], shard: '${index}' }, resources: { cpu_cores: 0.1, ports: [{ label: 'api', port: 18080 }] } }),
    });
    expect(submit.code).toBe(grpc.status.RESOURCE_EXHAUSTED); // three agents cannot share port 18080 on one machine
    const ok = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('hello', { node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['node', '-e', script] }, resources: { cpu_cores: 0.1 } }),
    });
    expect(ok.code).toBe(grpc.status.OK);
    const done = await finished(agent.target, ok.res!.job_id);
    expect(done.status).toBe('completed');
    expect(done.agents.map((a) => a.state)).toEqual(['completed', 'completed', 'completed']);
    const logs = (await events(agent.target, ok.res!.job_id)).filter((e) => e.type === 'agent_log').map((e) => String(e.payload.line)).sort();
    expect(logs).toEqual(['w-0 mn-msg/1 init {"hello":"world"} ', 'w-1 mn-msg/1 init {"hello":"world"} ', 'w-2 mn-msg/1 init {"hello":"world"} ']);
  });

  it('fails a job whose command does not exist, clearly, and keeps serving', async () => {
    const r = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('missing', { node_id: 'x', agent_type: 'executor', config: { command: ['definitely-not-a-command-mn'] } }, oneRestart),
    });
    const done = await finished(agent.target, r.res!.job_id);
    expect(done.status).toBe('failed');
    const trail = await events(agent.target, r.res!.job_id);
    expect(trail.filter((e) => e.type === 'agent_restart_scheduled').map((e) => e.payload.reason)).toEqual(['command not found: definitely-not-a-command-mn']);
    const failed = trail.find((e) => e.type === 'agent_failed');
    expect(failed?.payload.reason).toBe('command not found: definitely-not-a-command-mn');
    expect(trail.find((e) => e.type === 'dead_letter')).toMatchObject({ agent_id: 'x', payload: { attempts: 2 } });
    const shell = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('shell', { node_id: 's', agent_type: 'executor', config: { command: 'exit 3' } }, { restart: { attempts: 0 } }),
    });
    const refused = await finished(agent.target, shell.res!.job_id);
    expect(refused.status).toBe('failed');
    const why = (await events(agent.target, shell.res!.job_id)).find((e) => e.type === 'agent_failed');
    expect(String(why?.payload.reason)).toMatch(/a string runs through a shell only with config.shell: true/);
    const timed = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('slow', { node_id: 't', agent_type: 'executor', config: { command: ['sleep', '30'], timeout_ms: 300 } }, { restart: { attempts: 0 } }),
    });
    expect((await finished(agent.target, timed.res!.job_id)).status).toBe('failed');
    expect(agent.proc.exitCode).toBeNull();
  });

  it('keeps long-running executors in their own pool from starving the default pool', async () => {
    const long = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: JSON.stringify({
        manifest_version: '1',
        graph_id: 'long',
        type: 'service',
        entrypoints: ['srv'],
        nodes: [{ node_id: 'srv', agent_type: 'executor', count: 3, config: { command: ['sleep', '600'], pool: 'long' }, resources: { cpu_cores: 0.01 } }],
      }),
    });
    expect(long.code).toBe(grpc.status.OK);
    // The default pool has 2 slots; three sleepers there would leave this job waiting forever.
    const quick = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: job('quick', { node_id: 'q', agent_type: 'executor', count: 3, config: { command: ['true'] }, resources: { cpu_cores: 0.01 } }),
    });
    expect((await finished(agent.target, quick.res!.job_id)).status).toBe('completed');
    const r = await rawCall<{ job_json: string }>(agent.target, JOB_SERVICE, 'GetJob', { job_id: long.res!.job_id });
    expect(JSON.parse(r.res!.job_json).status).toBe('running');
    await rawCall(agent.target, JOB_SERVICE, 'CancelJob', { job_id: long.res!.job_id });
  });
});
