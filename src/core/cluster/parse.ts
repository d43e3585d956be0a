/**
 * Parses and validates a cluster file (DESIGN §4.2) from a plain JS value into a `ClusterState`.
 * Every problem is collected with its JSON path so one run reports them all.
 */
import { MnError } from '../errors.js';
import { type JsonObject, ValidationContext, describeType, isObject, joinPath } from '../manifest/context.js';
import type { ValidationIssue } from '../manifest/types.js';
import {
  type AllocationPort,
  type AttributeValue,
  type ClusterAllocation,
  type ClusterDevice,
  type ClusterNode,
  type ClusterService,
  type ClusterState,
  type NodeCapacity,
  type NodeStatus,
  NODE_STATUSES,
  ALLOCATION_JOB_TYPES,
  DEFAULT_ALLOCATION_JOB_TYPE,
  DEFAULT_ALLOCATION_PRIORITY,
} from './types.js';

/** Thrown by `parseClusterFile` for invalid input; `issues` lists every finding by JSON path. */
export class ClusterFileError extends MnError<{ issues: ValidationIssue[] }> {
  constructor(readonly issues: ValidationIssue[]) {
    super(
      'MN_E_CLUSTER_FILE',
      `invalid cluster file: ${issues
        .slice(0, 5)
        .map((i) => i.message)
        .join('; ')}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`,
      { details: { issues } },
    );
    this.name = 'ClusterFileError';
  }
}

/** Result of `validateClusterFile`: never throws. */
export interface ClusterValidationResult {
  ok: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  cluster?: ClusterState;
}

/** Parses a cluster file; throws `ClusterFileError` listing every problem. */
export function parseClusterFile(input: unknown): ClusterState {
  const result = validateClusterFile(input);
  if (!result.ok || !result.cluster) throw new ClusterFileError(result.errors);
  return result.cluster;
}

/** True when `value` already is a parsed cluster (as opposed to a raw file object). */
export function isClusterState(value: unknown): value is ClusterState {
  return value !== null && typeof value === 'object' && PARSED.has(value as object);
}

/** Parsed clusters are tagged so `simulatePlan` can skip re-validation without duck typing. */
const PARSED = new WeakSet<object>();

/** Validates a cluster file, returning every error by path. */
export function validateClusterFile(input: unknown): ClusterValidationResult {
  return validate(input, false);
}

/**
 * `validateClusterFile` with every node on the reporting path (no fast path): the reference the
 * tests compare the fast path against. Same result, slower.
 */
export function validateClusterFileReference(input: unknown): ClusterValidationResult {
  return validate(input, true);
}

function validate(input: unknown, slow: boolean): ClusterValidationResult {
  const ctx = new ValidationContext();
  if (!isObject(input)) {
    ctx.error('', `cluster file must be an object with a nodes list, got ${describeType(input)}`);
    return { ok: false, errors: ctx.errors, warnings: ctx.warnings };
  }
  const rawNodes = ctx.list(input, 'nodes', '', 'nodes must be a list');
  if (input.nodes === undefined) ctx.error('nodes', 'nodes is required');

  const nodes: ClusterNode[] = [];
  const byName = new Map<string, ClusterNode>();
  const capCache: CapCache = new Map();
  rawNodes.forEach((raw, i) => {
    const node = (!slow && fastNode(raw, capCache)) || parseNode(ctx, raw, joinPath('nodes', i));
    if (!node) return;
    if (byName.has(node.name)) {
      ctx.error(joinPath(joinPath('nodes', i), 'name'), `nodes[${i}].name "${node.name}" is a duplicate node name`);
      return;
    }
    byName.set(node.name, node);
    nodes.push(node);
  });

  const allocations: ClusterAllocation[] = [];
  ctx.list(input, 'allocations', '', 'allocations must be a list').forEach((raw, i) => {
    const a = parseAllocation(ctx, raw, joinPath('allocations', i), byName);
    if (a) allocations.push(a);
  });

  const services: ClusterService[] = [];
  ctx.list(input, 'services', '', 'services must be a list').forEach((raw, i) => {
    const s = parseService(ctx, raw, joinPath('services', i), byName);
    if (s) services.push(s);
  });

  if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors, warnings: ctx.warnings };
  const cluster: ClusterState = { nodes, allocations, services };
  PARSED.add(cluster);
  return { ok: true, errors: [], warnings: ctx.warnings, cluster };
}

/** Capabilities are compared lower-cased with `_` read as `-` (spec §3.2). */
function normaliseCapability(c: string): string {
  return c.trim().toLowerCase().replace(/_/g, '-');
}

function nonNegative(ctx: ValidationContext, obj: JsonObject, key: string, path: string): number {
  return ctx.number(obj, key, path, 0, {
    min: 0,
    message: `${joinPath(path, key)} must be a number zero or greater, got ${JSON.stringify(obj[key])}`,
  });
}

function parseNode(ctx: ValidationContext, raw: unknown, path: string): ClusterNode | null {
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object, got ${describeType(raw)}`);
    return null;
  }
  const name = ctx.requiredString(raw, 'name', path, `${path}.name is required`);
  const status = ctx.enumValue<NodeStatus>(raw, 'status', path, NODE_STATUSES, 'healthy', {
    normalise: (s) => s.trim().toLowerCase(),
  });
  const eligible = ctx.boolean(raw, 'scheduling_eligible', path, true);
  const res = ctx.object(raw, 'resources', path);
  const resPath = joinPath(path, 'resources');
  const cpu = nonNegative(ctx, res, 'cpu_cores', resPath);
  const memory = nonNegative(ctx, res, 'memory_mb', resPath);
  const disk = nonNegative(ctx, res, 'disk_mb', resPath);
  const gpuFallback = res.gpu_count === undefined ? null : nonNegative(ctx, res, 'gpu_count', resPath);

  const devices: ClusterDevice[] = [];
  const ids = new Set<string>();
  ctx.list(raw, 'devices', path).forEach((d, j) => {
    const dev = parseDevice(ctx, d, joinPath(joinPath(path, 'devices'), j), j);
    if (!dev) return;
    if (ids.has(dev.id)) {
      ctx.error(joinPath(joinPath(joinPath(path, 'devices'), j), 'id'), `${path}.devices[${j}].id "${dev.id}" is a duplicate device id`);
      return;
    }
    ids.add(dev.id);
    devices.push(dev);
  });
  const gpuDevices = devices.filter((d) => d.kind === 'gpu').length;

  const attributes: Record<string, AttributeValue> = {};
  const rawAttrs = ctx.object(raw, 'attributes', path);
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
    else if (v !== null && v !== undefined) {
      ctx.error(joinPath(joinPath(path, 'attributes'), k), `${joinPath(joinPath(path, 'attributes'), k)} must be a string, number or boolean, got ${describeType(v)}`);
    }
  }

  const capabilities = ctx.stringList(raw, 'capabilities', path).map(normaliseCapability);
  // Hardware-derived GPU capabilities (the driver name, e.g. `cuda`) count as advertised (spec §3.2).
  for (const d of devices) {
    if (d.kind === 'gpu' && d.driver && !capabilities.includes(d.driver)) capabilities.push(d.driver);
  }
  const runtimeDrivers = raw.runtime_drivers === undefined ? ['host_local'] : ctx.stringList(raw, 'runtime_drivers', path);
  const hostPaths = ctx.stringList(raw, 'host_paths', path);
  hostPaths.forEach((p, j) => {
    if (!p.startsWith('/')) {
      ctx.error(joinPath(joinPath(path, 'host_paths'), j), `${path}.host_paths[${j}] must be an absolute path, got ${JSON.stringify(p)}`);
    }
  });
  if (name === null) return null;
  const resources: NodeCapacity = {
    cpu_cores: cpu,
    memory_mb: memory,
    disk_mb: disk,
    gpu_count: gpuDevices > 0 ? gpuDevices : (gpuFallback ?? 0),
  };
  return {
    name,
    status,
    scheduling_eligible: eligible,
    resources,
    devices,
    attributes,
    capabilities,
    profiles: ctx.stringList(raw, 'profiles', path),
    runtime_drivers: runtimeDrivers,
    host_paths: hostPaths.map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p)),
  };
}

function parseDevice(ctx: ValidationContext, raw: unknown, path: string, index: number): ClusterDevice | null {
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object, got ${describeType(raw)}`);
    return null;
  }
  let kind = ctx.optionalString(raw, 'kind', path, { nonEmpty: true });
  let vendor = ctx.optionalString(raw, 'vendor', path, { nonEmpty: true });
  const type = ctx.optionalString(raw, 'type', path, { nonEmpty: true });
  if (type !== null) {
    const slash = type.indexOf('/');
    kind ??= slash >= 0 ? type.slice(slash + 1) : type;
    if (slash >= 0) vendor ??= type.slice(0, slash);
  }
  const driver = ctx.optionalString(raw, 'driver', path, { nonEmpty: true });
  const memory = raw.memory_mb === undefined || raw.memory_mb === null ? null : nonNegative(ctx, raw, 'memory_mb', path);
  let api: string | null = null;
  if (typeof raw.api_version === 'number' && Number.isFinite(raw.api_version)) api = String(raw.api_version);
  else if (raw.api_version !== undefined && raw.api_version !== null) api = ctx.optionalString(raw, 'api_version', path);
  const k = (kind ?? 'gpu').toLowerCase();
  const id = ctx.optionalString(raw, 'id', path, { nonEmpty: true }) ?? `${(driver ?? k).toLowerCase()}-${index}`;
  return {
    id,
    kind: k,
    vendor: vendor?.toLowerCase() ?? null,
    driver: driver?.toLowerCase() ?? null,
    memory_mb: memory,
    capabilities: ctx.stringList(raw, 'capabilities', path).map(normaliseCapability),
    api_version: api,
  };
}

const PROTOCOLS = ['tcp', 'udp', 'http', 'grpc'] as const;

function parseAllocation(
  ctx: ValidationContext,
  raw: unknown,
  path: string,
  nodes: ReadonlyMap<string, ClusterNode>,
): ClusterAllocation | null {
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object, got ${describeType(raw)}`);
    return null;
  }
  const jobId = ctx.requiredString(raw, 'job_id', path, `${path}.job_id is required`);
  const agentId = ctx.optionalString(raw, 'agent_id', path) ?? '';
  const nodeName = ctx.requiredString(raw, 'node', path, `${path}.node is required`);
  const node = nodeName === null ? undefined : nodes.get(nodeName);
  if (nodeName !== null && !node) ctx.error(joinPath(path, 'node'), `${path}.node "${nodeName}" is not a known node`);
  const resPath = joinPath(path, 'resources');
  const res = ctx.object(raw, 'resources', path);
  const resources: NodeCapacity = {
    cpu_cores: nonNegative(ctx, res, 'cpu_cores', resPath),
    memory_mb: nonNegative(ctx, res, 'memory_mb', resPath),
    disk_mb: nonNegative(ctx, res, 'disk_mb', resPath),
    gpu_count: nonNegative(ctx, res, 'gpu_count', resPath),
  };
  const devices = ctx.stringList(raw, 'devices', path);
  if (node) {
    devices.forEach((id, j) => {
      if (!node.devices.some((d) => d.id === id)) {
        ctx.error(joinPath(joinPath(path, 'devices'), j), `${path}.devices[${j}] "${id}" is not a device of node ${node.name}`);
      }
    });
  }
  const ports: AllocationPort[] = [];
  ctx.list(raw, 'ports', path).forEach((p, j) => {
    const pp = joinPath(joinPath(path, 'ports'), j);
    if (typeof p === 'number') {
      if (!Number.isInteger(p) || p < 1 || p > 65535) ctx.error(pp, `${pp} must be between 1 and 65535`);
      else ports.push({ port: p, protocol: 'tcp' });
      return;
    }
    if (!isObject(p)) {
      ctx.error(pp, `${pp} must be an object, got ${describeType(p)}`);
      return;
    }
    const port = ctx.number(p, 'port', pp, 0, { integer: true, min: 1, max: 65535 });
    if (p.port === undefined) ctx.error(joinPath(pp, 'port'), `${pp}.port is required`);
    const protocol = ctx.enumValue(p, 'protocol', pp, PROTOCOLS, 'tcp', { normalise: (s) => s.toLowerCase() });
    if (port > 0) ports.push({ port, protocol });
  });
  const priority = ctx.number(raw, 'priority', path, DEFAULT_ALLOCATION_PRIORITY, {
    integer: true,
    min: 1,
    max: 100,
    message: `${joinPath(path, 'priority')} must be an integer from 1 to 100 (the job's priority), got ${JSON.stringify(raw.priority)}`,
  });
  const jobType = ctx.enumValue(raw, 'job_type', path, ALLOCATION_JOB_TYPES, DEFAULT_ALLOCATION_JOB_TYPE, {
    normalise: (s) => s.toLowerCase(),
    message: (v) => `${joinPath(path, 'job_type')} ${JSON.stringify(v)} is not a job type; use one of ${ALLOCATION_JOB_TYPES.join(', ')}`,
  });
  if (jobId === null || nodeName === null) return null;
  return { job_id: jobId, agent_id: agentId, node: nodeName, resources, devices, ports, priority, job_type: jobType };
}

function parseService(
  ctx: ValidationContext,
  raw: unknown,
  path: string,
  nodes: ReadonlyMap<string, ClusterNode>,
): ClusterService | null {
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object, got ${describeType(raw)}`);
    return null;
  }
  const name = ctx.requiredString(raw, 'name', path, `${path}.name is required`);
  const node = ctx.requiredString(raw, 'node', path, `${path}.node is required`);
  if (node !== null && !nodes.has(node)) ctx.error(joinPath(path, 'node'), `${path}.node "${node}" is not a known node`);
  const status = (ctx.optionalString(raw, 'status', path) ?? 'passing').toLowerCase();
  const originRaw = ctx.optionalString(raw, 'origin', path);
  let origin: 'internal' | 'external' | null = null;
  if (originRaw === 'internal' || originRaw === 'external') origin = originRaw;
  else if (originRaw !== null) ctx.error(joinPath(path, 'origin'), `${path}.origin must be internal or external`);
  if (name === null || node === null) return null;
  return { name, node, tags: ctx.stringList(raw, 'tags', path), status, origin };
}

// ------------------------------------------------------------------------------------------
// Fast path. A cluster file of 10,000 nodes is mostly well formed: the accept-only readers below
// check each field with plain type tests and build no JSON path (paths are only needed to report
// an error). Whenever a node holds anything they do not accept outright, they return null and
// the node is parsed again by the reporting path above (`parseNode`), so every error message,
// path and the order of errors stay exactly those of the reporting path. Both paths build the
// same values (test/unit/cluster/parse.test.ts compares them on valid and invalid files).

/** Sentinel: "not accepted by the fast path, use the reporting path". */
const BAIL: unique symbol = Symbol('bail');
type Fast<T> = T | typeof BAIL;

/** `s.trim() !== ''` without allocating in the common case (first char printable ASCII). */
function nonBlank(s: string): boolean {
  const c = s.charCodeAt(0);
  if (c > 32 && c < 127) return true;
  return s.trim() !== '';
}

/** True when `s.trim().toLowerCase()` (and `_`→`-`) would return `s` unchanged. */
function plainLower(s: string, underscore: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127 || (c >= 65 && c <= 90) || (underscore && c === 95)) return false;
  }
  return true;
}

function fastLower(s: string): string {
  return plainLower(s, false) && s.length > 0 ? s : s.toLowerCase();
}

/** Cache of capability spellings seen in one parse (few distinct values, many repeats). */
type CapCache = Map<string, string>;

function fastCapability(s: string, cache: CapCache): string {
  if (plainLower(s, true)) return s;
  let v = cache.get(s);
  if (v === undefined) {
    v = normaliseCapability(s);
    cache.set(s, v);
  }
  return v;
}

/** A finite number ≥ 0, or `fallback` when absent; BAIL for anything the reporting path rejects. */
function fastNonNegative(value: unknown, fallback: number): Fast<number> {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : BAIL;
}

/** `ctx.stringList` for an all-string list (optionally capability-normalised). */
function fastStringList(value: unknown, cache: CapCache | null): Fast<string[]> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return BAIL;
  const n = value.length;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string') return BAIL;
    out[i] = cache === null ? item : fastCapability(item, cache);
  }
  return out;
}

/** `ctx.optionalString(..., { nonEmpty: true })`. */
function fastOptionalNonEmpty(value: unknown): Fast<string | null> {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' && nonBlank(value) ? value : BAIL;
}

function fastStatus(value: unknown): Fast<NodeStatus> {
  if (value === undefined || value === null) return 'healthy';
  if (typeof value !== 'string') return BAIL;
  switch (value) {
    case 'healthy':
    case 'joining':
    case 'draining':
    case 'maintenance':
    case 'disconnected':
    case 'offline':
    case 'quarantined':
      return value;
  }
  const v = value.trim().toLowerCase();
  return (NODE_STATUSES as readonly string[]).includes(v) ? (v as NodeStatus) : BAIL;
}

function fastDevice(raw: unknown, index: number, cache: CapCache): ClusterDevice | null {
  if (!isObject(raw)) return null;
  let kind = fastOptionalNonEmpty(raw.kind);
  if (kind === BAIL) return null;
  let vendor = fastOptionalNonEmpty(raw.vendor);
  if (vendor === BAIL) return null;
  const type = fastOptionalNonEmpty(raw.type);
  if (type === BAIL) return null;
  if (type !== null) {
    const slash = type.indexOf('/');
    kind ??= slash >= 0 ? type.slice(slash + 1) : type;
    if (slash >= 0) vendor ??= type.slice(0, slash);
  }
  const driver = fastOptionalNonEmpty(raw.driver);
  if (driver === BAIL) return null;
  const memory = raw.memory_mb === undefined || raw.memory_mb === null ? null : fastNonNegative(raw.memory_mb, 0);
  if (memory === BAIL) return null;
  let api: string | null = null;
  const rawApi = raw.api_version;
  if (typeof rawApi === 'number' && Number.isFinite(rawApi)) api = String(rawApi);
  else if (typeof rawApi === 'string') api = rawApi;
  else if (rawApi !== undefined && rawApi !== null) return null;
  const k = kind === null ? 'gpu' : fastLower(kind);
  const rawId = fastOptionalNonEmpty(raw.id);
  if (rawId === BAIL) return null;
  const capabilities = fastStringList(raw.capabilities, cache);
  if (capabilities === BAIL) return null;
  return {
    id: rawId ?? `${fastLower(driver ?? k)}-${index}`,
    kind: k,
    vendor: vendor === null ? null : fastLower(vendor),
    driver: driver === null ? null : fastLower(driver),
    memory_mb: memory,
    capabilities,
    api_version: api,
  };
}

/** The whole node through the fast path, or null when the reporting path must look at it. */
function fastNode(raw: unknown, cache: CapCache): ClusterNode | null {
  if (!isObject(raw)) return null;
  const name = raw.name;
  if (typeof name !== 'string' || !nonBlank(name)) return null;
  const status = fastStatus(raw.status);
  if (status === BAIL) return null;
  const eligibleRaw = raw.scheduling_eligible;
  let eligible = true;
  if (typeof eligibleRaw === 'boolean') eligible = eligibleRaw;
  else if (eligibleRaw !== undefined && eligibleRaw !== null) return null;
  let res = raw.resources;
  if (res === undefined || res === null) res = {};
  else if (!isObject(res)) return null;
  const r = res as JsonObject;
  const cpu = fastNonNegative(r.cpu_cores, 0);
  const memory = fastNonNegative(r.memory_mb, 0);
  const disk = fastNonNegative(r.disk_mb, 0);
  const gpuFallback = r.gpu_count === undefined ? null : fastNonNegative(r.gpu_count, 0);
  if (cpu === BAIL || memory === BAIL || disk === BAIL || gpuFallback === BAIL) return null;

  const devices: ClusterDevice[] = [];
  let gpuDevices = 0;
  const rawDevices = raw.devices;
  if (rawDevices !== undefined && rawDevices !== null) {
    if (!Array.isArray(rawDevices)) return null;
    // Duplicate ids by a linear scan for the usual handful of devices, by a set beyond that.
    const ids = rawDevices.length > 16 ? new Set<string>() : null;
    for (let j = 0; j < rawDevices.length; j++) {
      const dev = fastDevice(rawDevices[j], j, cache);
      if (dev === null) return null;
      if (ids !== null) {
        if (ids.has(dev.id)) return null;
        ids.add(dev.id);
      } else {
        for (let q = 0; q < devices.length; q++) if (devices[q]!.id === dev.id) return null;
      }
      devices.push(dev);
      if (dev.kind === 'gpu') gpuDevices++;
    }
  }

  const attributes: Record<string, AttributeValue> = {};
  const rawAttrs = raw.attributes;
  if (rawAttrs !== undefined && rawAttrs !== null) {
    if (!isObject(rawAttrs)) return null;
    for (const k of Object.keys(rawAttrs)) {
      const v = rawAttrs[k];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      else if (v !== null && v !== undefined) return null;
    }
  }

  const capabilities = fastStringList(raw.capabilities, cache);
  if (capabilities === BAIL) return null;
  for (const d of devices) {
    if (d.kind === 'gpu' && d.driver && !capabilities.includes(d.driver)) capabilities.push(d.driver);
  }
  const runtimeDrivers = raw.runtime_drivers === undefined ? ['host_local'] : fastStringList(raw.runtime_drivers, null);
  if (runtimeDrivers === BAIL) return null;
  const hostPaths = fastStringList(raw.host_paths, null);
  if (hostPaths === BAIL) return null;
  for (let j = 0; j < hostPaths.length; j++) {
    const p = hostPaths[j]!;
    if (p.charCodeAt(0) !== 47) return null; // not absolute: the reporting path says so
    if (p.length > 1 && p.charCodeAt(p.length - 1) === 47) hostPaths[j] = p.replace(/\/+$/, '');
  }
  const profiles = fastStringList(raw.profiles, null);
  if (profiles === BAIL) return null;
  return {
    name,
    status,
    scheduling_eligible: eligible,
    resources: {
      cpu_cores: cpu,
      memory_mb: memory,
      disk_mb: disk,
      gpu_count: gpuDevices > 0 ? gpuDevices : (gpuFallback ?? 0),
    },
    devices,
    attributes,
    capabilities,
    profiles,
    runtime_drivers: runtimeDrivers,
    host_paths: hostPaths,
  };
}
