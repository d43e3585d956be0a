import { describe, expect, it } from 'vitest';
import { childMessage, childMessageId, initialMessage, normaliseMessage } from '../../../src/core/runtime/message.js';
import { initialMessage as reExported } from '../../../src/core/runtime/executor.js';

const NOW = Date.parse('2026-05-24T10:00:00.000Z');
const defaults = { jobId: 'j1', to: 'agent-a', messageId: 'm-default', now: NOW };

describe('normaliseMessage', () => {
  it('fills every spec §2.1 default for an empty object', () => {
    const m = normaliseMessage({}, defaults);
    expect(m.envelope).toEqual({
      spec_version: 'mn-msg/1',
      message_id: 'm-default',
      job_id: 'j1',
      from: 'runtime',
      to: 'agent-a',
      type: 'command',
      class: 'event',
      timestamp: '2026-05-24T10:00:00.000Z',
      correlation_id: 'm-default',
      attempt: 1,
      priority: 100,
      content_type: 'application/json',
      content_encoding: 'identity',
    });
    expect(m).toMatchObject({ headers: {}, artifacts: [], stream: null, body: {} });
    expect(m.envelope).not.toHaveProperty('causation_id');
  });

  it('keeps the fields of a five-part message and replaces null ones with defaults', () => {
    const m = normaliseMessage(
      {
        envelope: { message_id: 'm1', from: 'r', to: 'w', type: 'job', class: 'command', correlation_id: 'c1', causation_id: 'm0', attempt: 3, priority: 5, ttl_ms: 1000, job_id: null, timestamp: null, content_type: null },
        headers: { h: 1 },
        body: { x: 1 },
        artifacts: [{ a: 1 }],
      },
      defaults,
    );
    expect(m.envelope).toMatchObject({ message_id: 'm1', from: 'r', to: 'w', type: 'job', class: 'command', correlation_id: 'c1', causation_id: 'm0', attempt: 3, priority: 5, ttl_ms: 1000 });
    expect(m.envelope.job_id).toBe('j1');
    expect(m.envelope.timestamp).toBe('2026-05-24T10:00:00.000Z');
    expect(m.envelope.content_type).toBe('application/json');
    expect(m.headers).toEqual({ h: 1 });
    expect(m.body).toEqual({ x: 1 });
    expect(m.artifacts).toEqual([{ a: 1 }]);
  });

  it('normalises legacy flat messages: body, payload, or the remaining keys', () => {
    expect(normaliseMessage({ type: 't', from: 'x', body: [1, 2] }, defaults)).toMatchObject({ envelope: { type: 't', from: 'x' }, body: [1, 2] });
    expect(normaliseMessage({ type: 't', payload: { p: 1 } }, defaults).body).toEqual({ p: 1 });
    const rest = normaliseMessage({ type: 't', message_id: 'm9', headers: { h: 2 }, score: 7, name: 'n' }, defaults);
    expect(rest.body).toEqual({ score: 7, name: 'n' });
    expect(rest.headers).toEqual({ h: 2 });
    expect(rest.envelope.message_id).toBe('m9');
  });

  it('replaces ill-typed envelope fields and never throws on odd input', () => {
    const m = normaliseMessage({ envelope: { type: 5, attempt: -1, priority: 'high', timestamp: 1e20 }, headers: [], artifacts: 'x' }, defaults);
    expect(m.envelope).toMatchObject({ type: 'command', attempt: 1, priority: 100, timestamp: '2026-05-24T10:00:00.000Z' });
    expect(m.headers).toEqual({});
    expect(m.artifacts).toEqual([]);
    expect(normaliseMessage({ timestamp: 0 }, defaults).envelope.timestamp).toBe('1970-01-01T00:00:00.000Z');
    for (const raw of [null, undefined, 'text', 42, [1, 2], true]) {
      const n = normaliseMessage(raw, defaults);
      expect(n.envelope.message_id).toBe('m-default');
      expect(n.body).toEqual(raw ?? null);
    }
  });
});

describe('childMessage', () => {
  const parent = normaliseMessage({ envelope: { message_id: 'p1', correlation_id: 'c1', attempt: 4, job_id: 'j1' }, body: {} }, defaults);

  it('propagates the correlation id, records the cause and starts at attempt 1 with defaults', () => {
    const m = childMessage({ parent, from: 'a', to: 'b', type: 't', body: { y: 2 }, messageId: 'k1', now: NOW });
    expect(m.envelope).toMatchObject({ message_id: 'k1', job_id: 'j1', from: 'a', to: 'b', type: 't', correlation_id: 'c1', causation_id: 'p1', attempt: 1, class: 'event', priority: 100, content_type: 'application/json', content_encoding: 'identity' });
    expect(m).toMatchObject({ headers: {}, artifacts: [], body: { y: 2 }, stream: null });
  });

  it('takes class, headers, artifacts, content type/encoding and priority from the options', () => {
    const options = { class: 'command', headers: { h: 1 }, artifacts: [{ a: 1 }], content_type: 'text/plain', content_encoding: 'gzip', priority: 7 };
    const m = childMessage({ parent, from: 'a', to: 'b', type: 't', body: null, options, messageId: 'k1', now: NOW });
    expect(m.envelope).toMatchObject({ class: 'command', content_type: 'text/plain', content_encoding: 'gzip', priority: 7 });
    expect(m.headers).toEqual({ h: 1 });
    expect(m.artifacts).toEqual([{ a: 1 }]);
  });
});

describe('childMessageId', () => {
  it('is deterministic and distinct per parent, sender, target and index', () => {
    const id = childMessageId('p1', 'a', 'b', 0);
    expect(id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(childMessageId('p1', 'a', 'b', 0)).toBe(id);
    const others = [childMessageId('p2', 'a', 'b', 0), childMessageId('p1', 'x', 'b', 0), childMessageId('p1', 'a', 'c', 0), childMessageId('p1', 'a', 'b', 1)];
    expect(new Set([id, ...others]).size).toBe(5);
    // Field boundaries matter: ("ab","c") and ("a","bc") must not collide.
    expect(childMessageId('p', 'ab', 'c', 0)).not.toBe(childMessageId('p', 'a', 'bc', 0));
  });
});

describe('executor.ts re-export', () => {
  it('still exports initialMessage', () => {
    expect(reExported).toBe(initialMessage);
  });
});
