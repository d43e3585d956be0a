/**
 * Services on the embedded store (`mn dev`'s daemon, in process): an agent's service registers on
 * its machine, passes, turns critical when its server stops and is then hidden from resolve; a
 * watch pushes each change; the job's end removes it. Preflight refuses a job whose
 * required_services are not met, and `--force` starts it and records the skip. `check_restart`
 * restarts an agent whose check stays critical, never within its grace.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SERVICE, JOB_SERVICE, serviceConstructor } from '../../../src/api/protos.js';
import { daemonConfigFromEnv } from '../../../src/core/config.js';
import type { ServiceRecord } from '../../../src/core/services/registry.js';
import { type Daemon, startDaemon } from '../../../src/daemon.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { runCli } from '../../helpers/cli.js';
import { eventually } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { jobEvents, machine } from '../../helpers/jobs.js';
import { freePort, httpServiceJob, plainServiceJob } from '../../helpers/services.js';

const NODE = 'dev@lab';
let store: MemoryStore;
let daemon: Daemon;
let target: string;
let home: string;

async function services(query: Record<string, unknown> = {}): Promise<ServiceRecord[]> {
  const r = await rawCall<{ result_json: string }>(target, CLUSTER_SERVICE, 'ListServices', { query_json: JSON.stringify(query) });
  if (!r.res) throw new Error(r.details);
  return JSON.parse(r.res.result_json) as ServiceRecord[];
}

async function submit(manifest: string, force = false) {
  return rawCall<{ job_id: string }>(target, JOB_SERVICE, 'SubmitJob', { manifest_json: manifest, force });
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'mn-services-dev-'));
  store = new MemoryStore();
  const config = {
    ...daemonConfigFromEnv({}, { hostname: 'test', homeDir: home }).config,
    host: '127.0.0.1',
    port: 0,
    nodeName: NODE,
    heartbeatMs: 200,
    sweepMs: 300,
    leaderLeaseMs: 2000,
    jobLeaseMs: 5000,
    jobLeaseRenewMs: 1000,
    home,
  };
  daemon = await startDaemon({ config, store, inventory: async () => machine(NODE), planner: localPlanner(), env: process.env });
  target = daemon.address;
}, 30_000);

afterAll(async () => {
  await daemon?.stop();
  await store?.close();
});

describe('services on the embedded store', () => {
  it('registers an agent service that passes, turns critical when its server stops, is hidden from resolve, and leaves with its job', async () => {
    const port = await freePort();
    const submitted = await submit(httpServiceJob('web', 'web-api', port));
    expect(submitted.code).toBe(grpc.status.OK);
    const jobId = submitted.res!.job_id;

    // A watch sees every change of the service's passing instances.
    const Client = serviceConstructor(CLUSTER_SERVICE);
    const client = new Client(target, grpc.credentials.createInsecure());
    const stream = (client as unknown as { WatchService(req: object): grpc.ClientReadableStream<{ result_json: string }> }).WatchService({ name: 'web-api', query_json: '' });
    const pushed: ServiceRecord[][] = [];
    stream.on('data', (m: { result_json: string }) => pushed.push(JSON.parse(m.result_json)));
    stream.on('error', () => undefined);

    const passing = await eventually(async () => (await services({ name: 'web-api', passing_only: true }))[0], 15_000, 100);
    expect(passing).toMatchObject({ id: `${jobId}:api:web-api`, name: 'web-api', job_id: jobId, agent_id: 'api', node: NODE, address: '127.0.0.1', port, tags: ['http'], status: 'passing', deployment_role: 'primary' });
    expect(passing.health.checks[0]).toMatchObject({ name: 'http', status: 'passing', output: expect.stringContaining('HTTP 200') });
    const cli = await runCli(['service', 'resolve', 'web-api', '--target', target]);
    expect(cli).toMatchObject({ code: 0, stdout: `127.0.0.1:${port}\n` });

    await fetch(`http://127.0.0.1:${port}/stop`);
    const critical = await eventually(async () => (await services({ name: 'web-api' })).find((r) => r.status === 'critical'), 15_000, 100);
    expect(critical.health.checks[0]?.output).toMatch(/ECONNREFUSED/);
    const resolved = await rawCall<{ result_json: string }>(target, CLUSTER_SERVICE, 'ResolveService', { name: 'web-api' });
    expect(JSON.parse(resolved.res!.result_json)).toEqual([]);
    expect((await runCli(['service', 'list', '--target', target])).stdout).toContain('no passing services');
    expect((await runCli(['service', 'list', '--all', '--target', target])).stdout).toMatch(/web-api\s+dev@lab\s+127\.0\.0\.1:\d+\s+critical/);
    const changes = (await jobEvents(target, jobId)).filter((e) => e.type === 'service_health_changed');
    // From warning (registered, not checked yet) to passing (possibly through critical while the server started), then critical.
    const steps = changes.map((e) => [e.payload.from, e.payload.to]);
    expect(steps[0]?.[0]).toBe('warning');
    expect(steps[steps.length - 1]).toEqual(['passing', 'critical']);
    await eventually(async () => pushed.some((answer) => answer.length === 0) && pushed.some((answer) => answer.length === 1), 5000, 50);
    expect(pushed[pushed.length - 1]).toEqual([]);

    expect((await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: jobId })).code).toBe(grpc.status.OK);
    await eventually(async () => (await services({ job_id: jobId, include_candidates: true })).length === 0, 10_000, 100);
    stream.cancel();
    client.close();
  });

  it('answers NOT_FOUND for an unknown service, an empty list for filters that match nothing, INVALID_ARGUMENT for a bad query', async () => {
    const unknown = await rawCall(target, CLUSTER_SERVICE, 'ResolveService', { name: 'nobody' });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(await services({ tags: ['no-such-tag'] })).toEqual([]);
    const bad = await rawCall(target, CLUSTER_SERVICE, 'ListServices', { query_json: '{"status":"sick"}' });
    expect(bad).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('query_json.status must be one of passing, warning, critical') });
    const resolveCli = await runCli(['service', 'resolve', 'nobody', '--target', target]);
    expect(resolveCli.code).toBe(1);
    expect(resolveCli.stderr).toContain('service nobody is not registered');
  });

  it('refuses a job whose required_services are not met with the report; --force starts it and records the skip', async () => {
    const manifest = JSON.stringify({
      manifest_version: '1',
      graph_id: 'needs-vllm',
      entrypoints: ['w'],
      nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['true'] } }],
      required_services: [{ name: 'vllm', tags: ['gpu'] }],
    });
    const refused = await submit(manifest);
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).toContain('service_requirements_not_met');
    const report = JSON.parse(refused.details.slice(refused.details.indexOf('{')));
    expect(report).toMatchObject({ ok: false, issues: [{ code: 'service.required_missing', service: 'vllm', path: 'required_services[0]' }] });

    const bundle = path.join(home, 'needs-vllm');
    mkdirSync(bundle, { recursive: true });
    writeFileSync(path.join(bundle, 'manifest.json'), manifest);
    const check = await runCli(['service', 'check', bundle, '--target', target]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/vllm\s+yes\s+registry\s+missing/);
    expect(check.stdout).toContain('service.required_missing');
    const run = await runCli(['job', 'run', bundle, '--detach', '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('service_requirements_not_met');

    const forced = await runCli(['job', 'run', bundle, '--detach', '--force', '--json', '--target', target]);
    expect(forced.code).toBe(0);
    const jobId = JSON.parse(forced.stdout).job_id as string;
    const job = JSON.parse((await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: jobId })).res!.job_json);
    expect(job.details.preflight).toEqual({ skipped: true, reason: 'forced' });
    expect((await jobEvents(target, jobId)).map((e) => e.type)).toContain('service_preflight_skipped');

    // Once a passing vllm with the tag is registered, the same job is accepted without --force.
    const provider = await submit(plainServiceJob('vllm-provider', 'vllm', { tags: ['gpu'] }));
    expect(provider.code).toBe(grpc.status.OK);
    await eventually(async () => (await services({ name: 'vllm', passing_only: true })).length === 1, 10_000, 100);
    expect((await runCli(['service', 'check', bundle, '--json', '--target', target])).code).toBe(0);
    const accepted = await submit(manifest);
    expect(accepted.code).toBe(grpc.status.OK);
    const acceptedJob = JSON.parse((await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: accepted.res!.job_id })).res!.job_json);
    expect(acceptedJob.details.preflight).toMatchObject({ skipped: false, checked: [{ service: 'vllm', status: 'passing' }] });
    await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: provider.res!.job_id });
  });

  it('check_restart restarts an agent whose check stays critical, never within its grace', async () => {
    const port = await freePort();
    // The server never listens on this port: the check is critical from its first run.
    const manifest = JSON.stringify({
      manifest_version: '1',
      graph_id: 'flaky',
      type: 'service',
      entrypoints: ['api'],
      nodes: [
        {
          node_id: 'api',
          agent_type: 'executor',
          config: { command: ['sleep', '600'] },
          resources: { cpu_cores: 0.05, memory_mb: 16 },
          policies: { restart: { attempts: 5, interval_ms: 600_000, delay_ms: 50, mode: 'fail' } },
          services: [{ name: 'flaky-api', address: '127.0.0.1', port, checks: [{ type: 'tcp', interval_ms: 150, timeout_ms: 200, check_restart: { limit: 2, grace_ms: 1500 } }] }],
        },
      ],
    });
    const submitted = await submit(manifest);
    expect(submitted.code).toBe(grpc.status.OK);
    const jobId = submitted.res!.job_id;
    const events = await eventually(async () => {
      const all = await jobEvents(target, jobId);
      return all.filter((e) => e.type === 'agent_restart_scheduled').length >= 2 ? all : null;
    }, 20_000, 200);
    const registered = events.filter((e) => e.type === 'service_registered');
    const restarts = events.filter((e) => e.type === 'agent_check_restart');
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    // Each check restart comes at least grace_ms after the registration before it.
    for (const r of restarts) {
      const before = registered.filter((g) => g.timestamp <= r.timestamp).pop()!;
      expect(r.timestamp - before.timestamp).toBeGreaterThanOrEqual(1500);
      expect(r.payload.reason).toMatch(/check tcp of service flaky-api was critical 2 times in a row/);
    }
    expect(events.find((e) => e.type === 'agent_restart_scheduled')?.payload.reason).toMatch(/critical 2 times/);
    const job = JSON.parse((await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: jobId })).res!.job_json);
    expect(job.agents[0].restarts).toBeGreaterThanOrEqual(2);
    await rawCall(target, JOB_SERVICE, 'CancelJob', { job_id: jobId });
  });
});
