/**
 * Node inventory, the I/O shell: runs the probes and hands their output to the pure builder in
 * `core/cluster/inventory.ts`.
 *
 * Nothing here blocks the event loop (DESIGN §2). systeminformation's `cpu()`, `osInfo()` and
 * `fsSize()` make short synchronous child calls (`execSync`), so they run in a worker thread;
 * GPUs are probed with asynchronous `execFile('nvidia-smi', ...)` and never with
 * `si.graphics()`, which runs nvidia-smi synchronously (tech-notes §7.3).
 *
 * GPU detection: NVIDIA on every platform but macOS (via nvidia-smi); Apple GPUs on macOS (via
 * `system_profiler SPDisplaysDataType`). AMD and Intel GPUs are not detected: declare them with
 * `MN_NODE_GPU=amd:2` (see `GpuMode`).
 */
import { execFile } from 'node:child_process';
import { realpath, statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ClusterDevice } from '../core/cluster/types.js';
import {
  type HostFacts,
  type InventoryEnv,
  type NodeInventory,
  NVIDIA_SMI_QUERY_ARGS,
  buildNodeInventory,
  parseCudaVersion,
  parseDarwinDisplays,
  parseEnvInventory,
  parseNvidiaSmiCsv,
  shouldProbeGpus,
} from '../core/cluster/inventory.js';

/** Options of {@link collectInventory}. */
export interface CollectInventoryOptions {
  /** The nvidia-smi executable: a path, or a name looked up on the environment's PATH (default `nvidia-smi`). */
  nvidiaSmi?: string;
  /** Limit for each probe (nvidia-smi, system_profiler, the host probe); default 10 000 ms. */
  timeoutMs?: number;
  /** Overrides `os.hostname()` (the default node name is derived from it). */
  hostname?: string;
  /** Directory whose filesystem is advertised when `MN_HOME` is unset; default `process.cwd()`. */
  cwd?: string;
  /**
   * Where systeminformation runs: `worker` (default) keeps its synchronous child calls off the
   * event loop; `inline` is for hosts without worker threads. A failed worker falls back to inline.
   */
  hostProbe?: 'worker' | 'inline';
}

const MIB = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Collects this machine's inventory: CPU, memory, the disk holding `MN_HOME` (else the working
 * directory), OS, GPUs, and the `MN_NODE_*` settings of `env`. Never throws: a failed probe
 * becomes a note (a machine without nvidia-smi simply has no NVIDIA GPUs), an invalid variable
 * an error naming it. Probes run with `env` laid over `process.env`, so its `PATH` decides which
 * nvidia-smi is found.
 */
export async function collectInventory(
  env: InventoryEnv = process.env,
  opts: CollectInventoryOptions = {},
): Promise<NodeInventory> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const hostname = opts.hostname ?? os.hostname();
  const notes: string[] = [];
  const gpuMode = parseEnvInventory(env, hostname).value.gpu;

  const [host, gpuProbe, diskPath] = await Promise.all([
    probeHost(opts.hostProbe ?? 'worker', timeoutMs, notes),
    shouldProbeGpus(gpuMode) ? probeGpus(env, opts.nvidiaSmi ?? 'nvidia-smi', timeoutMs) : Promise.resolve(null),
    resolveDiskPath(env, opts.cwd ?? process.cwd()),
  ]);
  if (gpuMode.mode === 'none') {
    const setting = env.MN_NODE_GPU_COUNT?.trim() ? `MN_NODE_GPU_COUNT=${env.MN_NODE_GPU_COUNT.trim()}` : `MN_NODE_GPU=${env.MN_NODE_GPU?.trim() ?? ''}`;
    notes.push(`GPU detection skipped: ${setting}`);
  }

  const memoryTotalMb = host ? host.mem.total / MIB : os.totalmem() / MIB;
  const memoryAvailableMb = host ? host.mem.available / MIB : os.freemem() / MIB;

  let gpus: ClusterDevice[] = [];
  let driverVersion: string | null = null;
  if (gpuProbe) {
    notes.push(...gpuProbe.notes);
    if (gpuProbe.kind === 'nvidia') {
      const parsed = parseNvidiaSmiCsv(gpuProbe.csv, { apiVersion: gpuProbe.cudaVersion, systemMemoryMb: memoryTotalMb });
      notes.push(...parsed.issues.map((i) => i.message));
      gpus = parsed.devices;
      driverVersion = parsed.rows.find((r) => r.driver_version !== null)?.driver_version ?? null;
      if (parsed.rows.length === 0) notes.push('nvidia-smi reported no GPUs');
    } else if (gpuProbe.kind === 'darwin') {
      gpus = parseDarwinDisplays(gpuProbe.text, memoryTotalMb);
    }
  }

  const disk = host ? pickFilesystem(host.fs, diskPath) : await statDisk(diskPath);
  if (!disk) notes.push(`no filesystem found for ${diskPath}: disk capacity advertised as 0`);

  const facts: HostFacts = {
    hostname,
    cpu: {
      logical_cores: host?.cpu.cores || os.availableParallelism(),
      model: host ? [host.cpu.manufacturer, host.cpu.brand].filter((s) => s).join(' ') || null : (os.cpus()[0]?.model ?? null),
    },
    memory: { total_mb: memoryTotalMb, available_mb: memoryAvailableMb },
    disk: disk ? { total_mb: disk.size / MIB, available_mb: disk.available / MIB, mount: disk.mount } : { total_mb: 0, available_mb: null },
    os: { platform: process.platform, distro: host?.os.distro ?? null, release: host?.os.release ?? null, kernel: host?.os.kernel ?? os.release() },
    arch: os.machine(),
    gpus,
    gpu_driver_version: driverVersion,
    env,
  };
  const inventory = buildNodeInventory(facts);
  return { ...inventory, notes: [...notes, ...inventory.notes] };
}

// ---------------------------------------------------------------------------------------------
// Host probe (systeminformation)
// ---------------------------------------------------------------------------------------------

/** The systeminformation fields the inventory uses; nothing else crosses the thread boundary. */
interface HostProbe {
  cpu: { cores: number; manufacturer: string; brand: string };
  mem: { total: number; available: number };
  fs: Array<{ mount: string; size: number; available: number }>;
  os: { distro: string; release: string; kernel: string };
}

/** `inlineMayWork`: the worker itself failed (not systeminformation), so probing inline is worth a try. */
type HostProbeResult = { ok: true; value: HostProbe } | { ok: false; message: string; inlineMayWork?: boolean };

/**
 * The worker's source: plain JS with CommonJS `require`, so it needs no TypeScript loader. It
 * mirrors {@link probeInline}.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const si = require(workerData.siPath);
Promise.all([si.cpu(), si.mem(), si.fsSize(), si.osInfo()]).then(
  ([cpu, mem, fs, os]) => parentPort.postMessage({ ok: true, value: {
    cpu: { cores: cpu.cores, manufacturer: cpu.manufacturer, brand: cpu.brand },
    mem: { total: mem.total, available: mem.available },
    fs: fs.map((f) => ({ mount: f.mount, size: f.size, available: f.available })),
    os: { distro: os.distro, release: os.release, kernel: os.kernel },
  } }),
  (err) => parentPort.postMessage({ ok: false, message: String((err && err.message) || err) }),
);
`;

const requireHere = createRequire(import.meta.url);

async function probeInline(): Promise<HostProbe> {
  // Loaded only here: with the worker probe the main thread never loads systeminformation.
  const { default: si } = await import('systeminformation');
  const [cpu, mem, fs, osInfo] = await Promise.all([si.cpu(), si.mem(), si.fsSize(), si.osInfo()]);
  return {
    cpu: { cores: cpu.cores, manufacturer: cpu.manufacturer, brand: cpu.brand },
    mem: { total: mem.total, available: mem.available },
    fs: fs.map((f) => ({ mount: f.mount, size: f.size, available: f.available })),
    os: { distro: osInfo.distro, release: osInfo.release, kernel: osInfo.kernel },
  };
}

async function probeHost(mode: 'worker' | 'inline', timeoutMs: number, notes: string[]): Promise<HostProbe | null> {
  if (mode === 'worker') {
    const result = await probeHostInWorker(timeoutMs);
    if (result.ok) return result.value;
    // A probe that hung or failed in the worker would hang or fail here too, and block.
    if (!result.inlineMayWork) {
      notes.push(`host probe failed (${result.message}); CPU and memory taken from node:os`);
      return null;
    }
    notes.push(`host probe worker failed (${result.message}); probing on the main thread`);
  }
  try {
    return await probeInline();
  } catch (err) {
    notes.push(`host probe failed (${(err as Error).message}); CPU and memory taken from node:os, disk unknown`);
    return null;
  }
}

function probeHostInWorker(timeoutMs: number): Promise<HostProbeResult> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { siPath: requireHere.resolve('systeminformation') } });
    } catch (err) {
      resolve({ ok: false, message: (err as Error).message, inlineMayWork: true });
      return;
    }
    let settled = false;
    const finish = (r: HostProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `no answer within ${timeoutMs} ms` }), timeoutMs);
    worker.once('message', (m: HostProbeResult) => finish(m));
    worker.once('error', (err) => finish({ ok: false, message: err.message, inlineMayWork: true }));
    worker.once('exit', (code) => finish({ ok: false, message: `worker exited with code ${code}`, inlineMayWork: true }));
  });
}

/** `MN_HOME` (with `~` expanded) or `cwd`, resolved through symlinks as far as it exists. */
async function resolveDiskPath(env: InventoryEnv, cwd: string): Promise<string> {
  const home = env.MN_HOME?.trim();
  let p = home ? (home === '~' || home.startsWith('~/') ? path.join(os.homedir(), home.slice(1)) : path.resolve(cwd, home)) : path.resolve(cwd);
  for (;;) {
    try {
      return await realpath(p);
    } catch {
      const parent = path.dirname(p);
      if (parent === p) return p;
      p = parent;
    }
  }
}

/** Fallback when systeminformation is unavailable: `statfs` of the directory itself (asynchronous). */
async function statDisk(dir: string): Promise<{ mount: string; size: number; available: number } | null> {
  try {
    const s = await statfs(dir);
    return { mount: dir, size: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return null;
  }
}

/** The mounted filesystem holding `target`: the longest mount point that is a prefix of it. */
export function pickFilesystem<T extends { mount: string }>(filesystems: readonly T[], target: string): T | null {
  let best: T | null = null;
  const t = process.platform === 'win32' ? target.toLowerCase() : target;
  for (const fs of filesystems) {
    if (!fs.mount) continue;
    const m = process.platform === 'win32' ? fs.mount.toLowerCase() : fs.mount;
    const prefix = m.endsWith('/') || m.endsWith('\\') ? m : `${m}${path.sep}`;
    if ((t === m || t.startsWith(prefix)) && (best === null || fs.mount.length > best.mount.length)) best = fs;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// GPU probes
// ---------------------------------------------------------------------------------------------

type GpuProbe =
  | { kind: 'nvidia'; csv: string; cudaVersion: string | null; notes: string[] }
  | { kind: 'darwin'; text: string; notes: string[] }
  | { kind: 'none'; notes: string[] };

async function probeGpus(env: InventoryEnv, nvidiaSmi: string, timeoutMs: number): Promise<GpuProbe> {
  if (process.platform === 'darwin') {
    const r = await run('system_profiler', ['SPDisplaysDataType'], env, timeoutMs);
    if (!r.ok) return { kind: 'none', notes: [`no GPUs detected: ${r.reason}`] };
    return { kind: 'darwin', text: r.stdout, notes: [] };
  }
  const [query, header] = await Promise.all([run(nvidiaSmi, NVIDIA_SMI_QUERY_ARGS, env, timeoutMs), run(nvidiaSmi, [], env, timeoutMs)]);
  if (!query.ok) return { kind: 'none', notes: [`no NVIDIA GPUs detected: ${query.reason}`] };
  const notes: string[] = [];
  let cudaVersion: string | null = null;
  if (header.ok) cudaVersion = parseCudaVersion(header.stdout);
  if (cudaVersion === null) cudaVersion = env.CUDA_VERSION?.trim().match(/^\d+(?:\.\d+)*/)?.[0] ?? null;
  if (cudaVersion === null) notes.push(`CUDA version unknown: ${header.ok ? 'nvidia-smi printed no "CUDA Version"' : header.reason}`);
  return { kind: 'nvidia', csv: query.stdout, cudaVersion, notes };
}

type RunResult = { ok: true; stdout: string } | { ok: false; reason: string };

/**
 * Runs a probe asynchronously with a deadline. The backstop timer settles the promise even if a
 * child ignores SIGKILL for a while (a GPU driver in uninterruptible sleep).
 */
function run(command: string, args: readonly string[], env: InventoryEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      resolve(r);
    };
    const backstop = setTimeout(() => settle({ ok: false, reason: `${command} did not answer within ${timeoutMs} ms` }), timeoutMs + 2_000);
    try {
      execFile(
        command,
        [...args],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * MIB, env: { ...process.env, ...env }, windowsHide: true, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return settle({ ok: true, stdout });
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
          const detail = firstLine(stderr) || firstLine(stdout);
          if (e.code === 'ENOENT') settle({ ok: false, reason: `${command} not found` });
          else if (e.code === 'EACCES') settle({ ok: false, reason: `${command} is not executable` });
          else if (e.killed || e.signal) settle({ ok: false, reason: `${command} did not answer within ${timeoutMs} ms` });
          else if (typeof e.code === 'number') settle({ ok: false, reason: `${command} exited with code ${e.code}${detail ? `: ${detail}` : ''}` });
          else settle({ ok: false, reason: `${command} failed: ${e.message}` });
        },
      );
    } catch (err) {
      settle({ ok: false, reason: `${command} could not be started: ${(err as Error).message}` });
    }
  });
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
}
