import type { ClusterState } from '../core/cluster/types.js';
import { MnError } from '../core/errors.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { toSnapshot } from '../core/snapshot/index.js';
import type { PlacementPool } from '../solver/pool.js';
import type { PlanService } from './jobs.js';

/**
 * The daemon's planner: every plan runs in a solver-pool worker against a published snapshot
 * generation, so the daemon's event loop never runs the placement search. A new generation is
 * published only when the cluster view differs from the last one published.
 */
export function poolPlanner(pool: PlacementPool): PlanService {
  let lastKey = '';
  let lastGeneration = 0;
  return {
    async plan(cluster: ClusterState, jobs: Job[]): Promise<Plan> {
      const key = JSON.stringify(cluster);
      if (key !== lastKey) {
        lastGeneration = pool.publish(toSnapshot(cluster, lastGeneration + 1));
        lastKey = key;
      }
      const result = await pool.runPlan({ jobs }, lastGeneration);
      if (!result.ok) {
        throw new MnError('MN_E_STORE_UNAVAILABLE', `placement worker failed (${result.code}): ${result.message}`, { retryable: true });
      }
      return result.value;
    },
  };
}
