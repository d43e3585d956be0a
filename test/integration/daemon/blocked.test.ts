import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { getJob, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

describe('a blocked evaluation', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  const env = (): Record<string, string> => ({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'blocked' });

  beforeAll(async () => {
    redis = await startRedis();
    for (const name of ['left@lab', 'middle@lab', 'right@lab']) daemons.push(await startAgent(name, env()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('is retried as soon as capacity appears, before its backoff runs out', async () => {
    // Agents that each need most of a machine: a lost machine's agent fits nowhere else.
    const manifest = JSON.stringify({
      manifest_version: '1',
      graph_id: 'big',
      type: 'service',
      entrypoints: ['w'],
      nodes: [{ node_id: 'w', agent_type: 'executor', count: 3, config: { command: ['sleep', '600'] }, resources: { cpu_cores: 1.5, memory_mb: 16 } }],
      policies: { recovery_mode: 'cluster_recover', scheduler: { strategy: 'spread' } },
    });
    const submit = await rawCall<{ job_id: string }>(daemons[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    expect(new Set((await getJob(daemons[0]!.target, jobId)).agents.map((a) => a.node))).toEqual(new Set(['left@lab', 'middle@lab', 'right@lab']));

    await daemons[2]!.kill();
    const blocked = await eventually(async () => {
      const j = await getJob(daemons[0]!.target, jobId);
      return (j.details.blocked as { retry_at: number; agents: string[] } | undefined) ?? null;
    }, 30_000, 100);
    expect(blocked.agents).toHaveLength(1);

    daemons.push(await startAgent('spare@lab', env()));
    const moved = await eventually(async () => {
      const j = await getJob(daemons[0]!.target, jobId);
      return j.agents.some((a) => a.node === 'spare@lab') ? j : null;
    }, 30_000, 100);
    expect(moved.agents.map((a) => a.node).sort()).toEqual(['left@lab', 'middle@lab', 'spare@lab']);
    const relocated = (await jobEvents(daemons[0]!.target, jobId)).filter((e) => e.type === 'agents_relocated') as Array<{ timestamp?: number; type: string }>;
    const last = relocated.at(-1) as unknown as { timestamp: number };
    expect(last.timestamp).toBeLessThan(blocked.retry_at);
    // Each decision is an evaluation: the submit, the blocked node-loss move, and the retry that placed it.
    const listed = await rawCall<{ result_json: string }>(daemons[0]!.target, JOB_SERVICE, 'ListEvaluations', { job_id: jobId });
    const evaluations = JSON.parse(listed.res!.result_json).evaluations as Array<{ trigger: string; status: string; placed: number; failed: number; explanation: { summary: string | null } }>;
    expect(evaluations[0]).toMatchObject({ trigger: 'blocked_retry', status: 'complete', placed: 1, failed: 0 });
    const lost = evaluations.find((e) => e.trigger === 'node_loss');
    expect(lost).toMatchObject({ status: 'blocked', placed: 0, failed: 1 });
    expect(lost!.explanation.summary).toMatch(/placement_failed/);
    expect(evaluations.at(-1)).toMatchObject({ trigger: 'submit', status: 'complete', placed: 3 });
  }, 90_000);
});
