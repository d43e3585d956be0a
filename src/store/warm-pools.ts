/**
 * The warm pool part of the {@link Store}: what each machine's daemon reports of the warm pools
 * it keeps, one record per pool and machine (`mn pool list`). The daemon that hosts a pool writes
 * its record whenever its counts change and removes it when it stops hosting the pool. Both
 * stores pass one contract suite (`test/integration/store/warm-pool-contract.ts`).
 */
import { MnError } from '../core/errors.js';
import { WARM_POOL_NAME_PATTERN } from '../core/manifest/warm-pool.js';
import { checkName } from './validate.js';

/** What a daemon reports of one pool on its machine. */
export interface NewWarmPoolState {
  pool: string;
  /** The machine (node name). */
  node: string;
  provider: string;
  /** The job whose agent keeps the pool here. */
  job_id: string;
  /** The agents of that job that keep it here (normally one). */
  agent_ids: string[];
  /** Idle members the machine keeps (the manifest's size or `MN_WARM_POOL_<NAME>_SIZE`). */
  size: number;
  /** Started members waiting for an input. */
  idle: number;
  /** Members handling a consumer's input. */
  in_use: number;
  /** Members being started. */
  starting: number;
  /** Inputs served by a warm member since the pool started here. */
  served_warm: number;
  /** Consumers here that found no idle member and spawned cold. */
  served_cold: number;
  /** Why the last member failed to start or died while idle; null when none did. */
  last_error: string | null;
}

/** The stored record. */
export interface WarmPoolState extends NewWarmPoolState {
  updated_at: string;
}

export interface WarmPoolStore {
  /** Writes (or replaces) the record of one pool on one machine. */
  put(state: NewWarmPoolState): Promise<WarmPoolState>;
  /** Removes the record of a pool on a machine; false when there was none. */
  delete(pool: string, node: string): Promise<boolean>;
  /** Every record, by pool then machine. */
  list(): Promise<WarmPoolState[]>;
}

const COUNTS = ['size', 'idle', 'in_use', 'starting', 'served_warm', 'served_cold'] as const;

/** Checks a record before either store writes it (`MN_E_INVALID_ARGUMENT` naming the field). */
export function checkWarmPoolState(state: NewWarmPoolState): void {
  const invalid = (field: string, message: string): MnError => new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${message}`, { details: { field } });
  if (typeof state.pool !== 'string' || !WARM_POOL_NAME_PATTERN.test(state.pool)) throw invalid('pool', `must be a warm pool name, got ${JSON.stringify(state.pool)}`);
  checkName(state.node, 'node');
  checkName(state.job_id, 'job_id');
  if (typeof state.provider !== 'string') throw invalid('provider', 'must be a string');
  if (!Array.isArray(state.agent_ids) || !state.agent_ids.every((a) => typeof a === 'string')) throw invalid('agent_ids', 'must be a list of agent ids');
  for (const field of COUNTS) {
    const v = state[field];
    if (!Number.isSafeInteger(v) || v < 0) throw invalid(field, `must be a non-negative integer, got ${String(v)}`);
  }
  if (state.last_error !== null && typeof state.last_error !== 'string') throw invalid('last_error', 'must be a string or null');
}

/** Orders records by pool, then machine. */
export function byPoolThenNode(a: WarmPoolState, b: WarmPoolState): number {
  return a.pool.localeCompare(b.pool) || a.node.localeCompare(b.node);
}

/** The record's field in a store: pool and node cannot collide (a pool name has no `@`). */
export function warmPoolField(pool: string, node: string): string {
  return `${pool}@${node}`;
}
