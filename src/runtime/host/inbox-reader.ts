/**
 * Reads this machine's inbox in batches while the host lease is held, and hands each entry to
 * the host once: an entry stays "in flight" from its read until the host releases it, so an
 * entry handed out again by the store (after its ack timeout) is not handled twice here, and
 * reading pauses while too many are in flight.
 */
import type { MessageSettings } from '../../core/config.js';
import type { InboxEntry, Store } from '../../store/store.js';
import { sleep } from './mailbox.js';

/** Entries in flight above which reading pauses. */
export const DEFAULT_MAX_IN_FLIGHT = 50_000;
/** Entries asked for per read. */
export const DEFAULT_READ_BATCH = 512;

export interface InboxReaderOptions {
  store: Store;
  node: string;
  /** The inbox consumer: unique per daemon incarnation. */
  consumer: string;
  messages: Pick<MessageSettings, 'pollMs' | 'ackTimeoutMs'>;
  /** True while this daemon may read the node's inbox (it holds the host lease). */
  canRead(): boolean;
  onEntry(entry: InboxEntry): Promise<void>;
  onError(error: unknown): void;
  /** Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  maxInFlight?: number;
  /** Default {@link DEFAULT_READ_BATCH}. */
  batchSize?: number;
  /** Wait while reading is paused (default 100 ms). */
  pauseMs?: number;
  /** Wait after a failed read (default 500 ms). */
  errorBackoffMs?: number;
}

export class InboxReader {
  private readonly inFlight = new Set<string>();
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: InboxReaderOptions) {}

  /** Entries read and not yet released. */
  get size(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.loop ??= this.read();
  }

  stop(): void {
    this.stopped = true;
  }

  /** The host is done with an entry (settled, forwarded, dropped, or left for a later read). */
  release(entryId: string): void {
    this.inFlight.delete(entryId);
  }

  private async read(): Promise<void> {
    const o = this.options;
    const maxInFlight = o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    while (!this.stopped) {
      if (!o.canRead() || this.inFlight.size > maxInFlight) {
        await sleep(o.pauseMs ?? 100);
        continue;
      }
      try {
        const entries = await o.store.readInbox(o.node, o.consumer, { count: o.batchSize ?? DEFAULT_READ_BATCH, blockMs: o.messages.pollMs, claimIdleMs: o.messages.ackTimeoutMs });
        for (const entry of entries) {
          if (this.stopped) return;
          if (this.inFlight.has(entry.id)) continue;
          this.inFlight.add(entry.id);
          void o.onEntry(entry).catch((error) => o.onError(error));
        }
      } catch (error) {
        if (this.stopped) return;
        o.onError(error);
        await sleep(o.errorBackoffMs ?? 500);
      }
    }
  }
}
