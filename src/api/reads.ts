/**
 * The API's reads and actions, shared by the gRPC handlers and the dashboard's HTTP port: both
 * answer from the same store reads, so the dashboard never shows something the API would not.
 * Each function validates its input and throws {@link MnError}s naming the field.
 */
import { advanceDrain, cancelDrain, DEFAULT_DRAIN_DEADLINE_MS, setEligibility, startDrain } from '../cluster/drain.js';
import { LEADER_LEASE } from '../cluster/leader.js';
import { USAGE_JOB_ID, clusterService, effectiveStatus } from '../cluster/snapshot.js';
import { MnError } from '../core/errors.js';
import type { ServiceQuery } from '../core/services/registry.js';
import { type JobSummary, type StoredEvent, TERMINAL_JOB_STATUSES } from '../store/store.js';
import { jobDocument } from './job-view.js';
import { nodeView } from './cluster-service.js';
import { requireField } from './handler.js';
import type { ApiContext } from './job-service.js';

/** Counts of a list of values. */
export function countBy(values: readonly string[]): Record<string, number> {
  return values.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});
}

/** GetSystemSummary: this node, the leader, nodes and jobs by status. */
export async function systemSummary(ctx: ApiContext): Promise<Record<string, unknown>> {
  const { store } = ctx;
  const [nodes, jobs, leader] = await Promise.all([store.listNodes(), store.listJobs(), store.getLease(LEADER_LEASE)]);
  return {
    node: ctx.nodeName,
    leader: leader ? leader.holder.split('#')[0] : null,
    nodes: { total: nodes.length, by_status: countBy(nodes.map(effectiveStatus)) },
    jobs: { total: jobs.length, by_status: countBy(jobs.map((j) => j.status)) },
  };
}

/** ListNodes: every node (sorted by name) with the services registered on it. */
export async function listNodeViews(ctx: ApiContext): Promise<Array<Record<string, unknown>>> {
  const [nodes, instances] = await Promise.all([ctx.store.listNodes(), ctx.store.services.list({ include_candidates: true })]);
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  // Each node with the services registered on it: `mn plan --cluster` reads this export as a cluster file.
  const services = new Map<string, ReturnType<typeof clusterService>[]>();
  for (const r of instances) services.set(r.node, [...(services.get(r.node) ?? []), clusterService(r)]);
  // The agents on each node with their job's priority and type, as the planner sees them (the
  // export's allocations: an offline plan can then show what it would preempt).
  const allocations = new Map<string, unknown[]>();
  const view = typeof ctx.jobs.clusterView === 'function' ? await ctx.jobs.clusterView() : null;
  for (const a of view?.cluster.allocations ?? []) {
    if (a.job_id === USAGE_JOB_ID) continue;
    const list = allocations.get(a.node) ?? [];
    list.push({ job_id: a.job_id, agent_id: a.agent_id, resources: a.resources, devices: a.devices, ports: a.ports, priority: a.priority, job_type: a.job_type });
    allocations.set(a.node, list);
  }
  return nodes.map((n) => ({ ...nodeView(n), services: services.get(n.name) ?? [], allocations: allocations.get(n.name) ?? [] }));
}

/** GetNode. */
export async function nodeDetail(ctx: ApiContext, nodeName: unknown): Promise<Record<string, unknown>> {
  const name = requireField(nodeName, 'node_name');
  const node = await ctx.store.getNode(name);
  if (!node) throw new MnError('MN_E_NOT_FOUND', `node ${name} not found`, { details: { node: name } });
  return nodeView(node);
}

/** ListJobs: newest first; terminal jobs only with `includeTerminal`; at most `limit` (0: all). */
export async function listJobSummaries(ctx: ApiContext, options: { limit: number; includeTerminal: boolean }): Promise<JobSummary[]> {
  let list = await ctx.store.listJobs();
  if (!options.includeTerminal) list = list.filter((j) => !TERMINAL_JOB_STATUSES.has(j.status));
  list.sort((a, b) => b.created_at - a.created_at);
  if (options.limit > 0) list = list.slice(0, options.limit);
  return list;
}

/** GetJob's document ({@link jobDocument}): the record, its first agents and the summary of all of them. */
export async function jobDetail(ctx: ApiContext, jobId: unknown): Promise<Record<string, unknown>> {
  const record = await ctx.jobs.get(requireField(jobId, 'job_id'));
  return jobDocument(ctx.store, record, false);
}

/** ListJobEvents: events after `afterId`, at most `limit` (default 1000, at most 10,000). */
export async function jobEventPage(ctx: ApiContext, jobId: unknown, options: { afterId?: string; limit?: number }): Promise<StoredEvent[]> {
  const id = requireField(jobId, 'job_id');
  await ctx.jobs.get(id);
  const limit = options.limit !== undefined && options.limit > 0 ? Math.min(options.limit, 10_000) : 1000;
  return ctx.store.readEvents(id, { ...(options.afterId ? { afterId: options.afterId } : {}), limit });
}

/** GetJobResult, parsed: the result (absent: none yet), who completed the job, or its failure. */
export async function jobResult(ctx: ApiContext, jobId: unknown): Promise<{ job_id: string; status: string; has_result: boolean; result: unknown; completed_by: string | null; failure: unknown }> {
  const record = await ctx.jobs.get(requireField(jobId, 'job_id'));
  const { result, completed_by: completedBy, failure } = record.details;
  return {
    job_id: record.job_id,
    status: record.status,
    // A recorded null is a result (complete_job without a value); an absent key is none.
    has_result: 'result' in record.details && result !== undefined,
    result: result ?? null,
    completed_by: typeof completedBy === 'string' ? completedBy : null,
    failure: failure ?? null,
  };
}

/** ListServices. */
export function listServiceInstances(ctx: ApiContext, query: ServiceQuery): Promise<unknown[]> {
  return ctx.services.directory.list(query);
}

/** CancelJob, PauseJob, ResumeJob (the caller checks the token). */
export function controlJob(ctx: ApiContext, jobId: unknown, action: 'pause' | 'resume' | 'cancel'): Promise<{ job_id: string; status: string }> {
  return ctx.jobs.control(requireField(jobId, 'job_id'), action);
}

/** DrainNode (the caller checks the token). */
export async function drainNode(
  ctx: ApiContext,
  req: { node_name: unknown; reason?: string; dry_run?: boolean; deadline_ms?: string | number; include_system_jobs?: boolean },
): Promise<unknown> {
  const deadline = Number(req.deadline_ms || 0);
  if (!Number.isSafeInteger(deadline) || deadline < 0) throw new MnError('MN_E_INVALID_ARGUMENT', `deadline_ms must be a non-negative integer, got ${req.deadline_ms}`, { details: { field: 'deadline_ms' } });
  return startDrain(ctx.store, {
    node: requireField(req.node_name, 'node_name'),
    reason: req.reason || 'drain',
    deadline_ms: deadline === 0 ? DEFAULT_DRAIN_DEADLINE_MS : deadline,
    ignore_system_jobs: !req.include_system_jobs,
    dry_run: req.dry_run === true,
  }, Date.now());
}

/** CancelNodeDrain (the caller checks the token). */
export function undrainNode(ctx: ApiContext, req: { node_name: unknown; reason?: string; mark_eligible?: boolean }): Promise<unknown> {
  return cancelDrain(ctx.store, requireField(req.node_name, 'node_name'), req.reason || 'undrain', req.mark_eligible === true);
}

/** GetNodeDrainStatus. */
export function drainStatus(ctx: ApiContext, nodeName: unknown): Promise<unknown> {
  return advanceDrain(ctx.store, requireField(nodeName, 'node_name'), Date.now());
}

/** SetNodeEligibility (the caller checks the token). */
export async function nodeEligibility(ctx: ApiContext, req: { node_name: unknown; eligible: boolean; reason?: string }): Promise<Record<string, unknown>> {
  return nodeView(await setEligibility(ctx.store, requireField(req.node_name, 'node_name'), req.eligible, req.reason || ''));
}
