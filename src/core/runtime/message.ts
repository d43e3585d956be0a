/**
 * The `mn-msg/1` message (spec §2.1): its typed shape, how raw input (possibly a legacy flat
 * message) becomes one, and how a handler's emitted message inherits from the message it handles.
 * Pure: ids and time are parameters, and child ids are derived by hashing so a redelivered parent
 * yields the same children (the store then deduplicates the resends).
 */
import { createHash } from 'node:crypto';
import type { EmitOptions } from './actions.js';

/** Envelope of an `mn-msg/1` message with its defaults filled in. */
export interface MessageEnvelope {
  spec_version: 'mn-msg/1';
  message_id: string;
  job_id: string;
  from: string;
  to: string;
  type: string;
  class: string;
  timestamp: string;
  correlation_id: string;
  /** Id of the message whose handling produced this one; absent for messages from outside. */
  causation_id?: string;
  attempt: number;
  priority: number;
  /** Time to live in milliseconds; absent means the delivery layer's default. */
  ttl_ms?: number;
  content_type: string;
  content_encoding: string;
}

/** An `mn-msg/1` message (spec §2.1) with the envelope defaults filled in. */
export interface Message {
  envelope: MessageEnvelope;
  headers: Record<string, unknown>;
  body: unknown;
  artifacts: unknown[];
  stream: null;
}

/** The message an entrypoint agent starts with: one of the job's initial inputs, from `runtime`. */
export function initialMessage(args: { jobId: string; to: string; body: unknown; messageId: string; now: number }): Message {
  return {
    envelope: {
      spec_version: 'mn-msg/1',
      message_id: args.messageId,
      job_id: args.jobId,
      from: 'runtime',
      to: args.to,
      type: 'init',
      class: 'event',
      timestamp: new Date(args.now).toISOString(),
      correlation_id: args.messageId,
      attempt: 1,
      priority: 100,
      content_type: 'application/json',
      content_encoding: 'identity',
    },
    headers: {},
    body: args.body,
    artifacts: [],
    stream: null,
  };
}

/** Defaults {@link normaliseMessage} uses for missing or invalid envelope fields. */
export interface MessageDefaults {
  jobId: string;
  /** The target agent id. */
  to: string;
  /** Used as `message_id` and, when absent too, as `correlation_id`. */
  messageId: string;
  /** Epoch milliseconds for a missing `timestamp`. */
  now: number;
}

/** Keys of a legacy flat message that are envelope fields or message parts, never body. */
const ENVELOPE_KEYS = new Set([
  'spec_version', 'message_id', 'job_id', 'from', 'to', 'type', 'class', 'timestamp', 'correlation_id',
  'causation_id', 'attempt', 'priority', 'ttl_ms', 'content_type', 'content_encoding',
]);
const PART_KEYS = new Set(['envelope', 'headers', 'body', 'payload', 'artifacts', 'stream']);
// The largest epoch-ms value a Date accepts; beyond it toISOString throws.
const MAX_DATE_MS = 8.64e15;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** A positive integer, or null for anything else (config and envelope fields). */
export function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

function timestampOf(v: unknown, now: number): string {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_DATE_MS) return new Date(v).toISOString();
  return new Date(Math.abs(now) <= MAX_DATE_MS ? now : 0).toISOString();
}

/**
 * Turns any received value into a {@link Message} (spec §2.1). Accepts the five-part shape and
 * legacy flat messages, whose envelope fields sit at the top level and whose payload is `body`,
 * `payload`, or otherwise the remaining keys. Null or ill-typed envelope fields are replaced by
 * defaults; a value that is not an object becomes the body. Never throws: input comes from agents
 * and users, and a bad message must not stop the agent that reads it.
 */
export function normaliseMessage(raw: unknown, defaults: MessageDefaults): Message {
  const obj = isRecord(raw) ? raw : null;
  const env = obj !== null && isRecord(obj.envelope) ? obj.envelope : obj ?? {};
  let body: unknown;
  if (obj === null) body = raw ?? null;
  else if (obj.body !== undefined) body = obj.body;
  else if (obj.payload !== undefined) body = obj.payload;
  else if (isRecord(obj.envelope)) body = null;
  else {
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (!ENVELOPE_KEYS.has(k) && !PART_KEYS.has(k)) rest[k] = v;
    body = rest;
  }
  const envelope: MessageEnvelope = {
    spec_version: 'mn-msg/1',
    message_id: str(env.message_id) ?? defaults.messageId,
    job_id: str(env.job_id) ?? defaults.jobId,
    from: str(env.from) ?? 'runtime',
    to: str(env.to) ?? defaults.to,
    type: str(env.type) ?? 'command',
    class: str(env.class) ?? 'event',
    timestamp: timestampOf(env.timestamp, defaults.now),
    correlation_id: str(env.correlation_id) ?? defaults.messageId,
    attempt: positiveInt(env.attempt) ?? 1,
    priority: typeof env.priority === 'number' && Number.isFinite(env.priority) ? env.priority : 100,
    content_type: str(env.content_type) ?? 'application/json',
    content_encoding: str(env.content_encoding) ?? 'identity',
  };
  const causation = str(env.causation_id);
  if (causation !== null) envelope.causation_id = causation;
  const ttl = positiveInt(env.ttl_ms);
  if (ttl !== null) envelope.ttl_ms = ttl;
  return {
    envelope,
    headers: obj !== null && isRecord(obj.headers) ? obj.headers : {},
    body,
    artifacts: obj !== null && Array.isArray(obj.artifacts) ? obj.artifacts : [],
    stream: null,
  };
}

/** Arguments of {@link childMessage}. */
export interface ChildMessageArgs {
  /** The message being handled when this one was emitted. */
  parent: Message;
  from: string;
  to: string;
  type: string;
  body: unknown;
  options?: EmitOptions;
  messageId: string;
  now: number;
}

/**
 * A message emitted while handling `parent`: it stays in the parent's conversation
 * (`correlation_id`) and records its cause (`causation_id`), so a trace can be rebuilt from the
 * events. It is a first delivery (`attempt` 1) regardless of the parent's attempt.
 */
export function childMessage(args: ChildMessageArgs): Message {
  const o = args.options ?? {};
  return {
    envelope: {
      spec_version: 'mn-msg/1',
      message_id: args.messageId,
      job_id: args.parent.envelope.job_id,
      from: args.from,
      to: args.to,
      type: args.type,
      class: o.class ?? 'event',
      timestamp: new Date(args.now).toISOString(),
      correlation_id: args.parent.envelope.correlation_id,
      causation_id: args.parent.envelope.message_id,
      attempt: 1,
      priority: o.priority ?? 100,
      content_type: o.content_type ?? 'application/json',
      content_encoding: o.content_encoding ?? 'identity',
    },
    headers: o.headers ?? {},
    body: args.body,
    artifacts: o.artifacts ?? [],
    stream: null,
  };
}

/**
 * Deterministic id of the `index`-th message (0-based) that agent `from` sends to `to` while
 * handling `parentId`. A parent redelivered after a crash makes its handler emit again; equal ids
 * let the store recognise those resends as duplicates instead of delivering them twice. Fields are
 * joined with NUL, which ids never contain, so distinct inputs cannot collide by concatenation.
 */
export function childMessageId(parentId: string, from: string, to: string, index: number): string {
  const hash = createHash('sha256').update(`${parentId}\0${from}\0${to}\0${index}`).digest('hex');
  return `m-${hash.slice(0, 32)}`;
}
