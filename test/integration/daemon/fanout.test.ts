import * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { fanOutManifest, finished, getJob } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

describe('a 1,000-agent fan-out across three daemons sharing one Redis', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const shared = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'fanout', MN_EXECUTOR_MAX_CONCURRENCY: '8' };
    for (const name of ['one@lab', 'two@lab', 'three@lab']) {
      daemons.push(await startAgent(name, { ...shared, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-fanout-')) }));
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('runs on every machine and counts every result exactly once', async () => {
    const submit = await rawCall<{ job_id: string }>(daemons[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: fanOutManifest('wide', 1000, { command: ['true'] }) });
    expect(submit.details).toBe('');
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    const placed = await getJob(daemons[1]!.target, jobId);
    const perNode = new Map<string, number>();
    for (const a of placed.agents) perNode.set(a.node, (perNode.get(a.node) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(['one@lab', 'three@lab', 'two@lab']);

    const done = await finished(daemons[2]!.target, jobId, 120_000);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('complete_job');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string; sandbox: { exit_code: number } }> };
    expect(result.count).toBe(1000);
    const ids = result.messages.map((m) => m.agent_id);
    expect(new Set(ids).size).toBe(1000);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 1000 }, (_, i) => `worker-${i}`)));
    expect(result.messages.every((m) => m.sandbox.exit_code === 0)).toBe(true);
    expect(done.agents.every((a) => a.state === 'completed')).toBe(true);
    for (const d of daemons) expect(d.proc.exitCode).toBeNull();
  }, 150_000);
});
