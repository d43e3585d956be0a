/**
 * The per-node placement filters of spec §3.3 that are not plain capacity arithmetic: status,
 * execution profile, required services, runtime driver, volumes, ports and devices. The fast path
 * (eligibility masks) and the explanations both call these, so a node is never judged two ways.
 */
import { SCHEDULABLE_STATUSES, type ClusterDevice, type ClusterNode, type ClusterService } from '../cluster/types.js';
import type { ComparisonOperator, DeviceRequest, PortProtocol, ServiceRequirement, VolumeRequest } from '../manifest/types.js';
import { compareVersions, parseVersion } from '../version.js';

/** An execution profile definition (`MN_EXECUTION_PROFILES_JSON`, spec §1.5). */
export interface ExecutionProfile {
  gpu?: boolean;
  required_capabilities?: string[];
}

/** Why a node does not accept placements, in the spec's words; null when it does. */
export function statusReason(node: ClusterNode, excluded: boolean): string | null {
  if (excluded) return 'excluded from this plan';
  if (!SCHEDULABLE_STATUSES.has(node.status)) return `status "${node.status}"`;
  if (!node.scheduling_eligible) return 'scheduling is disabled';
  return null;
}

/**
 * A node is eligible for a profile when it lists the profile and advertises every required
 * capability; the profile's GPU demand is part of the scalar ask instead. A profile without a
 * definition only needs to be listed.
 */
export function profileOk(node: ClusterNode, name: string | null, def: ExecutionProfile | undefined): boolean {
  if (name === null) return true;
  if (!node.profiles.includes(name)) return false;
  for (const cap of def?.required_capabilities ?? []) {
    if (!node.capabilities.includes(normaliseCapability(cap))) return false;
  }
  return true;
}

/** Capabilities are compared lower-cased with `_` read as `-` (spec §3.2). */
export function normaliseCapability(c: string): string {
  return c.trim().toLowerCase().replace(/_/g, '-');
}

/** Every required service has a passing instance on the node with the same name and all tags. */
export function servicesOk(instances: readonly ClusterService[] | undefined, reqs: readonly ServiceRequirement[]): boolean {
  for (const req of reqs) {
    if (!req.required) continue;
    const ok = (instances ?? []).some(
      (s) =>
        s.name === req.name &&
        s.status === 'passing' &&
        req.tags.every((t) => s.tags.includes(t)) &&
        (req.origin === null || s.origin === null || s.origin === req.origin),
    );
    if (!ok) return false;
  }
  return true;
}

/** The runtime driver an agent runs with on a node (the requested one, else the node's default). */
export function effectiveDriver(node: ClusterNode, requested: string | null): string {
  if (requested !== null) return requested;
  return node.runtime_drivers.includes('host_local') ? 'host_local' : (node.runtime_drivers[0] ?? 'host_local');
}

export function driverOk(node: ClusterNode, requested: string | null): boolean {
  return requested === null || node.runtime_drivers.includes(requested);
}

/** True when `path` is `root` or lies under it (component-wise, so `/srv/m` does not cover `/srv/models`). */
export function pathUnder(path: string, root: string): boolean {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (root === '/') return p.startsWith('/');
  return p === root || p.startsWith(`${root}/`);
}

/** Every volume source lies at or under one of the node's advertised host paths. */
export function volumesOk(node: ClusterNode, volumes: readonly VolumeRequest[]): boolean {
  return volumes.every((v) => node.host_paths.some((root) => pathUnder(v.source, root)));
}

/**
 * Port identity on a node. tcp, http and grpc all bind TCP sockets, so they share one space
 * (`tcp:8080`); udp is separate (`udp:8080`).
 */
export function portKey(port: number, protocol: PortProtocol): string {
  return `${protocol === 'udp' ? 'udp' : 'tcp'}:${port}`;
}

function compare(actual: number, op: ComparisonOperator, bound: number): boolean {
  return op === '>' ? actual > bound : op === '==' ? actual === bound : actual >= bound;
}

/** Whether one device satisfies one request (spec §3.3 filter 6). */
export function deviceMatches(d: ClusterDevice, r: DeviceRequest): boolean {
  if (r.kind !== null) {
    const slash = r.kind.indexOf('/');
    const kind = slash >= 0 ? r.kind.slice(slash + 1) : r.kind;
    if (d.kind !== kind.toLowerCase()) return false;
    if (slash >= 0 && d.vendor !== r.kind.slice(0, slash).toLowerCase()) return false;
  }
  if (r.vendor !== null && d.vendor !== r.vendor.toLowerCase()) return false;
  if (r.driver !== null && d.driver !== r.driver.toLowerCase()) return false;
  if (r.ids.length > 0 && !r.ids.includes(d.id)) return false;
  for (const cap of r.capabilities) if (!d.capabilities.includes(normaliseCapability(cap))) return false;
  if (r.min_memory_mb !== null) {
    if (d.memory_mb === null || !compare(d.memory_mb, r.memory_operator, r.min_memory_mb)) return false;
  }
  if (r.min_api_version !== null) {
    const have = d.api_version === null ? null : parseVersion(d.api_version);
    const want = parseVersion(r.min_api_version);
    if (have === null || want === null) return false;
    const c = compareVersions(have, want, false);
    if (!(r.api_version_operator === '>' ? c > 0 : r.api_version_operator === '==' ? c === 0 : c >= 0)) return false;
  }
  return true;
}

/**
 * Picks devices for one agent: for each request in order, the matching free devices sorted by
 * spare memory over the request's minimum (tightest fit first, then inventory order). Returns
 * null when a request cannot be met. `used` is not modified.
 */
export function pickDevices(
  devices: readonly ClusterDevice[],
  used: ReadonlySet<string> | undefined,
  requests: readonly DeviceRequest[],
): ClusterDevice[] | null {
  if (requests.length === 0) return [];
  const chosen: ClusterDevice[] = [];
  for (const r of requests) {
    const candidates: ClusterDevice[] = [];
    for (const d of devices) {
      if (used?.has(d.id) || chosen.includes(d)) continue;
      if (deviceMatches(d, r)) candidates.push(d);
    }
    if (candidates.length < r.count) return null;
    const min = r.min_memory_mb ?? 0;
    const slack = (d: ClusterDevice): number => (d.memory_mb ?? min) - min;
    // Array.prototype.sort is stable, so equal slack keeps inventory order.
    candidates.sort((a, b) => slack(a) - slack(b));
    for (let k = 0; k < r.count; k++) chosen.push(candidates[k]!);
  }
  return chosen;
}

/**
 * Device requests to satisfy on a node. A GPU ask beyond the explicit GPU-like requests (legacy
 * `gpu_count`, or a GPU execution profile) is a generic GPU request; it only binds concrete
 * devices on nodes that list GPU devices; elsewhere the scalar GPU capacity alone decides.
 */
export function deviceRequestsFor(node: ClusterNode, explicit: readonly DeviceRequest[], generic: DeviceRequest | null): readonly DeviceRequest[] {
  if (generic === null || !node.devices.some((d) => d.kind === 'gpu')) return explicit;
  return [...explicit, generic];
}

/** Readable summary of a device request (`1 cuda gpu with >= 40000 MB`). */
export function describeDeviceRequest(r: DeviceRequest): string {
  const parts: string[] = [String(r.count)];
  if (r.vendor) parts.push(r.vendor);
  if (r.driver) parts.push(r.driver);
  parts.push(r.kind ?? 'device');
  let text = parts.join(' ');
  const extras: string[] = [];
  if (r.min_memory_mb !== null) extras.push(`${r.memory_operator} ${r.min_memory_mb} MB`);
  if (r.min_api_version !== null) extras.push(`API ${r.api_version_operator} ${r.min_api_version}`);
  if (r.capabilities.length > 0) extras.push(`capabilities ${r.capabilities.join(', ')}`);
  if (r.ids.length > 0) extras.push(`ids ${r.ids.join(', ')}`);
  if (extras.length > 0) text += ` with ${extras.join(', ')}`;
  return text;
}
