import { MnError } from '../core/errors.js';
import { type DrainSettings, type DrainStatus, drainOf, drainProgress } from '../core/policy/relocation.js';
import { CLUSTER_EVENTS_JOB_ID, type NodeView, type Store } from '../store/store.js';
import { ACTIVE_JOB_STATUSES } from './snapshot.js';

/** Default drain deadline (spec §4.10): 30 minutes. */
export const DEFAULT_DRAIN_DEADLINE_MS = 1_800_000;

export interface DrainRequest {
  node: string;
  reason: string;
  deadline_ms: number;
  ignore_system_jobs: boolean;
  dry_run: boolean;
}

export interface DrainReport {
  node: string;
  status: DrainStatus | 'dry_run' | 'cancelled';
  would_status?: DrainStatus;
  node_status: string;
  scheduling_eligible: boolean;
  deadline_at: number | null;
  actions: Array<{ job_id: string; status: string; agents: number }>;
}

async function jobViews(store: Store): Promise<Parameters<typeof drainProgress>[2]> {
  const jobs = (await store.listJobs()).filter((j) => ACTIVE_JOB_STATUSES.has(j.status));
  const out = [];
  for (const j of jobs) {
    const [record, agents] = await Promise.all([store.getJob(j.job_id), store.listAgents(j.job_id)]);
    if (!record) continue;
    const job = record.job;
    const blocked = record.details.blocked?.agents ?? [];
    out.push({ job_id: j.job_id, job_type: job.policies.job_type, requested_recovery: job.policies.recovery_mode, agents, blocked });
  }
  return out;
}

async function requireNode(store: Store, name: string): Promise<NodeView> {
  const node = await store.getNode(name);
  if (!node) throw new MnError('MN_E_NOT_FOUND', `node ${name} not found`, { details: { node: name } });
  return node;
}

/** Starts (or previews, with `dry_run`) a drain; the job coordinators move the work. */
export async function startDrain(store: Store, req: DrainRequest, now: number): Promise<DrainReport> {
  const node = await requireNode(store, req.node);
  const settings: DrainSettings = { reason: req.reason, deadline_at: now + req.deadline_ms, ignore_system_jobs: req.ignore_system_jobs };
  const progress = drainProgress(req.node, settings, await jobViews(store), now);
  if (req.dry_run) {
    return {
      node: req.node,
      status: 'dry_run',
      would_status: progress.status,
      node_status: node.status,
      scheduling_eligible: node.scheduling_eligible,
      deadline_at: settings.deadline_at,
      actions: progress.actions.map((a) => ({ ...a, status: a.status === 'migrating' ? 'would_migrate' : a.status })),
    };
  }
  await store.updateNode(req.node, {
    status: 'draining',
    scheduling_eligible: false,
    details: { ...node.details, drain: { status: 'draining', ...settings, started_at: now } },
  });
  await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'node_drain_started', payload: { node: req.node, reason: req.reason, deadline_at: settings.deadline_at } });
  return advanceDrain(store, req.node, now);
}

/**
 * Re-evaluates a draining node (leader sweep and `GetNodeDrainStatus`): records the drain's
 * status, and moves a drained node to maintenance.
 */
export async function advanceDrain(store: Store, name: string, now: number): Promise<DrainReport> {
  const node = await requireNode(store, name);
  const drain = drainOf(node.details);
  const recorded = node.details.drain as { status?: string; deadline_at?: number } | undefined;
  if (node.status !== 'draining' || !drain) {
    return {
      node: name,
      status: (recorded?.status as DrainReport['status']) ?? 'complete',
      node_status: node.status,
      scheduling_eligible: node.scheduling_eligible,
      deadline_at: recorded?.deadline_at ?? null,
      actions: [],
    };
  }
  const progress = drainProgress(name, drain, await jobViews(store), now);
  const details = { ...node.details, drain: { ...(node.details.drain as object), status: progress.status } };
  if (progress.status === 'complete') {
    await store.updateNode(name, { status: 'maintenance', scheduling_eligible: false, details: { ...details, drain: { ...details.drain, completed_at: now } } });
    await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'node_drain_completed', payload: { node: name } });
  } else if (progress.status !== recorded?.status) {
    await store.updateNode(name, { details });
    const type = progress.status === 'blocked_no_placement' ? 'node_drain_blocked' : 'node_drain_progress';
    await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type, payload: { node: name, status: progress.status } });
  }
  const after = await requireNode(store, name);
  return {
    node: name,
    status: progress.status,
    node_status: after.status,
    scheduling_eligible: after.scheduling_eligible,
    deadline_at: drain.deadline_at,
    actions: progress.actions.filter((a) => a.status !== 'skipped'),
  };
}

/** Cancels a drain: back to healthy and eligible with `markEligible`, else maintenance. */
export async function cancelDrain(store: Store, name: string, reason: string, markEligible: boolean): Promise<DrainReport> {
  const node = await requireNode(store, name);
  const drain = { ...((node.details.drain as object | undefined) ?? {}), status: 'cancelled', cancel_reason: reason };
  await store.updateNode(name, {
    status: markEligible ? 'healthy' : 'maintenance',
    scheduling_eligible: markEligible,
    details: { ...node.details, drain },
  });
  await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'node_drain_cancelled', payload: { node: name, reason, mark_eligible: markEligible } });
  const after = await requireNode(store, name);
  return { node: name, status: 'cancelled', node_status: after.status, scheduling_eligible: after.scheduling_eligible, deadline_at: null, actions: [] };
}

/** Turns scheduling eligibility on or off (existing work is untouched). */
export async function setEligibility(store: Store, name: string, eligible: boolean, reason: string): Promise<NodeView> {
  await requireNode(store, name);
  await store.updateNode(name, { scheduling_eligible: eligible });
  await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: eligible ? 'node_eligibility_enabled' : 'node_eligibility_disabled', payload: { node: name, reason } });
  return requireNode(store, name);
}
