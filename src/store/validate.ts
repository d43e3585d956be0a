/**
 * Argument checks and unit conversions shared by the store implementations, so both reject the
 * same inputs with the same `MN_E_INVALID_ARGUMENT` errors.
 */
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';
import { MnError } from '../core/errors.js';
import { SERVICE_NAME_PATTERN } from '../core/manifest/services.js';
import { DEPLOYMENT_ROLES, SERVICE_STATUSES, type ServiceRecord } from '../core/services/registry.js';
import {
  JOB_STATUSES,
  NODE_STATUSES,
  type AgentPatch,
  type AgentPlacement,
  type AgentResources,
  type Fence,
  type MessageLimits,
  type OutgoingMessage,
  type WriteGuard,
  type JobPatch,
  type NewJob,
  type NodePatch,
  type NodeUsage,
} from './store.js';

/** `MN_EVENT_MAX_COUNT` default. */
export const DEFAULT_MAX_EVENTS = 10_000;
/** `MN_TERMINAL_JOB_TTL_SECONDS` default (7 days). */
export const DEFAULT_TERMINAL_JOB_TTL_SECONDS = 604_800;

const AGENT_STATES = new Set(['pending', 'starting', 'running', 'restarting', 'completed', 'failed', 'stopped', 'lost']);
const JOB_PATCH_FIELDS = new Set(['manifest', 'job', 'plan', 'status', 'requested_policies', 'effective_policies', 'details']);
const NODE_PATCH_FIELDS = new Set(['name', 'status', 'scheduling_eligible', 'inventory', 'details']);

function invalid(field: string, message: string): MnError {
  return new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${message}`, { details: { field } });
}

/**
 * Job ids and node names become part of key names: non-empty, at most 256 characters, no
 * whitespace or control characters, and no `:` (which separates key segments). Lease names
 * and holders may contain `:` (`job:<id>`, `cluster:leader`).
 */
export function checkName(value: unknown, what: string, allowColon = false): asserts value is string {
  if (typeof value !== 'string' || value === '') throw invalid(what, 'must be a non-empty string');
  if (value.length > 256) throw invalid(what, `must be at most 256 characters, got ${value.length}`);
  if (/[\s\u0000-\u001f\u007f]/.test(value)) throw invalid(what, `${JSON.stringify(value)} contains whitespace or control characters`);
  if (!allowColon && value.includes(':')) throw invalid(what, `${JSON.stringify(value)} must not contain ":"`);
}

export function checkTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) throw invalid('ttlMs', `must be a positive integer, got ${String(ttlMs)}`);
}

export function checkFence(fence: Fence): void {
  checkName(fence.lease, 'fence.lease', true);
  if (!Number.isSafeInteger(fence.token) || fence.token < 1) throw invalid('fence.token', `must be a positive integer, got ${String(fence.token)}`);
}

/** Checks the shape of a write guard (not whether it holds). */
export function checkGuard(guard: WriteGuard): void {
  if (guard.fence) checkFence(guard.fence);
  if (guard.expectedVersion !== undefined && (!Number.isSafeInteger(guard.expectedVersion) || guard.expectedVersion < 1)) {
    throw invalid('expectedVersion', `must be a positive integer, got ${String(guard.expectedVersion)}`);
  }
}

/** Event ids are `<ms>-<seq>` (Redis stream ids). Returns the id. */
export function checkEventId(id: string): string {
  if (typeof id !== 'string' || !/^\d+-\d+$/.test(id)) throw invalid('afterId', `must be an event id like "1718000000000-0", got ${JSON.stringify(id)}`);
  return id;
}

/** Orders event ids numerically (negative, zero, positive). */
export function compareEventIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

function checkRecordField(value: unknown, field: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) throw invalid(field, 'must be an object');
}

export function checkNewJob(job: NewJob): void {
  checkName(job.job_id, 'job_id');
  const { job_id: _id, ...rest } = job;
  checkJobPatch(rest);
}

export function checkJobPatch(patch: JobPatch): void {
  for (const key of Object.keys(patch)) {
    if (!JOB_PATCH_FIELDS.has(key)) throw invalid(key, 'is not a job field that can be written');
  }
  if (patch.status !== undefined && !JOB_STATUSES.includes(patch.status)) throw invalid('status', `unknown job status ${JSON.stringify(patch.status)}`);
  checkRecordField(patch.requested_policies, 'requested_policies');
  checkRecordField(patch.effective_policies, 'effective_policies');
  checkRecordField(patch.details, 'details');
}

export function checkNodePatch(patch: NodePatch & { name?: string }): void {
  for (const key of Object.keys(patch)) {
    if (!NODE_PATCH_FIELDS.has(key)) throw invalid(key, 'is not a node field that can be written');
  }
  if (patch.status !== undefined && !NODE_STATUSES.includes(patch.status)) throw invalid('status', `unknown node status ${JSON.stringify(patch.status)}`);
  if (patch.scheduling_eligible !== undefined && typeof patch.scheduling_eligible !== 'boolean') throw invalid('scheduling_eligible', 'must be a boolean');
  checkRecordField(patch.inventory, 'inventory');
  checkRecordField(patch.details, 'details');
}

export function checkAgentPatch(patch: AgentPatch): void {
  if (patch.state !== undefined && !AGENT_STATES.has(patch.state)) throw invalid('state', `unknown agent state ${JSON.stringify(patch.state)}`);
  for (const field of ['restarts', 'attempt'] as const) {
    const v = patch[field];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw invalid(field, `must be a non-negative integer, got ${String(v)}`);
  }
}

/** The evictions of a placement commit: named agents of other jobs, each listed once. */
export function checkEvictions(jobId: string, evict: ReadonlyArray<{ job_id: string; agent_id: string; node: string }> | undefined): void {
  if (evict === undefined) return;
  if (!Array.isArray(evict)) throw invalid('evict', 'must be an array');
  const seen = new Set<string>();
  evict.forEach((e, i) => {
    checkName(e?.job_id, `evict[${i}].job_id`);
    if (typeof e.agent_id !== 'string' || e.agent_id === '') throw invalid(`evict[${i}].agent_id`, 'must be a non-empty string');
    checkName(e.node, `evict[${i}].node`);
    if (e.job_id === jobId) throw invalid(`evict[${i}].job_id`, `a job cannot evict its own agent "${e.agent_id}"`);
    const key = `${e.job_id}\u0000${e.agent_id}`;
    if (seen.has(key)) throw invalid(`evict[${i}]`, `agent "${e.agent_id}" of job "${e.job_id}" is listed twice`);
    seen.add(key);
  });
}

export function checkPlacements(placements: AgentPlacement[]): void {
  if (!Array.isArray(placements)) throw invalid('placements', 'must be an array');
  const seen = new Set<string>();
  placements.forEach((p, i) => checkPlacement(p, i, seen));
}

/** {@link checkPlacements} a chunk per turn of the event loop (big commits). */
export async function checkPlacementsChunked(placements: AgentPlacement[]): Promise<void> {
  if (!Array.isArray(placements)) throw invalid('placements', 'must be an array');
  const seen = new Set<string>();
  for (let i = 0; i < placements.length; i++) {
    if (i > 0 && i % LOOP_CHUNK === 0) await yieldToLoop();
    checkPlacement(placements[i]!, i, seen);
  }
}

function checkPlacement(p: AgentPlacement, i: number, seen: Set<string>): void {
  {
    if (typeof p.agent_id !== 'string' || p.agent_id === '') throw invalid(`placements[${i}].agent_id`, 'must be a non-empty string');
    if (seen.has(p.agent_id)) throw invalid(`placements[${i}].agent_id`, `agent "${p.agent_id}" is listed twice`);
    seen.add(p.agent_id);
    checkName(p.node, `placements[${i}].node`);
    for (const dim of ['cpu_cores', 'memory_mb', 'disk_mb', 'gpu_count'] as const) {
      const v = p.resources?.[dim];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`placements[${i}].resources.${dim}`, `must be a non-negative number, got ${String(v)}`);
    }
  }
}

/**
 * Integer units of the node usage counters: CPU in millicores, memory and disk in MB, GPUs.
 * Counters are integers so that adding and removing the same agents always returns to zero.
 */
export function agentUnits(r: AgentResources): [number, number, number, number] {
  return [Math.round(r.cpu_cores * 1000), Math.round(r.memory_mb), Math.round(r.disk_mb), Math.round(r.gpu_count)];
}

/** {@link agentUnits} for capacity limits; null where a dimension is not limited. */
export function capacityUnits(r: Partial<AgentResources>): [number | null, number | null, number | null, number | null] {
  const f = (v: number | undefined, scale: number) => (v === undefined ? null : Math.round(v * scale));
  return [f(r.cpu_cores, 1000), f(r.memory_mb, 1), f(r.disk_mb, 1), f(r.gpu_count, 1)];
}

export function emptyUsage(): NodeUsage {
  return { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0, agents: 0 };
}

/** Checks one message to send (field names as in {@link OutgoingMessage}). */
export function checkOutgoing(m: OutgoingMessage): void {
  checkName(m.job_id, 'job id');
  checkName(m.agent_id, 'agent id', true);
  checkName(m.node, 'node name', true);
  if (typeof m.message_id !== 'string' || m.message_id === '' || /\s/.test(m.message_id)) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `message_id must be a non-empty string without whitespace, got ${JSON.stringify(m.message_id)}`, { details: { field: 'message_id' } });
  }
  if (typeof m.message !== 'string') throw new MnError('MN_E_INVALID_ARGUMENT', 'message must be JSON text', { details: { field: 'message' } });
  if (m.not_before !== undefined && (!Number.isFinite(m.not_before) || m.not_before < 0)) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `not_before must be an epoch ms >= 0, got ${m.not_before}`, { details: { field: 'not_before' } });
  }
}

/**
 * Back-pressure (spec §2.3): refuses new messages for a job, or for an agent, that already has
 * as many undelivered messages as its limit. A batch that starts under the limit is taken whole,
 * so one handler's large fan-out (a router feeding 100,000 agents) never waits for itself; the
 * next send waits until the backlog drains. `outstanding` and `pending` read the current counts.
 */
export function checkLimits(
  fresh: readonly OutgoingMessage[],
  limits: MessageLimits,
  outstanding: (jobId: string) => number,
  pending: (jobId: string, agentId: string) => number,
): void {
  const jobs = new Set(fresh.map((m) => m.job_id));
  for (const jobId of jobs) {
    if (outstanding(jobId) >= limits.perJob) {
      throw new MnError('MN_E_RESOURCE_EXHAUSTED', `job ${jobId} has too many undelivered messages (limit ${limits.perJob})`, { retryable: true, details: { job_id: jobId, limit: limits.perJob } });
    }
  }
  const seen = new Set<string>();
  for (const m of fresh) {
    const k = `${m.job_id}\0${m.agent_id}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (pending(m.job_id, m.agent_id) >= limits.perAgent) {
      throw new MnError('MN_E_RESOURCE_EXHAUSTED', `agent ${m.agent_id} of job ${m.job_id} has too many undelivered messages (limit ${limits.perAgent})`, {
        retryable: true,
        details: { job_id: m.job_id, agent_id: m.agent_id, limit: limits.perAgent },
      });
    }
  }
}

/** Service instance ids are key segments too; `:` is allowed (`<job>:<agent>:<name>`). */
export function checkServiceId(id: unknown): asserts id is string {
  checkName(id, 'service id', true);
}

/** Checks the fields of a service record that the stores index or compare. */
export function checkServiceRecord(r: ServiceRecord): void {
  checkServiceId(r.id);
  if (typeof r.name !== 'string' || !SERVICE_NAME_PATTERN.test(r.name)) throw invalid('name', `must be a service name, got ${JSON.stringify(r.name)}`);
  checkName(r.node, 'node');
  checkName(r.job_id, 'job_id');
  if (!SERVICE_STATUSES.includes(r.status)) throw invalid('status', `must be one of ${SERVICE_STATUSES.join(', ')}, got ${JSON.stringify(r.status)}`);
  if (!DEPLOYMENT_ROLES.includes(r.deployment_role)) throw invalid('deployment_role', `must be one of ${DEPLOYMENT_ROLES.join(', ')}, got ${JSON.stringify(r.deployment_role)}`);
}

/** Deployment keys name Redis keys: non-empty, at most 256 characters, no control characters. */
export function checkDeploymentKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.trim() === '') throw invalid('deployment_key', 'must be a non-empty string');
  if (key.length > 256) throw invalid('deployment_key', `must be at most 256 characters, got ${key.length}`);
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalid('deployment_key', `${JSON.stringify(key)} contains control characters`);
}
