/**
 * Node inventory, the pure half: what a daemon advertises about its machine, built from probe
 * output (nvidia-smi text, systeminformation values) and the `MN_NODE_*` environment (spec §3.1,
 * §3.2, §10.4). No I/O: the shell in `src/cluster/inventory.ts` runs the probes and passes their
 * output and the environment in as plain values.
 *
 * The result is a `ClusterNode`, the same typed record a cluster file parses into, so a daemon's
 * inventory feeds the planner unchanged. Problems are returned as {@link InventoryIssue}s, never
 * thrown: a bad variable is reported by name and ignored, and the caller decides whether to start.
 */
import type { MnErrorCode } from '../errors.js';
import type { ExecutionProfile } from '../placement/filters.js';
import type { AttributeValue, ClusterDevice, ClusterNode } from './types.js';

/** Environment as a plain object (`process.env` fits). */
export type InventoryEnv = Readonly<Record<string, string | undefined>>;

/** One problem found while building the inventory. */
export interface InventoryIssue {
  code: MnErrorCode;
  /** The environment variable (`MN_NODE_HOST_PATHS`) or input (`nvidia-smi`, `cpu.logical_cores`) at fault. */
  field: string;
  /** Names the field and says what is wrong and what is accepted. */
  message: string;
}

/** GPU vendors the runtime knows by name; anything else is advertised with a null vendor. */
export type GpuVendor = 'nvidia' | 'amd' | 'apple' | 'intel';
const GPU_VENDORS: readonly GpuVendor[] = ['nvidia', 'amd', 'apple', 'intel'];

/** Elixir releases name their node `<release>@<host>`; the original's release is `mirror_neuron`. */
export const DEFAULT_NODE_NAME_PREFIX = 'mirror_neuron';

/** The query `parseNvidiaSmiCsv` expects; the shell passes exactly these arguments. */
export const NVIDIA_SMI_QUERY_ARGS: readonly string[] = [
  '--query-gpu=index,uuid,name,memory.total,memory.used,driver_version',
  '--format=csv,noheader,nounits',
];

// ---------------------------------------------------------------------------------------------
// Small normalisers
// ---------------------------------------------------------------------------------------------

/** Capabilities are compared lower-cased with `_` read as `-` (spec §3.2). */
function normaliseCapability(c: string): string {
  return c.trim().toLowerCase().replace(/_/g, '-');
}

/** Comma list → trimmed, non-empty, first occurrence kept. */
function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '' && !out.includes(t)) out.push(t);
  }
  return out;
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set([...values].filter((v) => v !== ''))].sort();
}

/** nvidia-smi writes `[N/A]`, `[Not Supported]`, `[Unknown Error]` for missing values. */
function blankToNull(value: string | undefined): string | null {
  if (value === undefined) return null;
  const t = value.trim();
  if (t === '' || /^\[.*\]$/.test(t) || /^n\/?a$/i.test(t)) return null;
  return t;
}

function numberOrNull(value: string | undefined): number | null {
  const t = blankToNull(value);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

// ---------------------------------------------------------------------------------------------
// GPU naming
// ---------------------------------------------------------------------------------------------

/** Vendor inferred from a GPU's marketing name (spec §3.2); null when the name says nothing. */
export function inferGpuVendor(name: string): GpuVendor | null {
  const n = name.toLowerCase();
  if (/nvidia|geforce|tesla|quadro|\brtx\b|\bgtx\b|\bcuda\b|\bdgx\b|\bgb10\b/.test(n)) return 'nvidia';
  if (/apple|\bmetal\b|\bm[1-9]\b/.test(n)) return 'apple';
  if (/\bamd\b|radeon|instinct|\bmi\d{2,3}[a-z]?\b|\brocm\b|\bati\b/.test(n)) return 'amd';
  if (/intel|\barc\b|\biris\b/.test(n)) return 'intel';
  return null;
}

/** Driver (and compute API) implied by a vendor: nvidia → cuda, amd → rocm, apple → metal. */
export function driverForVendor(vendor: string | null): string | null {
  switch (vendor) {
    case 'nvidia':
      return 'cuda';
    case 'amd':
      return 'rocm';
    case 'apple':
      return 'metal';
    case 'intel':
      return 'intel';
    default:
      return null;
  }
}

const NVIDIA_BRAND_WORDS = new Set(['nvidia', 'geforce', 'tesla', 'quadro']);
const NVIDIA_SERIES_WORDS = new Set(['rtx', 'gtx', 'titan']);

/**
 * The model token of an NVIDIA GPU name, lower-cased: `NVIDIA H100 80GB HBM3` → `h100`,
 * `NVIDIA A100-SXM4-80GB` → `a100`, `NVIDIA GeForce RTX 4090` → `rtx-4090`,
 * `NVIDIA RTX A6000` → `rtx-a6000`, `Tesla T4` → `t4`. Null when no token looks like a model.
 */
export function nvidiaModel(name: string): string | null {
  const tokens = name
    .toLowerCase()
    .replace(/[(),]/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '' && !NVIDIA_BRAND_WORDS.has(t));
  const [first, second, third] = tokens;
  if (first === undefined) return null;
  if (NVIDIA_SERIES_WORDS.has(first)) {
    if (second === undefined) return null;
    if (second === 'pro' && third !== undefined) return `${first}-pro-${third.split('-')[0]}`;
    return `${first}-${second.split('-')[0]}`;
  }
  const model = first.split('-')[0] ?? '';
  return /\d/.test(model) ? model : null;
}

/**
 * Capabilities a GPU carries because of what it is (spec §3.2 "hardware-derived"): `gpu`, the
 * vendor, the driver, and for NVIDIA the model (`nvidia-h100`) and `nvidia-dgx-spark` for the
 * Spark; for Apple the chip generation (`apple-m3`) and `unified-memory`.
 */
export function hardwareGpuCapabilities(name: string | null, vendor: string | null, driver: string | null): string[] {
  const caps = ['gpu'];
  if (vendor) caps.push(vendor);
  if (driver) caps.push(driver);
  const n = (name ?? '').toLowerCase();
  if (vendor === 'nvidia' && name) {
    const model = nvidiaModel(name);
    if (model) caps.push(`nvidia-${model}`);
    if (/\bspark\b/.test(n)) caps.push('nvidia-dgx-spark');
  }
  if (vendor === 'apple') {
    caps.push('unified-memory');
    const chip = /\bm([1-9])\b/.exec(n);
    if (chip) caps.push(`apple-m${chip[1]}`);
    for (const tier of ['pro', 'max', 'ultra']) if (new RegExp(`\\b${tier}\\b`).test(n)) caps.push(`apple-${tier}`);
  }
  return [...new Set(caps.map(normaliseCapability))];
}

/** GPUs that share system memory report `[N/A]` for memory.total (GB10 / DGX Spark). */
function sharesSystemMemory(name: string): boolean {
  return /\bgb10\b|\bspark\b/i.test(name);
}

// ---------------------------------------------------------------------------------------------
// nvidia-smi
// ---------------------------------------------------------------------------------------------

/** One row of the nvidia-smi query, before normalisation into a device. */
export interface NvidiaGpuRow {
  index: number;
  uuid: string | null;
  name: string;
  memory_total_mb: number | null;
  memory_used_mb: number | null;
  driver_version: string | null;
}

/** Outcome of {@link parseNvidiaSmiCsv}. */
export interface NvidiaSmiResult {
  /** Devices in nvidia-smi index order. */
  devices: ClusterDevice[];
  rows: NvidiaGpuRow[];
  /** Lines that could not be read; the other lines still count. */
  issues: InventoryIssue[];
}

/** Options of {@link parseNvidiaSmiCsv}. */
export interface NvidiaSmiOptions {
  /** CUDA API version for every device (from {@link parseCudaVersion}); null when unknown. */
  apiVersion?: string | null;
  /** System memory, advertised as device memory for GPUs that share it (GB10) and report `[N/A]`. */
  systemMemoryMb?: number | null;
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,driver_version
 * --format=csv,noheader,nounits` ({@link NVIDIA_SMI_QUERY_ARGS}). Tolerates blank lines, padding,
 * `[N/A]`-style values and a name containing commas (the outer columns are fixed). The device id
 * is the GPU UUID, else `cuda-<index>`.
 */
export function parseNvidiaSmiCsv(text: string, options: NvidiaSmiOptions = {}): NvidiaSmiResult {
  const rows: NvidiaGpuRow[] = [];
  const issues: InventoryIssue[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 6) {
      issues.push({
        code: 'MN_E_INVALID_ARGUMENT',
        field: 'nvidia-smi',
        message: `nvidia-smi line ${i + 1} has ${cols.length} columns, expected 6 (index, uuid, name, memory.total, memory.used, driver_version): ${JSON.stringify(line.trim())}`,
      });
      return;
    }
    const index = Number(cols[0]);
    const uuid = blankToNull(cols[1]);
    const name = blankToNull(cols.slice(2, cols.length - 3).join(', ')) ?? 'NVIDIA GPU';
    const tail = cols.slice(cols.length - 3);
    rows.push({
      index: Number.isInteger(index) && index >= 0 ? index : rows.length,
      uuid,
      name,
      memory_total_mb: numberOrNull(tail[0]),
      memory_used_mb: numberOrNull(tail[1]),
      driver_version: blankToNull(tail[2]),
    });
  });
  const apiVersion = options.apiVersion ?? null;
  const devices = rows.map((r): ClusterDevice => {
    let memory = r.memory_total_mb;
    if (memory === null && sharesSystemMemory(r.name) && options.systemMemoryMb != null) memory = options.systemMemoryMb;
    return {
      id: r.uuid ?? `cuda-${r.index}`,
      kind: 'gpu',
      vendor: 'nvidia',
      driver: 'cuda',
      memory_mb: memory === null ? null : Math.floor(memory),
      capabilities: hardwareGpuCapabilities(r.name, 'nvidia', 'cuda'),
      api_version: apiVersion,
    };
  });
  return { devices, rows, issues };
}

/** The `CUDA Version: 12.4` of plain `nvidia-smi` output (the driver's CUDA API level); null when absent. */
export function parseCudaVersion(text: string): string | null {
  const m = /CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)/i.exec(text);
  return m?.[1] ?? null;
}

/**
 * Parses macOS `system_profiler SPDisplaysDataType` output into Metal devices (`metal-<i>`), one
 * per `Chipset Model:` line. Apple GPUs share system memory, which is advertised as theirs.
 */
export function parseDarwinDisplays(text: string, systemMemoryMb: number | null = null): ClusterDevice[] {
  const models: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*Chipset Model\s*:\s*(.+?)\s*$/.exec(line);
    if (m?.[1]) models.push(m[1]);
  }
  return models.map((model, i) => {
    const vendor = inferGpuVendor(model);
    const driver = driverForVendor(vendor);
    return {
      id: `${driver ?? 'gpu'}-${i}`,
      kind: 'gpu',
      vendor,
      driver,
      memory_mb: vendor === 'apple' && systemMemoryMb != null ? Math.floor(systemMemoryMb) : null,
      capabilities: hardwareGpuCapabilities(model, vendor, driver),
      api_version: null,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/**
 * What `MN_NODE_GPU` / `MN_NODE_GPU_COUNT` ask for:
 * - `detect`: advertise what the probes find (variable unset, empty, `auto` or `detect`);
 * - `none`: advertise no GPU and skip the probes (`0`, `false`, `no`, `off`, `none`);
 * - `require`: advertise the detected GPUs, or one declared GPU when none is detected
 *   (`1`, `true`, `yes`, `on`);
 * - `declare`: advertise exactly `count` GPUs described by the variables, skipping the probes
 *   (`MN_NODE_GPU_COUNT=N`, `MN_NODE_GPU=<vendor>:<N>` such as `nvidia:2`, a bare count `N >= 2`,
 *   or a GPU name such as `NVIDIA H100 80GB HBM3`, which declares one GPU of that model).
 */
export type GpuMode =
  | { mode: 'detect' }
  | { mode: 'none' }
  | { mode: 'require'; declared: GpuDeclaration }
  | { mode: 'declare'; count: number; declared: GpuDeclaration };

/** How declared GPUs are described (`MN_NODE_GPU_NAME`, `_VENDOR`, `_DRIVER`, `_TYPE`, `_API_VERSION`, ...). */
export interface GpuDeclaration {
  name: string | null;
  vendor: string | null;
  driver: string | null;
  api_version: string | null;
  driver_version: string | null;
  /** `MN_NODE_GPU_MEMORY_MB` (an extension): memory of each declared GPU. */
  memory_mb: number | null;
}

/** The node settings read from the environment by {@link parseEnvInventory}. */
export interface EnvInventory {
  /** `MN_NODE_NAME`, default `mirror_neuron@<short hostname>`. */
  name: string;
  /** `MN_NODE_CAPABILITIES`, normalised. */
  capabilities: string[];
  /** `MN_NODE_EXECUTION_PROFILES`. */
  profiles: string[];
  /** `MN_EXECUTION_PROFILES_JSON`: profile definitions, in the planner's shape. */
  execution_profiles: Record<string, ExecutionProfile>;
  gpu: GpuMode;
  /** `MN_NODE_HOST_PATHS`: absolute, trailing slashes removed. */
  host_paths: string[];
  /** `host_local` plus `MN_NODE_RUNTIME_DRIVERS`. */
  runtime_drivers: string[];
  /** `MN_NODE_CPU_MODEL`: overrides the detected CPU model. */
  cpu_model: string | null;
}

const TRUTHY = new Set(['1', 'true', 'yes', 'on']);
const FALSEY = new Set(['0', 'false', 'no', 'off', 'none']);

function envValue(env: InventoryEnv, key: string): string | undefined {
  const v = env[key];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** `host.example.com` → `host`, as the original's node names use the short host name. */
export function defaultNodeName(hostname: string): string {
  const short = hostname.trim().split('.')[0] || 'localhost';
  return `${DEFAULT_NODE_NAME_PREFIX}@${short}`;
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

function trimTrailingSlashes(p: string): string {
  const t = p.replace(/[\\/]+$/, '');
  return t === '' ? p.slice(0, 1) : /^[A-Za-z]:$/.test(t) ? `${t}${p[2] ?? '/'}` : t;
}

function invalid(field: string, message: string): InventoryIssue {
  return { code: 'MN_E_INVALID_ARGUMENT', field, message };
}

function parseCount(raw: string): number | null {
  return /^\d+$/.test(raw) ? Number(raw) : null;
}

function parseGpuDeclaration(env: InventoryEnv, errors: InventoryIssue[]): GpuDeclaration {
  const name = envValue(env, 'MN_NODE_GPU_NAME') ?? null;
  const type = envValue(env, 'MN_NODE_GPU_TYPE');
  let vendor: string | null = null;
  const rawVendor = envValue(env, 'MN_NODE_GPU_VENDOR');
  if (rawVendor !== undefined) {
    vendor = rawVendor.toLowerCase();
    if (!GPU_VENDORS.includes(vendor as GpuVendor)) {
      errors.push(invalid('MN_NODE_GPU_VENDOR', `MN_NODE_GPU_VENDOR must be one of ${GPU_VENDORS.join(', ')}, got ${JSON.stringify(rawVendor)}`));
      vendor = null;
    }
  }
  if (vendor === null && type !== undefined && type.includes('/')) {
    const v = type.slice(0, type.indexOf('/')).toLowerCase();
    if (GPU_VENDORS.includes(v as GpuVendor)) vendor = v;
  }
  if (vendor === null && name !== null) vendor = inferGpuVendor(name);
  const memRaw = envValue(env, 'MN_NODE_GPU_MEMORY_MB');
  let memory: number | null = null;
  if (memRaw !== undefined) {
    const n = Number(memRaw);
    if (Number.isFinite(n) && n >= 0) memory = Math.floor(n);
    else errors.push(invalid('MN_NODE_GPU_MEMORY_MB', `MN_NODE_GPU_MEMORY_MB must be a number of megabytes zero or greater, got ${JSON.stringify(memRaw)}`));
  }
  const driver = envValue(env, 'MN_NODE_GPU_DRIVER')?.toLowerCase() ?? driverForVendor(vendor);
  return {
    name,
    vendor,
    driver,
    api_version: envValue(env, 'MN_NODE_GPU_API_VERSION') ?? null,
    driver_version: envValue(env, 'MN_NODE_GPU_DRIVER_VERSION') ?? null,
    memory_mb: memory,
  };
}

function parseGpuMode(env: InventoryEnv, errors: InventoryIssue[]): GpuMode {
  const declared = parseGpuDeclaration(env, errors);
  const countRaw = envValue(env, 'MN_NODE_GPU_COUNT');
  if (countRaw !== undefined) {
    const count = parseCount(countRaw);
    if (count === null) {
      errors.push(invalid('MN_NODE_GPU_COUNT', `MN_NODE_GPU_COUNT must be a whole number zero or greater, got ${JSON.stringify(countRaw)}`));
    } else {
      return count === 0 ? { mode: 'none' } : { mode: 'declare', count, declared };
    }
  }
  const raw = envValue(env, 'MN_NODE_GPU');
  if (raw === undefined) return { mode: 'detect' };
  const lower = raw.toLowerCase();
  if (lower === 'auto' || lower === 'detect') return { mode: 'detect' };
  if (FALSEY.has(lower)) return { mode: 'none' };
  if (TRUTHY.has(lower)) return { mode: 'require', declared };
  const bare = parseCount(lower);
  if (bare !== null) return { mode: 'declare', count: bare, declared };
  const pair = /^([a-z]+)\s*:\s*(.*)$/.exec(lower);
  if (pair) {
    const [, vendor = '', countText = ''] = pair;
    const count = parseCount(countText.trim());
    if (!GPU_VENDORS.includes(vendor as GpuVendor) || count === null) {
      errors.push(
        invalid(
          'MN_NODE_GPU',
          `MN_NODE_GPU ${JSON.stringify(raw)} is not understood: use auto, none, true, <vendor>:<count> with vendor one of ${GPU_VENDORS.join(', ')} (e.g. nvidia:2), or a GPU name`,
        ),
      );
      return { mode: 'detect' };
    }
    if (count === 0) return { mode: 'none' };
    const v = declared.vendor ?? vendor;
    return { mode: 'declare', count, declared: { ...declared, vendor: v, driver: envValue(env, 'MN_NODE_GPU_DRIVER')?.toLowerCase() ?? driverForVendor(v) } };
  }
  // Anything else names the GPU model: one GPU of that model.
  const name = declared.name ?? raw;
  const vendor = declared.vendor ?? inferGpuVendor(name);
  return {
    mode: 'declare',
    count: 1,
    declared: { ...declared, name, vendor, driver: envValue(env, 'MN_NODE_GPU_DRIVER')?.toLowerCase() ?? driverForVendor(vendor) },
  };
}

function parseExecutionProfiles(raw: string | undefined, errors: InventoryIssue[]): Record<string, ExecutionProfile> {
  const field = 'MN_EXECUTION_PROFILES_JSON';
  if (raw === undefined || raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    errors.push(invalid(field, `${field} is not valid JSON: ${(err as Error).message}`));
    return {};
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errors.push(invalid(field, `${field} must be a JSON object mapping profile names to {"gpu": bool, "required_capabilities": [..]}`));
    return {};
  }
  const profiles: Record<string, ExecutionProfile> = {};
  for (const [name, def] of Object.entries(value as Record<string, unknown>)) {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) {
      errors.push(invalid(field, `${field} profile ${JSON.stringify(name)} must be an object`));
      continue;
    }
    const d = def as Record<string, unknown>;
    const profile: ExecutionProfile = {};
    let ok = true;
    if (d.gpu !== undefined) {
      if (typeof d.gpu === 'boolean') profile.gpu = d.gpu;
      else {
        errors.push(invalid(field, `${field} profile ${JSON.stringify(name)}: gpu must be true or false`));
        ok = false;
      }
    }
    if (d.required_capabilities !== undefined) {
      const caps = d.required_capabilities;
      if (Array.isArray(caps) && caps.every((c): c is string => typeof c === 'string')) {
        profile.required_capabilities = caps.map(normaliseCapability).filter((c) => c !== '');
      } else {
        errors.push(invalid(field, `${field} profile ${JSON.stringify(name)}: required_capabilities must be a list of strings`));
        ok = false;
      }
    }
    if (ok) profiles[name] = profile;
  }
  return profiles;
}

/**
 * Reads the node settings of spec §10.4 from `env`. Never throws: each bad variable becomes an
 * error naming it and is left out of the result.
 *
 * @param hostname - the machine's host name, for the default node name `mirror_neuron@<short host>`.
 */
export function parseEnvInventory(env: InventoryEnv, hostname: string): { value: EnvInventory; errors: InventoryIssue[] } {
  const errors: InventoryIssue[] = [];

  let name = defaultNodeName(hostname);
  const rawName = envValue(env, 'MN_NODE_NAME');
  if (rawName !== undefined) {
    if (/[\s,]/.test(rawName)) errors.push(invalid('MN_NODE_NAME', `MN_NODE_NAME must not contain spaces or commas, got ${JSON.stringify(rawName)}`));
    else name = rawName;
  }

  const hostPaths: string[] = [];
  for (const p of splitList(env.MN_NODE_HOST_PATHS)) {
    if (!isAbsolutePath(p)) {
      errors.push(invalid('MN_NODE_HOST_PATHS', `MN_NODE_HOST_PATHS entry ${JSON.stringify(p)} must be an absolute path${p.startsWith('~') ? ' (~ is not expanded)' : ''}`));
      continue;
    }
    const n = trimTrailingSlashes(p);
    if (!hostPaths.includes(n)) hostPaths.push(n);
  }

  const runtimeDrivers = ['host_local'];
  for (const d of splitList(env.MN_NODE_RUNTIME_DRIVERS)) {
    const n = d.toLowerCase();
    if (!runtimeDrivers.includes(n)) runtimeDrivers.push(n);
  }

  const value: EnvInventory = {
    name,
    capabilities: uniqueSorted(splitList(env.MN_NODE_CAPABILITIES).map(normaliseCapability)),
    profiles: splitList(env.MN_NODE_EXECUTION_PROFILES),
    execution_profiles: parseExecutionProfiles(env.MN_EXECUTION_PROFILES_JSON, errors),
    gpu: parseGpuMode(env, errors),
    host_paths: hostPaths,
    runtime_drivers: runtimeDrivers,
    cpu_model: envValue(env, 'MN_NODE_CPU_MODEL') ?? null,
  };
  return { value, errors };
}

/** Whether the GPU probes should run at all under this environment's `MN_NODE_GPU` setting. */
export function shouldProbeGpus(gpu: GpuMode): boolean {
  return gpu.mode === 'detect' || gpu.mode === 'require';
}

function declaredDevices(count: number, d: GpuDeclaration): ClusterDevice[] {
  const devices: ClusterDevice[] = [];
  for (let i = 0; i < count; i++) {
    devices.push({
      id: `${d.driver ?? 'gpu'}-${i}`,
      kind: 'gpu',
      vendor: d.vendor,
      driver: d.driver,
      memory_mb: d.memory_mb,
      capabilities: hardwareGpuCapabilities(d.name, d.vendor, d.driver),
      api_version: d.api_version,
    });
  }
  return devices;
}

// ---------------------------------------------------------------------------------------------
// The node record
// ---------------------------------------------------------------------------------------------

/** Host facts gathered by the shell (systeminformation) or written by hand in tests. */
export interface HostFacts {
  hostname: string;
  cpu: { logical_cores: number; model?: string | null };
  /** Megabytes; `available_mb` null when unknown. */
  memory: { total_mb: number; available_mb?: number | null };
  /** The filesystem holding `MN_HOME` (or the working directory), megabytes. */
  disk: { total_mb: number; available_mb?: number | null; mount?: string | null };
  /** `platform` as Node names it (`linux`, `darwin`, `win32`); `kernel` is the kernel release. */
  os: { platform: string; distro?: string | null; release?: string | null; kernel?: string | null };
  /** Machine architecture (`x86_64`, `aarch64`; Node's `x64`/`arm64` are accepted too). */
  arch: string;
  /** Detected GPU devices (from {@link parseNvidiaSmiCsv} or {@link parseDarwinDisplays}). */
  gpus: ClusterDevice[];
  /** Driver version of the detected GPUs, when known (advertised as attribute `gpu.driver_version`). */
  gpu_driver_version?: string | null;
  env: InventoryEnv;
}

/** Result of {@link buildNodeInventory}. */
export interface NodeInventory {
  /** The record the daemon advertises; bad variables are left out of it. */
  node: ClusterNode;
  /** Profile definitions from `MN_EXECUTION_PROFILES_JSON`, for the planner. */
  execution_profiles: Record<string, ExecutionProfile>;
  /** Invalid settings; a daemon should refuse to start while this is non-empty. */
  errors: InventoryIssue[];
  /** Facts worth telling the operator (no GPU probe, a profile the node cannot serve). */
  notes: string[];
}

const OS_NAMES: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };
const ARCH_NAMES: Readonly<Record<string, string>> = { x64: 'x86_64', ia32: 'i686', arm64: 'aarch64' };

/** Node's arch names → `uname -m` names, except Apple's own `arm64`, which stays. */
function normaliseArch(arch: string, os: string): string {
  const a = arch.trim().toLowerCase();
  if (a === 'arm64' && os === 'darwin') return 'arm64';
  return ARCH_NAMES[a] ?? a;
}

function capacity(errors: InventoryIssue[], field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value) || value < 0) {
    errors.push(invalid(field, `${field} must be a number zero or greater, got ${String(value)}`));
    return null;
  }
  return value;
}

/**
 * Builds the node record a daemon advertises (DESIGN §4.2, spec §3.1–3.2): capacity from the host
 * facts (memory and disk: available, else total, as the original schedules), devices from the
 * probes unless `MN_NODE_GPU` overrides them, capabilities = `MN_NODE_CAPABILITIES` plus every
 * hardware-derived device capability, sorted. Status is `healthy` and scheduling is enabled;
 * showing `joining` until the first heartbeat is accepted is the daemon's business.
 */
export function buildNodeInventory(facts: HostFacts): NodeInventory {
  const { value: env, errors } = parseEnvInventory(facts.env, facts.hostname);
  const notes: string[] = [];

  const cpu = capacity(errors, 'cpu.logical_cores', facts.cpu.logical_cores) ?? 0;
  const memTotal = capacity(errors, 'memory.total_mb', facts.memory.total_mb) ?? 0;
  const memAvail = capacity(errors, 'memory.available_mb', facts.memory.available_mb);
  const diskTotal = capacity(errors, 'disk.total_mb', facts.disk.total_mb) ?? 0;
  const diskAvail = capacity(errors, 'disk.available_mb', facts.disk.available_mb);

  let devices: ClusterDevice[];
  switch (env.gpu.mode) {
    case 'none':
      devices = [];
      if (facts.gpus.length > 0) notes.push(`MN_NODE_GPU disables GPUs: ${facts.gpus.length} detected GPU(s) are not advertised`);
      break;
    case 'declare':
      devices = declaredDevices(env.gpu.count, env.gpu.declared);
      notes.push(`GPUs declared by the environment (${env.gpu.count}), not detected`);
      break;
    case 'require':
      if (facts.gpus.length > 0) devices = facts.gpus;
      else {
        devices = declaredDevices(1, env.gpu.declared);
        notes.push('MN_NODE_GPU requires a GPU but none was detected: advertising one declared GPU');
      }
      break;
    default:
      devices = facts.gpus;
  }

  const seen = new Set<string>();
  devices = devices.map((d, i) => {
    const id = seen.has(d.id) ? `${d.id}-${i}` : d.id;
    seen.add(id);
    return id === d.id ? d : { ...d, id };
  });

  const capabilities = uniqueSorted([...env.capabilities, ...devices.flatMap((d) => d.capabilities.map(normaliseCapability))]);

  const os = OS_NAMES[facts.os.platform.toLowerCase()] ?? facts.os.platform.toLowerCase();
  const arch = normaliseArch(facts.arch, os);
  const attributes: Record<string, AttributeValue> = { os, arch, 'cpu.arch': arch, 'cpu.cores': cpu };
  const cpuModel = env.cpu_model ?? facts.cpu.model?.trim() ?? '';
  if (cpuModel !== '') attributes['cpu.model'] = cpuModel;
  if (facts.os.kernel) attributes['kernel.version'] = facts.os.kernel;
  if (facts.os.distro) attributes['os.name'] = facts.os.distro;
  if (facts.os.release) attributes['os.version'] = facts.os.release;
  if (facts.hostname) attributes['unique.hostname'] = facts.hostname;
  attributes['memory.total_mb'] = Math.floor(memTotal);
  attributes['disk.total_mb'] = Math.floor(diskTotal);
  const gpuDriverVersion =
    env.gpu.mode === 'declare' || (env.gpu.mode === 'require' && facts.gpus.length === 0)
      ? env.gpu.declared.driver_version
      : env.gpu.mode === 'none'
        ? null
        : (facts.gpu_driver_version ?? null);
  if (gpuDriverVersion) attributes['gpu.driver_version'] = gpuDriverVersion;

  for (const p of env.profiles) {
    const def = env.execution_profiles[p];
    if (def === undefined) {
      if (Object.keys(env.execution_profiles).length > 0) notes.push(`execution profile ${p} is advertised but not defined in MN_EXECUTION_PROFILES_JSON`);
      continue;
    }
    if (def.gpu === true && devices.length === 0) notes.push(`execution profile ${p} needs a GPU but this node advertises none`);
    const missing = (def.required_capabilities ?? []).filter((c) => !capabilities.includes(c));
    if (missing.length > 0) notes.push(`execution profile ${p} requires capabilities this node lacks: ${missing.join(', ')}`);
  }

  const node: ClusterNode = {
    name: env.name,
    status: 'healthy',
    scheduling_eligible: true,
    resources: {
      cpu_cores: cpu,
      memory_mb: Math.floor(memAvail ?? memTotal),
      disk_mb: Math.floor(diskAvail ?? diskTotal),
      gpu_count: devices.filter((d) => d.kind === 'gpu').length,
    },
    devices,
    attributes,
    capabilities,
    profiles: env.profiles,
    runtime_drivers: env.runtime_drivers,
    host_paths: env.host_paths,
  };
  return { node, execution_profiles: env.execution_profiles, errors, notes };
}
