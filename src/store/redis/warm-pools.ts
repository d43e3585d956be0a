import { type NewWarmPoolState, type WarmPoolState, type WarmPoolStore, byPoolThenNode, checkWarmPoolState, warmPoolField } from '../warm-pools.js';
import type { RedisCore } from './core.js';

/**
 * The durable warm pool records (keys: docs/redis-keys.md, "Warm pools"): one hash, field
 * `<pool>@<node>` → record JSON. Each field has one writer (the daemon of that machine).
 */
export class RedisWarmPools implements WarmPoolStore {
  constructor(private readonly core: RedisCore) {}

  async put(state: NewWarmPoolState): Promise<WarmPoolState> {
    checkWarmPoolState(state);
    const record: WarmPoolState = { ...(JSON.parse(JSON.stringify(state)) as NewWarmPoolState), updated_at: new Date(this.core.clock()).toISOString() };
    await this.core.call(() => this.core.client.hset(this.core.keys.warmPools(), warmPoolField(state.pool, state.node), JSON.stringify(record)));
    return record;
  }

  async delete(pool: string, node: string): Promise<boolean> {
    const n = await this.core.call(() => this.core.client.hdel(this.core.keys.warmPools(), warmPoolField(pool, node)));
    return n > 0;
  }

  async list(): Promise<WarmPoolState[]> {
    const hash = await this.core.call(() => this.core.client.hgetall(this.core.keys.warmPools()));
    return Object.values(hash).map((v) => JSON.parse(v) as WarmPoolState).sort(byPoolThenNode);
  }
}
