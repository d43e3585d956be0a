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
  | { op: 'kill'; id: number }
  /** Starts a warm pool member: argv runs with its stdin open, waiting for the input a `feed` gives it. */
  | { op: 'warm'; id: number; argv: string[]; cwd: string; env: NodeJS.ProcessEnv }
  /** Hands a waiting member its input; it then runs like a `run` and is answered like one. */
  | { op: 'feed'; id: number; stdin: string; timeoutMs: number | null; killTimeoutMs: number }
  /** Asks whether a waiting member's process is still alive (answered by a `warm_status`). */
  | { op: 'probe'; id: number };

/** The launcher's answer to a run (or to a fed member). */
export type LaunchReply = ProcessResult & { id: number };

/** The error of a feed whose member had ended before its input came (the caller may spawn cold instead). */
export const WARM_MEMBER_GONE = 'the warm member exited before its input';

/** What the launcher says of a warm member before it is fed. */
export type WarmNotice =
  | { id: number; warm: 'started'; pid: number }
  /** It ended (or never started) while waiting; `error` says why. */
  | { id: number; warm: 'exited'; exit_code: number | null; signal: string | null; error: string | null; stderr: string }
  | { id: number; warm: 'status'; alive: boolean };

/** A pre-started process waiting for its input. */
export interface WarmProcess {
  readonly pid: number;
  /** Gives it its input; resolves when it has run (as {@link Launcher.run} does). Only once. */
  feed(args: { stdin: string; signal: AbortSignal; timeoutMs: number | null; killTimeoutMs?: number }): Promise<ProcessResult>;
  /** True when its process is alive and still waiting. */
  probe(): Promise<boolean>;
  /** Kills it (and its process group). */
  kill(): void;
}

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
  /** Warm members not fed yet: what the launcher says of them. */
  private readonly notices = new Map<number, (n: WarmNotice) => void>();
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

  /**
   * Starts argv as a warm pool member: its process runs up to the point where it reads its stdin
   * and waits there. Resolves once it is spawned (rejects when it cannot start); `onExit` tells
   * of a member that ends before it is fed (it crashed, was killed, or the launcher went away).
   */
  warm(args: { argv: string[]; cwd: string; env: NodeJS.ProcessEnv; onExit: (why: string) => void }): Promise<WarmProcess> {
    if (this.closed) return Promise.reject(new Error('the launcher is closed'));
    const child = this.process();
    const id = this.nextId++;
    let fed = false;
    let gone = false;
    let started = false;
    return new Promise((resolve, reject) => {
      const probes: Array<(alive: boolean) => void> = [];
      this.notices.set(id, (n) => {
        if (n.warm === 'status') {
          probes.shift()?.(n.alive);
          return;
        }
        if (n.warm === 'started') {
          started = true;
          resolve({
            pid: n.pid,
            feed: (f) => {
              if (fed || gone) return Promise.resolve(failure(gone ? WARM_MEMBER_GONE : 'the warm member was fed already'));
              fed = true;
              this.notices.delete(id);
              return this.await(child, id, f.signal, { op: 'feed', id, stdin: f.stdin, timeoutMs: f.timeoutMs, killTimeoutMs: Math.max(0, f.killTimeoutMs ?? 0) });
            },
            probe: () => {
              if (gone || fed || !child.connected) return Promise.resolve(false);
              return new Promise<boolean>((done) => {
                probes.push(done);
                child.send({ op: 'probe', id } satisfies LaunchRequest, (error) => error && probes.shift()?.(false));
              });
            },
            kill: () => {
              if (gone || fed) return;
              gone = true;
              this.notices.delete(id);
              if (child.connected) child.send({ op: 'kill', id } satisfies LaunchRequest, () => undefined);
            },
          });
          return;
        }
        gone = true;
        this.notices.delete(id);
        for (const p of probes.splice(0)) p(false);
        const why = n.error ?? `exited with ${n.exit_code ?? n.signal}${n.stderr ? `: ${n.stderr.trim().slice(-200)}` : ''}`;
        if (started) args.onExit(why);
        else reject(new Error(why));
      });
      child.send({ op: 'warm', id, argv: args.argv, cwd: args.cwd, env: args.env } satisfies LaunchRequest, (error) => {
        if (error) this.notices.get(id)?.({ id, warm: 'exited', exit_code: null, signal: null, error: `the launcher did not take the member: ${error.message}`, stderr: '' });
      });
    });
  }

  /** Sends a request whose answer is a {@link LaunchReply}, aborting it with `signal`. */
  private await(child: ChildProcess, id: number, signal: AbortSignal, req: LaunchRequest): Promise<ProcessResult> {
    return new Promise((resolve) => {
      const onAbort = (): void => void child.send({ op: 'kill', id } satisfies LaunchRequest, () => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(id, (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      });
      if (signal.aborted) onAbort();
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
    child.on('message', (r: LaunchReply | WarmNotice) => {
      if ('warm' in r) this.notices.get(r.id)?.(r);
      else this.settle(r.id, r);
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      for (const id of [...this.waiting.keys()]) this.settle(id, failure(`the launcher exited (${code ?? signal})`));
      for (const [id, notice] of [...this.notices]) notice({ id, warm: 'exited', exit_code: null, signal: null, error: `the launcher exited (${code ?? signal})`, stderr: '' });
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
