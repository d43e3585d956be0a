import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './cli.js';

/** A `mn agent` process started by a test. */
export interface AgentProcess {
  name: string;
  port: number;
  target: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGKILL to the daemon and its agent processes: a crash, or the machine lost. */
  kill(): Promise<void>;
  /** SIGTERM: graceful stop. */
  stop(): Promise<void>;
}

/** Settings that make leases, heartbeats and sweeps fast enough for tests. */
export const FAST_CLUSTER_ENV: Record<string, string> = {
  MN_LEADER_LEASE_MS: '1000',
  MN_HEARTBEAT_INTERVAL_MS: '200',
  MN_SWEEP_INTERVAL_MS: '300',
  MN_NODE_DISCONNECT_GRACE_MS: '1500',
  MN_JOB_LEASE_DURATION_MS: '1500',
  MN_JOB_LEASE_RENEW_INTERVAL_MS: '300',
  MN_NODE_GPU: 'none',
};

const running = new Set<ChildProcess>();
/** Kills a daemon and the agent processes it started (its own process group). */
function killGroup(p: ChildProcess): void {
  // Executor processes lead process groups of their own: take every descendant along, as losing the machine would.
  const below = p.pid !== undefined ? descendants(p.pid) : [];
  try {
    if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
  } catch {
    p.kill('SIGKILL');
  }
  for (const pid of below) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already, or not a group leader
      }
    }
  }
}

/** Every process below `root`, from the process table. */
function descendants(root: number): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!pid || ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}
process.on('exit', () => {
  for (const p of running) killGroup(p);
});

/** Starts `mn agent` (the built binary) and waits until it listens; the port is picked by the daemon. */
export function startAgent(name: string, env: Record<string, string>, timeoutMs = 30_000, verb: 'agent' | 'dev' = 'agent'): Promise<AgentProcess> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'mn.js'), verb], {
    cwd: ROOT,
    env: { ...process.env, ...FAST_CLUSTER_ENV, MN_NODE_NAME: name, MN_GRPC_PORT: '0', MN_CORE_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: killing the group takes the daemon's agent processes too, as losing the machine would.
    detached: true,
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { running.delete(proc); resolve(); }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), timeoutMs);
    const check = (): void => {
      const m = /listening on ([\d.]+):(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      const port = Number(m[2]);
      resolve({
        name,
        port,
        target: `127.0.0.1:${port}`,
        proc,
        output: () => out,
        kill: async () => {
          killGroup(proc);
          await exited;
        },
        stop: async () => {
          proc.kill('SIGTERM');
          await exited;
        },
      });
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${out}`));
    });
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
