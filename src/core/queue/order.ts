/**
 * The order of the cluster-wide job queue (pure): a job that could not be placed when it was
 * submitted waits here until capacity frees. Jobs start in priority order (higher first), then
 * age (older first), then job id, so equal submissions keep one stable order in every store.
 */

/** A queued job's place. `since` is the epoch ms it joined the queue (its submit time). */
export interface QueueEntry {
  job_id: string;
  /** 1..100; higher starts first. */
  priority: number;
  since: number;
  /** The evaluation that queued the job (status `blocked`). */
  evaluation_id: string | null;
}

/** A queued job's place as the API shows it: 1-based position among `total` waiting jobs. */
export interface QueuePlace {
  position: number;
  total: number;
  priority: number;
  since: number;
  evaluation_id: string | null;
}

/** Orders queue entries: priority descending, then `since` ascending, then job id. */
export function compareQueueEntries(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.since !== b.since) return a.since - b.since;
  return a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : 0;
}

/** The entries in start order (a new array). */
export function sortQueue(entries: readonly QueueEntry[]): QueueEntry[] {
  return [...entries].sort(compareQueueEntries);
}

/**
 * A score that sorts like {@link compareQueueEntries} up to the job id (a Redis sorted set breaks
 * equal scores by member, the job id): priority descending in the high digits, `since` in the
 * low ones. Exact in a double for priorities 1..100 and times before the year 2286.
 */
export function queueScore(priority: number, since: number): number {
  return (101 - priority) * 1e13 + since;
}

/**
 * Whether a job of `priority` must wait behind the queue (no starvation): it may start only while
 * no queued job of higher or equal priority waits (equal priority: the older one goes first).
 * Returns the entry it waits behind (the head of the queue among those), or null when it may start.
 */
export function waitsBehind(entries: readonly QueueEntry[], priority: number, jobId?: string): QueueEntry | null {
  let best: QueueEntry | null = null;
  for (const e of entries) {
    if (e.job_id === jobId || e.priority < priority) continue;
    if (best === null || compareQueueEntries(e, best) < 0) best = e;
  }
  return best;
}

/** The place of `jobId` in the queue, or null when it is not queued. */
export function placeOf(entries: readonly QueueEntry[], jobId: string): QueuePlace | null {
  const sorted = sortQueue(entries);
  const index = sorted.findIndex((e) => e.job_id === jobId);
  if (index < 0) return null;
  const e = sorted[index]!;
  return { position: index + 1, total: sorted.length, priority: e.priority, since: e.since, evaluation_id: e.evaluation_id };
}

/**
 * The queue heads to try in one pass: the first `max` entries in start order. The sweep commits
 * each that fits, in this order, and stops at the first that does not (a later, smaller job
 * must not overtake it).
 */
export function queueHeads(entries: readonly QueueEntry[], max: number): QueueEntry[] {
  return sortQueue(entries).slice(0, Math.max(0, max));
}
