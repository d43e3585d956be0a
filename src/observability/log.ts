/**
 * Structured logs (pino): one JSON object a line with `level`, `time`, `node`, `msg` and, where
 * relevant, `job_id` and `agent_id`. `MN_LOG_LEVEL` sets the level; on a terminal the lines are
 * formatted for people by {@link formatLogLine} (no extra dependency), with colours unless
 * `NO_COLOR` is set.
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Levels accepted by `MN_LOG_LEVEL`. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  level: LevelWithSilent;
  node: string;
  /** Where the lines go (stderr in the CLI). */
  stream: NodeJS.WritableStream;
  /** Human-readable lines instead of JSON (a terminal). */
  pretty: boolean;
  /** Colours in pretty lines. */
  color: boolean;
}

/** A logger writing JSON lines, or pretty lines through {@link formatLogLine}. */
export function createLogger(options: LoggerOptions): Logger {
  const target = options.pretty ? prettyStream(options.stream, options.color) : options.stream;
  return pino(
    {
      level: options.level,
      base: { node: options.node },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    target,
  );
}

/** A logger that drops everything (library use and tests that pass no logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Adapts a line sink (the old `log(line)` option) to a logger: each record becomes one pretty line. */
export function lineLogger(node: string, sink: (line: string) => void, level: LevelWithSilent = 'info'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') sink(formatLogLine(line, { color: false, time: false }));
      done();
    },
  });
  return pino({ level, base: { node }, formatters: { level: (label) => ({ level: label }) }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

function prettyStream(out: NodeJS.WritableStream, color: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      let text = '';
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') text += `${formatLogLine(line, { color })}\n`;
      out.write(text);
      done();
    },
  });
}

const COLORS: Record<string, string> = { fatal: '\x1b[35m', error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[36m', trace: '\x1b[90m' };
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** Fields shown in the head of a pretty line rather than as `key=value`. */
const HEAD = new Set(['level', 'time', 'msg', 'node', 'pid', 'hostname', 'err']);

/**
 * One JSON log line as a person reads it: `12:00:01.234 INFO  [node] message job_id=j1 key=value`
 * and the error's stack below when there is one. A line that is not a JSON object is returned as
 * it is, so nothing is ever lost.
 */
export function formatLogLine(line: string, options: { color: boolean; time?: boolean }): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof record.level === 'string' ? record.level : 'info';
  const paint = (code: string | undefined, text: string): string => (options.color && code ? `${code}${text}${RESET}` : text);
  const parts: string[] = [];
  if (options.time !== false && typeof record.time === 'string') parts.push(paint(DIM, record.time.slice(11, 23)));
  parts.push(paint(COLORS[level], level.toUpperCase().padEnd(5)));
  if (typeof record.node === 'string') parts.push(paint(DIM, `[${record.node}]`));
  if (typeof record.msg === 'string') parts.push(record.msg);
  for (const [key, value] of Object.entries(record)) {
    if (HEAD.has(key) || value === undefined) continue;
    parts.push(`${paint(DIM, `${key}=`)}${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  const err = record.err as { message?: unknown; stack?: unknown } | undefined;
  let out = parts.join(' ');
  if (err && typeof err === 'object') {
    const stack = typeof err.stack === 'string' ? err.stack : typeof err.message === 'string' ? err.message : JSON.stringify(err);
    out += `\n${stack.split('\n').map((l) => `    ${l}`).join('\n')}`;
  }
  return out;
}

/** Log fields of an error: the error itself and the job and agent it names, when it names them. */
export function errorFields(error: unknown): Record<string, unknown> {
  const details = (error as { details?: Record<string, unknown> } | null)?.details;
  const fields: Record<string, unknown> = { err: error instanceof Error ? error : new Error(String(error)) };
  if (details && typeof details === 'object') {
    if (typeof details.job_id === 'string') fields.job_id = details.job_id;
    if (typeof details.agent_id === 'string') fields.agent_id = details.agent_id;
    if (typeof details.node === 'string') fields.target_node = details.node;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') fields.code = code;
  return fields;
}
