import { executorSlots, executorSlotsInUse } from '../../observability/metrics.js';

/**
 * A counting semaphore for executor slots: at most `limit` slots held at once; a request for
 * several slots (`pool_slots`) waits until they are all free, first come first served.
 */
export class Slots {
  private used = 0;
  private readonly waiting: Array<{ n: number; grant: () => void }> = [];

  /** @param pool the pool's name, for the `mn_executor_slots*` gauges (unnamed slots are not reported) */
  constructor(readonly limit: number, private readonly pool: string | null = null) {
    if (pool !== null) executorSlots.set({ pool }, limit);
  }

  /** Slots held now. */
  get inUse(): number {
    return this.used;
  }

  private report(): void {
    if (this.pool !== null) executorSlotsInUse.set({ pool: this.pool }, this.used);
  }

  /** Takes `n` slots (at most the limit), waiting for them; returns the release function. */
  async acquire(n = 1): Promise<() => void> {
    const want = Math.max(1, Math.min(this.limit, Math.floor(n)));
    if (this.waiting.length === 0 && this.used + want <= this.limit) this.used += want;
    else await new Promise<void>((grant) => this.waiting.push({ n: want, grant }));
    this.report();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= want;
      this.admit();
      this.report();
    };
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.n <= this.limit) {
      const next = this.waiting.shift()!;
      this.used += next.n;
      next.grant();
    }
  }
}
