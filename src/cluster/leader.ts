import { isMnError } from '../core/errors.js';
import { LeaseKeeper } from '../store/lease-keeper.js';
import { CLUSTER_EVENTS_JOB_ID, type Fence, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from '../runtime/coordinators.js';
import type { ServiceDirectory } from '../services/directory.js';
import { reconcileServices } from '../services/reconcile.js';
import { advanceDrain } from './drain.js';
import { jobLeaseName } from '../runtime/coordinators.js';

/** Name of the leader lease. */
export const LEADER_LEASE = 'leader';

export interface LeaderOptions {
  store: Store;
  holder: string;
  nodeName: string;
  leaseMs: number;
  sweepMs: number;
  disconnectGraceMs: number;
  coordinators: Coordinators;
  /** The service registry, swept for instances of lost machines and ended jobs. */
  directory?: ServiceDirectory;
  /** Wall clock in epoch ms (injectable for tests). */
  now?: () => number;
  onError?: (error: unknown) => void;
  onChange?: (leader: boolean) => void;
}

/**
 * Leader election and sweeps. Every daemon campaigns for the leader lease; the holder runs the
 * sweeps: nodes whose heartbeat lapsed become `disconnected`, then `offline` after the grace
 * period, and jobs whose coordinator lease is free (their coordinator died) are adopted here.
 */
export class Leader {
  private readonly keeper: LeaseKeeper;
  private campaignTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private wasLeader = false;
  private readonly now: () => number;

  constructor(private readonly options: LeaderOptions) {
    this.now = options.now ?? Date.now;
    this.keeper = new LeaseKeeper({
      store: options.store,
      name: LEADER_LEASE,
      holder: options.holder,
      ttlMs: options.leaseMs,
      onLost: () => this.setLeader(false),
    });
  }

  get isLeader(): boolean {
    return this.keeper.held;
  }

  /** The leader lease's fence while this daemon leads, else null (writes made as leader carry it). */
  get fence(): Fence | null {
    return this.keeper.held ? this.keeper.fence() : null;
  }

  start(): void {
    const campaign = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        if (!this.keeper.held && (await this.keeper.acquire())) {
          this.keeper.start();
          this.setLeader(true);
        }
      } catch (error) {
        if (!isMnError(error)) this.options.onError?.(error);
      }
      if (!this.stopped) {
        this.campaignTimer = setTimeout(() => void campaign(), Math.max(50, Math.floor(this.options.leaseMs / 3)));
        this.campaignTimer.unref();
      }
    };
    void campaign();
    const sweep = async (): Promise<void> => {
      if (this.stopped) return;
      if (this.keeper.held) {
        try {
          await this.sweep();
        } catch (error) {
          this.options.onError?.(error);
        }
      }
      if (!this.stopped) {
        this.sweepTimer = setTimeout(() => void sweep(), this.options.sweepMs);
        this.sweepTimer.unref();
      }
    };
    this.sweepTimer = setTimeout(() => void sweep(), this.options.sweepMs);
    this.sweepTimer.unref();
  }

  private setLeader(leader: boolean): void {
    if (leader === this.wasLeader) return;
    this.wasLeader = leader;
    this.options.onChange?.(leader);
    if (leader) {
      void this.options.store
        .appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'leader_elected', payload: { node: this.options.nodeName } })
        .catch(() => undefined);
    }
  }

  /** One sweep; public for tests. */
  async sweep(): Promise<void> {
    const { store } = this.options;
    const now = this.now();
    for (const node of await store.listNodes()) {
      if (node.alive) continue;
      if (node.status === 'healthy' || node.status === 'joining') {
        await store.updateNode(node.name, { status: 'disconnected', details: { ...node.details, disconnected_at: now } });
        await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'node_disconnected', payload: { node: node.name } });
      } else if (node.status === 'disconnected') {
        const since = Number(node.details.disconnected_at ?? node.updated_at);
        if (now - since >= this.options.disconnectGraceMs) {
          await store.updateNode(node.name, { status: 'offline' });
          await store.appendEvent(CLUSTER_EVENTS_JOB_ID, { type: 'node_offline', payload: { node: node.name } });
        }
      }
    }
    const nodes = await store.listNodes();
    for (const node of nodes) {
      if (node.status === 'draining') await advanceDrain(store, node.name, now);
    }
    if (this.options.directory) await reconcileServices(store, this.options.directory, nodes, now);
    for (const job of await store.listJobs()) {
      if (TERMINAL_JOB_STATUSES.has(job.status)) continue;
      if (await store.getLease(jobLeaseName(job.job_id))) continue;
      const fence = await this.options.coordinators.adopt(job.job_id);
      if (fence) {
        await store.appendEvent(job.job_id, { type: 'coordinator_adopted', payload: { node: this.options.nodeName, token: fence.token } });
      }
    }
  }

  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.campaignTimer) clearTimeout(this.campaignTimer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (options.release && this.keeper.held) await this.keeper.release().catch(() => false);
    else this.keeper.stop();
  }
}
