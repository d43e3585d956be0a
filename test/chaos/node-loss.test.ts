import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../src/api/protos.js';
import { type AgentProcess, eventually, startAgent } from '../helpers/daemon.js';
import { rawCall } from '../helpers/grpc.js';
import { fanOutManifest, finished, getJob } from '../helpers/jobs.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

/**
 * Kill -9 of a daemon in the middle of a 1,000-agent cluster_recover batch job: the job still
 * completes, every agent's result is counted exactly once, and no agent ever ran on two machines
 * at the same time. Each run of an agent appends `start`/`end` lines (agent, machine, time) to one
 * journal, so the test can check the runs' intervals.
 */
describe.each([
  { victim: 1, role: 'a machine holding agents' },
  { victim: 0, role: 'the job coordinator' },
])('chaos: $role dies mid-job', ({ victim: victimIndex }) => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  const journal = path.join(mkdtempSync(path.join(os.tmpdir(), 'mn-chaos-')), 'runs.log');

  beforeAll(async () => {
    writeFileSync(journal, '');
    redis = await startRedis();
    const shared = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'chaos', MN_EXECUTOR_MAX_CONCURRENCY: '16', MN_MESSAGE_ACK_TIMEOUT_MS: '2000' };
    for (const name of ['north@lab', 'south@lab', 'east@lab']) {
      daemons.push(await startAgent(name, { ...shared, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-chaos-home-')) }));
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('completes with every result exactly once and no agent on two machines at once', async () => {
    const run = `echo "start $MN_AGENT_ID $MN_NODE_NAME $(date +%s%3N)" >> ${journal}; sleep 0.05; echo "end $MN_AGENT_ID $MN_NODE_NAME $(date +%s%3N)" >> ${journal}`;
    const manifest = fanOutManifest('chaos', 1000, { command: run, shell: true }, { recovery_mode: 'cluster_recover', reschedule: { attempts: 5, interval_ms: 600000, delay_ms: 0 } });
    const submit = await rawCall<{ job_id: string }>(daemons[0]!.target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest });
    expect(submit.code).toBe(grpc.status.OK);
    const jobId = submit.res!.job_id;

    // The job is submitted to (and coordinated by) the first daemon.
    const victim = daemons[victimIndex]!;
    const survivor = daemons.find((d) => d !== victim)!;
    await eventually(async () => readFileSync(journal, 'utf8').split('\n').filter((l) => l.startsWith('end')).length >= 150, 60_000, 50);
    await victim.kill();
    const killedAt = Date.now();
    const before = await getJob(survivor.target, jobId);
    expect(before.status).toBe('running');
    expect(before.agents.filter((a) => a.node === victim.name).length).toBeGreaterThan(0);

    const done = await finished(survivor.target, jobId, 150_000);
    expect(done.status).toBe('completed');
    const result = done.details.result as { count: number; messages: Array<{ agent_id: string }> };
    expect(result.count).toBe(1000);
    const ids = result.messages.map((m) => m.agent_id);
    expect(ids.length).toBe(1000);
    expect(new Set(ids).size).toBe(1000);
    expect(done.agents.some((a) => a.node === victim.name)).toBe(false);

    // Runs per agent from the journal: a run the kill interrupted ends at the kill.
    const runs = new Map<string, Array<{ node: string; start: number; end: number }>>();
    const open = new Map<string, { node: string; start: number }>();
    for (const line of readFileSync(journal, 'utf8').split('\n')) {
      const [kind, agent, node, at] = line.split(' ');
      if (!kind || !agent || !node || !at) continue;
      const key = `${agent} ${node}`;
      if (kind === 'start') open.set(key, { node, start: Number(at) });
      else {
        const s = open.get(key)!;
        open.delete(key);
        runs.set(agent, [...(runs.get(agent) ?? []), { node, start: s.start, end: Number(at) }]);
      }
    }
    for (const [key, s] of open) {
      expect(s.node).toBe(victim.name); // only the killed machine left runs unfinished
      const agent = key.split(' ')[0]!;
      runs.set(agent, [...(runs.get(agent) ?? []), { node: s.node, start: s.start, end: killedAt }]);
    }
    let moved = 0;
    for (const [agent, list] of runs) {
      const nodes = new Set(list.map((r) => r.node));
      if (nodes.size > 1) moved++;
      for (const a of list) {
        for (const b of list) {
          if (a !== b && a.node !== b.node) expect(a.end <= b.start || b.end <= a.start, `${agent} ran on ${a.node} and ${b.node} at once`).toBe(true);
        }
      }
    }
    expect(runs.size).toBe(1000);
    for (const d of daemons.filter((x) => x !== victim)) expect(d.proc.exitCode).toBeNull();
    // Some agents of the victim were run again elsewhere (it died mid-job).
    expect(moved + open.size).toBeGreaterThan(0);
  }, 200_000);
});
