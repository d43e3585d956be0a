/**
 * What the memory store shares with its domain parts (service registry, schedules, ...): the
 * clock, the closed check and the fence check, so every part behaves like the rest of the store.
 */
import type { Fence } from '../store.js';

export interface MemoryCore {
  clock(): number;
  /** Throws `MN_E_STORE_UNAVAILABLE` once the store is closed. */
  open(): void;
  /** Throws `MN_E_LEASE_LOST` / `MN_E_FENCED` unless the lease is held with the fence's token. */
  enforceFence(fence: Fence, object: string): void;
}

/** Copies a JSON value the way a round trip through the store would (drops undefined, etc.). */
export function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
