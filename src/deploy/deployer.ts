/**
 * The operator verbs of deployments (spec §6.4, §6.5): deploy a new version of a key, promote,
 * roll back, pause, resume and fail. A deploy claims the key first (a second deploy of the key
 * while one is active is refused with `MN_E_CONFLICT`), records the version, then takes the
 * route the core decides: initial, rerun, no-op, agent-level rollout on the live job, or a
 * blue-green candidate job. Rollouts are then driven by the leader's controller
 * ({@link DeploymentController}); these verbs only change what the record says it should do.
 */
import { ACTIVE_DEPLOYMENT_STATUSES, deploymentId, jobFamily, shiftRollout, type DeploymentEvent, type DeploymentMode, type DeploymentRecord, type JobDeployment, type VersionRecord, rollbackTarget } from '../core/deploy/records.js';
import { deploymentKey } from '../core/deploy/key.js';
import { updatePolicyWith } from '../core/deploy/policy.js';
import { newRollout } from '../core/deploy/rollout.js';
import { routeDeploy, rolloutBatches, type DeployRoute } from '../core/deploy/route.js';
import { MnError } from '../core/errors.js';
import type { Job, UpdatePolicy } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { DeploymentPatch } from '../store/deployments.js';
import type { JobRecord } from '../store/store.js';
import { commit, fail, type DeployContext } from './actions.js';

export interface DeployRequest {
  manifestJson: string;
  /** Bundle files by relative path (module sources, config). */
  files?: Readonly<Record<string, Buffer | string>>;
  /** The deployment key; default from the manifest (spec §6.2). */
  key?: string;
  /** Update policy fields over the manifest's `policies.update` (strategy, max_parallel, canary, ...). */
  overrides?: Readonly<Record<string, unknown>>;
  /** Skip the service preflight (recorded on the job). */
  force?: boolean;
  tag?: string;
  /** Why this version exists (`deploy` by default; `rollback` for a rollback). */
  cause?: string;
  rollbackOf?: number;
  reason?: string;
}

export interface DeploymentView {
  deployment: DeploymentRecord;
  versions: VersionRecord[];
}

const ROUTE_MODE: Record<DeployRoute['kind'], DeploymentMode> = { initial: 'initial', rerun: 'rerun', noop: 'noop', agent_level: 'agent_level', blue_green: 'blue_green' };

export class Deployer {
  constructor(private readonly ctx: DeployContext) {}

  /** Deploys a new version of a key and returns its deployment as it stands after the route's first step. */
  async deploy(req: DeployRequest): Promise<DeploymentRecord> {
    const { store, jobs } = this.ctx;
    const files = req.files ?? {};
    const { job } = jobs.validate(req.manifestJson, files);
    const parsed = updatePolicyWith(job.policies.update, req.overrides ?? {});
    if (!parsed.ok) {
      throw new MnError('MN_E_INVALID_ARGUMENT', parsed.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; '), { details: { field: parsed.errors[0]?.path ?? 'update_policy', errors: parsed.errors } });
    }
    const policy = parsed.policy;
    const key = deploymentKey(job, req.key ?? null);
    const current = await store.deployments.current(key);
    if (current && ACTIVE_DEPLOYMENT_STATUSES.has(current.status)) throw busy(current);
    const sourceId = current ? (current.stable_job_id ?? current.current_job_id) : null;
    const source = sourceId ? await store.getJob(sourceId) : null;
    if (source && jobFamily(source.job.policies.job_type) !== jobFamily(job.policies.job_type)) {
      throw new MnError('MN_E_FAILED_PRECONDITION', `deployment key ${key} deploys a ${source.job.policies.job_type} job (deployment ${current!.deployment_id}); a ${job.policies.job_type} job cannot be deployed under it: use another --key`, {
        details: { reason: 'job_type', deployment_key: key, deployment_id: current!.deployment_id, job_type: source.job.policies.job_type },
      });
    }
    const preflight = await jobs.preflight(job, { force: req.force === true });
    const route = routeDeploy({ source: source ? { job: source.job, status: source.status } : null, target: job, policy });
    const before = await store.deployments.versions(key);
    const number = before.reduce((n, v) => Math.max(n, v.version), 0) + 1;
    const now = this.ctx.now();
    const manifest = JSON.parse(req.manifestJson) as unknown;
    const claimed = await store.deployments.create(this.record(key, deploymentId(key, number), route, policy, job, source, current, number, now, req));
    const version = (n: string | null): Promise<VersionRecord> =>
      store.deployments.addVersion({ deployment_key: key, deployment_id: claimed.deployment_id, job_id: n, manifest, files: textFiles(files), submitted_at: now, tag: req.tag ?? null, cause: req.cause ?? 'deploy' });
    try {
      switch (route.kind) {
        case 'noop': {
          const v = await version(source!.job_id);
          await store.deployments.markStable(key, v.version);
          return await this.write(claimed, { status: 'successful', description: route.reason, target_version: v.version, current_version: v.version, stable_version: v.version }, [{ type: 'deployment_noop', reason: route.reason, version: v.version }]);
        }
        case 'agent_level': {
          const v = await version(source!.job_id);
          const agents = agentsOf(source!, route.nodes);
          const { batches, canary } = rolloutBatches(agents, policy);
          return await this.write(claimed, { target_version: v.version, changed_agent_ids: agents, remaining_agent_ids: agents, rollout: newRollout(batches, canary, now), health: { job_status: source!.status, healthy: 0, total: agents.length, updated_at: now } }, [
            { type: 'deployment_started', reason: route.reason, version: v.version, batches: batches.length, canary },
          ]);
        }
        case 'initial':
        case 'rerun':
        case 'blue_green': {
          const role: JobDeployment['deployment_role'] = route.kind === 'blue_green' ? 'candidate' : 'primary';
          const deployment: JobDeployment = { deployment_key: key, deployment_id: claimed.deployment_id, deployment_version: number, deployment_role: role };
          const started = await jobs.submit(req.manifestJson, files, { force: req.force === true, preflightDone: preflight, details: { deployment }, noQueue: true });
          const v = await version(started.job_id);
          if (route.kind === 'rerun') {
            return await this.write(claimed, { status: 'version_recorded', description: route.reason, target_job_id: started.job_id, current_job_id: started.job_id, target_version: v.version, current_version: v.version }, [
              { type: 'deployment_version_recorded', reason: route.reason, version: v.version, job_id: started.job_id },
            ]);
          }
          const agents = planAgents(started.plan);
          const candidate = route.kind === 'blue_green' && route.candidate;
          return await this.write(claimed, { target_job_id: started.job_id, target_version: v.version, changed_agent_ids: agents, remaining_agent_ids: agents, rollout: newRollout([agents], candidate, now), health: { job_status: started.status, healthy: 0, total: agents.length, updated_at: now } }, [
            { type: route.kind === 'initial' ? 'deployment_created' : 'deployment_started', reason: route.reason, version: v.version, job_id: started.job_id, candidate },
          ]);
        }
      }
    } catch (error) {
      // The key is not left claimed by a deploy that could not start: its deployment records why.
      const latest = await store.deployments.get(claimed.deployment_id);
      if (latest && ACTIVE_DEPLOYMENT_STATUSES.has(latest.status)) await fail(this.ctx, latest, `deploy did not start: ${(error as Error).message}`, { revert: false }).catch(() => undefined);
      throw error;
    }
  }

  /** Lets a rollout past its canary batch or blue-green candidate (spec §6.4 Promote). */
  async promote(key: string, reason = 'promoted by operator'): Promise<DeploymentRecord> {
    const dep = await this.currentOf(key);
    if (dep.status !== 'awaiting_promotion') throw state(dep, `deployment ${dep.deployment_id} is ${dep.status}, expected awaiting_promotion`);
    if (!dep.rollout) throw state(dep, `deployment ${dep.deployment_id} cannot be promoted`);
    return this.write(dep, { status: 'running', rollout: { ...dep.rollout, promoted: true, last_progress_at: this.ctx.now() } }, [{ type: 'deployment_promotion_requested', reason, version: dep.target_version }]);
  }

  /** Redeploys an earlier version (the requested one, else the last stable other than the current) as a new version. */
  async rollback(keyOrId: string, options: { version?: number; tag?: string; reason?: string; force?: boolean } = {}): Promise<DeploymentRecord> {
    const dep = await this.currentOf(keyOrId);
    const key = dep.deployment_key;
    if (ACTIVE_DEPLOYMENT_STATUSES.has(dep.status)) throw busy(dep);
    const versions = await this.ctx.store.deployments.versions(key);
    const target = rollbackTarget(versions, dep.current_version, options);
    if (!target) {
      const wanted = options.version !== undefined ? `version ${options.version}` : options.tag !== undefined ? `tag ${options.tag}` : 'a stable version other than the current one';
      throw new MnError('MN_E_NOT_FOUND', `no rollback target found for deployment ${key}: it has no ${wanted}`, { details: { reason: 'no_rollback_target', deployment_key: key, deployment_id: dep.deployment_id } });
    }
    return this.deploy({
      manifestJson: JSON.stringify(target.manifest),
      files: target.files,
      key,
      ...(options.force ? { force: true } : {}),
      cause: 'rollback',
      rollbackOf: target.version,
      reason: options.reason ?? `rollback to version ${target.version}`,
      ...(target.tag ? { tag: target.tag } : {}),
    });
  }

  /** Holds a rollout where it is: no batch starts and no deadline runs until it is resumed. */
  async pause(key: string, reason = 'paused by operator'): Promise<DeploymentRecord> {
    const dep = await this.currentOf(key);
    if (dep.status !== 'running' && dep.status !== 'awaiting_promotion') throw state(dep, `deployment ${dep.deployment_id} is ${dep.status}; only a running or awaiting_promotion deployment can be paused`);
    return this.write(dep, { status: 'paused', description: reason, paused_from: dep.status, paused_at: this.ctx.now() }, [{ type: 'deployment_paused', reason }]);
  }

  async resume(key: string, reason = 'resumed by operator'): Promise<DeploymentRecord> {
    const dep = await this.currentOf(key);
    if (dep.status !== 'paused') throw state(dep, `deployment ${dep.deployment_id} is ${dep.status}, expected paused`);
    const now = this.ctx.now();
    const held = Math.max(0, now - (dep.paused_at ?? now));
    return this.write(dep, { status: dep.paused_from ?? 'running', description: reason, paused_from: null, paused_at: null, rollout: dep.rollout ? shiftRollout(dep.rollout, held) : null }, [{ type: 'deployment_running', reason, paused_ms: held }]);
  }

  /** Fails an active deployment: its candidate is cancelled, its replaced agents go back to the stable version. */
  async fail(key: string, reason = 'failed by operator'): Promise<DeploymentRecord> {
    const dep = await this.currentOf(key);
    if (!ACTIVE_DEPLOYMENT_STATUSES.has(dep.status)) throw state(dep, `deployment ${dep.deployment_id} is ${dep.status}; only a running, awaiting_promotion or paused deployment can be failed`);
    const failed = await fail(this.ctx, dep, reason, { revert: false });
    if (!failed) throw moved(dep);
    return failed;
  }

  /** A key's current deployment (or a deployment by id) and the key's versions. */
  async get(keyOrId: string): Promise<DeploymentView> {
    const { deployments } = this.ctx.store;
    const dep = (await deployments.current(keyOrId)) ?? (await deployments.get(keyOrId));
    if (!dep) throw new MnError('MN_E_NOT_FOUND', `no deployment for key or id ${keyOrId}`, { details: { deployment_key: keyOrId } });
    return { deployment: dep, versions: await deployments.versions(dep.deployment_key) };
  }

  list(query: { deployment_key?: string; status?: DeploymentRecord['status'] } = {}): Promise<DeploymentRecord[]> {
    return this.ctx.store.deployments.list(query);
  }

  /** The current deployment of a key, or of the key of a deployment id (actions apply to the current one only). */
  private async currentOf(keyOrId: string): Promise<DeploymentRecord> {
    const { deployments } = this.ctx.store;
    let dep = await deployments.current(keyOrId);
    if (!dep) {
      const byId = await deployments.get(keyOrId);
      dep = byId ? await deployments.current(byId.deployment_key) : null;
      if (byId && dep && dep.deployment_id !== byId.deployment_id) {
        throw state(byId, `deployment ${byId.deployment_id} is no longer the current deployment of ${byId.deployment_key} (${dep.deployment_id} is)`);
      }
    }
    if (!dep) throw new MnError('MN_E_NOT_FOUND', `no deployment for key or id ${keyOrId}`, { details: { deployment_key: keyOrId } });
    return dep;
  }

  private async write(dep: DeploymentRecord, patch: DeploymentPatch, events: Array<Omit<DeploymentEvent, 'timestamp'>>): Promise<DeploymentRecord> {
    const next = await commit(this.ctx, dep, patch, events);
    if (!next) throw moved(dep);
    return next;
  }

  private record(key: string, id: string, route: DeployRoute, policy: UpdatePolicy, job: Job, source: JobRecord | null, current: DeploymentRecord | null, version: number, now: number, req: DeployRequest): DeploymentRecord {
    const sourceId = source?.job_id ?? null;
    return {
      deployment_id: id,
      deployment_key: key,
      status: 'running',
      description: req.reason ?? route.reason,
      strategy: route.kind === 'blue_green' ? 'blue-green' : policy.strategy,
      policy,
      mode: ROUTE_MODE[route.kind],
      current_job_id: sourceId,
      stable_job_id: current?.stable_job_id ?? null,
      source_job_id: sourceId,
      target_job_id: route.kind === 'agent_level' || route.kind === 'noop' ? sourceId : null,
      current_version: current?.current_version ?? null,
      stable_version: current?.stable_version ?? null,
      target_version: version,
      rollback_of: req.rollbackOf ?? null,
      target_spec: route.kind === 'agent_level' ? job : null,
      paused_from: null,
      paused_at: null,
      changed_agent_ids: [],
      remaining_agent_ids: [],
      canary_agent_ids: [],
      replaced_agent_ids: [],
      health: { job_status: source?.status ?? null, healthy: 0, total: 0, updated_at: now },
      rollout: null,
      events: [],
      created_at: now,
      updated_at: now,
      version: 0,
    };
  }
}

/** The live job's agents of the changed nodes, in plan order (system jobs: every copy). */
function agentsOf(record: JobRecord, nodes: readonly string[]): string[] {
  const wanted = new Set(nodes);
  return (record.plan?.placements ?? []).filter((p) => wanted.has(p.source_node_id)).map((p) => p.agent_id);
}

/** Every agent of a new job's plan: placed ones and, for unplaced groups, the first agent of each. */
function planAgents(plan: Plan): string[] {
  return [...new Set([...plan.placements.map((p) => p.agent_id), ...plan.failures.map((f) => f.agent_id)])];
}

function textFiles(files: Readonly<Record<string, Buffer | string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, body]) => [name, typeof body === 'string' ? body : body.toString('utf8')]));
}

function busy(dep: DeploymentRecord): MnError {
  return new MnError('MN_E_CONFLICT', `deployment ${dep.deployment_id} of key ${dep.deployment_key} is ${dep.status}: promote, resume, fail or let it finish before deploying again`, {
    details: { reason: 'state', deployment_id: dep.deployment_id, deployment_key: dep.deployment_key, status: dep.status },
  });
}

function state(dep: DeploymentRecord, message: string): MnError {
  return new MnError('MN_E_FAILED_PRECONDITION', message, { details: { reason: 'state', deployment_id: dep.deployment_id, deployment_key: dep.deployment_key, status: dep.status } });
}

function moved(dep: DeploymentRecord): MnError {
  return new MnError('MN_E_CONFLICT', `deployment ${dep.deployment_id} changed meanwhile; look again and retry`, { details: { reason: 'version', deployment_id: dep.deployment_id } });
}
