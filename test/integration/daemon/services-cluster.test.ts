/**
 * Services across three daemons sharing a real redis-server: an agent's service is registered on
 * its machine, turns critical when its server stops and is then hidden from resolve; when its
 * machine's daemon is killed (-9) the instance disappears and comes back, passing, on the machine
 * the agent moves to. A `requires_services` agent is placed only next to a passing instance, in
 * the daemon and offline from the exported node list, and the failure is explained otherwise.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../../src/api/protos.js';
import type { ServiceRecord } from '../../../src/core/services/registry.js';
import { runCli } from '../../helpers/cli.js';
import { type AgentProcess, eventually, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { getJob } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';
import { freePort, httpServiceJob, plainServiceJob } from '../../helpers/services.js';

describe('services across daemons on Redis', () => {
  let redis: RedisServer;
  const daemons: AgentProcess[] = [];
  let alpha: AgentProcess;

  const services = async (query: Record<string, unknown> = {}): Promise<ServiceRecord[]> => {
    const r = await rawCall<{ result_json: string }>(alpha.target, CLUSTER_SERVICE, 'ListServices', { query_json: JSON.stringify(query) });
    if (!r.res) throw new Error(r.details);
    return JSON.parse(r.res.result_json) as ServiceRecord[];
  };

  beforeAll(async () => {
    redis = await startRedis();
    const shared = { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: 'services', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-services-')) };
    for (const name of ['alpha@lab', 'beta@lab', 'gamma@lab']) daemons.push(await startAgent(name, shared));
    alpha = daemons[0]!;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await redis?.stop();
  });

  it('places a requires_services agent only next to a passing instance, explains the failure otherwise, and plans the same offline', async () => {
    const consumer = (id: string, service: string) =>
      JSON.stringify({
        manifest_version: '1',
        graph_id: id,
        entrypoints: ['w'],
        nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.05, memory_mb: 16 }, requires_services: [{ name: service, tags: ['fast'] }] }],
      });
    const none = await rawCall(alpha.target, JOB_SERVICE, 'SubmitJob', { manifest_json: consumer('c0', 'kv') });
    expect(none.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(none.details).toContain('required services not available');

    // A passing kv (tagged fast) on gamma, and a critical kv2 on beta (its check targets a closed port).
    const kv = await rawCall(alpha.target, JOB_SERVICE, 'SubmitJob', { manifest_json: plainServiceJob('kv', 'kv', { tags: ['fast'], constraints: [{ attribute: 'node', value: 'gamma@lab' }] }) });
    expect(kv.code).toBe(grpc.status.OK);
    const closed = await freePort();
    const kv2 = await rawCall(alpha.target, JOB_SERVICE, 'SubmitJob', {
      manifest_json: plainServiceJob('kv2', 'kv2', { tags: ['fast'], constraints: [{ attribute: 'node', value: 'beta@lab' }], checks: [{ type: 'tcp', port: closed, interval_ms: 200, timeout_ms: 300 }] }),
    });
    expect(kv2.code).toBe(grpc.status.OK);
    await eventually(async () => (await services({ name: 'kv', passing_only: true })).length === 1 && (await services({ name: 'kv2', status: 'critical' })).length === 1, 20_000, 200);

    const placed = await rawCall<{ job_id: string }>(alpha.target, JOB_SERVICE, 'SubmitJob', { manifest_json: consumer('c1', 'kv') });
    expect(placed.code).toBe(grpc.status.OK);
    expect((await getJob(alpha.target, placed.res!.job_id)).agents.map((a) => a.node)).toEqual(['gamma@lab']);
    const refused = await rawCall(alpha.target, JOB_SERVICE, 'SubmitJob', { manifest_json: consumer('c2', 'kv2') });
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain('required services not available');

    // The live cluster exported by `mn node list --json` plans the same offline.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-export-'));
    const exported = await runCli(['node', 'list', '--json', '--target', alpha.target]);
    expect(exported.code).toBe(0);
    const nodes = JSON.parse(exported.stdout) as Array<{ name: string; services: Array<{ name: string; status: string }> }>;
    expect(nodes.find((n) => n.name === 'gamma@lab')?.services).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'kv', status: 'passing' })]));
    writeFileSync(path.join(dir, 'cluster.json'), exported.stdout);
    writeFileSync(path.join(dir, 'c1.json'), consumer('c1', 'kv'));
    writeFileSync(path.join(dir, 'c2.json'), consumer('c2', 'kv2'));
    const offline = await runCli(['plan', path.join(dir, 'c1.json'), '--cluster', path.join(dir, 'cluster.json'), '--json']);
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout).placements.map((p: { node: string }) => p.node)).toEqual(['gamma@lab']);
    const offlineRefused = await runCli(['plan', path.join(dir, 'c2.json'), '--cluster', path.join(dir, 'cluster.json'), '--json']);
    expect(offlineRefused.code).toBe(3);
    expect(JSON.parse(offlineRefused.stdout).failures[0].reason).toContain('required services not available');

    for (const id of [kv, kv2, placed]) await rawCall(alpha.target, JOB_SERVICE, 'CancelJob', { job_id: (id.res as { job_id: string }).job_id });
  });

  it("registers an agent's service on its machine, hides it when critical, and moves it with the agent when its machine is lost", async () => {
    const port = await freePort();
    // Not on alpha (the coordinator and leader), so that losing the agent's machine leaves the rest running.
    const submitted = await rawCall<{ job_id: string }>(alpha.target, JOB_SERVICE, 'SubmitJob', { manifest_json: httpServiceJob('web', 'web-api', port, { constraints: [{ attribute: 'node', operator: '!=', value: 'alpha@lab' }] }) });
    expect(submitted.code).toBe(grpc.status.OK);
    const jobId = submitted.res!.job_id;
    const first = await eventually(async () => (await services({ name: 'web-api', passing_only: true }))[0], 20_000, 150);
    const host = (await getJob(alpha.target, jobId)).agents[0]!.node;
    expect(first).toMatchObject({ node: host, port, status: 'passing', job_id: jobId, agent_id: 'api' });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain(host);

    await fetch(`http://127.0.0.1:${port}/stop`);
    await eventually(async () => (await services({ name: 'web-api', status: 'critical' })).length === 1, 15_000, 150);
    const hidden = await rawCall<{ result_json: string }>(alpha.target, CLUSTER_SERVICE, 'ResolveService', { name: 'web-api' });
    expect(JSON.parse(hidden.res!.result_json)).toEqual([]);

    const victim = daemons.find((d) => d.name === host)!;
    await victim.kill();
    const other = host === 'beta@lab' ? 'gamma@lab' : 'beta@lab';
    const moved = await eventually(async () => {
      const all = await services({ name: 'web-api', include_candidates: true });
      return all.length === 1 && all[0]!.node === other && all[0]!.status === 'passing' ? all[0] : null;
    }, 45_000, 250);
    expect(moved).toMatchObject({ id: `${jobId}:api:web-api`, node: other, port });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain(other);
    const resolved = await runCli(['service', 'resolve', 'web-api', '--json', '--target', alpha.target]);
    expect(JSON.parse(resolved.stdout).map((r: ServiceRecord) => r.node)).toEqual([other]);
  });
});
