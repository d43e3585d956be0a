import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { ExecutorCommand } from '../core/runtime/executor.js';

/** What one run of an executor's command produced. */
export interface ProcessResult {
  /** Exit code; null when the process could not start or was killed. */
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  /** Why the run failed before or instead of exiting (not found, timeout, aborted), else null. */
  error: string | null;
  aborted: boolean;
}

/** Output kept per stream; the rest is cut (an executor's result is a message, not a file). */
const MAX_OUTPUT = 1 << 20;

/**
 * Runs an executor's argv command once (no shell unless the command is `/bin/sh -c` because
 * the manifest asked for one), with the incoming message as JSON on stdin, in `cwd`, until it
 * exits, times out or `signal` aborts (the agent moved or its job ended: the process is killed).
 */
export async function runProcess(args: { command: ExecutorCommand; cwd: string; env: NodeJS.ProcessEnv; stdin: string; signal: AbortSignal }): Promise<ProcessResult> {
  const started = performance.now();
  await mkdir(args.cwd, { recursive: true });
  return new Promise((resolve) => {
    const [file, ...rest] = args.command.argv as [string, ...string[]];
    const child = spawn(file, rest, { cwd: args.cwd, env: args.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: string | null = null;
    let settled = false;
    const onAbort = (): void => {
      error = 'aborted';
      child.kill('SIGKILL');
    };
    args.signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      args.command.timeoutMs === null
        ? null
        : setTimeout(() => {
            error = `timed out after ${args.command.timeoutMs} ms`;
            child.kill('SIGKILL');
          }, args.command.timeoutMs);
    const done = (exit: number | null, sig: string | null): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      args.signal.removeEventListener('abort', onAbort);
      resolve({ exit_code: exit, signal: sig, stdout, stderr, duration_ms: Math.round(performance.now() - started), error, aborted: error === 'aborted' });
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.slice(0, MAX_OUTPUT - stdout.length);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.slice(0, MAX_OUTPUT - stderr.length);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(args.stdin);
    child.once('error', (e: NodeJS.ErrnoException) => {
      error = e.code === 'ENOENT' ? `command not found: ${file}` : e.message;
      done(null, null);
    });
    child.once('close', (code, sig) => done(code, sig));
  });
}

/** A counting semaphore: at most `limit` holders at once, FIFO. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.used >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
}
