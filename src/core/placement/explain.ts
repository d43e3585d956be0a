/**
 * Explanations of failed placements (DESIGN §4.3, §5): per-stage filter counts, the nodes that
 * came closest with their shortfall per dimension, and the node shape one would have to add.
 * This runs only on failure, so it favours clarity over speed, but it stays linear in nodes.
 */
import type { ClusterNode } from '../cluster/types.js';
import type { Job } from '../manifest/types.js';
import { describeConstraint, resolveAttribute } from './constraints.js';
import {
  describeDeviceRequest,
  deviceRequestsFor,
  driverOk,
  pathUnder,
  pickDevices,
  profileOk,
  servicesOk,
  statusReason,
  volumesOk,
} from './filters.js';
import { type PreparedGroup, agentIdOf, indexAt, systemDevices } from './group.js';
import { DIMENSIONS, fitsScalar } from './kernel-types.js';
import { FILTER_STAGES, type FilterStage, type NearestNode, type PlacementFailure } from './plan-types.js';
import type { PassView } from './planner.js';

/** Nodes named in a reason string before it says "and N more". */
const REASON_NODES = 5;
const NEAREST = 3;
const STAGE_COUNT: number = FILTER_STAGES.length;
const SCALAR_STAGES: readonly FilterStage[] = ['cpu', 'memory', 'disk', 'gpu'];

/** The spec's reason phrase for a node that failed at `stage` (spec §3.3). */
function stagePhrase(stage: FilterStage, node: ClusterNode, excluded: boolean, system: boolean): string {
  switch (stage) {
    case 'status':
      return statusReason(node, excluded) ?? 'not schedulable';
    case 'profile':
      return system ? 'constraints, profiles, services, or capabilities not matched' : 'execution profile not available';
    case 'constraints':
      return system ? 'constraints, profiles, services, or capabilities not matched' : 'constraints not matched';
    case 'services':
      return system ? 'constraints, profiles, services, or capabilities not matched' : 'required services not available';
    case 'cpu':
    case 'memory':
    case 'disk':
    case 'gpu':
      return system ? 'insufficient resources for system group' : 'insufficient resources';
    default:
      return 'devices, ports, volumes, or runtime driver not available';
  }
}

/** A check of one node against one group, stage by stage. */
interface NodeJudge {
  /** Index of the first failing stage, or STAGE_COUNT when the node passes all. */
  first(i: number): number;
  /** Readable shortfall for every failing stage. */
  shortfall(i: number): Partial<Record<FilterStage, string>>;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1000) / 1000);
}

const UNITS: Readonly<Record<string, (need: number, free: number, cap: number) => string>> = {
  cpu: (need, free, cap) => `needs ${fmt(need)} cpu cores, has ${fmt(Math.max(0, free))} free of ${fmt(cap)}`,
  memory: (need, free, cap) => `needs ${fmt(need)} MB memory, has ${fmt(Math.max(0, free))} MB free of ${fmt(cap)}`,
  disk: (need, free, cap) => `needs ${fmt(need)} MB disk, has ${fmt(Math.max(0, free))} MB free of ${fmt(cap)}`,
  gpu: (need, free, cap) => `needs ${fmt(need)} GPU, has ${fmt(Math.max(0, free))} free of ${fmt(cap)}`,
};

function describeDevices(node: ClusterNode, used: ReadonlySet<string> | undefined): string {
  if (node.devices.length === 0) return 'has no devices';
  const list = node.devices.slice(0, 4).map((d) => {
    const bits = [d.vendor, d.driver, d.kind].filter((b): b is string => b !== null).join(' ');
    const mem = d.memory_mb === null ? '' : `, ${fmt(d.memory_mb)} MB`;
    const api = d.api_version === null ? '' : `, API ${d.api_version}`;
    return `${d.id} (${bits}${mem}${api}${used?.has(d.id) ? ', in use' : ''})`;
  });
  const more = node.devices.length > 4 ? ` and ${node.devices.length - 4} more` : '';
  return `has ${list.join(', ')}${more}`;
}

/** The stage-by-stage judge for one service/batch group in the current pass state. */
function groupJudge(view: PassView, group: PreparedGroup): NodeJudge {
  const { index, state, free } = view;
  const n = index.n;
  const spec = group.spec;
  const props = group.properties.map((p) => {
    const col = view.propertyColumn(p.attribute);
    const used = view.jobProperties.get(p.attribute);
    return { p, col, used };
  });
  const propertyFull = (i: number): string | null => {
    for (const { p, col, used } of props) {
      const v = col.values[i]!;
      if (v >= 0 && (used?.[v] ?? 0) >= p.limit) return `distinct_property ${p.attribute}: ${col.names[v]} already has ${p.limit}`;
    }
    return null;
  };
  const failing = (i: number): Record<FilterStage, string | null> => {
    const node = index.nodes[i]!;
    const out = {} as Record<FilterStage, string | null>;
    out.status = statusReason(node, index.excluded[i] === 1);
    out.profile = profileOk(node, group.profileName, group.profile)
      ? null
      : `does not offer execution profile "${group.profileName}"${
          group.profile?.required_capabilities?.length ? ` with capabilities ${group.profile.required_capabilities.join(', ')}` : ''
        }`;
    const unmet = group.staticConstraints.filter((c) => !c.test(resolveAttribute(node, c.attribute)));
    const dynamic: string[] = [];
    if (group.distinctHosts && view.jobHosts[i]) dynamic.push('distinct_hosts: already runs an agent of this job');
    const pf = propertyFull(i);
    if (pf) dynamic.push(pf);
    out.constraints =
      unmet.length + dynamic.length === 0
        ? null
        : `not matched: ${[...unmet.slice(0, 3).map((c) => describeConstraint(c.constraint)), ...dynamic].join('; ')}`;
    out.services = servicesOk(index.servicesAt[i], spec.requires_services)
      ? null
      : `needs passing ${spec.requires_services
          .filter((s) => s.required)
          .map((s) => (s.tags.length ? `${s.name} [${s.tags.join(', ')}]` : s.name))
          .join(', ')}`;
    for (let d = 0; d < DIMENSIONS; d++) {
      const stage = SCALAR_STAGES[d]!;
      const need = group.ask[d]!;
      const f = free[d * n + i]!;
      out[stage] = fitsScalar(f, need) ? null : UNITS[stage]!(need, f, index.cap[d * n + i]!);
    }
    out.runtime_driver = driverOk(node, spec.resources.runtime_driver)
      ? null
      : `needs driver ${spec.resources.runtime_driver}, has ${node.runtime_drivers.join(', ') || 'none'}`;
    const used = state.ports[i];
    const clash = group.portKeys.filter((k) => used?.has(k));
    out.ports = group.portSelfConflict
      ? 'the agent requests the same port twice'
      : clash.length > 0
        ? `port ${clash.join(', ')} already in use`
        : null;
    out.volumes = volumesOk(node, spec.resources.volumes)
      ? null
      : `no host path covers ${spec.resources.volumes
          .filter((v) => !node.host_paths.some((r) => pathUnder(v.source, r)))
          .map((v) => v.source)
          .join(', ')}`;
    const reqs = deviceRequestsFor(node, group.explicitDevices, group.genericGpu);
    out.devices =
      reqs.length === 0 || pickDevices(node.devices, state.devices[i], reqs) !== null
        ? null
        : `needs ${reqs.map(describeDeviceRequest).join(' and ')}, ${describeDevices(node, state.devices[i])}`;
    return out;
  };
  return {
    first(i) {
      // Cheap checks first; the full record is built only for the nodes that are shown.
      const node = index.nodes[i]!;
      if (!index.schedulable[i]) return 0;
      if (!profileOk(node, group.profileName, group.profile)) return 1;
      if (group.staticConstraints.some((c) => !c.test(resolveAttribute(node, c.attribute)))) return 2;
      if ((group.distinctHosts && view.jobHosts[i]) || propertyFull(i) !== null) return 2;
      if (!servicesOk(index.servicesAt[i], spec.requires_services)) return 3;
      for (let d = 0; d < DIMENSIONS; d++) if (!fitsScalar(free[d * n + i]!, group.ask[d]!)) return 4 + d;
      const f = failing(i);
      for (let s = 8; s < STAGE_COUNT; s++) if (f[FILTER_STAGES[s]!] !== null) return s;
      return STAGE_COUNT;
    },
    shortfall(i) {
      const f = failing(i);
      const out: Partial<Record<FilterStage, string>> = {};
      for (const s of FILTER_STAGES) if (f[s] !== null) out[s] = f[s]!;
      return out;
    },
  };
}

interface Ranked {
  i: number;
  stage: number;
}

/** First-failing stage of every node, the per-stage counts, and nodes ordered nearest first. */
function rankNodes(view: PassView, judge: NodeJudge): { filtered: Partial<Record<FilterStage, number>>; ranked: Ranked[] } {
  const counts = new Int32Array(STAGE_COUNT + 1);
  const ranked: Ranked[] = [];
  for (let i = 0; i < view.index.n; i++) {
    const stage = judge.first(i);
    counts[stage]!++;
    ranked.push({ i, stage });
  }
  // Stable sort: the most stages passed first, inventory order among equals.
  ranked.sort((a, b) => b.stage - a.stage);
  const filtered: Partial<Record<FilterStage, number>> = {};
  FILTER_STAGES.forEach((s, k) => {
    if (counts[k]! > 0) filtered[s] = counts[k]!;
  });
  return { filtered, ranked };
}

function nodeList(view: PassView, ranked: readonly Ranked[], system: boolean): string {
  const shown = ranked.slice(0, REASON_NODES).map(({ i, stage }) => {
    const node = view.index.nodes[i]!;
    const phrase = stage >= STAGE_COUNT ? 'no capacity left after earlier agents' : stagePhrase(FILTER_STAGES[stage]!, node, view.index.excluded[i] === 1, system);
    return `${node.name}: ${phrase}`;
  });
  const more = ranked.length > REASON_NODES ? `; and ${ranked.length - REASON_NODES} more nodes` : '';
  return `${shown.join('; ')}${more}`;
}

function nearestNodes(view: PassView, ranked: readonly Ranked[], judge: NodeJudge): NearestNode[] {
  return ranked.slice(0, NEAREST).map(({ i }) => ({ node: view.index.nodes[i]!.name, shortfall: judge.shortfall(i) }));
}

/** The node one would add so that one agent of `group` fits, in words. */
function nodeShape(group: PreparedGroup, ask: Float64Array): string {
  const parts: string[] = [];
  const spec = group.spec;
  const devices = deviceWords(group);
  parts.push(...devices);
  if (ask[3]! > 0 && devices.length === 0) parts.push(`${fmt(ask[3]!)} GPU${ask[3]! > 1 ? 's' : ''}`);
  if (ask[0]! > 0) parts.push(`>= ${fmt(ask[0]!)} free cpu cores`);
  if (ask[1]! > 0) parts.push(`>= ${fmt(ask[1]!)} MB free memory`);
  if (ask[2]! > 0) parts.push(`>= ${fmt(ask[2]!)} MB free disk`);
  if (group.profileName !== null) parts.push(`execution profile ${group.profileName}`);
  const caps = new Set<string>(group.profile?.required_capabilities ?? []);
  const others: string[] = [];
  for (const c of group.staticConstraints) {
    const k = c.constraint;
    if (k.attribute === 'capabilities' && (k.operator === 'contains' || k.operator === 'contains_all')) {
      for (const v of Array.isArray(k.value) ? k.value : String(k.value).split(',')) caps.add(v.trim());
    } else if (k.attribute !== 'node' && k.attribute !== 'status') others.push(describeConstraint(k));
  }
  if (caps.size > 0) parts.push(`capabilities ${[...caps].join(', ')}`);
  if (others.length > 0) parts.push(`attributes matching ${others.join(', ')}`);
  if (spec.resources.runtime_driver !== null) parts.push(`runtime driver ${spec.resources.runtime_driver}`);
  const paths = spec.resources.volumes.map((v) => v.source);
  if (paths.length > 0) parts.push(`host paths covering ${paths.join(', ')}`);
  const services = spec.requires_services.filter((s) => s.required).map((s) => s.name);
  if (services.length > 0) parts.push(`passing services ${services.join(', ')}`);
  if (parts.length === 0) return 'a schedulable node';
  if (parts.length === 1) return parts[0]!;
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

function deviceWords(group: PreparedGroup): string[] {
  const reqs = group.genericGpu ? [...group.explicitDevices, group.genericGpu] : group.explicitDevices;
  return reqs.map((r) => {
    const kind = r.kind === null ? 'device' : r.kind === 'gpu' ? 'GPU' : r.kind;
    const who = [r.vendor, r.driver].filter((b): b is string => b !== null).join(' ');
    let text = `${r.count} ${who ? `${who} ` : ''}${kind}${r.count > 1 ? 's' : ''}`;
    const extras: string[] = [];
    if (r.min_memory_mb !== null) extras.push(`${r.memory_operator} ${fmt(r.min_memory_mb)} MB`);
    if (r.min_api_version !== null) extras.push(`API ${r.api_version_operator} ${r.min_api_version}`);
    if (r.capabilities.length) extras.push(`capabilities ${r.capabilities.join(', ')}`);
    if (extras.length) text += ` of ${extras.join(', ')}`;
    return text;
  });
}

function suggestion(view: PassView, ranked: readonly Ranked[], judge: NodeJudge, shape: string, count: number, label: string): string {
  // A node that lacks nothing but a schedulable status: bringing it back may be enough. Only the
  // first few unschedulable nodes are judged in full, to keep this linear.
  let checked = 0;
  for (let k = ranked.length - 1; k >= 0 && checked < 20; k--) {
    const r = ranked[k]!;
    if (r.stage !== 0) break;
    checked++;
    const s = judge.shortfall(r.i);
    if (Object.keys(s).length === 1 && s.status !== undefined) {
      const node = view.index.nodes[r.i]!;
      return `make ${node.name} schedulable (${s.status}), or add a node with ${shape}`;
    }
  }
  if (count <= 1) return `add a node with ${shape}`;
  return `add nodes with room for ${count} more agents of ${label}, each needing ${shape}`;
}

/** Explains why the agents of `group` after the first `placed` could not be placed. */
export function explainGroupFailure(view: PassView, group: PreparedGroup, placed: number): PlacementFailure {
  const spec = group.spec;
  const firstId = agentIdOf(spec, indexAt(group, placed));
  const lastId = agentIdOf(spec, indexAt(group, group.size - 1));
  const count = group.size - placed;
  const judge = groupJudge(view, group);
  const { filtered, ranked } = rankNodes(view, judge);
  const base = { job: group.job.graph_id, agent_id: firstId, source_node_id: spec.node_id, count };
  const shape = nodeShape(group, group.ask);
  if (view.index.n === 0) {
    return { ...base, reason: 'placement_failed: no runtime nodes are available', filtered, nearest: [], suggestion: `add a node with ${shape}` };
  }
  let reason: string;
  if ((filtered.status ?? 0) === view.index.n) reason = 'placement_failed: no schedulable runtime nodes are available';
  else {
    const who =
      count === 1
        ? `agent ${firstId} has`
        : `${count} agents of ${spec.node_id} (${firstId} to ${lastId}) have`;
    reason = `placement_failed: ${who} no eligible node (${nodeList(view, ranked, false)})`;
  }
  return {
    ...base,
    reason,
    filtered,
    nearest: nearestNodes(view, ranked, judge),
    suggestion: suggestion(view, ranked, judge, shape, count, spec.node_id),
  };
}

/** Explains why a system/sysbatch job found no node that holds its whole agent group. */
export function explainSystemFailure(
  view: PassView,
  job: Job,
  groups: readonly PreparedGroup[],
  masks: readonly Uint8Array[],
  totalAsk: Float64Array,
  selfConflict: boolean,
): PlacementFailure {
  const { index, state, free } = view;
  const n = index.n;
  const judges = groups.map((g) => groupJudge(view, g));
  const judge: NodeJudge = {
    first(i) {
      if (!index.schedulable[i]) return 0;
      let worst = STAGE_COUNT;
      for (let k = 0; k < groups.length; k++) {
        if (masks[k]![i]) continue;
        const s = judges[k]!.first(i);
        // Only the static stages matter per group; capacity is judged for the whole group below.
        if (s < 4) worst = Math.min(worst, s);
      }
      if (worst < STAGE_COUNT) return worst;
      for (let d = 0; d < DIMENSIONS; d++) if (!fitsScalar(free[d * n + i]!, totalAsk[d]!)) return 4 + d;
      for (let k = 0; k < groups.length; k++) {
        const s = judges[k]!.first(i);
        if (s >= 8 && s < STAGE_COUNT) return s;
      }
      if (selfConflict) return 9;
      if (systemDevices(index.nodes[i]!, state.devices[i], groups) === null) return 11;
      return STAGE_COUNT;
    },
    shortfall(i) {
      const out: Partial<Record<FilterStage, string>> = {};
      for (const j of judges) {
        const s = j.shortfall(i);
        for (const k of FILTER_STAGES) if (s[k] !== undefined && out[k] === undefined && !SCALAR_STAGES.includes(k)) out[k] = s[k];
      }
      for (let d = 0; d < DIMENSIONS; d++) {
        const stage = SCALAR_STAGES[d]!;
        if (!fitsScalar(free[d * n + i]!, totalAsk[d]!)) out[stage] = UNITS[stage]!(totalAsk[d]!, free[d * n + i]!, index.cap[d * n + i]!);
      }
      if (selfConflict) out.ports = 'the group requests the same port twice';
      else if (out.devices === undefined && systemDevices(index.nodes[i]!, state.devices[i], groups) === null) {
        out.devices = 'not enough free devices for the whole group';
      }
      return out;
    },
  };
  const { filtered, ranked } = rankNodes(view, judge);
  const count = groups.reduce((s, g) => s + g.size, 0);
  const ids: string[] = [];
  for (const g of groups) for (let c = 0; c < g.size && ids.length < 5; c++) ids.push(agentIdOf(g.spec, indexAt(g, c)));
  const listed = count > 5 ? `${ids.join(', ')} and ${count - 5} more` : ids.join(', ');
  const shape = groups.length === 1 ? nodeShape(groups[0]!, totalAsk) : `>= ${fmt(totalAsk[0]!)} free cpu cores and >= ${fmt(totalAsk[1]!)} MB free memory for the whole group`;
  const base = { job: job.graph_id, agent_id: ids[0] ?? '', source_node_id: groups[0]?.spec.node_id ?? '', count };
  let reason: string;
  if (n === 0) reason = 'placement_failed: no runtime nodes are available';
  else if ((filtered.status ?? 0) === n) reason = 'placement_failed: no schedulable runtime nodes are available';
  else reason = `placement_failed: system job agents ${listed} have no eligible nodes (${nodeList(view, ranked, true)})`;
  return {
    ...base,
    reason,
    filtered,
    nearest: nearestNodes(view, ranked, judge),
    suggestion: `add a node with ${shape}`,
  };
}
