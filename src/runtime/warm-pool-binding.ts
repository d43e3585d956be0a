/**
 * The I/O shell of {@link bindWarmPoolConsumers}: finds where the pools a job consumes are kept.
 * The hosts' reports (`store.warmPools`) answer first; a pool whose job was accepted but not yet
 * reported by its hosts is found through the active jobs that declare it and their agents' nodes.
 */
import { MnError } from '../core/errors.js';
import { bindWarmPoolConsumers, warmPoolConsumed } from '../core/manifest/warm-pool.js';
import type { Job } from '../core/manifest/types.js';
import { type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';

/**
 * The job with its consumers' implicit placement constraints (a copy when there are any; the
 * job itself otherwise); refuses a consumer of a pool nobody declared.
 */
export async function bindWarmPools(store: Store, job: Job): Promise<Job> {
  const wanted = new Set(job.nodes.flatMap((n) => {
    const name = warmPoolConsumed(n.config);
    return name !== null && !job.nodes.some((o) => o.warm_pool?.name === name) ? [name] : [];
  }));
  if (wanted.size === 0) return job;
  const machines = new Map<string, string[]>();
  const [records, jobs] = await Promise.all([store.warmPools.list(), store.listJobs()]);
  // Pool records of jobs still active (one job list, not a record read per pool job).
  const active = new Set(jobs.filter((j) => !TERMINAL_JOB_STATUSES.has(j.status)).map((j) => j.job_id));
  for (const r of records) if (active.has(r.job_id)) machines.set(r.pool, [...(machines.get(r.pool) ?? []), r.node]);
  if ([...wanted].some((name) => !machines.has(name))) await addDeclared(store, [...active], machines, wanted);
  const { nodes, problems } = bindWarmPoolConsumers(job.nodes, machines);
  if (problems.length > 0) {
    throw new MnError('MN_E_INVALID_ARGUMENT', problems.map((p) => p.message).join('; '), { details: { field: problems[0]!.path, errors: problems } });
  }
  return { ...job, nodes };
}

/** Pools of active jobs not reported yet: their pool agents' machines. */
async function addDeclared(store: Store, active: readonly string[], machines: Map<string, string[]>, wanted: ReadonlySet<string>): Promise<void> {
  for (const jobId of active) {
    const record = await store.getJob(jobId);
    const pools = (record?.job.nodes ?? []).filter((n) => n.warm_pool && wanted.has(n.warm_pool.name) && !machines.has(n.warm_pool.name));
    if (!record || pools.length === 0) continue;
    for (const node of pools) {
      const name = node.warm_pool!.name;
      const where = (record.plan?.placements ?? []).filter((p) => p.source_node_id === node.node_id).map((p) => p.node);
      if (where.length > 0) machines.set(name, [...new Set([...(machines.get(name) ?? []), ...where])]);
    }
  }
}
