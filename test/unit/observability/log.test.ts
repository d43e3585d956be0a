import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MnError } from '../../../src/core/errors.js';
import { createLogger, errorFields, formatLogLine, lineLogger } from '../../../src/observability/log.js';

/** A stream that keeps what was written. */
function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _e, done) { text += chunk.toString('utf8'); done(); } });
  return { stream, text: () => text };
}

describe('structured logs', () => {
  it('writes one JSON object a line with level, time, node and the fields given, dropping lines below the level', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', node: 'gpu-a@lab', stream: out.stream, pretty: false, color: false });
    logger.info({ job_id: 'j1', agent_id: 'worker-3' }, 'agent started');
    logger.debug('not shown at info');
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'info', node: 'gpu-a@lab', job_id: 'j1', agent_id: 'worker-3', msg: 'agent started' });
    expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('formats pretty lines for a terminal: time, level, node, message, then key=value', () => {
    const line = JSON.stringify({ level: 'warn', time: '2026-12-03T10:11:12.345Z', node: 'a@lab', msg: 'lease lost', job_id: 'j1', attempt: 2, detail: { x: 1 } });
    expect(formatLogLine(line, { color: false })).toBe('10:11:12.345 WARN  [a@lab] lease lost job_id=j1 attempt=2 detail={"x":1}');
    expect(formatLogLine(line, { color: false, time: false })).toBe('WARN  [a@lab] lease lost job_id=j1 attempt=2 detail={"x":1}');
    const coloured = formatLogLine(line, { color: true });
    expect(coloured).toContain('\x1b[33mWARN \x1b[0m');
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe('10:11:12.345 WARN  [a@lab] lease lost job_id=j1 attempt=2 detail={"x":1}');
  });

  it("puts an error's stack under the line, and passes anything that is not a JSON object through unchanged", () => {
    const line = JSON.stringify({ level: 'error', node: 'n', msg: 'boom', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' } });
    expect(formatLogLine(line, { color: false })).toBe('ERROR [n] boom\n    Error: boom\n        at f (x.js:1:1)');
    expect(formatLogLine('plain text', { color: false })).toBe('plain text');
    expect(formatLogLine('[1,2]', { color: false })).toBe('[1,2]');
    expect(formatLogLine('{"unterminated', { color: false })).toBe('{"unterminated');
  });

  it('takes the job, agent and code of an MnError into the log fields', () => {
    const fields = errorFields(new MnError('MN_E_FENCED', 'stale', { details: { job_id: 'j9', agent_id: 'a', node: 'b@lab' } }));
    expect(fields).toMatchObject({ job_id: 'j9', agent_id: 'a', target_node: 'b@lab', code: 'MN_E_FENCED' });
    expect(fields.err).toBeInstanceOf(Error);
    expect(errorFields('text').err).toEqual(new Error('text'));
  });

  it('adapts a line sink: each record is one readable line', () => {
    const lines: string[] = [];
    const logger = lineLogger('n@lab', (l) => lines.push(l));
    logger.info({ job_id: 'j2' }, 'hello');
    logger.debug('hidden');
    expect(lines).toEqual(['INFO  [n@lab] hello job_id=j2']);
  });
});
