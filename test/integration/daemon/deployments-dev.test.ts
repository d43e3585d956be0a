/**
 * Deployments on the embedded store (`mn dev`'s daemon, in process), over real gRPC: a first
 * deploy; a rolling update of a 6-agent service in batches of 2 whose every batch waits for the
 * previous one to be healthy (verified from the events); a no-op; a canary promoted by hand and
 * one promoted by itself; a blue-green deploy on a topology change whose old job is cancelled once
 * the candidate is promoted; a rollback to version 1 recorded as a new version; pause holding a
 * rollout; a candidate whose real HTTP check fails, failing by healthy_deadline_ms and reverting;
 * and the refusals of bad requests.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '../../../src/core/deploy/records.js';
import type { MemoryStore } from '../../../src/store/memory-store.js';
import { eventually } from '../../helpers/daemon.js';
import { deploymentClient, startDevDaemon } from '../../helpers/deployments.js';
import { getJob, jobEvents } from '../../helpers/jobs.js';
import { HTTP_SERVICE_AGENT, freePort } from '../../helpers/services.js';

let store: MemoryStore;
let stop: () => Promise<void>;
let target = '';
const { call, deploy, view, settle, services } = deploymentClient(() => target);

/** A service job of `count` idle agents, each registering `svc` (no checks: passing once registered). */
function fleet(command: string[], count = 6, extraNodes: object[] = []): Record<string, unknown> {
  return {
    manifest_version: '1',
    graph_id: 'fleet',
    job_name: 'fleet',
    type: 'service',
    entrypoints: ['worker'],
    nodes: [
      { node_id: 'worker', agent_type: 'executor', count, config: { command }, resources: { cpu_cores: 0.05, memory_mb: 16 }, services: [{ name: 'fleet-worker', address: '127.0.0.1', port: 1 }] },
      ...extraNodes,
    ],
    edges: extraNodes.length > 0 ? [{ from_node: 'worker', to_node: 'extra', message_type: 'work' }] : [],
    policies: { update: { max_parallel: 2, min_healthy_ms: 200, healthy_deadline_ms: 15_000 } },
  };
}

/** One agent serving HTTP on `port` with an HTTP check; `unhealthy` makes it answer 503. */
function web(port: number, unhealthy: boolean): Record<string, unknown> {
  return {
    manifest_version: '1',
    graph_id: 'web',
    type: 'service',
    entrypoints: ['api'],
    nodes: [{
      node_id: 'api',
      agent_type: 'executor',
      config: { command: ['node', HTTP_SERVICE_AGENT, ...(unhealthy ? ['--unhealthy'] : [])] },
      resources: { cpu_cores: 0.1, memory_mb: 32, ports: [{ label: 'api', port }] },
      services: [{ name: 'web-api', address: '127.0.0.1', port: '${env.MN_PORT_API}', checks: [{ type: 'http', path: '/health', interval_ms: 150, timeout_ms: 500 }] }],
    }],
    policies: { update: { health_check: 'checks', min_healthy_ms: 300, healthy_deadline_ms: 2500, auto_revert: true } },
  };
}

beforeAll(async () => {
  const dev = await startDevDaemon('dev@lab');
  ({ store, stop } = dev);
  target = dev.daemon.address;
}, 30_000);

afterAll(async () => stop?.());

describe('deployments on the embedded store', () => {
  let jobId = '';

  it('first deploy starts the job as version 1, stable once its agents run', async () => {
    const r = await deploy(fleet(['sleep', '600']));
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.value!.mode).toBe('initial');
    const done = await settle('fleet', 'successful');
    expect(done.description).toBe('initial deployment completed');
    expect(done.stable_version).toBe(1);
    jobId = done.current_job_id!;
    const { versions } = await view('fleet');
    expect(versions.map((v) => [v.version, v.stable, v.job_id])).toEqual([[1, true, jobId]]);
    expect((await services({ name: 'fleet-worker' })).map((s) => s.deployment_version)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('rolls a changed service out in batches of max_parallel, each after the previous one is healthy', async () => {
    const r = await deploy(fleet(['sleep', '601']));
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.value!.mode).toBe('agent_level');
    expect(r.value!.target_job_id).toBe(jobId);
    const done = await settle('fleet', 'successful');
    expect(done.target_version).toBe(2);

    const events = done.events;
    const starts = events.filter((e) => e.type === 'deployment_batch_started');
    expect(starts.map((e) => (e.agents as string[]).length)).toEqual([2, 2, 2]);
    const healthyAt = new Map<string, number>();
    for (const e of events.filter((ev) => ev.type === 'deployment_agents_healthy')) for (const id of e.agents as string[]) healthyAt.set(id, e.timestamp);
    for (let i = 1; i < starts.length; i++) {
      for (const id of starts[i - 1]!.agents as string[]) expect(healthyAt.get(id)!, `${id} healthy before batch ${i + 1}`).toBeLessThanOrEqual(starts[i]!.timestamp);
    }
    // Never more than two agents replaced and not yet healthy at once.
    for (const start of starts) {
      const replaced = starts.filter((s) => s.timestamp <= start.timestamp).flatMap((s) => s.agents as string[]);
      expect(replaced.filter((id) => (healthyAt.get(id) ?? Infinity) > start.timestamp).length).toBeLessThanOrEqual(2);
    }
    // Each agent was replaced once, in place, by the job's coordinator; the job now is version 2.
    const applied = (await jobEvents(target, jobId)).filter((e) => e.type === 'rollout_batch_applied').flatMap((e) => e.payload.agents as string[]);
    expect(applied.sort()).toEqual(['worker-0', 'worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5']);
    await eventually(async () => {
      const job = await store.getJob(jobId);
      return job?.details.deployment?.deployment_version === 2 && !job.details.rollout && (job.job.nodes[0]!.config as { command: string[] }).command[1] === '601';
    }, 10_000, 100);
    expect((await services({ name: 'fleet-worker' })).map((s) => s.deployment_version)).toEqual([2, 2, 2, 2, 2, 2]);
  }, 60_000);

  it('records a deploy that changes nothing as a stable no-op version', async () => {
    const r = await deploy(fleet(['sleep', '601']));
    expect(r.value!.mode).toBe('noop');
    expect(r.value!.status).toBe('successful');
    expect(r.value!.description).toBe('deployment contained no runtime changes');
    expect(r.value!.stable_version).toBe(3);
  });

  it('holds a canary for promotion, hides it from discovery, and rolls the rest once promoted', async () => {
    const r = await deploy(fleet(['sleep', '602']), { strategy: 'canary', canary: 1 });
    expect(r.code, r.details).toBe(grpc.status.OK);
    const waiting = await settle('fleet', 'awaiting_promotion');
    expect(waiting.canary_agent_ids).toHaveLength(1);
    expect(waiting.replaced_agent_ids).toEqual(waiting.canary_agent_ids);
    const canaryId = waiting.canary_agent_ids[0]!;
    await eventually(async () => (await services({ name: 'fleet-worker', include_candidates: true })).some((s) => s.agent_id === canaryId && s.deployment_role === 'canary' && s.deployment_version === 4), 10_000, 100);
    expect((await services({ name: 'fleet-worker' })).map((s) => s.agent_id)).not.toContain(canaryId);

    // A second deploy while this one awaits promotion is refused, naming it.
    const busy = await deploy(fleet(['sleep', '603']));
    expect(busy.code).toBe(grpc.status.ABORTED);
    expect(busy.details).toContain(waiting.deployment_id);
    expect(busy.details).toContain('awaiting_promotion');

    const promoted = await call<DeploymentRecord>('PromoteDeployment', { id_or_key: 'fleet', reason: '' });
    expect(promoted.code, promoted.details).toBe(grpc.status.OK);
    const done = await settle('fleet', 'successful');
    expect(done.replaced_agent_ids).toHaveLength(6);
    await eventually(async () => {
      const all = await services({ name: 'fleet-worker', include_candidates: true });
      return all.length === 6 && all.every((s) => s.deployment_role === 'primary' && s.deployment_version === 4);
    }, 10_000, 100);
  }, 60_000);

  it('promotes a healthy canary by itself with auto_promote', async () => {
    const r = await deploy(fleet(['sleep', '604']), { strategy: 'canary', canary: 2, auto_promote: true });
    expect(r.code, r.details).toBe(grpc.status.OK);
    const done = await settle('fleet', 'successful');
    expect(done.events.some((e) => e.type === 'deployment_canary_ready')).toBe(false);
    expect(done.events.filter((e) => e.type === 'deployment_batch_started').map((e) => (e.agents as string[]).length)).toEqual([2, 2, 2]);
  }, 60_000);

  it('pause holds a rollout where it is and resume continues it', async () => {
    const r = await deploy(fleet(['sleep', '605']), { min_healthy_ms: 400 });
    expect(r.code, r.details).toBe(grpc.status.OK);
    const paused = await call<DeploymentRecord>('PauseDeployment', { id_or_key: 'fleet', reason: 'investigating' });
    expect(paused.code, paused.details).toBe(grpc.status.OK);
    expect(paused.value!.status).toBe('paused');
    const held = (await view('fleet')).deployment;
    await new Promise((res) => setTimeout(res, 1500));
    const later = (await view('fleet')).deployment;
    expect(later.status).toBe('paused');
    expect(later.rollout!.next_batch).toBe(held.rollout!.next_batch);
    expect(later.replaced_agent_ids).toEqual(held.replaced_agent_ids);
    const resumed = await call<DeploymentRecord>('ResumeDeployment', { id_or_key: 'fleet', reason: '' });
    expect(resumed.value!.status).toBe('running');
    const done = await settle('fleet', 'successful');
    expect(done.events.map((e) => e.type)).toEqual(expect.arrayContaining(['deployment_paused', 'deployment_running', 'deployment_successful']));
  }, 60_000);

  let blueGreenJob = '';
  it('deploys a topology change blue-green: a candidate beside the old job, which is cancelled after promotion', async () => {
    const extra = { node_id: 'extra', agent_type: 'executor', config: { command: ['sleep', '600'] }, resources: { cpu_cores: 0.05, memory_mb: 16 } };
    const r = await deploy(fleet(['sleep', '605'], 6, [extra]), { canary: 1 });
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.value!.mode).toBe('blue_green');
    const waiting = await settle('fleet', 'awaiting_promotion');
    blueGreenJob = waiting.target_job_id!;
    expect(blueGreenJob).not.toBe(jobId);
    expect(waiting.current_job_id).toBe(jobId);
    // Both jobs run; discovery shows only the old primaries.
    expect((await getJob(target, jobId)).status).toBe('running');
    expect(new Set((await services({ name: 'fleet-worker' })).map((s) => s.job_id))).toEqual(new Set([jobId]));
    await call('PromoteDeployment', { id_or_key: waiting.deployment_id, reason: '' });
    const done = await settle('fleet', 'successful');
    expect(done.current_job_id).toBe(blueGreenJob);
    await eventually(async () => (await getJob(target, jobId)).status === 'cancelled', 10_000, 100);
    await eventually(async () => {
      const all = await services({ name: 'fleet-worker', include_candidates: true });
      return all.length === 6 && all.every((s) => s.job_id === blueGreenJob && s.deployment_role === 'primary');
    }, 10_000, 100);
  }, 60_000);

  it('rolls back to version 1 as a new version, keeping the history', async () => {
    const before = (await view('fleet')).versions.length;
    const r = await call<DeploymentRecord>('RollbackDeployment', { id_or_key: 'fleet', version: '1', reason: 'back to the first release' });
    expect(r.code, r.details).toBe(grpc.status.OK);
    expect(r.value!.rollback_of).toBe(1);
    expect(r.value!.target_version).toBe(before + 1);
    const done = await settle('fleet', 'successful');
    const { versions } = await view('fleet');
    expect(versions).toHaveLength(before + 1);
    expect(versions.at(-1)!.cause).toBe('rollback');
    expect(versions.at(-1)!.manifest).toEqual(versions[0]!.manifest);
    const job = await store.getJob(done.current_job_id!);
    expect(job!.job.nodes.map((n) => n.node_id)).toEqual(['worker']);
    expect((job!.job.nodes[0]!.config as { command: string[] }).command).toEqual(['sleep', '600']);
  }, 60_000);

  it('fails a candidate whose HTTP check never passes by healthy_deadline_ms and reverts to the stable version', async () => {
    const port = await freePort();
    const first = await deploy(web(port, false));
    expect(first.code, first.details).toBe(grpc.status.OK);
    const stable = await settle('web', 'successful');
    const webJob = stable.current_job_id!;

    const bad = await deploy(web(port, true));
    expect(bad.value!.mode).toBe('agent_level');
    const reverted = await eventually(async () => {
      const d = (await view('web')).deployment;
      return d.mode === 'revert' ? d : null;
    }, 30_000, 100);
    expect(reverted.status).toBe('successful');
    expect(reverted.rollback_of).toBe(1);
    const failed = (await call<DeploymentRecord[]>('ListDeployments', { query_json: JSON.stringify({ deployment_key: 'web', status: 'failed' }) })).value!;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.description).toMatch(/was not healthy within healthy_deadline_ms \(2500 ms\): its service checks are not passing/);
    const { versions } = await view('web');
    expect(versions.map((v) => [v.version, v.cause, v.stable])).toEqual([[1, 'deploy', true], [2, 'deploy', false], [3, 'auto_revert', true]]);
    // The agent went back to version 1 and serves again.
    await eventually(async () => (await services({ name: 'web-api' })).some((s) => s.job_id === webJob && s.deployment_version === 1 && s.status === 'passing'), 15_000, 100);
    expect((await store.getJob(webJob))!.details.rollout).toBeUndefined();
  }, 60_000);

  it('refuses bad requests with a clear error and changes nothing', async () => {
    const promote = await call('PromoteDeployment', { id_or_key: 'fleet', reason: '' });
    expect(promote.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(promote.details).toMatch(/is successful, expected awaiting_promotion/);

    const noTarget = await call('RollbackDeployment', { id_or_key: 'fleet', version: '99', reason: '' });
    expect(noTarget.code).toBe(grpc.status.NOT_FOUND);
    expect(noTarget.details).toContain('no rollback target found for deployment fleet');

    const invalid = await deploy({ manifest_version: '1', graph_id: 'fleet', nodes: [] });
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);

    const batch = { ...fleet(['sleep', '1']), type: 'batch' };
    const wrongType = await deploy(batch);
    expect(wrongType.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(wrongType.details).toMatch(/deploys a service job .* a batch job cannot be deployed under it/);

    const badPolicy = await deploy(fleet(['sleep', '606']), { max_parallel: -1 });
    expect(badPolicy.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badPolicy.details).toContain('max_parallel');

    const unknown = await call('GetDeployment', { id_or_key: 'nope' });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    // None of them added a version.
    expect((await view('fleet')).deployment.status).toBe('successful');
  });
});
