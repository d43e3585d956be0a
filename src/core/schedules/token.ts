/**
 * Dispatch identity (spec §7.4): a token derived only from what the instance is, so that every
 * leader, stale or new, computes the same token for the same scheduled time or event, and the
 * store can refuse a second commit of it.
 */
import { createHash } from 'node:crypto';

export interface DispatchKey {
  schedule_id: string;
  /** ISO time of the scheduled instance; null for events (the event id decides). */
  scheduled_for: string | null;
  reason: string;
  event_id: string | null;
}

/** URL-safe base64 (no padding) of SHA-256 over `{schedule_id, scheduled_for, reason, event_id}`. */
export function dispatchToken(key: DispatchKey): string {
  const canonical = JSON.stringify({ schedule_id: key.schedule_id, scheduled_for: key.scheduled_for, reason: key.reason, event_id: key.event_id });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The dispatch id of a token. */
export function dispatchId(token: string): string {
  return `dispatch_${token}`;
}

/**
 * The child job id of a dispatch: the schedule's graph id (made safe for keys) and a suffix
 * derived from the token, so that two leaders committing one instance name the same job.
 */
export function dispatchJobId(graphId: string, token: string): string {
  const base = graphId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64) || 'job';
  const hex = Buffer.from(token, 'base64url').toString('hex').slice(0, 16);
  return `${base}-s${hex}`;
}
