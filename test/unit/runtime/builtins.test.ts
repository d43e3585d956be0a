import { describe, expect, it } from 'vitest';
import {
  SENSOR_TICK_TYPE,
  type SensorState,
  aggregatorComplete,
  aggregatorKey,
  aggregatorStep,
  deliveryBackoff,
  executorActions,
  executorAttempts,
  executorRetryDelay,
  isTransient,
  routerHandle,
  sensorHandle,
} from '../../../src/core/runtime/builtins.js';
import { normaliseMessage, type Message } from '../../../src/core/runtime/message.js';

const NOW = Date.parse('2026-05-24T10:00:00.000Z');

function msg(body: unknown, envelope: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Message {
  return normaliseMessage({ envelope: { message_id: 'm1', type: 'job', ...envelope }, body, ...extra }, { jobId: 'j', to: 'x', messageId: 'gen', now: NOW });
}

describe('router', () => {
  const incoming = msg({ v: 1 }, { class: 'command', content_type: 'text/plain', content_encoding: 'gzip' }, { headers: { h: 1 }, artifacts: [{ a: 1 }] });

  it('forwards as the incoming type, copying body, class, headers, artifacts and content type/encoding', () => {
    const r = routerHandle({}, null, incoming);
    expect(r.actions).toEqual([{ kind: 'emit', type: 'job', body: { v: 1 }, options: { class: 'command', headers: { h: 1 }, artifacts: [{ a: 1 }], content_type: 'text/plain', content_encoding: 'gzip' } }]);
    expect(r.state).toEqual({ forwarded: 1 });
    expect(routerHandle({}, r.state, incoming).state).toEqual({ forwarded: 2 });
  });

  it('uses config.emit_type only when it is a non-empty string', () => {
    expect(routerHandle({ emit_type: 'work' }, null, incoming).actions[0]).toMatchObject({ type: 'work' });
    expect(routerHandle({ emit_type: '' }, null, incoming).actions[0]).toMatchObject({ type: 'job' });
    expect(routerHandle({ emit_type: 3 }, null, incoming).actions[0]).toMatchObject({ type: 'job' });
  });
});

describe('aggregator', () => {
  it('keys by body.agent_id (string or number), else by message id', () => {
    expect(aggregatorKey(msg({ agent_id: 'w-1' }))).toBe('agent:w-1');
    expect(aggregatorKey(msg({ agent_id: 7 }))).toBe('agent:7');
    expect(aggregatorKey(msg({ agent_id: { x: 1 } }))).toBe('message:m1');
    expect(aggregatorKey(msg('text', { message_id: 'm9' }))).toBe('message:m9');
  });

  it('records accepted messages and ignores duplicates', () => {
    const m = msg({ agent_id: 'w-0' });
    expect(aggregatorStep({}, { added: true, count: 1 }, m)).toEqual({ actions: [{ kind: 'event', type: 'aggregator_received', payload: { count: 1 } }], complete: false });
    expect(aggregatorStep({}, { added: false, count: 1 }, m)).toEqual({ actions: [{ kind: 'event', type: 'aggregator_duplicate_ignored', payload: { key: 'agent:w-0', count: 1 } }], complete: false });
  });

  it('completes after complete_after messages, idempotently on duplicates, or on every message with complete_on_message', () => {
    const cfg = { complete_after: 3 };
    expect(aggregatorStep(cfg, { added: true, count: 2 }, msg({})).complete).toBe(false);
    expect(aggregatorStep(cfg, { added: true, count: 3 }, msg({})).complete).toBe(true);
    expect(aggregatorStep(cfg, { added: false, count: 3 }, msg({})).complete).toBe(true);
    expect(aggregatorStep({ complete_after: 0 }, { added: true, count: 5 }, msg({})).complete).toBe(false);
    expect(aggregatorStep({ complete_after: 2.5 }, { added: true, count: 5 }, msg({})).complete).toBe(false);
    expect(aggregatorStep({ complete_on_message: true }, { added: true, count: 1 }, msg({})).complete).toBe(true);
    expect(aggregatorStep({ complete_on_message: true }, { added: false, count: 1 }, msg({})).complete).toBe(false);
  });

  it('on completion completes the job by default when there is no output type', () => {
    const last = msg({ n: 2 });
    const result = { messages: [{ n: 1 }, { n: 2 }], count: 2, last_message: { n: 2 } };
    expect(aggregatorComplete({}, [{ n: 1 }, { n: 2 }], last)).toEqual([{ kind: 'complete_job', result }]);
    expect(aggregatorComplete({ output_message_type: '' }, [{ n: 1 }, { n: 2 }], last)).toEqual([{ kind: 'complete_job', result }]);
    expect(aggregatorComplete({ complete_job: false }, [{ n: 1 }, { n: 2 }], last)).toEqual([]);
  });

  it('with an output type emits the result with schema headers and completes only when asked', () => {
    const last = msg({ n: 1 });
    const emitted = { kind: 'emit', type: 'summary', body: { messages: [{ n: 1 }], count: 1, last_message: { n: 1 } }, options: { headers: { schema_ref: 'com.mirrorneuron.aggregator.result', schema_version: '1.0.0' } } };
    expect(aggregatorComplete({ output_message_type: 'summary' }, [{ n: 1 }], last)).toEqual([emitted]);
    expect(aggregatorComplete({ output_message_type: 'summary', complete_job: true }, [{ n: 1 }], last)).toEqual([emitted, { kind: 'complete_job', result: emitted.body }]);
  });
});

describe('sensor', () => {
  it('observes each message, emits sensor_ready with the body and has no timer', () => {
    const r = sensorHandle({}, null, msg({ v: 1 }), NOW);
    expect(r.actions).toEqual([
      { kind: 'event', type: 'sensor_observed', payload: { count: 1 } },
      { kind: 'emit', type: 'sensor_ready', body: { v: 1 } },
    ]);
    expect(r.state).toEqual({ observations: 1 });
    expect(r.nextTickAt).toBeNull();
    expect(sensorHandle({}, r.state, msg({}), NOW).state.observations).toBe(2);
  });

  it('honours output_message_type, and explicit null emits nothing', () => {
    expect(sensorHandle({ output_message_type: 'seen' }, null, msg(1), NOW).actions[1]).toEqual({ kind: 'emit', type: 'seen', body: 1 });
    expect(sensorHandle({ output_message_type: null }, null, msg(1), NOW).actions.map((a) => a.kind)).toEqual(['event']);
  });

  it('completes the job at complete_after observations only with complete_job: true', () => {
    const cfg = { complete_job: true, complete_after: 2 };
    const first = sensorHandle(cfg, null, msg({ n: 1 }), NOW);
    expect(first.actions.some((a) => a.kind === 'complete_job')).toBe(false);
    const second = sensorHandle(cfg, first.state, msg({ n: 2 }), NOW);
    expect(second.actions.at(-1)).toEqual({ kind: 'complete_job', result: { count: 2, last_message: { n: 2 } } });
    // Default complete_after is 1; without complete_job nothing completes.
    expect(sensorHandle({ complete_job: true }, null, msg(0), NOW).actions.at(-1)).toMatchObject({ kind: 'complete_job' });
    expect(sensorHandle({ complete_after: 1 }, null, msg(0), NOW).actions.some((a) => a.kind === 'complete_job')).toBe(false);
  });

  it('interval mode: arms a timer on the first message, ticks observe {tick, at}, stops at max_ticks', () => {
    const cfg = { interval_ms: 1000, max_ticks: 3 };
    const tick = msg(null, { type: SENSOR_TICK_TYPE, from: 'runtime' });
    const a = sensorHandle(cfg, null, msg({ start: true }), NOW);
    expect(a.nextTickAt).toBe(NOW + 1000);
    expect(a.actions[1]).toEqual({ kind: 'emit', type: 'sensor_ready', body: { start: true } });
    // An external message while a tick is pending keeps the pending tick time.
    const ext = sensorHandle(cfg, a.state, msg({}), NOW + 400);
    expect(ext.nextTickAt).toBe(NOW + 1000);
    const b = sensorHandle(cfg, { observations: 1, next_tick_at: NOW + 1000 }, tick, NOW + 1000);
    expect(b.actions[1]).toEqual({ kind: 'emit', type: 'sensor_ready', body: { tick: 2, at: '2026-05-24T10:00:01.000Z' } });
    expect(b.nextTickAt).toBe(NOW + 2000);
    const c = sensorHandle(cfg, b.state, tick, NOW + 2000);
    expect(c.state.observations).toBe(3);
    expect(c.nextTickAt).toBeNull();
    // A tick after the timer stopped observes nothing.
    const late = sensorHandle(cfg, c.state, tick, NOW + 3000);
    expect(late).toEqual({ actions: [], state: c.state, nextTickAt: null });
  });

  it('interval mode stops once complete_after is reached with complete_job', () => {
    const cfg = { interval_ms: 500, complete_after: 2, complete_job: true };
    const tick = msg(null, { type: SENSOR_TICK_TYPE });
    const a = sensorHandle(cfg, null, msg({}), NOW);
    expect(a.nextTickAt).toBe(NOW + 500);
    const b = sensorHandle(cfg, a.state, tick, NOW + 500);
    expect(b.actions.at(-1)).toEqual({ kind: 'complete_job', result: { count: 2, last_message: { tick: 2, at: '2026-05-24T10:00:00.500Z' } } });
    expect(b.nextTickAt).toBeNull();
    // Without a limit the timer keeps going.
    let state: SensorState | null = null;
    for (let i = 0; i < 5; i++) {
      const r = sensorHandle({ interval_ms: 10 }, state, i === 0 ? msg({}) : tick, NOW + i * 10);
      expect(r.nextTickAt).toBe(NOW + i * 10 + 10);
      state = r.state;
    }
  });

  it('treats mn.tick as an ordinary message when not in interval mode', () => {
    const r = sensorHandle({}, null, msg({ b: 1 }, { type: SENSOR_TICK_TYPE }), NOW);
    expect(r.actions[1]).toEqual({ kind: 'emit', type: 'sensor_ready', body: { b: 1 } });
    expect(r.nextTickAt).toBeNull();
  });
});

describe('executorActions', () => {
  const input = msg({ task: 1 });
  const run = (stdout: string) => ({ exit_code: 0, stdout, stderr: 'warn', attempts: 2, duration_ms: 15 });
  const defaultBody = (stdout: string) => ({ agent_id: 'w-0', sandbox: { exit_code: 0, stdout, stderr: 'warn', attempts: 2, duration_ms: 15 }, input: { task: 1 } });
  const headers = { schema_ref: 'com.mirrorneuron.executor.result', schema_version: '1.0.0' };

  it('plain stdout: emits executor_result with the sandbox result and logs every line', () => {
    const r = executorActions({}, 'w-0', input, run('hello\n\nworld\n'));
    expect(r.actions).toEqual([{ kind: 'emit', type: 'executor_result', body: defaultBody('hello\n\nworld\n'), options: { headers } }]);
    expect(r.stdoutLogLines).toEqual(['hello', 'world']);
    expect(r.warning).toBeNull();
  });

  it('honours output_message_type (null = no emit) and complete_job', () => {
    expect(executorActions({ output_message_type: 'done' }, 'w-0', input, run('x')).actions[0]).toMatchObject({ kind: 'emit', type: 'done' });
    expect(executorActions({ output_message_type: null }, 'w-0', input, run('x')).actions).toEqual([]);
    expect(executorActions({ output_message_type: null, complete_job: true }, 'w-0', input, run('x')).actions).toEqual([{ kind: 'complete_job', result: defaultBody('x') }]);
    expect(executorActions({ complete_job: true }, 'w-0', input, run('x')).actions.map((a) => a.kind)).toEqual(['emit', 'complete_job']);
  });

  it('structured stdout replaces the default result; only lines before the JSON are logged', () => {
    const out = 'step 1\nstep 2\n{"emit_messages":[{"type":"next","body":{"k":1}}],"next_state":{"n":1}}\n';
    const r = executorActions({ complete_job: true }, 'w-0', input, run(out));
    expect(r.actions).toEqual([{ kind: 'emit', type: 'next', body: { k: 1 } }, { kind: 'next_state', state: { n: 1 } }]);
    expect(r.stdoutLogLines).toEqual(['step 1', 'step 2']);
    expect(r.warning).toBeNull();
  });

  it('malformed structured stdout falls back to the default result with a warning', () => {
    const out = 'log\n{"emit_messages": [{"body": 1}]}';
    const r = executorActions({}, 'w-0', input, run(out));
    expect(r.actions).toEqual([{ kind: 'emit', type: 'executor_result', body: defaultBody(out), options: { headers } }]);
    expect(r.stdoutLogLines).toEqual(['log', '{"emit_messages": [{"body": 1}]}']);
    expect(r.warning).toMatch(/emit_messages\[0\]\.type must be a non-empty string/);
  });
});

describe('retries and backoff', () => {
  it('recognises transient markers case-insensitively', () => {
    expect(isTransient('grpc: Status: UNKNOWN, h2 protocol error')).toBe(true);
    expect(isTransient('Connection Refused (os error 111)')).toBe(true);
    expect(isTransient('request TIMED OUT')).toBe(true);
    expect(isTransient('service unavailable')).toBe(true);
    expect(isTransient('tls close_notify missing')).toBe(true);
    expect(isTransient('ValueError: bad input')).toBe(false);
    expect(isTransient('')).toBe(false);
  });

  it('reads max_attempts and retry_backoff_ms with defaults', () => {
    expect(executorAttempts({})).toBe(1);
    expect(executorAttempts({ max_attempts: 4 })).toBe(4);
    expect(executorAttempts({ max_attempts: 0 })).toBe(1);
    expect(executorAttempts({ max_attempts: '3' })).toBe(1);
    expect([1, 2, 3, 4].map((a) => executorRetryDelay({}, a))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3].map((a) => executorRetryDelay({ retry_backoff_ms: 100 }, a))).toEqual([100, 200, 400]);
    expect(executorRetryDelay({ retry_backoff_ms: -5 }, 1)).toBe(500);
  });

  it('delivery backoff doubles from 500 ms, caps at 30 s and jitters by ±20 %', () => {
    expect([1, 2, 3, 4].map((a) => deliveryBackoff(a, 0.5))).toEqual([500, 1000, 2000, 4000]);
    expect(deliveryBackoff(7, 0.5)).toBe(30_000);
    expect(deliveryBackoff(20, 0.5)).toBe(30_000);
    expect(deliveryBackoff(1, 0)).toBe(400);
    expect(deliveryBackoff(1, 1)).toBe(600);
    expect(deliveryBackoff(10, 0)).toBe(24_000);
    expect(deliveryBackoff(10, 0.999)).toBeLessThanOrEqual(36_000);
  });
});
