/**
 * Pure handlers of the built-in agents (spec §2.4): router, aggregator, sensor and the result side
 * of the executor. Each takes its config, its persisted state and the message, and returns
 * {@link AgentAction}s; the runtime shell owns the store, timers and child processes. Handlers
 * never throw on bad config: a value of the wrong type falls back to its documented default.
 */
import type { AgentAction, EmitOptions } from './actions.js';
import { positiveInt, type Message } from './message.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * `config.output_message_type` of an agent that emits by default: a non-empty string is used,
 * an explicit `null` turns emitting off, anything else means the default.
 */
function outputType(config: Record<string, unknown>, fallback: string): string | null {
  if (config.output_message_type === null) return null;
  return nonEmptyString(config.output_message_type) ?? fallback;
}

// ---------------------------------------------------------------------------------------------
// router

/** Persisted state of a router. */
export interface RouterState {
  forwarded: number;
}

/**
 * Router (spec §2.4): forwards every message along its node's edges as `config.emit_type` (when a
 * non-empty string) or the incoming type, keeping body, class, headers, artifacts and content
 * type/encoding, so a router is transparent to the agents behind it.
 */
export function routerHandle(config: Record<string, unknown>, state: RouterState | null, msg: Message): { actions: AgentAction[]; state: RouterState } {
  const type = nonEmptyString(config.emit_type) ?? msg.envelope.type;
  const options: EmitOptions = {
    class: msg.envelope.class,
    headers: msg.headers,
    artifacts: msg.artifacts,
    content_type: msg.envelope.content_type,
    content_encoding: msg.envelope.content_encoding,
  };
  return { actions: [{ kind: 'emit', type, body: msg.body, options }], state: { forwarded: (state?.forwarded ?? 0) + 1 } };
}

// ---------------------------------------------------------------------------------------------
// aggregator

/** Header values of an aggregator's result message. */
export const AGGREGATOR_RESULT_HEADERS: Readonly<Record<string, string>> = Object.freeze({ schema_ref: 'com.mirrorneuron.aggregator.result', schema_version: '1.0.0' });

/**
 * The dedupe key of a message an aggregator receives: `agent:<body.agent_id>` when the body names
 * its producing agent (a producer that restarts and re-emits counts once), else the message id
 * (a redelivered message counts once).
 */
export function aggregatorKey(msg: Message): string {
  const body = msg.body;
  if (isRecord(body) && (typeof body.agent_id === 'string' || typeof body.agent_id === 'number')) return `agent:${body.agent_id}`;
  return `message:${msg.envelope.message_id}`;
}

/**
 * One aggregator step, after the caller added `msg` under {@link aggregatorKey} to the collection
 * in the store (`seen.added` false when the key was already there; `seen.count` the collection
 * size afterwards). `complete` tells the caller to read the collection and call
 * {@link aggregatorComplete}. A duplicate can also report `complete` once `complete_after` is
 * reached: completion is idempotent downstream, and this lets a crash between collecting and
 * completing be finished by a redelivery.
 */
export function aggregatorStep(config: Record<string, unknown>, seen: { added: boolean; count: number }, msg: Message): { actions: AgentAction[]; complete: boolean } {
  const after = positiveInt(config.complete_after);
  const reached = after !== null && seen.count >= after;
  if (!seen.added) {
    return { actions: [{ kind: 'event', type: 'aggregator_duplicate_ignored', payload: { key: aggregatorKey(msg), count: seen.count } }], complete: reached };
  }
  return {
    actions: [{ kind: 'event', type: 'aggregator_received', payload: { count: seen.count } }],
    complete: config.complete_on_message === true || reached,
  };
}

/**
 * What a completing aggregator does with its collection (`messages`, the collected bodies in
 * arrival order): result `{messages, count, last_message}`, emitted as
 * `config.output_message_type` when that is a non-empty string, and a `complete_job` when
 * `config.complete_job` is true — by default exactly when there is no output type, since an
 * aggregator that sends nothing onward is the job's sink.
 */
export function aggregatorComplete(config: Record<string, unknown>, messages: unknown[], last: Message): AgentAction[] {
  const result = { messages, count: messages.length, last_message: last.body };
  const type = nonEmptyString(config.output_message_type);
  const completeJob = typeof config.complete_job === 'boolean' ? config.complete_job : type === null;
  const actions: AgentAction[] = [];
  if (type !== null) actions.push({ kind: 'emit', type, body: result, options: { headers: { ...AGGREGATOR_RESULT_HEADERS } } });
  if (completeJob) actions.push({ kind: 'complete_job', result });
  return actions;
}

// ---------------------------------------------------------------------------------------------
// sensor

/** Message type of the timer messages the runtime sends to an interval sensor itself. */
export const SENSOR_TICK_TYPE = 'mn.tick';

/** Persisted state of a sensor. */
export interface SensorState {
  observations: number;
  /**
   * When the next tick is due (epoch ms), or null once the timer stopped; absent before the
   * first message. Kept so that external messages do not push a pending tick back and a tick
   * that arrives after the timer stopped is ignored.
   */
  next_tick_at?: number | null;
}

/** Result of {@link sensorHandle}. */
export interface SensorResult {
  actions: AgentAction[];
  state: SensorState;
  /** When the runtime should deliver the next `mn.tick` (replacing any pending timer); null for none. */
  nextTickAt: number | null;
}

/**
 * Sensor (spec §2.4): each observation increments `observations`, records `sensor_observed`,
 * emits `config.output_message_type` (default `sensor_ready`, `null` for none) with the observed
 * body, and completes the job with `{count, last_message}` once `complete_after` (default 1)
 * observations are reached and `config.complete_job` is true.
 *
 * Interval mode (`config.interval_ms` a positive integer): the first message starts a timer and
 * every `mn.tick` observes `{tick, at}` and re-arms it, until `config.max_ticks` observations or
 * completion. `now` is the handling time in epoch ms.
 */
export function sensorHandle(config: Record<string, unknown>, state: SensorState | null, msg: Message, now: number): SensorResult {
  const interval = positiveInt(config.interval_ms);
  const isTick = interval !== null && msg.envelope.type === SENSOR_TICK_TYPE;
  if (isTick && state !== null && state.next_tick_at === null) {
    // A timer that fired after the sensor finished (or a duplicate tick delivery): nothing to observe.
    return { actions: [], state, nextTickAt: null };
  }
  const count = (state?.observations ?? 0) + 1;
  const body = isTick ? { tick: count, at: new Date(now).toISOString() } : msg.body;
  const actions: AgentAction[] = [{ kind: 'event', type: 'sensor_observed', payload: { count } }];
  const type = outputType(config, 'sensor_ready');
  if (type !== null) actions.push({ kind: 'emit', type, body });
  const completes = config.complete_job === true && count >= (positiveInt(config.complete_after) ?? 1);
  if (completes) actions.push({ kind: 'complete_job', result: { count, last_message: body } });

  let nextTickAt: number | null = null;
  if (interval !== null) {
    const maxTicks = positiveInt(config.max_ticks);
    const stopped = completes || (maxTicks !== null && count >= maxTicks);
    const pending = state?.next_tick_at;
    // Ticks and the first message (re)arm the timer; a later external message keeps the pending one.
    if (!stopped) nextTickAt = isTick || pending === undefined || pending === null ? now + interval : pending;
  }
  const next: SensorState = interval === null ? { observations: count } : { observations: count, next_tick_at: nextTickAt };
  return { actions, state: next, nextTickAt };
}

// ---------------------------------------------------------------------------------------------
// executor

/** Header values of an executor's default result message. */
export const EXECUTOR_RESULT_HEADERS: Readonly<Record<string, string>> = Object.freeze({ schema_ref: 'com.mirrorneuron.executor.result', schema_version: '1.0.0' });

/** Keys whose presence makes a JSON object on stdout a structured result (spec §2.4). */
export const STRUCTURED_KEYS: readonly string[] = ['emit_messages', 'events', 'next_state', 'complete_job', 'complete_job?'];

/** How an executor's stdout reads (see {@link parseStructuredStdout}). */
export type StructuredStdout =
  | { kind: 'plain' }
  /** `plainLines`: the non-empty lines before the final JSON line, which are ordinary output. */
  | { kind: 'structured'; actions: AgentAction[]; plainLines: string[] }
  | { kind: 'malformed'; reason: string };

const MENTIONS_KEY = /emit_messages|events|next_state|complete_job/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function hasStructuredKey(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && STRUCTURED_KEYS.some((k) => Object.hasOwn(v, k));
}

/**
 * Reads an executor's stdout (spec §2.4). It is structured when the whole trimmed text, or its
 * last non-empty line, is a JSON object with at least one of {@link STRUCTURED_KEYS}; a script
 * may print progress lines before that final line. It is malformed when such an object was
 * evidently intended (text starting with `{` that mentions a key) but is not valid JSON, or its
 * fields have the wrong types; the reason names the field. Anything else is plain output.
 */
export function parseStructuredStdout(stdout: string): StructuredStdout {
  const trimmed = stdout.trim();
  if (trimmed === '') return { kind: 'plain' };
  const whole = trimmed.startsWith('{') ? tryParse(trimmed) : null;
  if (whole?.ok) return hasStructuredKey(whole.value) ? interpret(whole.value, []) : { kind: 'plain' };

  const lines = stdout.split(/\r?\n/);
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  const line = lines[last]!.trim();
  if (line.startsWith('{')) {
    const parsed = tryParse(line);
    if (parsed.ok) {
      if (!hasStructuredKey(parsed.value)) return { kind: 'plain' };
      const plainLines = lines.slice(0, last).filter((l) => l.trim() !== '');
      return interpret(parsed.value, plainLines);
    }
    if (MENTIONS_KEY.test(line)) return { kind: 'malformed', reason: `last line of stdout is not valid JSON: ${parsed.message}` };
  }
  if (whole !== null && !whole.ok && MENTIONS_KEY.test(trimmed)) return { kind: 'malformed', reason: `stdout is not valid JSON: ${whole.message}` };
  return { kind: 'plain' };
}

class Malformed extends Error {}

function fail(reason: string): never {
  throw new Malformed(reason);
}

function interpret(o: Record<string, unknown>, plainLines: string[]): StructuredStdout {
  try {
    return { kind: 'structured', actions: structuredActions(o), plainLines };
  } catch (err) {
    if (err instanceof Malformed) return { kind: 'malformed', reason: err.message };
    throw err;
  }
}

function structuredActions(o: Record<string, unknown>): AgentAction[] {
  const actions: AgentAction[] = [];
  const emits = o.emit_messages;
  if (emits !== undefined && emits !== null) {
    if (!Array.isArray(emits)) fail('emit_messages must be a list');
    emits.forEach((item, i) => actions.push(emitAction(item, `emit_messages[${i}]`)));
  }
  const events = o.events;
  if (events !== undefined && events !== null) {
    if (!Array.isArray(events)) fail('events must be a list');
    events.forEach((item, i) => {
      const p = `events[${i}]`;
      if (!isRecord(item)) fail(`${p} must be an object`);
      const type = nonEmptyString(item.type) ?? fail(`${p}.type must be a non-empty string`);
      const payload = item.payload ?? {};
      if (!isRecord(payload)) fail(`${p}.payload must be an object`);
      actions.push({ kind: 'event', type, payload });
    });
  }
  if (Object.hasOwn(o, 'next_state')) actions.push({ kind: 'next_state', state: o.next_state });
  const question = o['complete_job?'];
  if (question !== undefined && typeof question !== 'boolean') fail('complete_job? must be a boolean');
  // `complete_job: false` reads as "do not complete", not as a result of `false`.
  if (o.complete_job !== undefined && o.complete_job !== false) actions.push({ kind: 'complete_job', result: o.complete_job });
  else if (question === true) actions.push({ kind: 'complete_job', result: null });
  return actions;
}

function emitAction(item: unknown, p: string): AgentAction {
  if (!isRecord(item)) fail(`${p} must be an object`);
  const type = nonEmptyString(item.type) ?? fail(`${p}.type must be a non-empty string`);
  const to = item.to === undefined || item.to === null ? null : (nonEmptyString(item.to) ?? fail(`${p}.to must be a non-empty string`));
  const options: EmitOptions = {};
  const optString = (key: 'class' | 'content_type' | 'content_encoding'): void => {
    const v = item[key];
    if (v === undefined || v === null) return;
    options[key] = nonEmptyString(v) ?? fail(`${p}.${key} must be a non-empty string`);
  };
  optString('class');
  optString('content_type');
  optString('content_encoding');
  if (item.headers !== undefined && item.headers !== null) options.headers = isRecord(item.headers) ? item.headers : fail(`${p}.headers must be an object`);
  if (item.artifacts !== undefined && item.artifacts !== null) options.artifacts = Array.isArray(item.artifacts) ? item.artifacts : fail(`${p}.artifacts must be a list`);
  if (item.priority !== undefined && item.priority !== null) {
    options.priority = typeof item.priority === 'number' && Number.isFinite(item.priority) ? item.priority : fail(`${p}.priority must be a number`);
  }
  let body: unknown;
  if (item.body !== undefined) body = item.body;
  else if (item.payload !== undefined) body = item.payload;
  else if (item.body_base64 !== undefined && item.body_base64 !== null) {
    const text = typeof item.body_base64 === 'string' ? item.body_base64.replace(/\s+/g, '') : fail(`${p}.body_base64 must be a string`);
    if (text.length % 4 !== 0 || !BASE64.test(text)) fail(`${p}.body_base64 must be base64 text`);
    // Bytes are the body of an octet-stream message (spec §2.1); say so unless the item did.
    body = new Uint8Array(Buffer.from(text, 'base64'));
    options.content_type ??= 'application/octet-stream';
  } else body = null;
  const opts = Object.keys(options).length > 0 ? { options } : {};
  return to === null ? { kind: 'emit', type, body, ...opts } : { kind: 'emit_to', to, type, body, ...opts };
}

/** Outcome of one executor run, as the shell measured it. */
export interface ExecutorRun {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Attempts used, counting the successful one. */
  attempts: number;
  duration_ms: number;
}

/** Result of {@link executorActions}. */
export interface ExecutorOutcome {
  actions: AgentAction[];
  /**
   * The stdout lines to keep as plain log lines (non-empty lines): all of them for plain or
   * malformed output, only those before the final JSON line for structured output, whose
   * content is already carried by the actions.
   */
  stdoutLogLines: string[];
  /** Why structured stdout was ignored, for a warning event; null when nothing is wrong. */
  warning: string | null;
}

/**
 * The actions of a finished executor run (spec §2.4); the caller decides failure and retries
 * before calling this. Structured stdout replaces the default result. Otherwise the default
 * result `{agent_id, sandbox: {exit_code, stdout, stderr, attempts, duration_ms}, input}` is
 * emitted as `config.output_message_type` (default `executor_result`, `null` for none) and, with
 * `config.complete_job: true`, also completes the job. Malformed structured stdout falls back to
 * the default and reports why, so a typo in a script's output is visible rather than silent.
 */
export function executorActions(config: Record<string, unknown>, agentId: string, input: Message, run: ExecutorRun): ExecutorOutcome {
  const parsed = parseStructuredStdout(run.stdout);
  if (parsed.kind === 'structured') return { actions: parsed.actions, stdoutLogLines: parsed.plainLines, warning: null };
  const body = {
    agent_id: agentId,
    sandbox: { exit_code: run.exit_code, stdout: run.stdout, stderr: run.stderr, attempts: run.attempts, duration_ms: run.duration_ms },
    input: input.body,
  };
  const actions: AgentAction[] = [];
  const type = outputType(config, 'executor_result');
  if (type !== null) actions.push({ kind: 'emit', type, body, options: { headers: { ...EXECUTOR_RESULT_HEADERS } } });
  if (config.complete_job === true) actions.push({ kind: 'complete_job', result: body });
  return {
    actions,
    stdoutLogLines: run.stdout.split(/\r?\n/).filter((l) => l.trim() !== ''),
    warning: parsed.kind === 'malformed' ? `structured stdout ignored: ${parsed.reason}` : null,
  };
}

// ---------------------------------------------------------------------------------------------
// retries

/** Error text fragments that mark an executor failure as transient and worth retrying (spec §2.4). */
export const TRANSIENT_MARKERS: readonly string[] = Object.freeze([
  'h2 protocol error',
  'peer closed connection',
  'status: Unknown',
  'error reading a body from connection',
  'TLS close_notify',
  'transport error',
  'connection reset',
  'connection refused',
  'timed out',
  'deadline exceeded',
  'unavailable',
]);
const TRANSIENT_LOWER = TRANSIENT_MARKERS.map((m) => m.toLowerCase());

/** Whether an error text contains a transient marker (case-insensitive). */
export function isTransient(text: string): boolean {
  const lower = text.toLowerCase();
  return TRANSIENT_LOWER.some((m) => lower.includes(m));
}

/** How many times an executor runs one message: `config.max_attempts` (positive integer), default 1. */
export function executorAttempts(config: Record<string, unknown>): number {
  return positiveInt(config.max_attempts) ?? 1;
}

/**
 * Milliseconds to wait after failed attempt `attempt` (1-based) before the next one:
 * `config.retry_backoff_ms` (non-negative integer, default 500) × 2^(attempt−1).
 */
export function executorRetryDelay(config: Record<string, unknown>, attempt: number): number {
  const raw = config.retry_backoff_ms;
  const base = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? raw : 500;
  return base * 2 ** (Math.max(1, Math.floor(attempt)) - 1);
}

/** Upper bound of a redelivery backoff before jitter (spec §2.3). */
export const DELIVERY_BACKOFF_CAP_MS = 30_000;

/**
 * Milliseconds before redelivery attempt `attempt` + 1 of a message (spec §2.3):
 * min(500 × 2^(attempt−1), 30000) with ±20 % jitter. `random` in [0, 1) is the caller's random
 * draw, so the function stays deterministic and testable.
 */
export function deliveryBackoff(attempt: number, random: number): number {
  const base = Math.min(500 * 2 ** (Math.max(1, Math.floor(attempt)) - 1), DELIVERY_BACKOFF_CAP_MS);
  const r = Math.min(1, Math.max(0, Number.isFinite(random) ? random : 0.5));
  return Math.round(base * (0.8 + 0.4 * r));
}
