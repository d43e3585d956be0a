/**
 * The service registry's records and discovery rules (spec §5.5, §6.6). Pure: the stores keep
 * the records, the API and the placement snapshot ask these functions which ones match.
 */
import type { ServiceSpec } from '../manifest/types.js';
import { serviceInstance, type InstanceContext, type ServiceInstance } from './instance.js';

/** Health of a service instance (spec §5.4). */
export type ServiceStatus = 'passing' | 'warning' | 'critical';

export const SERVICE_STATUSES: readonly ServiceStatus[] = ['passing', 'warning', 'critical'];

/** An instance's place in a deployment (spec §6.6): canary and candidate instances are hidden from normal discovery. */
export type DeploymentRole = 'primary' | 'canary' | 'candidate';

export const DEPLOYMENT_ROLES: readonly DeploymentRole[] = ['primary', 'canary', 'candidate'];

/** The last result of one check of an instance, as reported (after flap damping). */
export interface CheckResult {
  name: string;
  type: string;
  status: 'passing' | 'critical';
  /** A short reason or the start of the output. */
  output: string;
  /** Epoch ms. */
  checked_at: number;
  /** Consecutive critical raw results (reset by a pass). */
  consecutive_failures: number;
  /** Set while a failure is damped by `failures_before_critical`: the raw result was critical. */
  suppressed_status?: 'critical';
  transient_failure?: boolean;
}

export interface ServiceHealth {
  status: ServiceStatus;
  checks: CheckResult[];
}

/** Deployment metadata of an instance (spec §5.5). */
export interface ServiceDeployment {
  deployment_key: string | null;
  deployment_id: string | null;
  deployment_version: number | null;
  deployment_role: DeploymentRole;
}

/** A registered service instance (spec §5.5). */
export interface ServiceRecord extends Omit<ServiceInstance, 'status'>, ServiceDeployment {
  status: ServiceStatus;
  health: ServiceHealth;
  /** Epoch ms of the last check, null before the first. */
  last_check_at: number | null;
  /** Epoch ms of the (last) registration: a restart registers again. */
  registered_at: number;
}

/** The record a fresh registration writes (spec §5.2): `warning` until the first check when it has checks, else `passing`. */
export function serviceRecord(instance: ServiceInstance, deployment: Partial<ServiceDeployment>, now: number): ServiceRecord {
  return {
    ...instance,
    status: instance.status,
    health: { status: instance.status, checks: [] },
    last_check_at: null,
    registered_at: now,
    deployment_key: deployment.deployment_key ?? null,
    deployment_id: deployment.deployment_id ?? null,
    deployment_version: deployment.deployment_version ?? null,
    deployment_role: deployment.deployment_role ?? 'primary',
  };
}

/** The records of an agent's (or a job's) declared services, resolved against where it runs. */
export function serviceRecords(specs: readonly ServiceSpec[], ctx: InstanceContext, deployment: Partial<ServiceDeployment>, now: number): ServiceRecord[] {
  return specs.map((spec) => serviceRecord(serviceInstance(spec, ctx), deployment, now));
}

/** Deployment metadata as a job record carries it (`details.deployment`), with anything malformed left out. */
export function deploymentOf(value: unknown): Partial<ServiceDeployment> {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as Record<string, unknown>;
  const out: Partial<ServiceDeployment> = {};
  if (typeof v.deployment_key === 'string') out.deployment_key = v.deployment_key;
  if (typeof v.deployment_id === 'string') out.deployment_id = v.deployment_id;
  if (typeof v.deployment_version === 'number') out.deployment_version = v.deployment_version;
  if (typeof v.deployment_role === 'string' && (DEPLOYMENT_ROLES as readonly string[]).includes(v.deployment_role)) out.deployment_role = v.deployment_role as DeploymentRole;
  return out;
}

/** Discovery filters (spec §5.5). Absent fields do not filter. */
export interface ServiceQuery {
  name?: string;
  node?: string;
  job_id?: string;
  agent_id?: string;
  status?: ServiceStatus;
  /** Only this role; also shows canary and candidate instances when asked for by name. */
  deployment_role?: DeploymentRole;
  /** Every one of these tags must be on the instance. */
  tags?: readonly string[];
  passing_only?: boolean;
  /** Show canary and candidate instances too. */
  include_candidates?: boolean;
}

/**
 * Whether an instance answers a query. Instances whose role is not `primary` are hidden unless
 * the query includes candidates or names a role.
 */
export function matchesQuery(r: ServiceRecord, q: ServiceQuery): boolean {
  if (q.name !== undefined && r.name !== q.name) return false;
  if (q.node !== undefined && r.node !== q.node) return false;
  if (q.job_id !== undefined && r.job_id !== q.job_id) return false;
  if (q.agent_id !== undefined && r.agent_id !== q.agent_id) return false;
  if (q.status !== undefined && r.status !== q.status) return false;
  if (q.passing_only && r.status !== 'passing') return false;
  if (q.deployment_role !== undefined) {
    if (r.deployment_role !== q.deployment_role) return false;
  } else if (!q.include_candidates && r.deployment_role !== 'primary') return false;
  if (q.tags && !q.tags.every((t) => r.tags.includes(t))) return false;
  return true;
}

/** The instances answering a query, ordered by name, node and id (a stable answer for clients and tests). */
export function discover(records: readonly ServiceRecord[], q: ServiceQuery): ServiceRecord[] {
  return records.filter((r) => matchesQuery(r, q)).sort((a, b) => cmp(a.name, b.name) || cmp(a.node, b.node) || cmp(a.id, b.id));
}

/** `resolve(name)`: passing instances only unless the query says otherwise (spec §5.5). */
export function resolveQuery(name: string, q: Omit<ServiceQuery, 'name'> = {}): ServiceQuery {
  return { passing_only: true, ...q, name };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
