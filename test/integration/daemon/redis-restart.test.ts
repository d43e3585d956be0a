import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { fanOutManifest, finished } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const manifest = (id: string) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: id,
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'executor', count: 4, config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.1, memory_mb: 16 } }],
    policies: { scheduler: { strategy: 'spread' } },
  });

describe('daemons across a redis-server restart', () => {
  let redis: RedisServer;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    const env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'restart', MN_REDIS_RECONNECT_BACKOFF_MS: '50', MN_REDIS_RECONNECT_MAX_BACKOFF_MS: '200', MN_REDIS_RECONNECT_ATTEMPTS: '300', MN_MESSAGE_ACK_TIMEOUT_MS: '2000' };
    for (const name of ['one@lab', 'two@lab']) agents.push(await startAgent(name, env));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await redis?.stop();
  });

  it('reconnect, keep their jobs, elect a leader again and accept new work', async () => {
    const before = await rawCall<{ job_id: string }>(agents[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest('before') });
    expect(before.code).toBe(grpc.status.OK);

    await redis.kill('SIGKILL');
    // A call made while Redis is down waits for the reconnection instead of failing or crashing.
    const during = rawCall<{ nodes_json: string }>(agents[1]!.target, CLUSTER_SERVICE, 'ListNodes', {});
    await new Promise((r) => setTimeout(r, 300));
    await redis.restart();
    const answered = await during;
    expect(answered.code).toBe(grpc.status.OK);
    expect(JSON.parse(answered.res!.nodes_json).map((n: { name: string }) => n.name)).toEqual(['one@lab', 'two@lab']);

    const job = await eventually(async () => {
      const r = await rawCall<{ job_json: string }>(agents[1]!.target, JOB_SERVICE, 'GetJob', { job_id: before.res!.job_id });
      return r.code === grpc.status.OK ? JSON.parse(r.res!.job_json) : null;
    });
    expect(['scheduled', 'running']).toContain(job.status);
    expect(job.agents).toHaveLength(4);

    await eventually(async () => {
      const r = await rawCall<{ summary_json: string }>(agents[0]!.target, CLUSTER_SERVICE, 'GetSystemSummary', {});
      if (r.code !== grpc.status.OK) return null;
      const s = JSON.parse(r.res!.summary_json);
      return s.leader && s.nodes.by_status.healthy === 2 ? s : null;
    }, 20_000);
    const after = await eventually(async () => {
      const r = await rawCall<{ job_id: string }>(agents[1]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest('after') });
      return r.code === grpc.status.OK ? r : null;
    }, 20_000);
    expect(after.res!.job_id).toMatch(/^after-/);
    for (const a of agents) expect(a.proc.exitCode).toBeNull();
    // Their sleepers would hold the executor slots the next test needs.
    for (const id of [before.res!.job_id, after.res!.job_id]) await rawCall(agents[0]!.target, JOB_SERVICE, 'CancelJob', { job_id: id });
  });

  it('resume a job that was mid-run when Redis restarted, and complete it with every result once', async () => {
    const submit = await rawCall<{ job_id: string }>(agents[0]!.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: fanOutManifest('through-restart', 200, { command: ['sleep', '0.05'] }),
    });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    await eventually(async () => {
      const r = await rawCall<{ events_json: string }>(agents[0]!.target, JOB_SERVICE, 'ListJobEvents', { job_id: jobId, limit: 10_000 });
      return r.res && JSON.parse(r.res.events_json).filter((e: { type: string }) => e.type === 'aggregator_received').length >= 20;
    }, 30_000, 50);
    await redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    const done = await finished(agents[1]!.target, jobId, 90_000);
    expect(done.status).toBe('completed');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string }> };
    expect(result.count).toBe(200);
    expect(new Set(result.messages.map((m) => m.agent_id)).size).toBe(200);
    for (const a of agents) expect(a.proc.exitCode).toBeNull();
  }, 120_000);
});
