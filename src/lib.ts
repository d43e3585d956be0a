/**
 * Library entry of mn-runtime: offline manifest validation and plan simulation, no Redis and no
 * network.
 */
export { validateManifest, type ValidateOptions } from './core/manifest/validate.js';
export { expandAgents, agentId } from './core/manifest/expand.js';
export { loadBundle, type BundleLoadResult } from './bundle/load.js';
export { parseJson } from './core/json.js';
export type * from './core/manifest/types.js';
