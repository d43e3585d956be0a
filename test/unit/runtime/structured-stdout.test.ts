import { describe, expect, it } from 'vitest';
import { parseStructuredStdout } from '../../../src/core/runtime/builtins.js';

const reason = (stdout: string): string => {
  const r = parseStructuredStdout(stdout);
  expect(r.kind).toBe('malformed');
  return r.kind === 'malformed' ? r.reason : '';
};

describe('parseStructuredStdout: plain output', () => {
  it('treats empty text, ordinary lines and JSON without control keys as plain', () => {
    for (const out of ['', '  \n', 'hello\nworld', '{"result": 42}', 'log\n{"ok": true}', '[1,2,3]', '{not json at all', 'x\n{"broken": ']) {
      expect(parseStructuredStdout(out)).toEqual({ kind: 'plain' });
    }
  });
  it('only looks at the whole text or the last non-empty line', () => {
    expect(parseStructuredStdout('started\n{"events": []}\nfinished')).toEqual({ kind: 'plain' });
    // Text that starts as a structured object but goes on is a mistake worth a warning.
    expect(reason('{"events": []}\nfinished')).toMatch(/stdout is not valid JSON/);
  });
});

describe('parseStructuredStdout: structured output', () => {
  it('reads a whole (multi-line) JSON object', () => {
    const out = JSON.stringify({ events: [{ type: 'progress', payload: { pct: 50 } }], next_state: { step: 2 } }, null, 2);
    expect(parseStructuredStdout(out)).toEqual({
      kind: 'structured',
      actions: [{ kind: 'event', type: 'progress', payload: { pct: 50 } }, { kind: 'next_state', state: { step: 2 } }],
      plainLines: [],
    });
  });

  it('reads the last non-empty line and keeps the lines before it as plain lines', () => {
    const out = 'loading\n\nworking\n{"complete_job": {"answer": 42}}\n\n';
    expect(parseStructuredStdout(out)).toEqual({ kind: 'structured', actions: [{ kind: 'complete_job', result: { answer: 42 } }], plainLines: ['loading', 'working'] });
  });

  it('maps emit_messages to emit / emit_to with body, payload or body_base64 and envelope options', () => {
    const out = JSON.stringify({
      emit_messages: [
        { type: 'a', body: { x: 1 } },
        { type: 'b', to: 'agg', payload: [1], class: 'command', headers: { h: 1 } },
        { type: 'c', body_base64: Buffer.from('hi!').toString('base64') },
        { type: 'd', priority: 5, content_type: 'text/plain', artifacts: [{ u: 1 }] },
      ],
    });
    const r = parseStructuredStdout(out);
    expect(r.kind).toBe('structured');
    if (r.kind !== 'structured') return;
    expect(r.actions[0]).toEqual({ kind: 'emit', type: 'a', body: { x: 1 } });
    expect(r.actions[1]).toEqual({ kind: 'emit_to', to: 'agg', type: 'b', body: [1], options: { class: 'command', headers: { h: 1 } } });
    expect(r.actions[2]).toMatchObject({ kind: 'emit', type: 'c', options: { content_type: 'application/octet-stream' } });
    const bytes = (r.actions[2] as { body: unknown }).body;
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes as Uint8Array).toString()).toBe('hi!');
    expect(r.actions[3]).toEqual({ kind: 'emit', type: 'd', body: null, options: { priority: 5, content_type: 'text/plain', artifacts: [{ u: 1 }] } });
  });

  it('complete_job? true completes with a null result; complete_job: false does not complete', () => {
    expect(parseStructuredStdout('{"complete_job?": true}')).toEqual({ kind: 'structured', actions: [{ kind: 'complete_job', result: null }], plainLines: [] });
    expect(parseStructuredStdout('{"complete_job?": false}')).toEqual({ kind: 'structured', actions: [], plainLines: [] });
    expect(parseStructuredStdout('{"complete_job": false, "next_state": 1}')).toEqual({ kind: 'structured', actions: [{ kind: 'next_state', state: 1 }], plainLines: [] });
    expect(parseStructuredStdout('{"complete_job": null}')).toEqual({ kind: 'structured', actions: [{ kind: 'complete_job', result: null }], plainLines: [] });
  });

  it('orders actions: emits, events, next_state, complete_job', () => {
    const r = parseStructuredStdout('{"complete_job": 1, "next_state": 2, "events": [{"type": "e"}], "emit_messages": [{"type": "m"}]}');
    expect(r.kind === 'structured' && r.actions.map((a) => a.kind)).toEqual(['emit', 'event', 'next_state', 'complete_job']);
  });
});

describe('parseStructuredStdout: malformed output names the field', () => {
  it('invalid JSON that was meant to be structured', () => {
    expect(reason('progress\n{"emit_messages": [')).toMatch(/last line of stdout is not valid JSON/);
    expect(reason('{\n  "events": [\n  {"type": "x"\n}')).toMatch(/stdout is not valid JSON/);
  });

  it('wrong field types', () => {
    expect(reason('{"emit_messages": {"type": "x"}}')).toBe('emit_messages must be a list');
    expect(reason('{"emit_messages": [{"type": "a"}, {"type": "b"}, {"type": ""}]}')).toBe('emit_messages[2].type must be a non-empty string');
    expect(reason('{"emit_messages": [7]}')).toBe('emit_messages[0] must be an object');
    expect(reason('{"emit_messages": [{"type": "a", "to": 5}]}')).toBe('emit_messages[0].to must be a non-empty string');
    expect(reason('{"emit_messages": [{"type": "a", "headers": []}]}')).toBe('emit_messages[0].headers must be an object');
    expect(reason('{"emit_messages": [{"type": "a", "class": 1}]}')).toBe('emit_messages[0].class must be a non-empty string');
    expect(reason('{"emit_messages": [{"type": "a", "body_base64": "@@@"}]}')).toBe('emit_messages[0].body_base64 must be base64 text');
    expect(reason('{"events": "x"}')).toBe('events must be a list');
    expect(reason('{"events": [{"payload": {}}]}')).toBe('events[0].type must be a non-empty string');
    expect(reason('{"events": [{"type": "e", "payload": [1]}]}')).toBe('events[0].payload must be an object');
    expect(reason('{"complete_job?": "yes"}')).toBe('complete_job? must be a boolean');
  });
});
