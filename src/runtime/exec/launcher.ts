import { type ChildProcess, fork } from 'node:child_process';
import { builtFile } from '../../built-file.js';
import type { ExecutorCommand } from '../../core/runtime/executor.js';

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
  /**
   * How a stopped run ended: `SIGTERM` when the process exited within its kill timeout after
   * SIGTERM, `SIGKILL` when it had to be killed; null when it was not stopped.
   */
  stopped_by: 'SIGTERM' | 'SIGKILL' | null;
}

/** Requests to the launcher process. */
export type LaunchRequest =
  | { op: 'run'; id: number; argv: string[]; cwd: string; env: NodeJS.ProcessEnv; stdin: string; timeoutMs: number | null; killTimeoutMs: number }
  | { op: 'kill'; id: number };

/** The launcher's answer to a run. */
export type LaunchReply = ProcessResult & { id: number };

/**
 * Runs executor commands from a small child process. Forking costs time in proportion to the
 * forking process's memory, and a daemon hosting thousands of agents is large, so the daemon
 * hands its spawns to a process that stays small (about 2 ms a spawn from a 400 MB daemon, a
 * fraction of that from the launcher). The runs are the launcher's children; a launcher that
 * dies fails its runs (they are retried as failed runs) and is started again on the next run.
 */
export class Launcher {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ProcessResult) => void>();
  private closed = false;

  constructor(private readonly entry: string = builtFile(import.meta.url, 'launcher-child.js')) {}

  /**
   * Runs argv once with `stdin`, until it exits, times out or `signal` aborts. An aborted run's
   * process (and its process group) gets SIGTERM, then SIGKILL after `killTimeoutMs` (default 0:
   * SIGKILL at once); the result's `stopped_by` says which ended it.
   */
  run(args: { command: ExecutorCommand; cwd: string; env: NodeJS.ProcessEnv; stdin: string; signal: AbortSignal; killTimeoutMs?: number }): Promise<ProcessResult> {
    if (this.closed) return Promise.resolve(failure('the launcher is closed'));
    if (args.signal.aborted) return Promise.resolve({ ...failure('aborted'), aborted: true });
    const child = this.process();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const onAbort = (): void => void child.send({ op: 'kill', id } satisfies LaunchRequest, () => undefined);
      args.signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(id, (r) => {
        args.signal.removeEventListener('abort', onAbort);
        resolve(r);
      });
      const req: LaunchRequest = { op: 'run', id, argv: args.command.argv, cwd: args.cwd, env: args.env, stdin: args.stdin, timeoutMs: args.command.timeoutMs, killTimeoutMs: Math.max(0, args.killTimeoutMs ?? 0) };
      child.send(req, (error) => {
        if (error) this.settle(id, failure(`the launcher did not take the run: ${error.message}`));
      });
    });
  }

  /** Stops the launcher; its running processes are killed. */
  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (!child) return;
    // Disconnecting lets the launcher kill its runs and exit (a SIGKILL would orphan them); one that hangs is killed.
    if (child.connected) child.disconnect();
    setTimeout(() => child.kill('SIGKILL'), 1000).unref();
  }

  private process(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.entry, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    child.on('message', (r: LaunchReply) => this.settle(r.id, r));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      for (const id of [...this.waiting.keys()]) this.settle(id, failure(`the launcher exited (${code ?? signal})`));
    });
    child.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private settle(id: number, r: ProcessResult): void {
    const done = this.waiting.get(id);
    this.waiting.delete(id);
    done?.(r);
  }
}

function failure(error: string): ProcessResult {
  return { exit_code: null, signal: null, stdout: '', stderr: '', duration_ms: 0, error, aborted: false, stopped_by: null };
}
