/**
 * Holds one lease for its owner: acquires it, renews it on a timer, and decides locally, on a
 * monotonic clock, whether the owner may still act on it.
 *
 * The store's TTL is measured by Redis; a holder whose process stalls, or whose Redis replies are
 * slow, cannot learn that the TTL ran out. So the keeper keeps its own deadline: the moment a
 * successful acquire/renew was *sent* plus the TTL, minus a drift margin. Past that deadline
 * {@link LeaseKeeper.held} is false and {@link LeaseKeeper.fence} throws `MN_E_LEASE_LOST`, even if
 * the store would still accept a renewal. Store-side fencing (the token checked inside every
 * fenced write) covers what is left: a write already in flight when the deadline passed.
 */
import { performance } from 'node:perf_hooks';
import { MnError } from '../core/errors.js';
import type { Fence, Store } from './store.js';

/** Why a lease was lost. */
export type LeaseLossReason = 'not_owner' | 'deadline_passed' | 'renew_failed' | 'released';

export interface LeaseKeeperOptions {
  store: Pick<Store, 'acquireLease' | 'renewLease' | 'releaseLease'>;
  name: string;
  /** Holder id, unique per process incarnation. */
  holder: string;
  ttlMs: number;
  /** Renewal period (default ttl / 3). */
  renewIntervalMs?: number;
  /** Consecutive failed renewals (store errors) after which the lease counts as lost (default 3). */
  maxRenewFailures?: number;
  /** Safety margin subtracted from the local deadline (default 1% of the TTL + 2 ms). */
  driftMs?: number;
  /** Monotonic clock in ms (default `performance.now`). */
  now?: () => number;
  /** Called once when the lease is lost. */
  onLost?: (reason: LeaseLossReason, error?: unknown) => void;
}

/** See the module comment. One keeper holds at most one grant at a time. */
export class LeaseKeeper {
  private readonly now: () => number;
  private readonly drift: number;
  private token: number | null = null;
  private deadline = -Infinity;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private controller = new AbortController();
  private lostReason: LeaseLossReason | null = null;

  constructor(private readonly options: LeaseKeeperOptions) {
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `ttlMs must be a positive integer, got ${options.ttlMs}`, { details: { field: 'ttlMs' } });
    }
    this.now = options.now ?? (() => performance.now());
    this.drift = options.driftMs ?? Math.ceil(options.ttlMs * 0.01) + 2;
  }

  /** The fencing token of the current grant, or null. */
  get currentToken(): number | null {
    return this.held ? this.token : null;
  }

  /** True while a grant is held and its local deadline has not passed. */
  get held(): boolean {
    if (this.token === null) return false;
    if (this.now() >= this.deadline) {
      this.lose('deadline_passed');
      return false;
    }
    return true;
  }

  /** Aborted when the current grant is lost (a new grant gets a new signal). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the last grant was lost, or null. */
  get lossReason(): LeaseLossReason | null {
    return this.lostReason;
  }

  /** The fence to pass with writes; throws `MN_E_LEASE_LOST` unless {@link held}. */
  fence(): Fence {
    if (!this.held) {
      throw new MnError('MN_E_LEASE_LOST', `lease "${this.options.name}" is not held by "${this.options.holder}"`, {
        details: { lease: this.options.name, holder: this.options.holder, reason: this.lostReason },
      });
    }
    return { lease: this.options.name, token: this.token! };
  }

  /** Tries to acquire the lease once; true when held afterwards. */
  async acquire(): Promise<boolean> {
    const sent = this.now();
    const grant = await this.options.store.acquireLease(this.options.name, this.options.holder, this.options.ttlMs);
    if (!grant) return false;
    if (this.token !== grant.token) {
      this.controller = new AbortController();
      this.lostReason = null;
    }
    this.token = grant.token;
    this.deadline = sent + this.options.ttlMs - this.drift;
    this.failures = 0;
    return this.held;
  }

  /**
   * Renews once. False when the lease is lost (taken over, lapsed, local deadline passed, or too
   * many consecutive store failures); a single store failure within the deadline returns true.
   */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const token = this.token!;
    const sent = this.now();
    let ok: boolean;
    try {
      ok = await this.options.store.renewLease(this.options.name, this.options.holder, token, this.options.ttlMs);
    } catch (error) {
      this.failures += 1;
      if (this.failures >= (this.options.maxRenewFailures ?? 3)) {
        this.lose('renew_failed', error);
        return false;
      }
      return this.held;
    }
    if (this.token !== token) return this.held; // released or re-acquired meanwhile
    if (!ok) {
      this.lose('not_owner');
      return false;
    }
    this.failures = 0;
    this.deadline = sent + this.options.ttlMs - this.drift;
    return this.held;
  }

  /** Renews every `renewIntervalMs` until the lease is lost or {@link stop}/{@link release}. */
  start(): void {
    this.stop();
    const interval = this.options.renewIntervalMs ?? Math.max(1, Math.floor(this.options.ttlMs / 3));
    const tick = () => {
      this.timer = undefined;
      void this.renew().then((ok) => {
        if (ok && this.token !== null && this.timer === undefined && !this.stopped) this.timer = setTimeout(tick, interval);
      });
    };
    this.stopped = false;
    this.timer = setTimeout(tick, interval);
  }

  /** Stops renewing (the lease then lapses at its TTL). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and frees the lease in the store. */
  async release(): Promise<boolean> {
    this.stop();
    const token = this.token;
    if (token === null) return false;
    this.lose('released');
    return this.options.store.releaseLease(this.options.name, this.options.holder, token);
  }

  private lose(reason: LeaseLossReason, error?: unknown): void {
    if (this.token === null) return;
    this.token = null;
    this.deadline = -Infinity;
    this.lostReason = reason;
    this.stop();
    this.controller.abort(new MnError('MN_E_LEASE_LOST', `lease "${this.options.name}" lost: ${reason}`, { details: { lease: this.options.name, reason } }));
    if (reason !== 'released') this.options.onLost?.(reason, error);
  }
}
