export * from './layout.js';
export { toSnapshot, fromSnapshot, schedulableMask, snapshotCapacity } from './build.js';
export { encodeSnapshot, decodeSnapshot, snapshotSize, SnapshotDecodeError, type SnapshotSize } from './codec.js';
