/**
 * What GetJob and ListAgents answer for a job: the record with an agent summary (agents inline
 * only up to a bound), and the agents a page at a time. A job that ended has no live agents (its
 * placements were released); its final agents, kept on the record, are listed instead.
 */
import { type AgentSummary, addToSummary, decodePageToken, emptySummary, encodePageToken, pageOf, pageSize } from '../core/paging.js';
import type { AgentRecord, JobRecord, Store } from '../store/store.js';

/** Agents (and plan placements) GetJob carries inline; a bigger job's come from ListAgents. */
export const INLINE_AGENTS = 1000;

function finalAgents(record: JobRecord): AgentRecord[] | null {
  const final = record.details.final_agents;
  return Array.isArray(final) ? final : null;
}

/** The agents' summary and the first agents, live or (for an ended job) final. */
async function agentsOf(store: Store, record: JobRecord): Promise<{ summary: AgentSummary; first: AgentRecord[] }> {
  const summary = await store.agentSummary(record.job_id);
  const final = finalAgents(record);
  if (summary.total === 0 && final) {
    const sorted = [...final].sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
    return { summary: addToSummary(emptySummary(), sorted), first: sorted.slice(0, INLINE_AGENTS) };
  }
  const first = summary.total === 0 ? [] : (await store.listAgentsPage(record.job_id, { limit: INLINE_AGENTS })).agents;
  return { summary, first };
}

/**
 * GetJob's document: the record without the submitted manifest (the normalised `job` is there;
 * `includeManifest` adds it) and without per-agent lists beyond {@link INLINE_AGENTS}: `agents`
 * holds the first agents by id, `agent_summary` counts them all by state and node, and
 * `agents_truncated` says whether ListAgents has more.
 */
export async function jobDocument(store: Store, record: JobRecord, includeManifest: boolean): Promise<Record<string, unknown>> {
  const { summary, first } = await agentsOf(store, record);
  const { manifest, details, plan, ...rest } = record;
  const { final_agents: _final, ...keptDetails } = details;
  // A dispatch's sealed secrets are for the daemons that run its agents, not for clients.
  if (keptDetails.dispatch?.sealed !== undefined) {
    const { sealed: _sealed, ...dispatch } = keptDetails.dispatch;
    keptDetails.dispatch = dispatch;
  }
  const placements = plan?.placements.length ?? 0;
  // A queued job (pending, no plan) shows its live place; the latest evaluation says why it waits.
  const [queue, latest] = await Promise.all([
    keptDetails.queued && record.plan === null ? store.queue.place(record.job_id) : Promise.resolve(null),
    store.evaluations.list({ job_id: record.job_id, limit: 1 }).then((p) => p.evaluations[0] ?? null),
  ]);
  return {
    ...rest,
    queue,
    latest_evaluation: latest,
    ...(includeManifest ? { manifest } : {}),
    plan: plan && placements > INLINE_AGENTS ? { ...plan, placements: [], placements_omitted: placements } : plan,
    details: keptDetails,
    agents: first,
    agents_truncated: summary.total > first.length,
    agent_summary: summary,
  };
}

/** One page of ListAgents: agents ordered by id, the token of the next page ('' at the end), and the total. */
export async function agentPage(store: Store, record: JobRecord, request: { page_size?: number; page_token?: string }): Promise<{ agents: AgentRecord[]; next_page_token: string; total: number }> {
  const limit = pageSize(request.page_size ?? 0);
  const after = request.page_token ? decodePageToken(request.page_token) : undefined;
  const live = await store.listAgentsPage(record.job_id, { ...(after !== undefined ? { after } : {}), limit });
  const final = finalAgents(record);
  if (live.total === 0 && final) {
    const sorted = [...final].sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
    const page = pageOf(sorted, after, limit);
    return { agents: page.items, next_page_token: page.next === null ? '' : encodePageToken(page.next), total: sorted.length };
  }
  return { agents: live.agents, next_page_token: live.next === null ? '' : encodePageToken(live.next), total: live.total };
}
