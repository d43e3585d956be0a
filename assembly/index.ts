/**
 * The WebAssembly ABI of the placement core: numbers and pointers only. The host allocates
 * columns with `alloc`, binds them with `bind` once per snapshot load, writes the per-call inputs
 * and calls `place`. See src/solver/wasm-kernel.ts.
 */
export { arenaAlloc as alloc, arenaReset as reset, arenaTop as top, arenaRelease as release } from './arena';
export { bind, bindIndex, place, prepare, score, setIndex, touch } from './kernel';
export { DIMENSIONS, GPU_RESERVE, GPU_RESERVE_PARTIAL, STRATEGY_BINPACK, STRATEGY_SPREAD } from './kernel';
