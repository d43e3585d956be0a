import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const manifest = (count: number, cpu: number) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: 'spread-me',
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'executor', count, config: { command: ['sleep', '600'] }, resources: { cpu_cores: cpu, memory_mb: 64 } }],
    policies: { scheduler: { strategy: 'spread' } },
  });

async function summary(target: string): Promise<{ leader: string | null; nodes: { by_status: Record<string, number> } }> {
  const r = await rawCall<{ summary_json: string }>(target, CLUSTER_SERVICE, 'GetSystemSummary', {});
  if (!r.res) throw new Error(r.details);
  return JSON.parse(r.res.summary_json);
}

describe('three daemons sharing one Redis', () => {
  let redis: RedisServer;
  const agents: AgentProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await startRedis();
    env = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: `t${Date.now()}` };
    for (const name of ['alpha@lab', 'beta@lab', 'gamma@lab']) agents.push(await startAgent(name, env));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await redis?.stop();
  });

  it('registers every node and elects exactly one leader', async () => {
    const s = await eventually(async () => {
      const v = await summary(agents[1]!.target);
      return v.nodes.by_status.healthy === 3 && v.leader ? v : null;
    });
    expect(['alpha@lab', 'beta@lab', 'gamma@lab']).toContain(s.leader);
    const nodes = JSON.parse((await rawCall<{ nodes_json: string }>(agents[2]!.target, CLUSTER_SERVICE, 'ListNodes', {})).res!.nodes_json);
    expect(nodes.map((n: { name: string }) => n.name)).toEqual(['alpha@lab', 'beta@lab', 'gamma@lab']);
  });

  it('places a job submitted to one daemon across all three, visible from another', async () => {
    const submit = await rawCall<{ job_id: string; status: string }>(agents[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest(6, 0.25) });
    expect(submit.code).toBe(grpc.status.OK);
    expect(submit.res!.status).toBe('scheduled');
    const got = await rawCall<{ job_json: string }>(agents[2]!.target, JOB_SERVICE, 'GetJob', { job_id: submit.res!.job_id });
    const job = JSON.parse(got.res!.job_json);
    expect(['scheduled', 'running']).toContain(job.status);
    expect(job.agents).toHaveLength(6);
    expect(new Set(job.agents.map((a: { node: string }) => a.node))).toEqual(new Set(['alpha@lab', 'beta@lab', 'gamma@lab']));
    const nodes = JSON.parse((await rawCall<{ nodes_json: string }>(agents[1]!.target, CLUSTER_SERVICE, 'ListNodes', {})).res!.nodes_json);
    expect(nodes.map((n: { usage: { agents: number } }) => n.usage.agents)).toEqual([2, 2, 2]);
  });

  it('refuses a job that cannot fit, explaining why, and keeps serving', async () => {
    // 60 cores (values above 64 would be read as milli-cores) fit on none of these machines.
    const r = await rawCall(agents[1]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest(1, 60) });
    expect(r.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(r.details).toMatch(/placement_failed: .*insufficient resources/);
    const bad = await rawCall(agents[1]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: '{"graph_id": ' });
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/invalid JSON at line 1, column 13/);
    const unknown = await rawCall(agents[1]!.target, JOB_SERVICE, 'GetJob', { job_id: 'nope' });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect((await summary(agents[1]!.target)).leader).toBeTruthy();
  });

  it('moves the leader lease when the leader process is killed, and sweeps go on', async () => {
    const before = (await summary(agents[0]!.target)).leader!;
    const victim = agents.find((a) => a.name === before)!;
    const survivor = agents.find((a) => a.name !== before)!;
    await victim.kill();
    const after = await eventually(async () => {
      const s = await summary(survivor.target);
      return s.leader && s.leader !== before ? s.leader : null;
    });
    expect(after).not.toBe(before);
    // The new leader's sweep marks the dead node disconnected, then offline.
    await eventually(async () => {
      const n = JSON.parse((await rawCall<{ node_json: string }>(survivor.target, CLUSTER_SERVICE, 'GetNode', { node_name: before })).res!.node_json);
      return n.status === 'offline';
    });
  });
});

describe('authentication', () => {
  let redis: RedisServer;
  let agent: AgentProcess;

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('auth@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'auth', MN_GRPC_AUTH_TOKEN: 's3cret' });
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('refuses mutating RPCs without the right bearer token', async () => {
    for (const token of [undefined, 'wrong']) {
      const r = await rawCall(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest(1, 0.1) }, token);
      expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
      const set = await rawCall(agent.target, CLUSTER_SERVICE, 'SetResource', { resource_json: '{"cpu": 50}' }, token);
      expect(set.code).toBe(grpc.status.UNAUTHENTICATED);
    }
    const ok = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest(1, 0.1) }, 's3cret');
    expect(ok.code).toBe(grpc.status.OK);
    const cancel = await rawCall(agent.target, JOB_SERVICE, 'CancelJob', { job_id: ok.res!.job_id });
    expect(cancel.code).toBe(grpc.status.UNAUTHENTICATED);
    // Every deployment verb that changes something needs the token; reads do not.
    const deployments: Array<[string, object]> = [
      ['DeployJob', { manifest_json: manifest(1, 0.1) }],
      ['PromoteDeployment', { id_or_key: 'spread-me' }],
      ['RollbackDeployment', { id_or_key: 'spread-me' }],
      ['PauseDeployment', { id_or_key: 'spread-me' }],
      ['ResumeDeployment', { id_or_key: 'spread-me' }],
      ['FailDeployment', { id_or_key: 'spread-me' }],
    ];
    for (const [method, request] of deployments) {
      for (const token of [undefined, 'wrong']) expect((await rawCall(agent.target, JOB_SERVICE, method, request, token)).code, method).toBe(grpc.status.UNAUTHENTICATED);
    }
    expect((await rawCall(agent.target, JOB_SERVICE, 'ListDeployments', { query_json: '' })).code).toBe(grpc.status.OK);
  });

  it('leaves reads open and refuses ClearJobs when no admin token is configured', async () => {
    expect((await rawCall(agent.target, CLUSTER_SERVICE, 'GetSystemSummary', {})).code).toBe(grpc.status.OK);
    const clear = await rawCall(agent.target, JOB_SERVICE, 'ClearJobs', { admin_token: 'anything' }, 's3cret');
    expect(clear.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(clear.details).toMatch(/MN_GRPC_ADMIN_TOKEN/);
  });

  it('answers the standard gRPC health check', async () => {
    const { service: healthService } = await import('grpc-health-check');
    const HealthClient = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
    const client = new HealthClient(agent.target, grpc.credentials.createInsecure());
    const status = await new Promise<string>((resolve, reject) =>
      (client as unknown as { check: Function }).check({ service: '' }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
    client.close();
    expect(status).toBe('SERVING');
  });
});
