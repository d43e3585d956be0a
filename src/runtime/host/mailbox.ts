/**
 * An agent's mailbox: the entries read for it, handled one at a time in arrival order. Whether
 * it may run (its job not paused, the agent still hosted here, the host not stopping) is asked
 * again before each entry, so a pause or a move takes effect between two messages.
 */
import type { InboxEntry } from '../../store/store.js';

export interface MailboxOptions {
  /** Handles one entry; the mailbox waits for it before the next. */
  run(entry: InboxEntry): Promise<void>;
  /** Whether the next entry may start now. */
  canRun(): boolean;
  /** The entry is done with (handled, settled, forwarded or failed). */
  onDone(entry: InboxEntry): void;
  onError(error: unknown): void;
}

export class Mailbox {
  private readonly queue: InboxEntry[] = [];
  private busy = false;

  constructor(private readonly options: MailboxOptions) {}

  /** Entries waiting (not counting one being handled). */
  get waiting(): number {
    return this.queue.length;
  }

  push(entry: InboxEntry): void {
    this.queue.push(entry);
    this.pump();
  }

  /** Starts the next entry unless one is running, none waits, or the agent may not run now. */
  pump(): void {
    if (this.busy || this.queue.length === 0 || !this.options.canRun()) return;
    const entry = this.queue.shift()!;
    this.busy = true;
    void this.options
      .run(entry)
      .catch((error) => this.options.onError(error))
      .finally(() => {
        this.busy = false;
        this.options.onDone(entry);
        this.pump();
      });
  }

  /** Removes and returns every waiting entry (the agent left this machine or its job ended). */
  takeAll(): InboxEntry[] {
    return this.queue.splice(0);
  }
}

/** Timers of a host (entries due later), all cleared when it stops. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** Runs `fn` after `ms`. */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    this.pending.add(timer);
  }

  clear(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
