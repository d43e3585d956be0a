import * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

describe('back-pressure between agents', () => {
  let redis: RedisServer;
  let agent: AgentProcess;

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('pressure@lab', {
      MN_REDIS_URL: redis.url,
      MN_REDIS_NAMESPACE: 'pressure',
      MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-pressure-')),
      MN_MESSAGE_MAX_PENDING_PER_AGENT: '2',
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('holds a fast sender back while a slow agent has its limit of undelivered messages, and loses nothing', async () => {
    const slow = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>setTimeout(()=>console.log(JSON.stringify({emit_messages:[{type:'done',body:{n:JSON.parse(s).body.n}}]})),100))";
    const manifest = JSON.stringify({
      manifest_version: '1',
      graph_id: 'pressure',
      entrypoints: ['fast'],
      initial_inputs: { fast: Array.from({ length: 12 }, (_, n) => ({ n })) },
      nodes: [
        { node_id: 'fast', agent_type: 'router' },
        { node_id: 'slow', agent_type: 'executor', config: { command: ['node', '-e', slow] } },
        { node_id: 'sink', agent_type: 'aggregator', config: { complete_after: 12 } },
      ],
      edges: [
        { from_node: 'fast', to_node: 'slow', message_type: '*' },
        { from_node: 'slow', to_node: 'sink', message_type: 'done' },
      ],
    });
    const submit = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest });
    expect(submit.code).toBe(grpc.status.OK);
    const done = await finished(agent.target, submit.res!.job_id, 60_000);
    expect(done.status).toBe('completed');
    const result = done.details.result as { count: number; messages: Array<{ n: number }> };
    expect(result.messages.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    // The router's sends were refused while the executor's backlog was full, and retried.
    expect(agent.output()).toMatch(/agent slow of job pressure-\w+ has too many undelivered messages \(limit 2\)/);
  });
});
