import type { NodeStatus, Store } from '../store/store.js';

/** Options of {@link Membership}. */
export interface MembershipOptions {
  store: Store;
  name: string;
  /** The cluster-file node record this daemon advertises (DESIGN §4.2). */
  inventory: () => Promise<Record<string, unknown>>;
  heartbeatMs: number;
  onError?: (error: unknown) => void;
}

/**
 * This daemon's place in the cluster: registers the node (joining, then healthy after the first
 * accepted heartbeat) and keeps a heartbeat whose TTL is three periods, so one slow tick does not
 * mark the node disconnected.
 */
export class Membership {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: MembershipOptions) {}

  get ttlMs(): number {
    return this.options.heartbeatMs * 3;
  }

  /** Registers the node and starts heartbeating. */
  async start(): Promise<void> {
    const { store, name } = this.options;
    const inventory = await this.options.inventory();
    const existing = await store.getNode(name);
    // An operator's decision (drain, maintenance, quarantine, eligibility) survives a restart.
    const keep: NodeStatus[] = ['draining', 'maintenance', 'quarantined'];
    const status: NodeStatus = existing && keep.includes(existing.status) ? existing.status : 'joining';
    await store.upsertNode({
      name,
      status,
      scheduling_eligible: existing?.scheduling_eligible ?? true,
      inventory,
      details: existing?.details ?? {},
    });
    await store.heartbeat(name, this.ttlMs);
    if (status === 'joining') await store.updateNode(name, { status: 'healthy' });
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.beat().finally(() => this.schedule());
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.options.store.heartbeat(this.options.name, this.ttlMs);
      const node = await this.options.store.getNode(this.options.name);
      // A node the leader marked disconnected or offline comes back as healthy once it beats again.
      if (node && (node.status === 'disconnected' || node.status === 'offline')) {
        await this.options.store.updateNode(this.options.name, { status: 'healthy' });
      }
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
