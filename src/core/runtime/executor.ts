
// The message envelope lives in message.ts; re-exported so existing importers keep working.
export { type Message, initialMessage } from './message.js';

/** How an executor agent runs (from its `config`). */
export interface ExecutorCommand {
  argv: string[];
  /** Milliseconds before the process is killed; null for no limit. */
  timeoutMs: number | null;
}

/**
 * Resolves an executor's `config.command` (issue text: argv, no shell unless the manifest asks):
 * a list of strings runs as argv; a string runs through `/bin/sh -c` only with `config.shell:
 * true`. Returns the reason when the config cannot run.
 */
export function executorCommand(config: Record<string, unknown>): { ok: true; command: ExecutorCommand } | { ok: false; message: string } {
  const raw = config.command;
  const timeout = config.timeout_ms;
  let timeoutMs: number | null = null;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0) return { ok: false, message: `config.timeout_ms must be a positive integer, got ${JSON.stringify(timeout)}` };
    timeoutMs = timeout;
  }
  // Numbers are argv too: a whole-string `${index}` template keeps its type.
  if (Array.isArray(raw) && raw.length > 0 && typeof raw[0] === 'string' && raw[0] !== '' && raw.every((a) => typeof a === 'string' || typeof a === 'number')) {
    return { ok: true, command: { argv: raw.map(String), timeoutMs } };
  }
  if (typeof raw === 'string' && raw.trim() !== '') {
    if (config.shell === true) return { ok: true, command: { argv: ['/bin/sh', '-c', raw], timeoutMs } };
    return { ok: false, message: 'config.command must be a list of strings (argv); a string runs through a shell only with config.shell: true' };
  }
  return { ok: false, message: `config.command must be a non-empty list of strings, got ${JSON.stringify(raw ?? null)}` };
}
