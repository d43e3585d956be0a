/**
 * What the Redis store shares with its domain parts (service registry, schedules, ...): the data
 * connection, the key builder, the clock, and the call and script wrappers that map failures to
 * `MnError`s the same way everywhere.
 */
import type { Redis } from 'ioredis';
import type { StoreKeys } from '../keys.js';
import type { ScriptContext } from '../script-codes.js';

export interface RedisCore {
  readonly client: Redis;
  readonly keys: StoreKeys;
  clock(): number;
  /** Runs a command (or pipeline); `MN_E_STORE_UNAVAILABLE` when closed or unreachable. */
  call<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs a status-returning script; returns the reply after the status or throws its error. */
  script(name: string, keys: string[], args: string[], context: ScriptContext): Promise<unknown[]>;
}

/** A hash of JSON values per field, from a flat HGETALL-style reply. */
export function jsonFields(flat: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = JSON.parse(String(flat[i + 1]));
  return out;
}
