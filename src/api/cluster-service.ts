import type * as grpc from '@grpc/grpc-js';
import { applyResourceLimits } from '../core/config.js';
import { MnError } from '../core/errors.js';
import { DEFAULT_DRAIN_DEADLINE_MS, advanceDrain, cancelDrain, setEligibility, startDrain } from '../cluster/drain.js';
import { LEADER_LEASE } from '../cluster/leader.js';
import { RESOURCE_LIMITS_SETTING, clusterService, effectiveStatus, readResourceLimits } from '../cluster/snapshot.js';
import type { NodeView } from '../store/store.js';
import { requireToken } from './auth.js';
import { parseJsonField, requireField, unary } from './handler.js';
import type { ApiContext } from './job-service.js';
import { serviceHandlers } from './service-handlers.js';

/** A node as clients see it: effective status, capacity, usage and free capacity. */
export function nodeView(n: NodeView): Record<string, unknown> {
  const inv = n.inventory as { resources?: Record<string, number>; devices?: unknown[] };
  const cap = inv.resources ?? {};
  const gpuCap = cap.gpu_count ?? (Array.isArray(inv.devices) ? inv.devices.length : 0);
  return {
    name: n.name,
    status: effectiveStatus(n),
    scheduling_eligible: n.scheduling_eligible,
    alive: n.alive,
    heartbeat_at: n.heartbeat_at,
    resources: { cpu_cores: cap.cpu_cores ?? 0, memory_mb: cap.memory_mb ?? 0, disk_mb: cap.disk_mb ?? 0, gpu_count: gpuCap },
    usage: n.usage,
    inventory: n.inventory,
    details: n.details,
  };
}

/** `mirrorneuron.cluster.v1.ClusterService` handlers. */
export function clusterServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { store } = ctx;
  return {
    ...serviceHandlers(ctx),
    GetSystemSummary: unary<object, { summary_json: string }>('GetSystemSummary', async () => {
      const [nodes, jobs, leader] = await Promise.all([store.listNodes(), store.listJobs(), store.getLease(LEADER_LEASE)]);
      const byStatus = (values: string[]): Record<string, number> =>
        values.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});
      return {
        summary_json: JSON.stringify({
          node: ctx.nodeName,
          leader: leader ? leader.holder.split('#')[0] : null,
          nodes: { total: nodes.length, by_status: byStatus(nodes.map(effectiveStatus)) },
          jobs: { total: jobs.length, by_status: byStatus(jobs.map((j) => j.status)) },
        }),
      };
    }, ctx.onInternal),
    ListNodes: unary<object, { nodes_json: string }>('ListNodes', async () => {
      const [nodes, instances] = await Promise.all([store.listNodes(), store.services.list({ include_candidates: true })]);
      nodes.sort((a, b) => a.name.localeCompare(b.name));
      // Each node with the services registered on it: `mn plan --cluster` reads this export as a cluster file.
      const services = new Map<string, ReturnType<typeof clusterService>[]>();
      for (const r of instances) services.set(r.node, [...(services.get(r.node) ?? []), clusterService(r)]);
      return { nodes_json: JSON.stringify(nodes.map((n) => ({ ...nodeView(n), services: services.get(n.name) ?? [] }))) };
    }, ctx.onInternal),
    GetNode: unary<{ node_name: string }, { node_json: string }>('GetNode', async (req) => {
      const name = requireField(req.node_name, 'node_name');
      const node = await store.getNode(name);
      if (!node) throw new MnError('MN_E_NOT_FOUND', `node ${name} not found`, { details: { node: name } });
      return { node_json: JSON.stringify(nodeView(node)) };
    }, ctx.onInternal),
    GetResource: unary<object, { resource_json: string }>('GetResource', async () => {
      return { resource_json: JSON.stringify(await resourceReport(ctx)) };
    }, ctx.onInternal),
    SetResource: unary<{ resource_json: string }, { resource_json: string }>('SetResource', async (req, md) => {
      requireToken(md, ctx.authToken, 'SetResource');
      const input = parseJsonField(requireField(req.resource_json, 'resource_json'), 'resource_json');
      const result = applyResourceLimits(await readResourceLimits(store), input);
      if (!result.ok) throw new MnError('MN_E_INVALID_ARGUMENT', result.errors.join('; '), { details: { errors: result.errors } });
      await store.putSetting(RESOURCE_LIMITS_SETTING, result.limits);
      return { resource_json: JSON.stringify(await resourceReport(ctx)) };
    }, ctx.onInternal),
    DrainNode: unary<{ node_name: string; reason: string; dry_run: boolean; deadline_ms: string; include_system_jobs: boolean }, { result_json: string }>('DrainNode', async (req, md) => {
      requireToken(md, ctx.authToken, 'DrainNode');
      const deadline = Number(req.deadline_ms || 0);
      if (!Number.isSafeInteger(deadline) || deadline < 0) throw new MnError('MN_E_INVALID_ARGUMENT', `deadline_ms must be a non-negative integer, got ${req.deadline_ms}`, { details: { field: 'deadline_ms' } });
      const report = await startDrain(store, {
        node: requireField(req.node_name, 'node_name'),
        reason: req.reason || 'drain',
        deadline_ms: deadline === 0 ? DEFAULT_DRAIN_DEADLINE_MS : deadline,
        ignore_system_jobs: !req.include_system_jobs,
        dry_run: req.dry_run,
      }, Date.now());
      return { result_json: JSON.stringify(report) };
    }, ctx.onInternal),
    CancelNodeDrain: unary<{ node_name: string; reason: string; mark_eligible: boolean }, { result_json: string }>('CancelNodeDrain', async (req, md) => {
      requireToken(md, ctx.authToken, 'CancelNodeDrain');
      return { result_json: JSON.stringify(await cancelDrain(store, requireField(req.node_name, 'node_name'), req.reason || 'undrain', req.mark_eligible)) };
    }, ctx.onInternal),
    GetNodeDrainStatus: unary<{ node_name: string }, { result_json: string }>('GetNodeDrainStatus', async (req) => {
      return { result_json: JSON.stringify(await advanceDrain(store, requireField(req.node_name, 'node_name'), Date.now())) };
    }, ctx.onInternal),
    SetNodeEligibility: unary<{ node_name: string; eligible: boolean; reason: string }, { result_json: string }>('SetNodeEligibility', async (req, md) => {
      requireToken(md, ctx.authToken, 'SetNodeEligibility');
      const node = await setEligibility(store, requireField(req.node_name, 'node_name'), req.eligible, req.reason || '');
      return { result_json: JSON.stringify(nodeView(node)) };
    }, ctx.onInternal),
  };
}

async function resourceReport(ctx: ApiContext): Promise<Record<string, unknown>> {
  const [limits, nodes] = await Promise.all([readResourceLimits(ctx.store), ctx.store.listNodes()]);
  const views = nodes.map(nodeView);
  const totals = { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 };
  for (const v of views) {
    const r = v.resources as typeof totals;
    totals.cpu_cores += r.cpu_cores;
    totals.memory_mb += r.memory_mb;
    totals.disk_mb += r.disk_mb;
    totals.gpu_count += r.gpu_count;
  }
  const usable = {
    cpu_cores: (totals.cpu_cores * limits.cpu) / 100,
    memory_mb: Math.floor((totals.memory_mb * limits.memory) / 100),
    disk_mb: Math.floor((totals.disk_mb * limits.disk) / 100),
    gpu_count: Math.floor((totals.gpu_count * limits.gpu) / 100),
  };
  return {
    mode: nodes.length > 1 ? 'cluster' : 'single_node',
    node_count: nodes.length,
    limits,
    totals,
    usable,
    nodes: views.map((v) => ({ name: v.name, status: v.status, resources: v.resources, usage: v.usage })),
  };
}
