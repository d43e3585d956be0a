import type { ClusterState } from '../core/cluster/types.js';
import { MnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { toSnapshot } from '../core/snapshot/index.js';
import type { PlacementPool } from '../solver/pool.js';
import type { PlanOptions, PlanService } from './jobs.js';

/**
 * The daemon's planner: every plan runs in a solver-pool worker against a published snapshot
 * generation, so the daemon's event loop never runs the placement search. A new generation is
 * published only when the cluster view's fingerprint differs from the last one published.
 *
 * Plans run concurrently (optimistic planning): a plan made against a generation that a
 * concurrent commit has since changed is caught by the store's capacity re-check at commit time
 * and re-planned. A plan whose generation was retired before a worker picked it up (the pool
 * keeps only the newest generations) is re-run against the latest one.
 */
export function poolPlanner(pool: PlacementPool): PlanService {
  let lastKey = '';
  let lastGeneration = 0;
  const publish = (cluster: ClusterState, key: string): number => {
    if (key !== lastKey) {
      lastGeneration = pool.publish(toSnapshot(cluster, lastGeneration + 1));
      lastKey = key;
    }
    return lastGeneration;
  };
  return {
    async plan(cluster: ClusterState, jobs: Job[], fingerprint?: string, options?: PlanOptions): Promise<Plan> {
      const key = fingerprint ?? JSON.stringify(cluster);
      for (let attempt = 1; ; attempt++) {
        const generation = publish(cluster, key);
        const result = await pool.runPlan({ jobs, ...(options ? { options } : {}) }, generation);
        if (result.ok) return result.value;
        if (result.code === 'MN_E_UNKNOWN_GENERATION' && attempt < 5) {
          lastKey = '';
          continue;
        }
        throw new MnError('MN_E_SOLVER_UNAVAILABLE', `placement worker failed (${result.code}): ${result.message}`, { retryable: true, details: { cause: result.code } });
      }
    },
  };
}
