/**
 * The leader's sweep of the registry (spec §5.7): instances of a lost machine are removed, those
 * of a machine that stopped heartbeating are marked critical (its checks no longer run, so its
 * last results must not keep it discoverable), and instances of jobs that ended are removed.
 */
import { effectiveStatus } from '../cluster/snapshot.js';
import type { ServiceRecord } from '../core/services/registry.js';
import { type NodeView, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { ServiceDirectory } from './directory.js';

export async function reconcileServices(store: Store, directory: ServiceDirectory, nodes: readonly NodeView[], now: number): Promise<{ removed: number; marked: number }> {
  const records = await directory.list({ include_candidates: true });
  if (records.length === 0) return { removed: 0, marked: 0 };
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const jobs = new Map((await store.listJobs()).map((j) => [j.job_id, j.status]));
  let removed = 0;
  let marked = 0;
  const lost = new Map<string, ServiceRecord[]>();
  const ended: ServiceRecord[] = [];
  for (const r of records) {
    const status = jobs.get(r.job_id);
    if (status === undefined || TERMINAL_JOB_STATUSES.has(status)) {
      ended.push(r);
      continue;
    }
    const node = byName.get(r.node);
    const state = node ? effectiveStatus(node) : 'offline';
    if (state === 'offline') {
      lost.set(r.node, [...(lost.get(r.node) ?? []), r]);
    } else if (state === 'disconnected' && r.status !== 'critical') {
      const output = `node ${r.node} stopped heartbeating; its checks do not run`;
      const checks = r.health.checks.map((c) => ({ ...c, status: 'critical' as const, output, checked_at: now }));
      if (await directory.recordHealth(r, { status: 'critical', health: { status: 'critical', checks }, last_check_at: now })) marked++;
    }
  }
  removed += await directory.remove(ended, undefined, 'job ended');
  for (const [node, list] of lost) removed += await directory.remove(list, node, `node ${node} lost`);
  return { removed, marked };
}
