/**
 * The placement rule of warm pool consumers on a two-machine cluster (real daemons, real
 * redis-server): the pool is kept on one machine only; consumers spread over every machine would
 * use both, yet they all land where the pool's members wait, served warm.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const TOKEN = 'pools-cluster';
const MEMBER = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.stringify({type:'done',member:process.env.MN_WARM_POOL_MEMBER||null})))";

describe('warm pool consumers land on the machines that keep their pool', () => {
  let redis: RedisServer;
  let a: AgentProcess;
  let b: AgentProcess;

  const env = (name: string) => ({ MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'pools-cluster', MN_GRPC_AUTH_TOKEN: TOKEN, MN_HOME: mkdtempSync(path.join(os.tmpdir(), `mn-${name}-`)) });
  const pools = async () => JSON.parse((await rawCall<{ result_json: string }>(b.target, CLUSTER_SERVICE, 'ListWarmPools', {})).res!.result_json) as Array<{ pool: string; node: string; idle: number; served_warm: number; alive: boolean }>;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startAgent('pool-a@lab', env('a'));
    b = await startAgent('pool-b@lab', env('b'));
    await eventually(async () => {
      const r = await rawCall<{ nodes_json: string }>(a.target, CLUSTER_SERVICE, 'ListNodes', {});
      return (JSON.parse(r.res!.nodes_json) as Array<{ alive: boolean }>).filter((n) => n.alive).length === 2;
    }, 30_000);
  }, 60_000);

  afterAll(async () => {
    await a?.kill();
    await b?.kill();
    await redis?.stop();
  });

  it('constrains consumers to the pool machine and serves them warm', async () => {
    const pool = await rawCall<{ job_id: string }>(b.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: JSON.stringify({
        manifest_version: '1', graph_id: 'pool', type: 'service', entrypoints: ['pool'],
        nodes: [{ node_id: 'pool', agent_type: 'executor', warm_pool: { name: 'only-a', size: 4, provider: 'openai' }, config: { command: ['node', '-e', MEMBER] }, constraints: [{ attribute: 'node', operator: '==', value: 'pool-a@lab' }], resources: { cpu_cores: 0.01, memory_mb: 1 } }],
      }),
    }, TOKEN);
    expect(pool.details).toBe('');
    await eventually(async () => {
      const r = await rawCall<{ result_json: string }>(b.target, CLUSTER_SERVICE, 'ListWarmPools', {});
      const p = JSON.parse(r.res!.result_json) as Array<{ node: string; idle: number }>;
      return p.length === 1 && p[0]!.node === 'pool-a@lab' && p[0]!.idle === 4;
    }, 30_000);

    // Four consumers, spread over every machine: without the pool's rule two would go to pool-b.
    const consumers = await rawCall<{ job_id: string }>(b.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: JSON.stringify({
        manifest_version: '1', graph_id: 'use', entrypoints: ['split'], initial_inputs: { split: [{ go: 1 }] },
        nodes: [
          { node_id: 'split', agent_type: 'router', config: { emit_type: 'work' }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
          { node_id: 'run', agent_type: 'executor', count: 4, config: { warm_pool: 'only-a', output_message_type: 'done' }, resources: { cpu_cores: 0.01, memory_mb: 1 } },
          { node_id: 'collect', agent_type: 'aggregator', config: { complete_after: 4 }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
        ],
        edges: [{ from_node: 'split', to_node: 'run', message_type: 'work' }, { from_node: 'run', to_node: 'collect', message_type: 'done' }],
        policies: { scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] } },
      }),
    }, TOKEN);
    expect(consumers.details).toBe('');
    const jobId = consumers.res!.job_id;
    const done = await finished(b.target, jobId);
    expect(done.status).toBe('completed');
    const runs = done.agents.filter((x) => x.agent_id.startsWith('run-'));
    expect(runs.map((x) => x.node)).toEqual(['pool-a@lab', 'pool-a@lab', 'pool-a@lab', 'pool-a@lab']);
    // The rule is on the stored job, so a later move keeps it.
    const doc = await rawCall<{ job_json: string }>(b.target, JOB_SERVICE, 'GetJob', { job_id: jobId });
    const run = (JSON.parse(doc.res!.job_json) as { job: { nodes: Array<{ node_id: string; constraints: unknown[] }> } }).job.nodes.find((n) => n.node_id === 'run')!;
    expect(run.constraints).toContainEqual({ attribute: 'node', operator: 'in', value: ['pool-a@lab'] });
    const taken = (await jobEvents(b.target, jobId)).filter((e) => e.type === 'warm_member_taken');
    expect(taken).toHaveLength(4);
  }, 90_000);

  it('a machine that crashes and comes back starts its pool again', async () => {
    const before = await pools();
    expect(before).toMatchObject([{ node: 'pool-a@lab', idle: 4 }]);
    await a.kill();
    a = await startAgent('pool-a@lab', env('a'));
    // The record of the crashed incarnation is replaced by the new one's, whose members are new processes.
    const after = await eventually(async () => {
      const p = await pools();
      return p.length === 1 && p[0]!.idle === 4 && p[0]!.served_warm === 0 ? p : null;
    }, 60_000);
    expect(after[0]).toMatchObject({ pool: 'only-a', node: 'pool-a@lab', alive: true });
  }, 90_000);
});
