/**
 * What the daemon benchmarks start: a private redis-server on a free port and `mn agent`
 * processes (each in its own process group, so a kill takes its agents' processes too).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server without persistence; returns its URL and a stop function. */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-bench-redis-'));
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => redis.kill('SIGKILL') };
}

export interface DaemonProcess {
  name: string;
  proc: ChildProcess;
  target: string;
  /** SIGKILL to the daemon and every process it started. */
  kill(): void;
  /** Peak resident set size in MB (VmHWM). */
  peakRssMb(): number;
}

/** Starts `mn agent` (the built binary) as `name` and waits until it listens. */
export function startDaemon(name: string, env: Record<string, string>): Promise<DaemonProcess> {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'mn.js'), 'agent'], {
    env: { ...process.env, MN_NODE_GPU: 'none', MN_NODE_NAME: name, MN_GRPC_PORT: '0', MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-bench-home-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on ([\d.]+:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        name,
        proc,
        target: m[1]!,
        kill: () => {
          try {
            process.kill(-proc.pid!, 'SIGKILL');
          } catch {
            proc.kill('SIGKILL');
          }
        },
        peakRssMb: () => {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
          return hwm ? Math.round(Number(hwm[1]) / 1024) : NaN;
        },
      });
    });
    proc.stderr!.on('data', (d: Buffer) => (out = `${out}${d}`.slice(-20_000)));
  });
}

/** Prints rows as a markdown table. */
export function printTable(rows: ReadonlyArray<Record<string, unknown>>): void {
  const keys = Object.keys(rows[0] ?? {});
  console.log(`| ${keys.join(' | ')} |\n|${keys.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${keys.map((k) => (typeof r[k] === 'string' ? r[k] : JSON.stringify(r[k]))).join(' | ')} |`);
}

/**
 * Runs a daemon benchmark against a private redis-server: prints its rows as a table and writes
 * them, with `extra` facts, to `bench/results/<name>.json`.
 */
export function runBench(name: string, body: (redisUrl: string) => Promise<{ rows: Array<Record<string, unknown>>; extra?: Record<string, unknown> }>): void {
  const main = async (): Promise<void> => {
    const redis = await startRedis();
    try {
      const { rows, extra } = await body(redis.url);
      printTable(rows);
      mkdirSync('bench/results', { recursive: true });
      writeFileSync(`bench/results/${name}.json`, JSON.stringify({ node: process.version, at: new Date().toISOString(), cores: os.availableParallelism(), ...extra, rows }, null, 2));
    } finally {
      redis.stop();
    }
  };
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
