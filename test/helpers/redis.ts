/**
 * Starts a private `redis-server` for a test: a free port on 127.0.0.1, its own temporary
 * directory, no RDB snapshots, AOF off unless asked for. Never touches the system Redis.
 * The server is killed when the test process exits, even if `stop()` is never reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Kills the server (SIGKILL) and removes its directory. */
  stop(): Promise<void>;
  /** Sends a signal and waits for the process to exit (SIGKILL by default). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the server if it runs, then starts it again on the same port and directory. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Turn on the append-only file with `appendfsync always` (survives SIGKILL). */
  appendonly?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', options.appendonly ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'notice',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a server; see the module comment. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir, options);
      break;
    } catch (error) {
      // Another process may have taken the port between probing and binding.
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill(signal);
    await waitExit(c);
  };
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    kill,
    async restart() {
      await kill();
      child = await launch(port, dir, options);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
