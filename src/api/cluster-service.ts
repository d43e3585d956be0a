import type * as grpc from '@grpc/grpc-js';
import { applyResourceLimits } from '../core/config.js';
import { MnError } from '../core/errors.js';
import { RESOURCE_LIMITS_SETTING, effectiveStatus, readResourceLimits } from '../cluster/snapshot.js';
import type { NodeView } from '../store/store.js';
import { requireToken } from './auth.js';
import { parseJsonField, requireField, unary } from './handler.js';
import { drainNode, drainStatus, listNodeViews, nodeDetail, nodeEligibility, systemSummary, undrainNode } from './reads.js';
import type { ApiContext } from './job-service.js';
import { serviceHandlers } from './service-handlers.js';
import { warmPoolHandlers } from './warm-pool-handlers.js';

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
    ...warmPoolHandlers(ctx),
    GetSystemSummary: unary<object, { summary_json: string }>('GetSystemSummary', async () => ({ summary_json: JSON.stringify(await systemSummary(ctx)) }), ctx.onInternal),
    ListNodes: unary<object, { nodes_json: string }>('ListNodes', async () => ({ nodes_json: JSON.stringify(await listNodeViews(ctx)) }), ctx.onInternal),
    GetNode: unary<{ node_name: string }, { node_json: string }>('GetNode', async (req) => ({ node_json: JSON.stringify(await nodeDetail(ctx, req.node_name)) }), ctx.onInternal),
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
      return { result_json: JSON.stringify(await drainNode(ctx, req)) };
    }, ctx.onInternal),
    CancelNodeDrain: unary<{ node_name: string; reason: string; mark_eligible: boolean }, { result_json: string }>('CancelNodeDrain', async (req, md) => {
      requireToken(md, ctx.authToken, 'CancelNodeDrain');
      return { result_json: JSON.stringify(await undrainNode(ctx, req)) };
    }, ctx.onInternal),
    GetNodeDrainStatus: unary<{ node_name: string }, { result_json: string }>('GetNodeDrainStatus', async (req) => {
      return { result_json: JSON.stringify(await drainStatus(ctx, req.node_name)) };
    }, ctx.onInternal),
    SetNodeEligibility: unary<{ node_name: string; eligible: boolean; reason: string }, { result_json: string }>('SetNodeEligibility', async (req, md) => {
      requireToken(md, ctx.authToken, 'SetNodeEligibility');
      return { result_json: JSON.stringify(await nodeEligibility(ctx, req)) };
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
