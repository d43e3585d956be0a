import { type JsonObject, type ValidationContext, describeType, isObject, joinPath } from './context.js';
import type { ComparisonOperator, DeviceRequest, PortProtocol, PortRequest, Resources, VolumeRequest } from './types.js';

const CPU_KEYS = ['cpu_cores', 'cores', 'cpu', 'cpu_millis', 'cpu_mcores'] as const;
const MEMORY_KEYS = ['memory_mb', 'memory', 'memory_gb'] as const;
const DISK_KEYS = ['disk_mb', 'disk', 'disk_gb'] as const;
const GPU_KEYS = ['gpu_count', 'gpus', 'gpu'] as const;
const KNOWN_KEYS = new Set<string>([
  ...CPU_KEYS,
  ...MEMORY_KEYS,
  ...DISK_KEYS,
  ...GPU_KEYS,
  'devices',
  'ports',
  'volumes',
  'runtime_driver',
]);
const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'http', 'grpc'];
const RUNNER_DRIVERS: ReadonlyArray<[string, string]> = [
  ['.HostLocal', 'host_local'],
  ['.OpenShell', 'openshell'],
  ['.DockerWorker', 'docker_worker'],
];

/** A resource block with nothing asked: shared by every agent without resources. */
export const EMPTY_RESOURCES: Readonly<Resources> = Object.freeze({
  cpu_cores: 0,
  memory_mb: 0,
  disk_mb: 0,
  gpu_count: 0,
  devices: [],
  ports: [],
  volumes: [],
  runtime_driver: null,
});

/**
 * Parses a node's `resources` block (spec §1.4): aliases and unit conversions to canonical
 * `cpu_cores`/`memory_mb`/`disk_mb`/`gpu_count`, and the device, port and volume requests.
 * `runnerModule` is `config.runner_module`, from which the runtime driver is inferred.
 */
export function parseResources(
  ctx: ValidationContext,
  raw: unknown,
  path: string,
  nodeId: string,
  runnerModule: unknown,
): Resources {
  const inferredDriver = inferDriver(runnerModule);
  if (raw === undefined || raw === null) {
    return inferredDriver ? { ...EMPTY_RESOURCES, runtime_driver: inferredDriver } : (EMPTY_RESOURCES as Resources);
  }
  if (!isObject(raw)) {
    ctx.error(path, `resources for node ${nodeId} must be an object, got ${describeType(raw)}`);
    return EMPTY_RESOURCES as Resources;
  }
  // for-in visits own keys in Object.keys order (then inherited ones, skipped) without a key array.
  for (const key in raw) {
    if (!KNOWN_KEYS.has(key) && Object.prototype.hasOwnProperty.call(raw, key)) {
      ctx.warn(joinPath(path, key), `unknown resource "${key}" for node ${nodeId} is ignored`);
    }
  }

  // Named reads first (cheap): most blocks give one or two of the four dimensions.
  const cpu = raw.cpu_cores == null && raw.cores == null && raw.cpu == null && raw.cpu_millis == null && raw.cpu_mcores == null ? null : scalar(ctx, raw, path, nodeId, CPU_KEYS, convertCpu);
  const memory = raw.memory_mb == null && raw.memory == null && raw.memory_gb == null ? null : scalar(ctx, raw, path, nodeId, MEMORY_KEYS, convertMemory);
  const disk = raw.disk_mb == null && raw.disk == null && raw.disk_gb == null ? null : scalar(ctx, raw, path, nodeId, DISK_KEYS, convertDisk);
  const gpu = raw.gpu_count == null && raw.gpus == null && raw.gpu == null ? null : scalar(ctx, raw, path, nodeId, GPU_KEYS, convertGpu, true);

  const devices = raw.devices === undefined || raw.devices === null ? [] : parseDevices(ctx, raw.devices, joinPath(path, 'devices'), nodeId);
  let deviceGpus = 0;
  for (const d of devices) if (isGpuDevice(d)) deviceGpus += d.count;
  let gpuCount = gpu ?? deviceGpus;
  if (gpu !== null && gpu < deviceGpus) {
    ctx.error(
      joinPath(path, 'gpu_count'),
      `gpu_count ${gpu} for node ${nodeId} is less than the ${deviceGpus} GPU devices it requests`,
    );
    gpuCount = deviceGpus;
  }

  let runtimeDriver = inferredDriver;
  if (raw.runtime_driver !== undefined && raw.runtime_driver !== null) {
    const p = joinPath(path, 'runtime_driver');
    if (typeof raw.runtime_driver !== 'string') ctx.error(p, `runtime_driver for node ${nodeId} must be a string`);
    else if (raw.runtime_driver.trim() === '') ctx.error(p, `runtime_driver for node ${nodeId} must not be empty`);
    else runtimeDriver = raw.runtime_driver.trim();
  }

  return {
    cpu_cores: cpu ?? 0,
    memory_mb: memory ?? 0,
    disk_mb: disk ?? 0,
    gpu_count: gpuCount,
    devices,
    ports: raw.ports === undefined || raw.ports === null ? [] : parsePorts(ctx, raw.ports, joinPath(path, 'ports'), nodeId),
    volumes: raw.volumes === undefined || raw.volumes === null ? [] : parseVolumes(ctx, raw.volumes, joinPath(path, 'volumes'), nodeId),
    runtime_driver: runtimeDriver,
  };
}

/** True for a device request that counts towards `gpu_count`. */
export function isGpuDevice(d: DeviceRequest): boolean {
  return d.kind === 'gpu' || d.kind === null;
}

function inferDriver(runnerModule: unknown): string | null {
  if (typeof runnerModule !== 'string') return null;
  for (const [suffix, driver] of RUNNER_DRIVERS) if (runnerModule.endsWith(suffix)) return driver;
  return null;
}

const convertCpu = (key: string, v: number): number => (key === 'cpu_millis' || key === 'cpu_mcores' || v > 64 ? v / 1000 : v);
const convertMemory = (key: string, v: number): number => Math.ceil(key === 'memory_gb' ? v * 1024 : v);
const convertDisk = (key: string, v: number): number => Math.ceil(key === 'disk_gb' ? v * 1024 : v);
const convertGpu = (_key: string, v: number): number => v;

/** Reads one scalar dimension given under any of its alias keys; only one alias may be used. */
function scalar(
  ctx: ValidationContext,
  raw: JsonObject,
  path: string,
  nodeId: string,
  keys: readonly string[],
  convert: (key: string, value: number) => number,
  integer = false,
): number | null {
  let key: string | null = null;
  let aliases = 0;
  for (const k of keys) {
    const v = raw[k];
    if (v === undefined || v === null) continue;
    key ??= k;
    aliases++;
  }
  if (key === null) return null;
  if (aliases > 1) {
    const present = keys.filter((k) => raw[k] !== undefined && raw[k] !== null);
    ctx.error(joinPath(path, present[1]!), `resources for node ${nodeId} give both ${present.join(' and ')}; use one`);
  }
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    const p = joinPath(path, key);
    ctx.error(p, `${p} for node ${nodeId} must be a number, got ${JSON.stringify(value)}`);
    return null;
  }
  if (value < 0) {
    const p = joinPath(path, key);
    ctx.error(p, `${p} for node ${nodeId} must be zero or greater, got ${value}`);
    return null;
  }
  if (integer && !Number.isInteger(value)) {
    const p = joinPath(path, key);
    ctx.error(p, `${p} for node ${nodeId} must be a whole number, got ${value}`);
    return null;
  }
  return convert(key, value);
}

function parseDevices(ctx: ValidationContext, raw: unknown, path: string, nodeId: string): DeviceRequest[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.error(path, `resources.devices for node ${nodeId} must be a list`);
    return [];
  }
  const out: DeviceRequest[] = [];
  raw.forEach((entry, i) => {
    const p = joinPath(path, i);
    const label = `resources.devices[${i}] for node ${nodeId}`;
    if (!isObject(entry)) {
      ctx.error(p, `${label} must be an object, got ${describeType(entry)}`);
      return;
    }
    let kind = ctx.optionalString(entry, 'kind', p, { nonEmpty: true });
    let vendor = ctx.optionalString(entry, 'vendor', p, { nonEmpty: true });
    const type = ctx.optionalString(entry, 'type', p, { nonEmpty: true });
    if (type !== null) {
      const slash = type.indexOf('/');
      const typeKind = slash >= 0 ? type.slice(slash + 1) : type;
      const typeVendor = slash >= 0 ? type.slice(0, slash) : null;
      kind ??= typeKind;
      if (typeVendor) {
        if (vendor !== null && vendor.toLowerCase() !== typeVendor.toLowerCase()) {
          ctx.error(joinPath(p, 'vendor'), `${label}.vendor "${vendor}" contradicts type "${type}"`);
        }
        vendor ??= typeVendor;
      }
    }
    const count = ctx.number(entry, 'count', p, 1, {
      integer: true,
      exclusiveMin: 0,
      message: `${label}.count must be greater than zero`,
    });
    const minMemory = entry.min_memory_mb === undefined || entry.min_memory_mb === null
      ? null
      : ctx.number(entry, 'min_memory_mb', p, 0, { min: 0, message: `${label}.min_memory_mb must be zero or greater` });
    const memoryOperator = comparison(ctx, entry, 'memory_operator', p, `${label}.memory_operator must be >, >=, or ==`);
    const apiRaw = entry.min_api_version;
    let minApi: string | null = null;
    if (typeof apiRaw === 'number' && Number.isFinite(apiRaw)) minApi = String(apiRaw);
    else if (typeof apiRaw === 'string' && /^\d+(\.\d+)*$/.test(apiRaw.trim())) minApi = apiRaw.trim();
    else if (apiRaw !== undefined && apiRaw !== null) {
      ctx.error(joinPath(p, 'min_api_version'), `${label}.min_api_version must be a version such as "12.1"`);
    }
    const apiOperator = comparison(ctx, entry, 'api_version_operator', p, `${label}.api_version_operator must be >, >=, or ==`);
    out.push({
      kind: kind?.toLowerCase() ?? null,
      vendor: vendor?.toLowerCase() ?? null,
      driver: ctx.optionalString(entry, 'driver', p, { nonEmpty: true })?.toLowerCase() ?? null,
      count,
      min_memory_mb: minMemory,
      memory_operator: memoryOperator,
      min_api_version: minApi,
      api_version_operator: apiOperator,
      capabilities: ctx.stringList(entry, 'capabilities', p, { message: `${label}.capabilities must be a list` }).map(
        normaliseCapability,
      ),
      ids: ctx.stringList(entry, 'ids', p, { message: `${label}.ids must be a list` }),
    });
  });
  return out;
}

/** Capabilities are compared lower-cased with `_` read as `-` (spec §3.2). */
export function normaliseCapability(c: string): string {
  return c.trim().toLowerCase().replace(/_/g, '-');
}

function comparison(ctx: ValidationContext, entry: JsonObject, key: string, path: string, message: string): ComparisonOperator {
  const raw = entry[key];
  if (raw === undefined || raw === null) return '>=';
  if (raw === '=' || raw === '==') return '==';
  if (raw === '>' || raw === '>=') return raw;
  ctx.error(joinPath(path, key), message);
  return '>=';
}

function parsePorts(ctx: ValidationContext, raw: unknown, path: string, nodeId: string): PortRequest[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.error(path, `resources.ports for node ${nodeId} must be a list`);
    return [];
  }
  const labels = new Set<string>();
  const out: PortRequest[] = [];
  raw.forEach((entry, i) => {
    const p = joinPath(path, i);
    const label = `resources.ports[${i}] for node ${nodeId}`;
    if (!isObject(entry)) {
      ctx.error(p, `${label} must be an object, got ${describeType(entry)}`);
      return;
    }
    const name = typeof entry.label === 'string' && entry.label.trim() !== '' ? entry.label.trim() : null;
    if (name === null) ctx.error(joinPath(p, 'label'), `${label}.label is required`);
    else if (labels.has(name)) ctx.error(joinPath(p, 'label'), `duplicate port label "${name}" for node ${nodeId}`);
    else labels.add(name);
    const port = entry.port;
    const portOk = typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
    if (!portOk) ctx.error(joinPath(p, 'port'), `${label}.port must be between 1 and 65535, got ${JSON.stringify(port)}`);
    const protocol = ctx.enumValue(entry, 'protocol', p, PROTOCOLS, 'tcp', {
      normalise: (s) => s.toLowerCase(),
      message: (v) => `${label}.protocol must be one of tcp, udp, http, grpc, got ${JSON.stringify(v)}`,
    });
    if (name !== null && portOk) out.push({ label: name, port: port as number, protocol });
  });
  return out;
}

function parseVolumes(ctx: ValidationContext, raw: unknown, path: string, nodeId: string): VolumeRequest[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.error(path, `resources.volumes for node ${nodeId} must be a list`);
    return [];
  }
  const names = new Set<string>();
  const out: VolumeRequest[] = [];
  raw.forEach((entry, i) => {
    const p = joinPath(path, i);
    const label = `resources.volumes[${i}] for node ${nodeId}`;
    if (!isObject(entry)) {
      ctx.error(p, `${label} must be an object, got ${describeType(entry)}`);
      return;
    }
    const name = typeof entry.name === 'string' && entry.name.trim() !== '' ? entry.name.trim() : null;
    if (name === null) ctx.error(joinPath(p, 'name'), `${label}.name is required`);
    else if (names.has(name)) ctx.error(joinPath(p, 'name'), `duplicate volume name "${name}" for node ${nodeId}`);
    else names.add(name);
    const source = absolutePath(ctx, entry, 'source', p, `${label}.source must be an absolute host path`);
    const target = absolutePath(ctx, entry, 'target', p, `${label}.target must be an absolute target path`);
    const mode = ctx.enumValue(entry, 'mode', p, ['ro', 'rw'] as const, 'ro', { message: () => `${label}.mode must be ro or rw` });
    ctx.enumValue(entry, 'type', p, ['host'] as const, 'host', { message: () => `${label}.type must be host` });
    if (name !== null && source !== null && target !== null) out.push({ name, source, target, mode, type: 'host' });
  });
  return out;
}

function absolutePath(ctx: ValidationContext, entry: JsonObject, key: string, path: string, message: string): string | null {
  const value = entry[key];
  if (typeof value === 'string' && value.startsWith('/')) return value;
  ctx.error(joinPath(path, key), `${message}, got ${JSON.stringify(value ?? null)}`);
  return null;
}
