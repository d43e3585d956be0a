/**
 * Library entry of mn-runtime: offline manifest validation and plan simulation, no Redis and no
 * network.
 */
export { validateManifest, type ValidateOptions } from './core/manifest/validate.js';
export { expandAgents, agentId } from './core/manifest/expand.js';
export { loadBundle, type BundleLoadResult } from './bundle/load.js';
export { parseJson } from './core/json.js';
export type * from './core/manifest/types.js';
export { InvalidManifestError } from './core/placement/simulate.js';
export {
  simulatePlan,
  simulatePlanAsync,
  closeSimulatePool,
  type SimulateOptions,
  type SimulateAsyncOptions,
  type SimulateEngine,
} from './solver/simulate.js';
export { PlacementPool, type PlacementPoolOptions } from './solver/pool.js';
export { checkPlan, type CheckOptions } from './core/placement/check.js';
export { mergePlan } from './core/placement/merge.js';
export { ClusterFileError, parseClusterFile, validateClusterFile, isClusterState } from './core/cluster/index.js';
export type * from './core/cluster/types.js';
export type * from './core/placement/plan-types.js';
export {
  DEFAULT_PREEMPTION,
  PREEMPTION_PRIORITY_DELTA,
  parsePreemptionList,
  applyPreemptionAssignments,
  type PreemptionConfig,
} from './core/placement/preemption-config.js';
