import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { daemonConfigFromEnv, type DaemonConfig } from '../../../src/core/config.js';
import { type Daemon, startDaemon } from '../../../src/daemon.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { runCli } from '../../helpers/cli.js';
import { rawCall } from '../../helpers/grpc.js';
import { machine } from '../../helpers/jobs.js';

const DAEMON_NODE = 'paging@test';
/** A live node no daemon runs: agents placed there stay pending. */
const PARKED_NODE = 'parked@test';
const AGENTS = 2500;

describe('GetJob summarises, ListAgents pages (embedded store, real gRPC)', () => {
  let store: MemoryStore;
  let daemon: Daemon;
  let home: string;
  let jobId: string;
  const bigManifest = { manifest_version: '1', graph_id: 'big', entrypoints: ['w'], metadata: { note: 'x'.repeat(10_000) }, nodes: [{ node_id: 'w', agent_type: 'executor', count: AGENTS, resources: { cpu_cores: 0 } }] };

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'mn-paging-'));
    store = new MemoryStore();
    const config: DaemonConfig = { ...daemonConfigFromEnv({}, { hostname: 'test', homeDir: home }).config, host: '127.0.0.1', port: 0, nodeName: DAEMON_NODE, heartbeatMs: 200, sweepMs: 300, home };
    daemon = await startDaemon({ config, store, inventory: async () => machine(DAEMON_NODE), planner: localPlanner() });
    await store.updateNode(DAEMON_NODE, { scheduling_eligible: false });
    await store.upsertNode({ name: PARKED_NODE, status: 'healthy', inventory: machine(PARKED_NODE) });
    await store.heartbeat(PARKED_NODE, 10 * 60_000);
    const r = await rawCall<{ job_id: string }>(daemon.address, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(bigManifest), payloads: {} });
    expect(r.details).toBe('');
    jobId = r.res!.job_id;
  });
  afterAll(async () => {
    await daemon?.stop();
    await store?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const page = (token: string, size = 1000) => rawCall<{ agents_json: string; next_page_token: string; total: number }>(daemon.address, JOB_SERVICE, 'ListAgents', { job_id: jobId, page_size: size, page_token: token });

  it('GetJob returns the job, an agent summary and the first agents, without the manifest twice', async () => {
    const r = await rawCall<{ job_json: string }>(daemon.address, JOB_SERVICE, 'GetJob', { job_id: jobId });
    const doc = JSON.parse(r.res!.job_json);
    expect(doc.manifest).toBeUndefined();
    expect(doc.job.agent_count).toBe(AGENTS);
    expect(doc.agent_summary).toEqual({ total: AGENTS, by_state: { pending: AGENTS }, by_node: { [PARKED_NODE]: AGENTS } });
    expect(doc.agents).toHaveLength(1000);
    expect(doc.agents_truncated).toBe(true);
    expect(doc.plan.placements).toEqual([]);
    expect(doc.plan.placements_omitted).toBe(AGENTS);
    // The note is carried once (in the normalised job), not twice.
    expect(r.res!.job_json.split('x'.repeat(10_000)).length).toBe(2);
    const withManifest = JSON.parse((await rawCall<{ job_json: string }>(daemon.address, JOB_SERVICE, 'GetJob', { job_id: jobId, include_manifest: true })).res!.job_json);
    expect(withManifest.manifest).toEqual(bigManifest);
  });

  it('ListAgents pages through every agent once in id order; bad page arguments are refused naming the field', async () => {
    const ids: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const r = await page(token);
      expect(r.code).toBe(grpc.status.OK);
      expect(r.res!.total).toBe(AGENTS);
      ids.push(...(JSON.parse(r.res!.agents_json) as Array<{ agent_id: string }>).map((a) => a.agent_id));
      token = r.res!.next_page_token;
      pages++;
    } while (token !== '');
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(AGENTS);
    expect(ids).toEqual([...ids].sort());
    const bad = await page('not-a-token');
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toBe('MN_E_INVALID_ARGUMENT: page_token: not a page token returned by this API');
    const huge = await page('', 20_000);
    expect(huge.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(huge.details).toMatch(/page_size must be an integer between 0 .* and 10000, got 20000/);
    // Default page: 1000.
    const first = await rawCall<{ agents_json: string }>(daemon.address, JOB_SERVICE, 'ListAgents', { job_id: jobId });
    expect(JSON.parse(first.res!.agents_json)).toHaveLength(1000);
  });

  it('mn job status pages through every agent', async () => {
    const r = await runCli(['job', 'status', jobId, '--json'], { env: { MN_GRPC_TARGET: daemon.address } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).agents).toHaveLength(AGENTS);
  });

  it('ListAgents of a job that ended lists its final agents, as GetJob summarises them', async () => {
    // End the job as its coordinator does: final agents on the record, then placements released.
    const lease = (await store.getLease(`job:${jobId}`))!;
    const fence = { lease: lease.name, token: lease.token };
    const final = (await store.listAgents(jobId)).map((a) => ({ ...a, state: 'completed' as const }));
    const record = (await store.getJob(jobId))!;
    await store.updateJob(jobId, { details: { ...record.details, final_agents: final } }, { fence });
    await store.commitPlacements(jobId, { status: 'completed', placements: [], mode: 'replace' }, fence);
    expect(await store.listAgents(jobId)).toEqual([]);

    const r = await page('', 2000);
    expect(r.res!.total).toBe(AGENTS);
    const agents = JSON.parse(r.res!.agents_json) as Array<{ agent_id: string; state: string }>;
    expect(agents).toHaveLength(2000);
    expect(new Set(agents.map((a) => a.state))).toEqual(new Set(['completed']));
    const rest = await page(r.res!.next_page_token, 2000);
    expect(JSON.parse(rest.res!.agents_json)).toHaveLength(AGENTS - 2000);
    expect(rest.res!.next_page_token).toBe('');
    const doc = JSON.parse((await rawCall<{ job_json: string }>(daemon.address, JOB_SERVICE, 'GetJob', { job_id: jobId })).res!.job_json);
    expect(doc.status).toBe('completed');
    expect(doc.agent_summary).toMatchObject({ total: AGENTS, by_state: { completed: AGENTS } });
    expect(doc.details.final_agents).toBeUndefined();
  });
});
