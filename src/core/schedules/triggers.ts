/**
 * Events and trigger matching (spec §7.5), and what a dispatched job sees of its dispatch
 * (spec §7.4).
 */
import { EVENT_TYPE_PATTERN } from '../manifest/schedule.js';
import type { ScheduleRecord, TriggerEvent } from './records.js';

/** Largest event payload accepted, in bytes of its JSON text (MN_MAX_EVENT_BYTES). */
export const DEFAULT_MAX_EVENT_BYTES = 65_536;

export type EventCheck = { ok: true } | { ok: false; field: string; message: string };

/** Checks an event before it is stored: its type, source and payload size. */
export function checkEvent(eventType: string, source: string, payloadJson: string, maxBytes: number = DEFAULT_MAX_EVENT_BYTES): EventCheck {
  if (!EVENT_TYPE_PATTERN.test(eventType)) {
    return { ok: false, field: 'event_type', message: `event_type must match ${EVENT_TYPE_PATTERN.source}, got ${JSON.stringify(eventType)}` };
  }
  if (source.length > 160 || /[\u0000-\u001f]/.test(source)) return { ok: false, field: 'source', message: 'source must be at most 160 characters without control characters' };
  const bytes = Buffer.byteLength(payloadJson, 'utf8');
  if (bytes > maxBytes) return { ok: false, field: 'payload_json', message: `payload_json is ${bytes} bytes, over the limit of ${maxBytes} bytes (MN_MAX_EVENT_BYTES)` };
  return { ok: true };
}

/** Reads a dot-path (`a.b.c`; list items by index) of `value`; undefined when a step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const step of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      const i = Number(step);
      cur = Number.isInteger(i) ? cur[i] : undefined;
    } else if (typeof cur === 'object') {
      cur = (cur as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** `to_string` of the original: null and missing are "", strings are themselves, the rest is JSON. */
function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** One filter entry (spec §7.5 table). */
export function filterMatches(actual: unknown, expected: unknown): boolean {
  if (expected === null) return true;
  if (Array.isArray(expected)) return actual !== undefined && expected.some((e) => asText(e) === asText(actual));
  if (typeof expected === 'object') {
    const op = expected as Record<string, unknown>;
    if (typeof op.prefix === 'string') return typeof actual === 'string' && actual.startsWith(op.prefix);
    if (typeof op.contains === 'string') return typeof actual === 'string' && actual.includes(op.contains);
    return false;
  }
  return asText(actual) === asText(expected);
}

/** Whether `event` starts `schedule` (spec §7.5 "Matching"). */
export function eventMatches(schedule: ScheduleRecord, event: TriggerEvent): boolean {
  if (schedule.kind !== 'event' || !schedule.enabled || schedule.status !== 'active' || !schedule.trigger) return false;
  if (!schedule.trigger.event_types.includes(event.event_type)) return false;
  for (const [path, expected] of Object.entries(schedule.trigger.filters)) {
    const actual = path === 'event_type' ? event.event_type : path === 'source' ? event.source : readPath(event.payload, path);
    if (!filterMatches(actual, expected)) return false;
  }
  return true;
}

/** `manifest.metadata.schedule_dispatch` of a dispatched job (spec §7.4); empty values dropped. */
export interface ScheduleDispatchMeta {
  schedule_id: string;
  schedule_name: string;
  schedule_kind: string;
  dispatch_id: string;
  scheduled_for?: string;
  reason: string;
  payload?: unknown;
  event?: TriggerEvent;
  lease?: { owner: string; epoch: number };
}

/**
 * The manifest a dispatch submits: the archived one with `metadata.schedule_dispatch`, and, when
 * the dispatch carries a payload (the event's, or run-now's), that payload as the one initial
 * input of every entrypoint.
 */
export function dispatchManifest(manifest: Record<string, unknown>, meta: ScheduleDispatchMeta): Record<string, unknown> {
  const clean = Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Record<string, unknown>;
  const metadata = typeof manifest.metadata === 'object' && manifest.metadata !== null && !Array.isArray(manifest.metadata) ? (manifest.metadata as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...manifest, metadata: { ...metadata, schedule_dispatch: clean } };
  if (meta.payload !== undefined && meta.payload !== null) out.initial_inputs = { __entrypoints__: [meta.payload] };
  return out;
}
