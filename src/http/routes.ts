/**
 * The dashboard's JSON API: GET routes read through the same functions as the gRPC handlers
 * ({@link ../api/reads.ts}); POST routes are the actions, named after the RPC whose token check
 * they share.
 */
import { controlJob, drainNode, jobDetail, jobEventPage, jobResult, listJobSummaries, listNodeViews, listServiceInstances, nodeDetail, nodeEligibility, systemSummary, undrainNode } from '../api/reads.js';
import type { ApiContext } from '../api/job-service.js';
import { evaluationPage } from '../api/evaluation-handlers.js';
import { listWarmPools } from '../api/warm-pool-handlers.js';
import { MnError } from '../core/errors.js';
import type { AgentSummary } from '../core/paging.js';
import { TERMINAL_JOB_STATUSES, type AgentRecord } from '../store/store.js';

export interface Route {
  /** The RPC this route mirrors (named in errors). */
  name: string;
  /** A mutating route: POST, JSON body, token. */
  action: boolean;
  run(query: URLSearchParams, body: Record<string, unknown>): Promise<unknown>;
}

/** Agents of one job sent to the browser at most (counts cover all of them). */
export const MAX_AGENTS_SHOWN = 500;
/** Log lines of one agent sent at most. */
export const MAX_LOG_LINES = 2000;

type Handler = (params: string[], query: URLSearchParams, body: Record<string, unknown>) => Promise<unknown>;

/** The route table over `ctx`; `match` returns null for an unknown method or path. */
export function dashboardApi(ctx: ApiContext): { match(method: string, path: string): Route | null } {
  const table: Array<{ method: 'GET' | 'POST'; pattern: RegExp; name: string; run: Handler }> = [
    { method: 'GET', pattern: /^\/api\/summary$/, name: 'GetSystemSummary', run: () => systemSummary(ctx) },
    { method: 'GET', pattern: /^\/api\/nodes$/, name: 'ListNodes', run: () => listNodeViews(ctx) },
    { method: 'GET', pattern: /^\/api\/nodes\/([^/]+)$/, name: 'GetNode', run: ([name]) => nodeDetail(ctx, name) },
    { method: 'GET', pattern: /^\/api\/jobs$/, name: 'ListJobs', run: (_p, q) => jobList(ctx, q) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)$/, name: 'GetJob', run: ([id]) => jobPage(ctx, id!) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)\/events$/, name: 'ListJobEvents', run: ([id], q) => jobEventPage(ctx, id, { afterId: q.get('after') ?? undefined, limit: intParam(q, 'limit', 1000) }) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)\/logs$/, name: 'ListJobEvents', run: ([id], q) => agentLogs(ctx, id!, q.get('agent')) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)\/result$/, name: 'GetJobResult', run: ([id]) => jobResult(ctx, id) },
    { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)\/evaluations$/, name: 'ListEvaluations', run: async ([id]) => { await jobDetail(ctx, id); return evaluationPage(ctx.store, { job_id: id!, page_size: 50 }); } },
    { method: 'GET', pattern: /^\/api\/services$/, name: 'ListServices', run: () => listServiceInstances(ctx, { include_candidates: true }) },
    { method: 'GET', pattern: /^\/api\/pools$/, name: 'ListWarmPools', run: () => listWarmPools(ctx.store) },
    { method: 'GET', pattern: /^\/api\/deployments$/, name: 'ListDeployments', run: () => ctx.deployer.list({}) },
    { method: 'GET', pattern: /^\/api\/deployments\/([^/]+)$/, name: 'GetDeployment', run: ([id]) => deploymentPage(ctx, id!) },
    { method: 'POST', pattern: /^\/api\/deployments\/([^/]+)\/promote$/, name: 'PromoteDeployment', run: ([id], _q, b) => ctx.deployer.promote(id!, reasonOf(b)) },
    { method: 'POST', pattern: /^\/api\/deployments\/([^/]+)\/pause$/, name: 'PauseDeployment', run: ([id], _q, b) => ctx.deployer.pause(id!, reasonOf(b)) },
    { method: 'POST', pattern: /^\/api\/deployments\/([^/]+)\/resume$/, name: 'ResumeDeployment', run: ([id], _q, b) => ctx.deployer.resume(id!, reasonOf(b)) },
    { method: 'POST', pattern: /^\/api\/deployments\/([^/]+)\/fail$/, name: 'FailDeployment', run: ([id], _q, b) => ctx.deployer.fail(id!, reasonOf(b)) },
    { method: 'POST', pattern: /^\/api\/deployments\/([^/]+)\/rollback$/, name: 'RollbackDeployment', run: ([id], _q, b) => ctx.deployer.rollback(id!, reasonOf(b) ? { reason: reasonOf(b)! } : {}) },
    { method: 'GET', pattern: /^\/api\/schedules$/, name: 'ListSchedules', run: async () => { const sv = schedulesOf(ctx); return (await sv.list({})).map((r) => sv.view(r)); } },
    { method: 'POST', pattern: /^\/api\/schedules\/([^/]+)\/pause$/, name: 'PauseSchedule', run: ([id], _q, b) => schedulesOf(ctx).pause(id!, reasonOf(b) ?? '') },
    { method: 'POST', pattern: /^\/api\/schedules\/([^/]+)\/resume$/, name: 'ResumeSchedule', run: ([id]) => schedulesOf(ctx).resume(id!) },
    { method: 'POST', pattern: /^\/api\/schedules\/([^/]+)\/run-now$/, name: 'DispatchSchedule', run: ([id], _q, b) => schedulesOf(ctx).runNow(id!, undefined, reasonOf(b) ?? '') },
    { method: 'POST', pattern: /^\/api\/jobs\/([^/]+)\/cancel$/, name: 'CancelJob', run: ([id]) => controlJob(ctx, id, 'cancel') },
    { method: 'POST', pattern: /^\/api\/jobs\/([^/]+)\/pause$/, name: 'PauseJob', run: ([id]) => controlJob(ctx, id, 'pause') },
    { method: 'POST', pattern: /^\/api\/jobs\/([^/]+)\/resume$/, name: 'ResumeJob', run: ([id]) => controlJob(ctx, id, 'resume') },
    {
      method: 'POST', pattern: /^\/api\/nodes\/([^/]+)\/drain$/, name: 'DrainNode',
      run: ([name], _q, b) => drainNode(ctx, { node_name: name, reason: str(b.reason), dry_run: b.dry_run === true, deadline_ms: typeof b.deadline_ms === 'number' ? b.deadline_ms : 0, include_system_jobs: b.include_system_jobs === true }),
    },
    { method: 'POST', pattern: /^\/api\/nodes\/([^/]+)\/undrain$/, name: 'CancelNodeDrain', run: ([name], _q, b) => undrainNode(ctx, { node_name: name, reason: str(b.reason), mark_eligible: b.mark_eligible === true }) },
    {
      method: 'POST', pattern: /^\/api\/nodes\/([^/]+)\/eligibility$/, name: 'SetNodeEligibility',
      run: ([name], _q, b) => {
        if (typeof b.eligible !== 'boolean') throw new MnError('MN_E_INVALID_ARGUMENT', 'eligible must be true or false', { details: { field: 'eligible' } });
        return nodeEligibility(ctx, { node_name: name, eligible: b.eligible, reason: str(b.reason) });
      },
    },
  ];
  return {
    match(method, path) {
      for (const r of table) {
        const m = r.pattern.exec(path);
        if (!m) continue;
        if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
        const params = m.slice(1).map((s) => decodeURIComponent(s));
        return { name: r.name, action: r.method === 'POST', run: (q, b) => r.run(params, q, b) };
      }
      return null;
    },
  };
}

function schedulesOf(ctx: ApiContext): NonNullable<ApiContext['schedules']> {
  if (!ctx.schedules) throw new MnError('MN_E_FAILED_PRECONDITION', 'this daemon does not serve schedules');
  return ctx.schedules;
}

function reasonOf(b: Record<string, unknown>): string | undefined {
  return typeof b.reason === 'string' && b.reason.trim() !== '' ? b.reason.trim() : undefined;
}

/** GetDeployment, the versions without their manifests and files (the CLI shows those). */
async function deploymentPage(ctx: ApiContext, idOrKey: string): Promise<unknown> {
  const view = await ctx.deployer.get(idOrKey);
  return { deployment: view.deployment, versions: view.versions.map(({ manifest: _m, files: _f, ...v }) => v) };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new MnError('MN_E_INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${JSON.stringify(raw)}`, { details: { field: name } });
  return n;
}

/** Agent counts of a job: by state, and placed (every agent with a record). */
export function agentCounts(states: readonly string[]): { placed: number; by_state: Record<string, number> } {
  const by: Record<string, number> = {};
  for (const s of states) by[s] = (by[s] ?? 0) + 1;
  return { placed: states.length, by_state: by };
}

/** The jobs page: ListJobs, each job with its name, type, priority and agent counts. */
async function jobList(ctx: ApiContext, q: URLSearchParams): Promise<unknown[]> {
  const summaries = await listJobSummaries(ctx, { limit: intParam(q, 'limit', 100), includeTerminal: q.get('all') !== '0' });
  const rows = await Promise.all(summaries.map(async (s) => {
    const [record, summary] = await Promise.all([ctx.store.getJob(s.job_id), ctx.store.agentSummary(s.job_id)]);
    if (!record) return null;
    let counts = { placed: summary.total, by_state: summary.by_state };
    if (summary.total === 0 && TERMINAL_JOB_STATUSES.has(record.status) && Array.isArray(record.details.final_agents)) counts = agentCounts(record.details.final_agents.map((a) => a.state));
    return {
      ...s,
      graph_id: record.job.graph_id,
      job_name: record.job.job_name,
      type: record.job.type,
      priority: record.job.priority,
      agent_count: record.job.agent_count,
      agents: counts,
    };
  }));
  return rows.filter((r) => r !== null);
}

/** The job page: GetJob's document (first agents, counts of all by state and machine) and each failed agent's error. */
async function jobPage(ctx: ApiContext, jobId: string): Promise<unknown> {
  const doc = await jobDetail(ctx, jobId);
  const summary = doc.agent_summary as AgentSummary;
  const agents = (doc.agents as AgentRecord[]).slice(0, MAX_AGENTS_SHOWN);
  const byNode: Record<string, Record<string, number>> = {};
  for (const a of doc.agents as AgentRecord[]) {
    const n = (byNode[a.node] ??= {});
    n[a.state] = (n[a.state] ?? 0) + 1;
  }
  const failed = (summary.by_state.failed ?? 0) > 0 ? await agentErrors(ctx, jobId) : {};
  return {
    ...doc,
    details: { ...(doc.details as Record<string, unknown>), modules: undefined },
    agents,
    agents_total: summary.total,
    agent_counts: { placed: summary.total, by_state: summary.by_state },
    // By state for the agents listed; `agent_summary.by_node` counts every agent per machine.
    agents_by_node: byNode,
    agent_errors: failed,
  };
}

/** Event pages read at most for the agents' errors. */
const MAX_EVENT_PAGES = 20;

/** The latest `agent_failed` reason of each agent (at most 100 agents), from the job's events. */
async function agentErrors(ctx: ApiContext, jobId: string): Promise<Record<string, { reason: string; detail: string; at: number }>> {
  const out: Record<string, { reason: string; detail: string; at: number }> = {};
  let after: string | undefined;
  for (let pages = 0; pages < MAX_EVENT_PAGES; pages++) {
    const page = await jobEventPage(ctx, jobId, { ...(after ? { afterId: after } : {}), limit: 1000 });
    for (const e of page) {
      if (e.type !== 'agent_failed' || e.agent_id === undefined) continue;
      if (!(e.agent_id in out) && Object.keys(out).length >= 100) continue;
      out[e.agent_id] = { reason: String(e.payload.reason ?? ''), detail: String(e.payload.detail ?? e.payload.reason ?? ''), at: e.timestamp };
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  return out;
}

/** One agent's output lines (the job's `agent_log` events), newest {@link MAX_LOG_LINES}. */
async function agentLogs(ctx: ApiContext, jobId: string, agentId: string | null): Promise<unknown[]> {
  const lines: unknown[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await jobEventPage(ctx, jobId, { ...(after ? { afterId: after } : {}), limit: 1000 });
    for (const e of page) {
      if (e.type !== 'agent_log' || (agentId !== null && agentId !== '' && e.agent_id !== agentId)) continue;
      lines.push({ agent_id: e.agent_id ?? null, stream: e.payload.stream === 'stderr' ? 'stderr' : 'stdout', line: typeof e.payload.line === 'string' ? e.payload.line : JSON.stringify(e.payload.line ?? ''), timestamp: e.timestamp });
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  return lines.slice(-MAX_LOG_LINES);
}
