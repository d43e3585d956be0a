/**
 * Spec §11.7 #73-#79 on a real daemon (embedded store, real gRPC): first deploy, no-op update,
 * canary on 3 agents then promote, blue-green on a topology change without canary, promote of a
 * successful deployment, rollback without another stable version, and a batch job's update.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '../../../src/core/deploy/records.js';
import { eventually } from '../../helpers/daemon.js';
import { deploymentClient, startDevDaemon } from '../../helpers/deployments.js';
import { getJob } from '../../helpers/jobs.js';

let stop: () => Promise<void>;
let target = '';
const { call, deploy, view, settle, services } = deploymentClient(() => target);

function agentApi(command: string[], extraNode = false): Record<string, unknown> {
  return {
    manifest_version: '1',
    graph_id: 'agent_api',
    deployment: { key: 'agent-api' },
    type: 'service',
    entrypoints: ['api'],
    nodes: [
      { node_id: 'api', agent_type: 'executor', count: 3, config: { command }, resources: { cpu_cores: 0.05, memory_mb: 16 }, services: [{ name: 'agent-api', address: '127.0.0.1', port: 1 }] },
      ...(extraNode ? [{ node_id: 'audit', agent_type: 'executor', config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.05, memory_mb: 16 } }] : []),
    ],
    edges: extraNode ? [{ from_node: 'api', to_node: 'audit', message_type: 'audit' }] : [],
    policies: { update: { strategy: 'canary', canary: 1, max_parallel: 2, min_healthy_ms: 0, healthy_deadline_ms: 15_000 } },
  };
}

beforeAll(async () => {
  const dev = await startDevDaemon('spec@lab');
  stop = dev.stop;
  target = dev.daemon.address;
}, 30_000);

afterAll(async () => stop?.());

describe('spec §11.7 deployments', () => {
  let first: DeploymentRecord;

  it('#73 a first deploy is version 1, successful, id dep_agent-api_<n>, event deployment_created', async () => {
    const r = await deploy(agentApi(['sleep', '600']));
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.value!.deployment_id).toMatch(/^dep_agent-api_\d+$/);
    first = await settle('agent-api', 'successful');
    expect(first.target_version).toBe(1);
    expect(first.events.map((e) => e.type)).toContain('deployment_created');
  });

  it('#78 rollback when no other stable version exists names the key', async () => {
    const r = await call('RollbackDeployment', { id_or_key: 'agent-api', version: '', tag: '', reason: '' });
    expect(r.code).toBe(grpc.status.NOT_FOUND);
    expect(r.details).toContain('no rollback target found for deployment agent-api');
  });

  it('#74 an identical manifest is a no-op recorded as a stable version', async () => {
    const r = await deploy(agentApi(['sleep', '600']));
    expect(r.value!.status).toBe('successful');
    expect(r.value!.description).toBe('deployment contained no runtime changes');
    expect(r.value!.events.map((e) => e.type)).toContain('deployment_noop');
    const { versions } = await view('agent-api');
    expect(versions.map((v) => [v.version, v.stable])).toEqual([[1, true], [2, true]]);
  });

  it('#75 a config change of 3 agents with canary 1 replaces one as canary, then the rest in chunks of max_parallel on promote', async () => {
    const r = await deploy(agentApi(['sleep', '601']));
    expect(r.code, r.details).toBe(grpc.status.OK);
    const waiting = await settle('agent-api', 'awaiting_promotion');
    expect(waiting.canary_agent_ids).toHaveLength(1);
    expect(waiting.remaining_agent_ids).toHaveLength(2);
    await eventually(async () => (await services({ name: 'agent-api', include_candidates: true })).filter((s) => s.deployment_role === 'canary').length === 1, 10_000, 100);
    expect((await call('PromoteDeployment', { id_or_key: 'agent-api', reason: '' })).code).toBe(grpc.status.OK);
    const done = await settle('agent-api', 'successful');
    const batches = done.events.filter((e) => e.type === 'deployment_batch_started').map((e) => (e.agents as string[]).length);
    expect(batches).toEqual([1, 2]);
    await eventually(async () => {
      const all = await services({ name: 'agent-api', include_candidates: true });
      return all.length === 3 && all.every((s) => s.deployment_role === 'primary' && s.deployment_version === 3);
    }, 10_000, 100);
  }, 60_000);

  it('#77 promote of a successful deployment is refused', async () => {
    const r = await call('PromoteDeployment', { id_or_key: 'agent-api', reason: '' });
    expect(r.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.details).toMatch(/deployment dep_agent-api_\d+ is successful, expected awaiting_promotion/);
  });

  it('#76 a topology change without canary is blue-green: new job, promoted at once, old job cancelled', async () => {
    const before = (await view('agent-api')).deployment.current_job_id!;
    const r = await deploy(agentApi(['sleep', '601'], true), { strategy: 'rolling', canary: 0 });
    expect(r.code, r.details).toBe(grpc.status.OK);
    const done = await settle('agent-api', 'successful');
    expect(done.strategy).toBe('blue-green');
    expect(done.mode).toBe('blue_green');
    expect(done.current_job_id).not.toBe(before);
    await eventually(async () => (await getJob(target, before)).status === 'cancelled', 10_000, 100);
    expect((await getJob(target, done.current_job_id!)).status).toBe('running');
  }, 60_000);

  it('#79 an update of a batch deployment runs a new job and records a version that is not stable', async () => {
    const batch = { manifest_version: '1', graph_id: 'nightly', type: 'batch', entrypoints: ['run'], nodes: [{ node_id: 'run', agent_type: 'executor', config: { command: ['true'] }, resources: { cpu_cores: 0.05, memory_mb: 16 } }] };
    expect((await deploy(batch)).code).toBe(grpc.status.OK);
    const firstRun = await settle('nightly', 'successful');
    const r = await deploy(batch);
    expect(r.value!.status).toBe('version_recorded');
    expect(r.value!.current_job_id).not.toBe(firstRun.current_job_id);
    const { versions } = await view('nightly');
    expect(versions.map((v) => [v.version, v.stable])).toEqual([[1, true], [2, false]]);
  }, 30_000);
});
