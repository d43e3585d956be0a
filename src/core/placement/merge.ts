/**
 * `mergePlan` (spec §3.6 `merge_plan`): folds a partial re-plan into an existing plan.
 */
import type { Plan } from './plan-types.js';

/**
 * Replaces the existing placements whose (job, agent_id) the partial plan places again, keeps the
 * others in their order, and appends new ones. Failures of agents that are now placed are dropped;
 * job summaries and stats are recomputed from the merged placements. `generatedAt` (an ISO
 * timestamp from the caller: core does not read the clock) is recorded as `generated_at`.
 */
export function mergePlan(existing: Plan, partial: Plan, options: { generatedAt?: string } = {}): Plan {
  const key = (job: string, agent: string): string => `${job}\u0000${agent}`;
  const replacement = new Map(partial.placements.map((p) => [key(p.job, p.agent_id), p]));
  const used = new Set<string>();
  const placements = existing.placements.map((p) => {
    const k = key(p.job, p.agent_id);
    const next = replacement.get(k);
    if (!next) return p;
    used.add(k);
    return next;
  });
  for (const p of partial.placements) if (!used.has(key(p.job, p.agent_id))) placements.push(p);
  const placedKeys = new Set(placements.map((p) => key(p.job, p.agent_id)));
  const partialFailed = new Set(partial.failures.map((f) => key(f.job, f.agent_id)));
  const failures = [
    ...existing.failures.filter((f) => !placedKeys.has(key(f.job, f.agent_id)) && !partialFailed.has(key(f.job, f.agent_id))),
    ...partial.failures,
  ];
  const placedPerJob = new Map<string, number>();
  for (const p of placements) placedPerJob.set(p.job, (placedPerJob.get(p.job) ?? 0) + 1);
  const failedPerJob = new Map<string, number>();
  for (const f of failures) failedPerJob.set(f.job, (failedPerJob.get(f.job) ?? 0) + f.count);
  const order = [...existing.jobs, ...partial.jobs.filter((j) => !existing.jobs.some((e) => e.job === j.job))];
  const jobs = order.map((j) => {
    const fromPartial = partial.jobs.find((p) => p.job === j.job);
    const failed = failedPerJob.get(j.job) ?? 0;
    return {
      ...j,
      placed: placedPerJob.get(j.job) ?? 0,
      failed,
      availability: failed === 0 ? ('runnable_now' as const) : (fromPartial ?? j).availability,
    };
  });
  const failedTotal = failures.reduce((s, f) => s + f.count, 0);
  const merged: Plan = {
    status: failedTotal === 0 ? 'planned' : placements.length === 0 ? 'failed' : 'partial',
    strategy: existing.strategy,
    placements,
    failures,
    jobs,
    stats: {
      ...existing.stats,
      agents: placements.length + failedTotal,
      placed: placements.length,
      elapsed_ms: existing.stats.elapsed_ms + partial.stats.elapsed_ms,
    },
  };
  if (options.generatedAt !== undefined) merged.generated_at = options.generatedAt;
  return merged;
}
