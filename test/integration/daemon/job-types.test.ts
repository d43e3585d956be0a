import * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished, getJob, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const small = { cpu_cores: 0.01, memory_mb: 4 };

/** Job types end as spec §1.7 says: batch and sysbatch run to completion, service and system until cancelled. */
describe('job types across two daemons', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  const submit = async (manifest: object): Promise<string> => {
    const r = await rawCall<{ job_id: string }>(daemons[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify({ manifest_version: '1', ...manifest }) });
    expect(r.details).toBe('');
    expect(r.code).toBe(grpc.status.OK);
    return r.res!.job_id;
  };

  beforeAll(async () => {
    redis = await startRedis();
    for (const name of ['east@lab', 'west@lab']) {
      daemons.push(await startAgent(name, { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'types', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-types-')) }));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('restarts a service executor whose process exits, and pauses the job for review once its restarts are used up', async () => {
    const jobId = await submit({
      graph_id: 'svc',
      type: 'service',
      entrypoints: ['w'],
      nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['true'] }, resources: small }],
      policies: { restart: { attempts: 2, delay_ms: 50, interval_ms: 600000 } },
    });
    const paused = await eventually(async () => {
      const j = await getJob(daemons[0]!.target, jobId);
      return j.status === 'paused' ? j : null;
    }, 30_000, 100);
    expect(paused.details.requires_review).toBe(true);
    expect(paused.agents).toEqual([expect.objectContaining({ agent_id: 'w', state: 'failed', restarts: 2 })]);
    const events = await jobEvents(daemons[0]!.target, jobId);
    expect(events.filter((e) => e.type === 'agent_restart_scheduled')).toHaveLength(2);
    expect(events.map((e) => e.type)).toContain('job_paused_for_review');
  });

  it('runs a system job on every machine until it is cancelled', async () => {
    const jobId = await submit({
      graph_id: 'sys',
      entrypoints: ['w'],
      nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['sleep', '600'] }, resources: small }],
      policies: { job_type: 'system' },
    });
    const running = await eventually(async () => {
      const j = await getJob(daemons[1]!.target, jobId);
      return j.agents.length === 2 && j.agents.every((a) => a.state === 'running') && j.status === 'running' ? j : null;
    }, 20_000, 100);
    expect(running.agents.map((a) => [a.agent_id, a.node]).sort()).toEqual([['w@east@lab', 'east@lab'], ['w@west@lab', 'west@lab']]);
    await new Promise((r) => setTimeout(r, 800));
    expect((await getJob(daemons[0]!.target, jobId)).status).toBe('running');
    const cancel = await rawCall<{ status: string }>(daemons[0]!.target, JOB_SERVICE, 'CancelJob', { job_id: jobId });
    expect(cancel.res?.status).toBe('cancelled');
  });

  it('completes a sysbatch job when the group has run on every machine', async () => {
    const jobId = await submit({
      graph_id: 'sysb',
      entrypoints: ['probe'],
      nodes: [
        { node_id: 'probe', agent_type: 'executor', config: { command: ['true'] }, resources: small },
        { node_id: 'tally', agent_type: 'aggregator', config: { complete_on_message: true, complete_job: false }, resources: small },
      ],
      edges: [{ from_node: 'probe', to_node: 'tally', message_type: 'executor_result' }],
      policies: { job_type: 'sysbatch' },
    });
    const done = await finished(daemons[0]!.target, jobId, 30_000);
    expect(done.status).toBe('completed');
    expect(done.details.completed_by).toBe('quiescence');
    expect(done.details.result).toMatchObject({ completed_targets: ['east@lab', 'west@lab'] });
    expect((done.details.result as { completed_agents: string[] }).completed_agents.sort()).toEqual(['probe@east@lab', 'probe@west@lab', 'tally@east@lab', 'tally@west@lab']);
    // Each machine's probe reported to the tally on its own machine.
    const received = (await jobEvents(daemons[0]!.target, jobId)).filter((e) => e.type === 'aggregator_received').map((e) => e.agent_id).sort();
    expect(received).toEqual(['tally@east@lab', 'tally@west@lab']);
  });
});
