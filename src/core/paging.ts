/**
 * Paging of long lists (agents of a job): pages ordered by id, an opaque page token naming the
 * last id of the previous page, and a summary that counts without listing. Pure.
 */
import { MnError } from './errors.js';

/** Default and largest page of `ListAgents`. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/** Counts of a job's agents. */
export interface AgentSummary {
  total: number;
  by_state: Record<string, number>;
  /** Agents per node. */
  by_node: Record<string, number>;
}

/** The token of the page after the one that ended at `lastId`. */
export function encodePageToken(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId }), 'utf8').toString('base64url');
}

/** The id a page token continues after; a token this runtime did not issue is an invalid argument. */
export function decodePageToken(token: string, field = 'page_token'): string {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    const after = (value as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && after !== '') return after;
  } catch {
    // fall through
  }
  throw new MnError('MN_E_INVALID_ARGUMENT', `${field}: not a page token returned by this API`, { details: { field } });
}

/** A page size from a request: 0 (unset) is the default; above the largest is refused. */
export function pageSize(requested: number, field = 'page_size'): number {
  if (!Number.isInteger(requested) || requested < 0 || requested > MAX_PAGE_SIZE) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `${field} must be an integer between 0 (the default, ${DEFAULT_PAGE_SIZE}) and ${MAX_PAGE_SIZE}, got ${requested}`, { details: { field } });
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : requested;
}

/** Index of the first id strictly after `after` in ascending `ids` (binary search). */
export function firstAfter(ids: readonly string[], after: string | undefined): number {
  if (after === undefined) return 0;
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One page of records sorted by `agent_id`: those after `after`, at most `limit`, and the next token. */
export function pageOf<T extends { agent_id: string }>(sorted: readonly T[], after: string | undefined, limit: number): { items: T[]; next: string | null } {
  const start = firstAfter(sorted.map((r) => r.agent_id), after);
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  return { items, next: more && items.length > 0 ? items[items.length - 1]!.agent_id : null };
}

/** Adds agents to a summary. */
export function addToSummary(summary: AgentSummary, agents: Iterable<{ state: string; node: string }>): AgentSummary {
  for (const a of agents) {
    summary.total++;
    summary.by_state[a.state] = (summary.by_state[a.state] ?? 0) + 1;
    summary.by_node[a.node] = (summary.by_node[a.node] ?? 0) + 1;
  }
  return summary;
}

export function emptySummary(): AgentSummary {
  return { total: 0, by_state: {}, by_node: {} };
}
