import type { ClusterState } from '../core/cluster/types.js';
import type { Job } from '../core/manifest/types.js';
import type { PlacementKernel } from '../core/placement/kernel-types.js';
import { JsKernel } from '../core/placement/kernel.js';
import type { Plan } from '../core/placement/plan-types.js';
import { planJobs } from '../core/placement/planner.js';
import type { PlanOptions, PlanService } from './jobs.js';

/**
 * A planner that runs in the calling thread: used by offline tools and tests. The daemon uses the
 * solver pool so that its event loop never runs the placement search.
 */
export function localPlanner(kernel: PlacementKernel = new JsKernel(), clock: () => number = () => performance.now()): PlanService {
  return {
    plan: async (cluster: ClusterState, jobs: Job[], _fingerprint?: string, options?: PlanOptions): Promise<Plan> =>
      planJobs(cluster, jobs, kernel, { clock, ...(options ?? {}) }),
  };
}
