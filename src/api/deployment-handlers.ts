/**
 * The deployment part of `mirrorneuron.job.v1.JobService` (spec §9.1): deploy, inspect, promote,
 * roll back, pause, resume and fail. Mutating methods need the auth token like every other.
 */
import type * as grpc from '@grpc/grpc-js';
import { DEPLOYMENT_STATUSES, type DeploymentRecord, type DeploymentStatus } from '../core/deploy/records.js';
import { MnError } from '../core/errors.js';
import { isObject } from '../core/manifest/context.js';
import type { Deployer } from '../deploy/deployer.js';
import { jsonMethods, parseJsonField, requireField } from './handler.js';
import { bundleFiles, type ApiContext } from './job-service.js';

interface DeployJobRequest { manifest_json: string; payloads: Record<string, Buffer>; deployment_key: string; update_policy_json: string; wait: boolean; force: boolean; tag: string }
interface ActionRequest { id_or_key: string; reason: string }
interface RollbackRequest extends ActionRequest { version: string; tag: string }

/** How long a deploy with `wait` waits for its deployment to stop running, at most. */
const WAIT_MS = 10 * 60_000;

function overridesOf(text: string): Record<string, unknown> {
  if (!text || text.trim() === '') return {};
  const value = parseJsonField(text, 'update_policy_json');
  if (!isObject(value)) throw new MnError('MN_E_INVALID_ARGUMENT', 'update_policy_json must be a JSON object', { details: { field: 'update_policy_json' } });
  return value;
}

function versionOf(text: string): number | undefined {
  if (!text || text.trim() === '') return undefined;
  const n = Number(text.trim().replace(/^v/i, ''));
  if (!Number.isInteger(n) || n < 1) throw new MnError('MN_E_INVALID_ARGUMENT', `version must be a positive integer, got ${JSON.stringify(text)}`, { details: { field: 'version' } });
  return n;
}

function queryOf(text: string): { deployment_key?: string; status?: DeploymentStatus } {
  if (!text || text.trim() === '') return {};
  const value = parseJsonField(text, 'query_json');
  if (!isObject(value)) throw new MnError('MN_E_INVALID_ARGUMENT', 'query_json must be a JSON object', { details: { field: 'query_json' } });
  const query: { deployment_key?: string; status?: DeploymentStatus } = {};
  if (value.deployment_key !== undefined) {
    if (typeof value.deployment_key !== 'string') throw new MnError('MN_E_INVALID_ARGUMENT', 'query_json.deployment_key must be a string', { details: { field: 'query_json.deployment_key' } });
    query.deployment_key = value.deployment_key;
  }
  if (value.status !== undefined) {
    if (!DEPLOYMENT_STATUSES.includes(value.status as DeploymentStatus)) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `query_json.status must be one of ${DEPLOYMENT_STATUSES.join(', ')}`, { details: { field: 'query_json.status' } });
    }
    query.status = value.status as DeploymentStatus;
  }
  return query;
}

/** Waits until a deployment no longer runs by itself (successful, failed, awaiting promotion, ...). */
async function settled(deployer: Deployer, dep: DeploymentRecord): Promise<DeploymentRecord> {
  const deadline = Date.now() + WAIT_MS;
  let current = dep;
  while (current.status === 'running' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    current = (await deployer.get(current.deployment_id)).deployment;
  }
  return current;
}

export function deploymentHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { deployer } = ctx;
  const { mutating, reading } = jsonMethods(ctx);
  const action = (rpc: string, fn: (req: ActionRequest) => Promise<DeploymentRecord>) =>
    mutating<ActionRequest>(rpc, (req) => {
      requireField(req.id_or_key, 'id_or_key');
      return fn(req);
    });
  const reason = (req: ActionRequest): string | undefined => (req.reason && req.reason.trim() !== '' ? req.reason.trim() : undefined);
  return {
    DeployJob: mutating<DeployJobRequest>('DeployJob', async (req) => {
      const dep = await deployer.deploy({
        manifestJson: requireField(req.manifest_json, 'manifest_json'),
        files: bundleFiles(req.payloads),
        ...(req.deployment_key ? { key: req.deployment_key } : {}),
        overrides: overridesOf(req.update_policy_json),
        force: req.force === true,
        ...(req.tag ? { tag: req.tag } : {}),
      });
      return req.wait ? settled(deployer, dep) : dep;
    }),
    GetDeployment: reading<{ id_or_key: string }>('GetDeployment', (req) => deployer.get(requireField(req.id_or_key, 'id_or_key'))),
    ListDeployments: reading<{ query_json: string }>('ListDeployments', (req) => deployer.list(queryOf(req.query_json))),
    PromoteDeployment: action('PromoteDeployment', (req) => deployer.promote(req.id_or_key, reason(req))),
    RollbackDeployment: mutating<RollbackRequest>('RollbackDeployment', (req) => {
      const version = versionOf(req.version);
      return deployer.rollback(requireField(req.id_or_key, 'id_or_key'), {
        ...(version !== undefined ? { version } : {}),
        ...(req.tag ? { tag: req.tag } : {}),
        ...(reason(req) ? { reason: reason(req)! } : {}),
      });
    }),
    PauseDeployment: action('PauseDeployment', (req) => deployer.pause(req.id_or_key, reason(req))),
    ResumeDeployment: action('ResumeDeployment', (req) => deployer.resume(req.id_or_key, reason(req))),
    FailDeployment: action('FailDeployment', (req) => deployer.fail(req.id_or_key, reason(req))),
  };
}
