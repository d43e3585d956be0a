/**
 * An independent plan checker: re-derives every hard placement rule (capacity, ports, devices,
 * drivers, volumes, profiles, services, constraints, distinct_*) straight from the cluster and the
 * jobs, without the planner's masks, kernel or helpers, and lists every violation it finds. Tests
 * and the bench use it to validate plans from any engine.
 */
import { isClusterState, parseClusterFile } from '../cluster/parse.js';
import type { ClusterDevice, ClusterNode, ClusterState } from '../cluster/types.js';
import type { Constraint, DeviceRequest, Job } from '../manifest/types.js';
import { compareVersions, parseVersion, parseVersionRange, satisfiesRange } from '../version.js';
import type { Plan } from './plan-types.js';

export interface CheckOptions {
  executionProfiles?: Readonly<Record<string, { gpu?: boolean; required_capabilities?: string[] }>>;
  excludeNodes?: readonly string[];
  ignoreJobIds?: readonly string[];
}

const EPS = 1e-9;

/** Lists every rule the plan breaks; an empty list means the plan is valid. */
export function checkPlan(clusterInput: unknown, jobs: readonly Job[], plan: Plan, options: CheckOptions = {}): string[] {
  const cluster: ClusterState = isClusterState(clusterInput) ? clusterInput : parseClusterFile(clusterInput);
  const v: string[] = [];
  const nodes = new Map(cluster.nodes.map((n) => [n.name, n]));
  const excluded = new Set(options.excludeNodes ?? []);
  const ignored = new Set(options.ignoreJobIds ?? []);
  const used = new Map<string, { cpu: number; mem: number; disk: number; gpu: number; ports: Set<string>; devices: Set<string> }>();
  const usage = (name: string) => {
    let u = used.get(name);
    if (!u) used.set(name, (u = { cpu: 0, mem: 0, disk: 0, gpu: 0, ports: new Set(), devices: new Set() }));
    return u;
  };
  const portSpace = (protocol: string, port: number): string => `${protocol === 'udp' ? 'udp' : 'tcp'}/${port}`;
  // Allocations the plan evicts hold nothing; each eviction must follow the preemption rules.
  const evicted = new Set<string>();
  const allocKey = (job: string, agent: string, node: string): string => `${job}\u0000${agent}\u0000${node}`;
  const preemptors = new Map(jobs.map((j) => [j.graph_id, j]));
  for (const e of plan.preemptions ?? []) {
    const where = `preemption ${e.job}/${e.agent_id} on ${e.node}`;
    const key = allocKey(e.job, e.agent_id, e.node);
    const alloc = cluster.allocations.find((a) => allocKey(a.job_id, a.agent_id, a.node) === key);
    if (!alloc) v.push(`${where}: no such allocation`);
    if (evicted.has(key)) v.push(`${where}: evicted twice`);
    evicted.add(key);
    const by = preemptors.get(e.preempted_by);
    if (!by) v.push(`${where}: preempted by unknown job ${e.preempted_by}`);
    else if (alloc) {
      if (alloc.priority > by.priority - 10) v.push(`${where}: priority ${alloc.priority} is not 10 below ${by.graph_id}'s ${by.priority}`);
      const t = by.policies.job_type;
      if ((t === 'batch' || t === 'sysbatch') && (alloc.job_type === 'system' || alloc.job_type === 'sysbatch')) v.push(`${where}: a ${t} job evicts a ${alloc.job_type} copy`);
    }
  }
  for (const a of cluster.allocations) {
    if (ignored.has(a.job_id)) continue;
    if (evicted.size > 0 && evicted.has(allocKey(a.job_id, a.agent_id, a.node))) continue;
    const u = usage(a.node);
    u.cpu += a.resources.cpu_cores;
    u.mem += a.resources.memory_mb;
    u.disk += a.resources.disk_mb;
    u.gpu += a.resources.gpu_count;
    for (const p of a.ports) u.ports.add(portSpace(p.protocol, p.port));
    for (const d of a.devices) u.devices.add(d);
  }

  const jobsById = new Map(jobs.map((j) => [j.graph_id, j]));
  const seen = new Set<string>();
  // Per job: hosts used by distinct_hosts groups, and per (attribute) value counts.
  const hostsByJob = new Map<string, Set<string>>();
  const propsByJob = new Map<string, Map<string, number>>();

  for (const p of plan.placements) {
    const where = `${p.job}/${p.agent_id}`;
    const key = `${p.job}\u0000${p.agent_id}`;
    if (seen.has(key)) v.push(`${where}: placed twice`);
    seen.add(key);
    const job = jobsById.get(p.job);
    const spec = job?.nodes.find((n) => n.node_id === p.source_node_id);
    const node = nodes.get(p.node);
    if (!job || !spec) {
      v.push(`${where}: unknown job or source node ${p.source_node_id}`);
      continue;
    }
    if (!node) {
      v.push(`${where}: unknown node ${p.node}`);
      continue;
    }
    if (!['healthy', 'joining'].includes(node.status) || !node.scheduling_eligible || excluded.has(node.name)) {
      v.push(`${where}: node ${node.name} is not schedulable`);
    }
    const r = spec.resources;
    if (p.resources.cpu_cores !== r.cpu_cores || p.resources.memory_mb !== r.memory_mb || p.resources.disk_mb !== r.disk_mb || p.resources.gpu_count < r.gpu_count) {
      v.push(`${where}: resources differ from the manifest`);
    }
    const u = usage(node.name);
    u.cpu += p.resources.cpu_cores;
    u.mem += p.resources.memory_mb;
    u.disk += p.resources.disk_mb;
    u.gpu += p.resources.gpu_count;
    for (const port of p.allocations.ports) {
      const k = portSpace(port.protocol, port.port);
      if (u.ports.has(k)) v.push(`${where}: port ${k} double-booked on ${node.name}`);
      u.ports.add(k);
    }
    if (r.ports.length !== p.allocations.ports.length) v.push(`${where}: ports differ from the manifest`);
    const assigned: ClusterDevice[] = [];
    for (const d of p.allocations.devices) {
      const dev = node.devices.find((x) => x.id === d.id);
      if (!dev) v.push(`${where}: device ${d.id} is not on ${node.name}`);
      else assigned.push(dev);
      if (u.devices.has(d.id)) v.push(`${where}: device ${d.id} double-booked on ${node.name}`);
      u.devices.add(d.id);
    }
    if (!devicesSatisfy(assigned, r.devices)) v.push(`${where}: devices ${p.allocations.devices.map((d) => d.id).join(',')} do not satisfy the request`);
    if (r.runtime_driver !== null && !node.runtime_drivers.includes(r.runtime_driver)) v.push(`${where}: driver ${r.runtime_driver} not on ${node.name}`);
    for (const vol of r.volumes) {
      const ok = node.host_paths.some((h) => h === '/' || vol.source === h || vol.source.startsWith(h.endsWith('/') ? h : `${h}/`));
      if (!ok) v.push(`${where}: volume ${vol.source} not under a host path of ${node.name}`);
    }
    if (spec.execution_profile !== null) {
      const def = options.executionProfiles?.[spec.execution_profile];
      const caps = (def?.required_capabilities ?? []).map((c) => c.toLowerCase().replace(/_/g, '-'));
      if (!node.profiles.includes(spec.execution_profile) || !caps.every((c) => node.capabilities.includes(c))) {
        v.push(`${where}: node ${node.name} lacks execution profile ${spec.execution_profile}`);
      }
    }
    for (const req of spec.requires_services) {
      if (!req.required) continue;
      const ok = cluster.services.some(
        (s) => s.node === node.name && s.name === req.name && s.status === 'passing' && req.tags.every((t) => s.tags.includes(t)),
      );
      if (!ok) v.push(`${where}: service ${req.name} not passing on ${node.name}`);
    }
    for (const c of spec.constraints) {
      if (c.operator === 'distinct_hosts') {
        const hosts = hostsByJob.get(p.job) ?? new Set<string>();
        hostsByJob.set(p.job, hosts);
        if (hosts.has(node.name)) v.push(`${where}: distinct_hosts broken on ${node.name}`);
        hosts.add(node.name);
      } else if (c.operator === 'distinct_property') {
        const value = attribute(node, c.attribute);
        if (value === undefined) continue;
        const counts = propsByJob.get(p.job) ?? new Map<string, number>();
        propsByJob.set(p.job, counts);
        const k = `${bare(c.attribute)}=${String(value)}`;
        const n = (counts.get(k) ?? 0) + 1;
        counts.set(k, n);
        if (n > Number(c.value ?? 1)) v.push(`${where}: distinct_property ${k} exceeds ${String(c.value)}`);
      } else if (!holds(c, node)) {
        v.push(`${where}: constraint ${c.attribute} ${c.operator} ${JSON.stringify(c.value)} fails on ${node.name}`);
      }
    }
  }

  for (const [name, u] of used) {
    const node = nodes.get(name);
    if (!node) continue;
    const cap = node.resources;
    const over = (have: number, max: number) => have > max + EPS;
    if (over(u.cpu, cap.cpu_cores) && u.cpu > 0) v.push(`${name}: cpu ${u.cpu} > ${cap.cpu_cores}`);
    if (over(u.mem, cap.memory_mb) && u.mem > 0) v.push(`${name}: memory ${u.mem} > ${cap.memory_mb}`);
    if (over(u.disk, cap.disk_mb) && u.disk > 0) v.push(`${name}: disk ${u.disk} > ${cap.disk_mb}`);
    if (over(u.gpu, cap.gpu_count) && u.gpu > 0) v.push(`${name}: gpu ${u.gpu} > ${cap.gpu_count}`);
  }
  return v;
}

function bare(name: string): string {
  let n = name.trim();
  const m = /^\$\{(.+)\}$/.exec(n);
  if (m) n = m[1]!;
  return n.replace(/^(attr\.|meta\.|attributes\.)/, '');
}

function attribute(node: ClusterNode, name: string): string | string[] | undefined {
  const n = bare(name);
  if (n === 'node' || n === 'node.name' || n === 'node.unique.name' || n === 'name') return node.name;
  if (n === 'status') return node.status;
  if (n === 'capabilities' || n === 'capability') return node.capabilities;
  if (n === 'profiles' || n === 'profile') return node.profiles;
  const key = n === 'platform.os' ? 'os' : n === 'cpu.arch' || n === 'architecture' ? 'arch' : n.replace(/^node\./, '');
  const value = node.attributes[key];
  return value === undefined ? undefined : String(value);
}

function list(value: Constraint['value']): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (value === null) return [];
  return String(value).split(',').map((s) => s.trim()).filter(Boolean);
}

/** Straightforward truth table of the static operators (spec §3.3, DESIGN §4.4). */
function holds(c: Constraint, node: ClusterNode): boolean {
  const a = attribute(node, c.attribute);
  const s = a === undefined ? undefined : Array.isArray(a) ? a.join(',') : a;
  const set = a === undefined ? [] : Array.isArray(a) ? a : a.split(',').map((x) => x.trim());
  const want = Array.isArray(c.value) ? c.value.join(',') : c.value === null ? '' : String(c.value);
  switch (c.operator) {
    case '==':
      return Array.isArray(a) ? a.includes(want) : s === want;
    case '!=':
      return a === undefined ? true : Array.isArray(a) ? !a.includes(want) : s !== want;
    case 'contains':
    case 'contains_all':
      return a !== undefined && list(c.value).every((x) => set.includes(x));
    case 'contains_any':
      return a !== undefined && list(c.value).some((x) => set.includes(x));
    case 'in':
      return a !== undefined && set.some((x) => list(c.value).includes(x));
    case 'exists':
      return a !== undefined && (!Array.isArray(a) || a.length > 0);
    case 'not_exists':
      return a === undefined || (Array.isArray(a) && a.length === 0);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (s === undefined) return false;
      const numeric = s.trim() !== '' && want.trim() !== '' && !Number.isNaN(Number(s)) && !Number.isNaN(Number(want));
      const cmp = numeric ? Math.sign(Number(s) - Number(want)) : s < want ? -1 : s > want ? 1 : 0;
      return { '<': cmp < 0, '<=': cmp <= 0, '>': cmp > 0, '>=': cmp >= 0 }[c.operator];
    }
    case 'regexp':
      try {
        return s !== undefined && new RegExp(want).test(s);
      } catch {
        return false;
      }
    case 'version':
    case 'semver': {
      const semver = c.operator === 'semver';
      const ver = s === undefined ? null : parseVersion(s);
      const range = parseVersionRange(want, semver);
      if (!ver || !range) return false;
      if (semver && range.some((r) => r.op === '~>')) return false;
      if (!semver && ver.prerelease.length > 0) {
        const sameBase = range.every(
          (r) => r.version.prerelease.length > 0 && compareVersions({ ...ver, prerelease: [] }, { ...r.version, prerelease: [] }, false) === 0,
        );
        if (!sameBase) return false;
      }
      return satisfiesRange(ver, range, semver);
    }
    default:
      return false;
  }
}

/** True when some assignment of `devices` meets every request (requests are tiny: brute force). */
function devicesSatisfy(devices: readonly ClusterDevice[], requests: readonly DeviceRequest[]): boolean {
  const explicit = requests.reduce((s, r) => s + r.count, 0);
  if (explicit === 0) return true;
  if (devices.length < explicit) return false;
  const free = new Set(devices.map((d) => d.id));
  const take = (k: number): boolean => {
    if (k === requests.length) return true;
    const r = requests[k]!;
    const fits = devices.filter((d) => free.has(d.id) && deviceOk(d, r));
    if (fits.length < r.count) return false;
    const pick = fits.slice(0, r.count);
    for (const d of pick) free.delete(d.id);
    const ok = take(k + 1);
    for (const d of pick) free.add(d.id);
    return ok;
  };
  return take(0);
}

function deviceOk(d: ClusterDevice, r: DeviceRequest): boolean {
  const [kindVendor, kind] = r.kind?.includes('/') ? r.kind.split('/') : [null, r.kind];
  if (kind && d.kind !== kind) return false;
  const vendor = r.vendor ?? kindVendor;
  if (vendor && d.vendor !== vendor) return false;
  if (r.driver && d.driver !== r.driver) return false;
  if (r.ids.length && !r.ids.includes(d.id)) return false;
  if (!r.capabilities.every((c) => d.capabilities.includes(c))) return false;
  if (r.min_memory_mb !== null) {
    const m = d.memory_mb;
    if (m === null) return false;
    if (r.memory_operator === '>' ? !(m > r.min_memory_mb) : r.memory_operator === '==' ? m !== r.min_memory_mb : m < r.min_memory_mb) return false;
  }
  if (r.min_api_version !== null) {
    const have = d.api_version ? parseVersion(d.api_version) : null;
    const want = parseVersion(r.min_api_version);
    if (!have || !want) return false;
    const c = compareVersions(have, want, false);
    if (r.api_version_operator === '>' ? c <= 0 : r.api_version_operator === '==' ? c !== 0 : c < 0) return false;
  }
  return true;
}
