import { type NewWarmPoolState, type WarmPoolState, type WarmPoolStore, byPoolThenNode, checkWarmPoolState, warmPoolField } from '../warm-pools.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's warm pool records. */
export class MemoryWarmPools implements WarmPoolStore {
  private readonly records = new Map<string, WarmPoolState>();

  constructor(private readonly core: MemoryCore) {}

  async put(state: NewWarmPoolState): Promise<WarmPoolState> {
    this.core.open();
    checkWarmPoolState(state);
    const record: WarmPoolState = { ...copy(state), updated_at: new Date(this.core.clock()).toISOString() };
    this.records.set(warmPoolField(state.pool, state.node), record);
    return copy(record);
  }

  async delete(pool: string, node: string): Promise<boolean> {
    this.core.open();
    return this.records.delete(warmPoolField(pool, node));
  }

  async list(): Promise<WarmPoolState[]> {
    this.core.open();
    return copy([...this.records.values()].sort(byPoolThenNode));
  }
}
