/**
 * Entry of the launcher process (see launcher.ts): spawns executor processes on request over
 * IPC and reports how each run ended. It stays small, so forking a child costs little, whatever
 * the daemon's own memory.
 *
 * Every run leads a process group of its own, so a stop reaches what its command started too
 * (`sh -c` and its children). A stop sends SIGTERM, waits the run's kill timeout, then SIGKILL.
 *
 * Warm pool members (`warm`) are spawned the same way but keep their stdin open: they run up to
 * the point where they read their input and wait there; a `feed` writes it and from then on the
 * member is answered like a run. A member that ends before it is fed is reported as `exited`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { type LaunchReply, type LaunchRequest, WARM_MEMBER_GONE, type WarmNotice } from './launcher.js';

/** Output kept per stream; the rest is cut (an executor's result is a message, not a file). */
const MAX_OUTPUT = 1 << 20;
/** Stops of the runs in progress: graceful (SIGTERM, then SIGKILL after the timeout) or at once. */
const kills = new Map<number, (now: boolean) => void>();

function reply(message: LaunchReply): void {
  process.send?.(message);
}

/** Signals the run's process group (its own process when the group is gone). */
function signalRun(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal);
  }
}

async function run(req: Extract<LaunchRequest, { op: 'run' }>): Promise<void> {
  try {
    await mkdir(req.cwd, { recursive: true });
  } catch (e) {
    reply({ id: req.id, exit_code: null, signal: null, stdout: '', stderr: '', duration_ms: 0, error: `cannot create ${req.cwd}: ${(e as Error).message}`, aborted: false, stopped_by: null });
    return;
  }
  const proc = start(req.id, req.argv, req.cwd, req.env, false);
  proc.feed(req.stdin, req.timeoutMs, req.killTimeoutMs);
}

/** Warm members waiting for their input, by request id. */
const warm = new Map<number, Proc>();

async function startWarm(req: Extract<LaunchRequest, { op: 'warm' }>): Promise<void> {
  try {
    await mkdir(req.cwd, { recursive: true });
  } catch (e) {
    notice({ id: req.id, warm: 'exited', exit_code: null, signal: null, error: `cannot create ${req.cwd}: ${(e as Error).message}`, stderr: '' });
    return;
  }
  const proc = start(req.id, req.argv, req.cwd, req.env, true);
  warm.set(req.id, proc);
}

function notice(message: WarmNotice): void {
  process.send?.(message);
}

/** One spawned process: collects its output; `feed` gives it its stdin and reports how it ends. */
interface Proc {
  feed(stdin: string, timeoutMs: number | null, killTimeoutMs: number): void;
  alive(): boolean;
}

function start(id: number, argv: string[], cwd: string, env: NodeJS.ProcessEnv, member: boolean): Proc {
  let started = performance.now();
  let stdout = '';
  let stderr = '';
  let error: string | null = null;
  let aborted = false;
  let stoppedBy: 'SIGTERM' | 'SIGKILL' | null = null;
  let fed = false;
  let killTimeoutMs = 0;
  let timer: NodeJS.Timeout | null = null;
  const [file, ...rest] = argv as [string, ...string[]];
  const child = spawn(file, rest, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let done = false;
  let killTimer: NodeJS.Timeout | null = null;
  const finish = (exit: number | null, signal: string | null): void => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    kills.delete(id);
    warm.delete(id);
    if (fed) reply({ id, exit_code: exit, signal, stdout, stderr, duration_ms: Math.round(performance.now() - started), error, aborted, stopped_by: stoppedBy });
    else notice({ id, warm: 'exited', exit_code: exit, signal, error: error === 'aborted' ? null : error, stderr: stderr.slice(-2000) });
  };
  const kill = (): void => {
    stoppedBy = 'SIGKILL';
    signalRun(child, 'SIGKILL');
  };
  kills.set(id, (now) => {
    if (done) return;
    const first = !aborted;
    aborted = true;
    error = 'aborted';
    if (now || killTimeoutMs <= 0 || !fed) return kill();
    if (!first) return;
    stoppedBy = 'SIGTERM';
    signalRun(child, 'SIGTERM');
    killTimer = setTimeout(kill, killTimeoutMs);
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < MAX_OUTPUT) stdout += d.slice(0, MAX_OUTPUT - stdout.length);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < MAX_OUTPUT) stderr += d.slice(0, MAX_OUTPUT - stderr.length);
  });
  child.stdin.on('error', () => undefined);
  child.once('error', (e: NodeJS.ErrnoException) => {
    error = e.code === 'ENOENT' ? `command not found: ${file}` : e.message;
    finish(null, null);
  });
  child.once('close', (code, signal) => finish(code, signal));
  if (member && child.pid !== undefined) notice({ id, warm: 'started', pid: child.pid });
  return {
    alive: () => !done && child.exitCode === null && child.signalCode === null,
    feed(stdin, timeoutMs, killMs) {
      if (fed || done) return;
      fed = true;
      warm.delete(id);
      killTimeoutMs = killMs;
      started = performance.now();
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          error = `timed out after ${timeoutMs} ms`;
          signalRun(child, 'SIGKILL');
        }, timeoutMs);
      }
      child.stdin.end(stdin);
    },
  };
}

process.on('message', (req: LaunchRequest) => {
  if (req.op === 'run') void run(req);
  else if (req.op === 'warm') void startWarm(req);
  else if (req.op === 'feed') {
    const proc = warm.get(req.id);
    if (proc) proc.feed(req.stdin, req.timeoutMs, req.killTimeoutMs);
    else reply({ id: req.id, exit_code: null, signal: null, stdout: '', stderr: '', duration_ms: 0, error: WARM_MEMBER_GONE, aborted: false, stopped_by: null });
  } else if (req.op === 'probe') notice({ id: req.id, warm: 'status', alive: warm.get(req.id)?.alive() ?? false });
  else kills.get(req.id)?.(false);
});
// The daemon went away: take the runs along, as losing the machine would.
process.on('disconnect', () => {
  for (const kill of kills.values()) kill(true);
  process.exit(0);
});
