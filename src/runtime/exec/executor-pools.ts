import { Slots } from './slots.js';

/**
 * The executor pools of a machine (spec §2.4 `config.pool`): long-running executors in a pool of
 * their own cannot starve the short runs of the `default` pool. Pools are created on first use.
 */
export class ExecutorPools {
  private readonly pools = new Map<string, Slots>();

  /**
   * @param defaultSlots slots of the `default` pool, and of pools not in `named`
   * @param named slots of named pools
   */
  constructor(
    private readonly defaultSlots: number,
    private readonly named: Readonly<Record<string, number>> = {},
  ) {}

  /** The pool an agent's runs take their slots from. */
  of(config: Record<string, unknown>): Slots {
    const name = typeof config.pool === 'string' && config.pool !== '' ? config.pool : 'default';
    let slots = this.pools.get(name);
    if (!slots) {
      slots = new Slots(name === 'default' ? this.defaultSlots : (this.named[name] ?? this.defaultSlots), name);
      this.pools.set(name, slots);
    }
    return slots;
  }
}
