export * from './types.js';
export { ClusterFileError, parseClusterFile, validateClusterFile, isClusterState, type ClusterValidationResult } from './parse.js';
