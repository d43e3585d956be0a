/**
 * Kill timeouts (`kill_timeout_ms`): cancelling a job stops its executor processes with SIGTERM,
 * waits up to the node's timeout, then sends SIGKILL; the `agent_stopped` event says which.
 */
import * as grpc from '@grpc/grpc-js';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { runCli } from '../../helpers/cli.js';
import { finished, getJob, jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

/** A node whose process writes `ready` once its SIGTERM handler is installed, then waits. */
const waiting = (nodeId: string, ready: string, onTerm: string, extra: Record<string, unknown> = {}) => ({
  node_id: nodeId,
  agent_type: 'executor',
  config: { command: ['node', '-e', `process.on('SIGTERM',()=>{${onTerm}});require('fs').writeFileSync(${JSON.stringify(ready)},'1');setInterval(()=>{},1000)`] },
  resources: { cpu_cores: 0.01, memory_mb: 1 },
  ...extra,
});

describe('kill timeouts: SIGTERM, then SIGKILL after kill_timeout_ms', () => {
  let redis: RedisServer;
  let agent: AgentProcess;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-kill-'));

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('kill@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'kill', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')) });
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('a cancelled job records SIGTERM for the process that exits on it and SIGKILL for the one that ignores it', async () => {
    const politeReady = path.join(dir, 'polite');
    const stubbornReady = path.join(dir, 'stubborn');
    const manifest = {
      manifest_version: '1',
      graph_id: 'kill-timeouts',
      entrypoints: ['polite', 'stubborn'],
      initial_inputs: { polite: [{ go: 1 }], stubborn: [{ go: 1 }] },
      nodes: [
        // The default timeout (30 s for a batch job) is never reached: it exits on SIGTERM.
        waiting('polite', politeReady, 'process.exit(0)'),
        waiting('stubborn', stubbornReady, '', { kill_timeout_ms: 300 }),
      ],
    };
    const submit = await rawCall<{ job_id: string }>(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(manifest) });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    await eventually(async () => existsSync(politeReady) && existsSync(stubbornReady), 30_000, 50);
    const cancel = await rawCall(agent.target, JOB_SERVICE, 'CancelJob', { job_id: jobId });
    expect(cancel.code).toBe(grpc.status.OK);
    expect((await finished(agent.target, jobId)).status).toBe('cancelled');
    const stopped = await eventually(async () => {
      const list = (await jobEvents(agent.target, jobId)).filter((e) => e.type === 'agent_stopped');
      return list.length >= 2 ? list : null;
    }, 20_000, 100);
    const byAgent = Object.fromEntries(stopped.map((e) => [e.agent_id, e.payload]));
    expect(byAgent.polite).toMatchObject({ signal: 'SIGTERM', kill_timeout_ms: 30_000 });
    expect(byAgent.stubborn).toMatchObject({ signal: 'SIGKILL', kill_timeout_ms: 300 });
  }, 90_000);

  it('refuses a kill_timeout_ms that is not a whole number of milliseconds in range, naming the field', async () => {
    const manifest = { manifest_version: '1', graph_id: 'bad-kill', entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', kill_timeout_ms: -5, config: { command: ['true'] } }] };
    const r = await rawCall(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(manifest) });
    expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.details).toContain('nodes[0].kill_timeout_ms must be an integer between 0 and 3600000');
  });
});

describe('kill timeouts on a drain: the agents that leave the machine get SIGTERM, then SIGKILL', () => {
  let redis: RedisServer;
  const agents: AgentProcess[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-kill-drain-'));

  beforeAll(async () => {
    redis = await startRedis();
    for (const name of ['left@lab', 'right@lab']) {
      agents.push(await startAgent(name, { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'killdrain', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')) }));
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await redis?.stop();
  });

  it('records SIGTERM for the agent that exits on it and SIGKILL after kill_timeout_ms for the one that ignores it', async () => {
    const target = agents[0]!.target;
    const manifest = {
      manifest_version: '1',
      graph_id: 'kill-drain',
      type: 'service',
      entrypoints: ['polite', 'stubborn'],
      initial_inputs: { polite: [{ go: 1 }, { go: 2 }], stubborn: [{ go: 1 }, { go: 2 }] },
      nodes: [
        // Service default: 60 s, never reached.
        { ...waiting('polite', path.join(dir, 'polite-${index}'), 'process.exit(0)'), count: 2 },
        { ...waiting('stubborn', path.join(dir, 'stubborn-${index}'), '', { kill_timeout_ms: 300 }), count: 2 },
      ],
      policies: { recovery_mode: 'cluster_recover', scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] } },
    };
    const submit = await rawCall<{ job_id: string }>(target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(manifest) });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;
    await eventually(async () => ['polite-0', 'polite-1', 'stubborn-0', 'stubborn-1'].every((f) => existsSync(path.join(dir, f))), 30_000, 50);
    const before = (await getJob(target, jobId)).agents;
    const leaving = before.filter((a) => a.node === 'right@lab').map((a) => a.agent_id);
    // The even spread puts one of each on the drained machine.
    expect(leaving.some((id) => id.startsWith('stubborn')) && leaving.some((id) => id.startsWith('polite'))).toBe(true);

    const drain = await runCli(['node', 'drain', 'right@lab', '--deadline', '5m', '--wait', '--json'], { env: { MN_GRPC_TARGET: target } });
    expect(drain.code).toBe(0);
    const stopped = await eventually(async () => {
      const list = (await jobEvents(target, jobId)).filter((e) => e.type === 'agent_stopped' && leaving.includes(e.agent_id ?? ''));
      return list.length >= leaving.length ? list : null;
    }, 30_000, 100);
    for (const e of stopped) {
      if (e.agent_id!.startsWith('stubborn')) expect(e.payload).toMatchObject({ signal: 'SIGKILL', kill_timeout_ms: 300 });
      else expect(e.payload).toMatchObject({ signal: 'SIGTERM', kill_timeout_ms: 60_000 });
    }
    // Every agent now runs on the machine that stayed.
    await eventually(async () => (await getJob(target, jobId)).agents.every((a) => a.node === 'left@lab'), 30_000, 200);
  }, 120_000);
});
