/**
 * Schedule, dispatch and trigger-event records (spec §7.1, §7.4, §7.5). Times are ISO-8601 UTC
 * strings in records, as the original prints them; the due index scores them in epoch ms.
 */
import type { ScheduleKind, ScheduleSpec, TriggerSpec } from '../manifest/types.js';

/** `active` schedules are swept; `paused` ones wait for resume; a delayed schedule is `completed` after its run. */
export type ScheduleStatus = 'active' | 'paused' | 'completed';

export const SCHEDULE_STATUSES: readonly ScheduleStatus[] = ['active', 'paused', 'completed'];

/** Why an instance was dispatched. */
export type DispatchReason = 'periodic' | 'delayed' | 'event' | 'manual' | (string & {});

/**
 * One dispatch of a schedule: a child job that was created (`submitted`, later `window_closed`
 * when its window cancelled it) or a failure recorded with its reason (`failed`).
 */
export interface ScheduleDispatch {
  /** `dispatch_<token>`: the same instance always has the same id. */
  dispatch_id: string;
  /** The deterministic dispatch token (see `dispatchToken`). */
  token: string;
  job_id: string | null;
  status: 'submitted' | 'failed' | 'window_closed';
  /** The scheduled time this instance stands for; null for event instances (the event decides). */
  scheduled_for: string | null;
  reason: DispatchReason;
  event_id: string | null;
  submitted_at: string;
  /** When the job's window ends (`window.duration_ms` after submission), or null. */
  window_end_at: string | null;
  closed_at?: string;
  error?: string;
}

export interface ScheduleCounters {
  dispatched: number;
  missed: number;
  failed: number;
  /** Due instances not dispatched because a previous child job was still running. */
  blocked: number;
}

/** Where the archived bundle is and what it holds: a dispatch runs exactly this version. */
export interface BundleRef {
  /** `sha256:<hex>` over the manifest text and the archived files. */
  bundle_fingerprint: string;
  /** Paths of the archived bundle files (module sources). */
  files: string[];
}

/** The archived bundle of a schedule. */
export interface ScheduleBundle {
  manifest_json: string;
  /** Bundle files the job needs (module sources), by path. */
  files: Record<string, string>;
}

/** The persisted schedule (spec §7.1, §7.6). */
export interface ScheduleRecord {
  schedule_id: string;
  name: string;
  kind: ScheduleKind;
  status: ScheduleStatus;
  enabled: boolean;
  crons: string[];
  timezone: string;
  run_at: string | null;
  prohibit_overlap: boolean;
  missed_policy: ScheduleSpec['missed_policy'];
  catchup_limit: number;
  missed_grace_ms: number;
  window: ScheduleSpec['window'];
  trigger: TriggerSpec | null;
  parameterized: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Next due time (periodic: next cron time; delayed: run_at; event and inactive: null). */
  next_run_at: string | null;
  bundle_ref: BundleRef;
  /** Who created it (`{via: "cli" | "api", ...}`). */
  source: Record<string, unknown>;
  /** The 50 newest dispatches, newest first. */
  dispatches: ScheduleDispatch[];
  /** Child jobs that may still run (pruned of terminal ones when overlap is checked). */
  active_job_ids: string[];
  counters: ScheduleCounters;
  last_missed_at: string | null;
  last_blocked_reason: string | null;
  last_blocked_at: string | null;
  last_status_reason: string | null;
  created_at: string;
  updated_at: string;
  /** Grows by one with every write (optimistic updates). */
  version: number;
}

/** Dispatch history kept per schedule (spec §8.4). */
export const MAX_DISPATCHES = 50;
/** Trigger events kept (spec §8.4). */
export const MAX_TRIGGER_EVENTS = 1000;

/** An emitted event (spec §7.5). */
export interface TriggerEvent {
  event_id: string;
  event_type: string;
  source: string;
  payload: unknown;
  created_at: string;
}

/** Fields of a schedule an update may set (the store keeps id, bundle, dispatches, active jobs, counters, created_at). */
export type SchedulePatch = Partial<
  Omit<ScheduleRecord, 'schedule_id' | 'bundle_ref' | 'dispatches' | 'active_job_ids' | 'counters' | 'created_at' | 'updated_at' | 'version'>
>;

/** Fields of the record that live in the record itself (the rest: dispatch list, active set, counters). */
export const SCHEDULE_RECORD_FIELDS = [
  'schedule_id', 'name', 'kind', 'status', 'enabled', 'crons', 'timezone', 'run_at', 'prohibit_overlap', 'missed_policy',
  'catchup_limit', 'missed_grace_ms', 'window', 'trigger', 'parameterized', 'metadata', 'next_run_at', 'bundle_ref', 'source',
  'last_missed_at', 'last_blocked_reason', 'last_blocked_at', 'last_status_reason', 'created_at', 'updated_at', 'version',
] as const;

export function emptyCounters(): ScheduleCounters {
  return { dispatched: 0, missed: 0, failed: 0, blocked: 0 };
}
