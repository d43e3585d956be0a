/**
 * Deployments across three daemons sharing a real redis-server: the first deploy through the CLI
 * (`mn deployment deploy --wait`), then a rolling update whose driving daemon (the leader, which
 * also coordinates the job) is killed with -9 mid-way. Another daemon takes the rollout over and
 * finishes it: every agent is replaced exactly once, and in the end only the new version is
 * registered, all primary. `mn deployment status` shows the versions and batches.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE } from '../../../src/api/protos.js';
import type { DeploymentRecord } from '../../../src/core/deploy/records.js';
import { runCli } from '../../helpers/cli.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { deploymentClient } from '../../helpers/deployments.js';
import { rawCall } from '../../helpers/grpc.js';
import { jobEvents } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

function fleet(command: string[]): Record<string, unknown> {
  return {
    manifest_version: '1',
    graph_id: 'fleet',
    type: 'service',
    entrypoints: ['worker'],
    nodes: [{ node_id: 'worker', agent_type: 'executor', count: 6, config: { command }, resources: { cpu_cores: 0.05, memory_mb: 16 }, services: [{ name: 'fleet-worker', address: '127.0.0.1', port: 1 }] }],
    policies: { recovery_mode: 'cluster_recover', scheduler: { strategy: 'spread' }, update: { max_parallel: 2, min_healthy_ms: 300, healthy_deadline_ms: 30_000 } },
  };
}

async function leaderOf(target: string): Promise<string | null> {
  const r = await rawCall<{ summary_json: string }>(target, CLUSTER_SERVICE, 'GetSystemSummary', {});
  return r.res ? (JSON.parse(r.res.summary_json) as { leader: string | null }).leader : null;
}

describe('deployments across daemons on Redis', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  let survivor = '';
  const client = deploymentClient(() => survivor);

  beforeAll(async () => {
    redis = await startRedis();
    const shared = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'deployments', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-deploy-')), MN_EXECUTOR_MAX_CONCURRENCY: '64' };
    for (const name of ['alpha@lab', 'beta@lab', 'gamma@lab']) daemons.push(await startAgent(name, shared));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('finishes a rolling update from another daemon after kill -9 of the daemon driving it', async () => {
    const leaderName = await eventually(() => leaderOf(daemons[0]!.target), 15_000, 100);
    const leader = daemons.find((d) => d.name === leaderName)!;
    survivor = daemons.find((d) => d !== leader)!.target;
    const leaderClient = deploymentClient(() => leader.target);

    // First deploy through the CLI, on the leader (which then coordinates the job).
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'mn-fleet-'));
    mkdirSync(path.join(bundle, 'payloads'));
    writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(fleet(['sleep', '600'])));
    const first = await runCli(['deployment', 'deploy', bundle, '--target', leader.target, '--wait', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const v1 = JSON.parse(first.stdout) as DeploymentRecord;
    expect(v1.status).toBe('successful');
    const jobId = v1.current_job_id!;

    // Version 2 rolls in batches of 2; the leader dies once the first batch was replaced.
    const r = await leaderClient.deploy(fleet(['sleep', '601']));
    expect(r.code, r.details).toBe(grpc.status.OK);
    const atKill = await eventually(async () => {
      const d = (await leaderClient.view('fleet')).deployment;
      return d.replaced_agent_ids.length >= 2 ? d : null;
    }, 15_000, 50);
    await leader.kill();
    expect(atKill.status).toBe('running');
    expect(atKill.replaced_agent_ids.length).toBeLessThan(6);

    const done = await client.settle('fleet', 'successful', 60_000);
    expect(done.target_version).toBe(2);
    expect(await leaderOf(survivor)).not.toBe(leaderName);

    // Every agent was replaced exactly once, batch by batch.
    const started = done.events.filter((e) => e.type === 'deployment_batch_started').flatMap((e) => e.agents as string[]);
    expect(started.sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5']);
    const applied = (await jobEvents(survivor, jobId)).filter((e) => e.type === 'rollout_batch_applied').flatMap((e) => e.payload.agents as string[]);
    expect(applied.sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5']);

    // Only version 2 is registered in the end, every instance primary and on a live machine.
    await eventually(async () => {
      const all = await client.services({ name: 'fleet-worker', include_candidates: true });
      return all.length === 6 && all.every((s) => s.deployment_version === 2 && s.deployment_role === 'primary' && s.node !== leaderName);
    }, 30_000, 200);

    const status = await runCli(['deployment', 'status', 'fleet', '--target', survivor]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/status\s+successful/);
    expect(status.stdout).toMatch(/VERSION\s+STABLE\s+CAUSE/);
    expect(status.stdout).toMatch(/^2\s+yes\s+deploy/m);
    const list = await runCli(['deployment', 'list', '--target', survivor, '--json']);
    expect((JSON.parse(list.stdout) as DeploymentRecord[]).map((d) => d.target_version)).toEqual([2, 1]);
    // Refusals and actions through the binary: a promote with nothing awaiting it, then a rollback to version 1.
    const promote = await runCli(['deployment', 'promote', 'fleet', '--target', survivor]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain('is successful, expected awaiting_promotion');
    const rollback = await runCli(['deployment', 'rollback', 'fleet', '--version', '1', '--target', survivor, '--json']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(JSON.parse(rollback.stdout) as DeploymentRecord).toMatchObject({ target_version: 3, rollback_of: 1 });
  }, 150_000);
});
