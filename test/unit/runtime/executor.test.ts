import { describe, expect, it } from 'vitest';
import { executorCommand, initialMessage } from '../../../src/core/runtime/executor.js';

describe('executorCommand', () => {
  it('runs argv lists as given and strings only through an explicit shell', () => {
    expect(executorCommand({ command: ['python', 'run.py'] })).toEqual({ ok: true, command: { argv: ['python', 'run.py'], timeoutMs: null } });
    expect(executorCommand({ command: 'echo hi | wc', shell: true, timeout_ms: 500 })).toEqual({ ok: true, command: { argv: ['/bin/sh', '-c', 'echo hi | wc'], timeoutMs: 500 } });
    expect(executorCommand({ command: 'echo hi' })).toMatchObject({ ok: false, message: expect.stringMatching(/config.shell: true/) });
    expect(executorCommand({})).toMatchObject({ ok: false, message: expect.stringMatching(/config.command must be a non-empty list/) });
    expect(executorCommand({ command: ['', 'x'] }).ok).toBe(false);
    expect(executorCommand({ command: ['x', 3] })).toEqual({ ok: true, command: { argv: ['x', '3'], timeoutMs: null } });
    expect(executorCommand({ command: [3, 'x'] }).ok).toBe(false);
    expect(executorCommand({ command: ['x', { a: 1 }] }).ok).toBe(false);
    expect(executorCommand({ command: ['x'], timeout_ms: -1 })).toMatchObject({ ok: false, message: expect.stringMatching(/timeout_ms/) });
  });
});

describe('initialMessage', () => {
  it('fills the mn-msg/1 envelope', () => {
    const m = initialMessage({ jobId: 'j', to: 'a', body: { x: 1 }, messageId: 'm1', now: Date.parse('2026-05-24T10:00:00.000Z') });
    expect(m.envelope).toMatchObject({ spec_version: 'mn-msg/1', message_id: 'm1', job_id: 'j', from: 'runtime', to: 'a', timestamp: '2026-05-24T10:00:00.000Z', attempt: 1, priority: 100, content_type: 'application/json' });
    expect(m.body).toEqual({ x: 1 });
  });
});
