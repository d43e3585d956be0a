/**
 * The daemon's metric collection points that wrap an interface instead of editing it: the
 * planner (placements, latency by engine, the evaluation queue) and the cluster gauges read from
 * the store at scrape time.
 */
import { effectiveStatus } from '../cluster/snapshot.js';
import type { PlanService } from '../runtime/jobs.js';
import { JOB_STATUSES, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import { type ClusterGauges, evaluationQueue, placementRuns, placementSeconds, placements } from './metrics.js';

/** The planner, counting runs, agents placed and not placed, and latency by engine. */
export function instrumentPlanner(planner: PlanService): PlanService {
  return {
    async plan(cluster, jobs, fingerprint, options) {
      evaluationQueue.inc();
      const started = process.hrtime.bigint();
      try {
        const plan = await planner.plan(cluster, jobs, fingerprint, options);
        const engine = plan.stats.engine;
        placementSeconds.observe({ engine }, Number(process.hrtime.bigint() - started) / 1e9);
        placementRuns.inc({ engine });
        if (plan.stats.placed > 0) placements.inc({ engine, outcome: 'placed' }, plan.stats.placed);
        if (plan.failures.length > 0) placements.inc({ engine, outcome: 'failed' }, plan.failures.length);
        return plan;
      } finally {
        evaluationQueue.dec();
      }
    },
  };
}

/** At most this many active jobs are read for the agent and message gauges of one scrape. */
export const MAX_SCRAPED_JOBS = 1000;

/** Jobs by status, agents of the active jobs by state, node statuses and heartbeat age, message backlog. */
export async function readClusterGauges(store: Store, now: number): Promise<ClusterGauges> {
  const [jobs, nodes, queued] = await Promise.all([store.listJobs(), store.listNodes(), store.queue.list()]);
  // Every status is present (0 when no job has it): a series that vanishes is hard to alert on.
  const jobsByStatus: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
  for (const j of jobs) jobsByStatus[j.status] = (jobsByStatus[j.status] ?? 0) + 1;
  const active = jobs.filter((j) => !TERMINAL_JOB_STATUSES.has(j.status)).slice(0, MAX_SCRAPED_JOBS);
  const agentsByState: Record<string, number> = {};
  let inboxBacklog = 0;
  let deadLetters = 0;
  await Promise.all(active.map(async (j) => {
    const [summary, counts] = await Promise.all([store.agentSummary(j.job_id), store.messageCounts(j.job_id)]);
    for (const [state, n] of Object.entries(summary.by_state)) agentsByState[state] = (agentsByState[state] ?? 0) + n;
    inboxBacklog += counts.outstanding;
    deadLetters += counts.dead_letters;
  }));
  const nodesByStatus: Record<string, number> = {};
  for (const n of nodes) {
    const s = effectiveStatus(n);
    nodesByStatus[s] = (nodesByStatus[s] ?? 0) + 1;
  }
  return {
    jobsByStatus,
    agentsByState,
    nodesByStatus,
    heartbeatAge: nodes.map((n) => ({ node: n.name, seconds: n.heartbeat_at === null ? null : Math.max(0, now - n.heartbeat_at) / 1000 })),
    inboxBacklog,
    deadLetters,
    queuedJobs: queued.length,
  };
}
