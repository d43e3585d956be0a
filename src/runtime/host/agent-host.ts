/**
 * Runs the agents placed on this daemon's machine. Where each decision is made:
 *
 * - what to do with an inbox entry: `core/runtime/inbox-decision.ts` (read by `inbox-reader.ts`)
 * - handling one message: `delivery.ts`, with one handler per agent type in `handlers/`
 * - settling its outcome, retries and dead letters: `settler.ts`
 * - whether an agent restarts: `core/runtime/restart.ts`, recorded by `restarts.ts`
 * - writes of agent records (fenced, machine-guarded): `agent-writes.ts`
 * - which jobs are hosted, arriving and leaving agents: `hosted-jobs.ts`
 * - registering the agents' services: `agent-services.ts` (checks: `src/services/monitor.ts`)
 *
 * This class wires them together and takes each inbox entry to its agent.
 */
import type { MessageSettings } from '../../core/config.js';
import { decideEntry, needsFreshView } from '../../core/runtime/inbox-decision.js';
import { LeaseKeeper } from '../../store/lease-keeper.js';
import type { ServiceDirectory } from '../../services/directory.js';
import type { InboxEntry, Store } from '../../store/store.js';
import { ExecutorPools } from '../exec/executor-pools.js';
import { Launcher } from '../exec/launcher.js';
import { type PoolHosting, WarmPools } from '../exec/warm-pools.js';
import { processEnv } from '../exec/process-env.js';
import { executorCommand } from '../../core/runtime/executor.js';
import type { ModuleRunner } from '../exec/module-runner.js';
import type { SecretBox } from '../secrets.js';
import { AgentEvents } from './agent-events.js';
import { AgentServices } from './agent-services.js';
import { AgentWrites } from './agent-writes.js';
import { Delivery } from './delivery.js';
import { createHandlers } from './handlers/index.js';
import type { AgentLifecycle, HostedJob, LocalAgent } from './hosted-job.js';
import { HostedJobs, REPLACED } from './hosted-jobs.js';
import { InboxReader } from './inbox-reader.js';
import { Mailbox, Timers } from './mailbox.js';
import { Restarts } from './restarts.js';
import { Settler } from './settler.js';

export interface AgentHostOptions {
  store: Store;
  nodeName: string;
  /** Unique per daemon incarnation; also this daemon's inbox consumer name. */
  holder: string;
  /** Staging root: agents run in `<home>/jobs/<job>/<agent>`. */
  home: string;
  /** TTL of the host lease (the job lease duration). */
  leaseMs: number;
  messages: MessageSettings;
  /** Slots of the `default` executor pool (and of pools not in `executorPools`). */
  executorConcurrency: number;
  /** Slots of named executor pools (`config.pool`). */
  executorPools?: Readonly<Record<string, number>>;
  modules: ModuleRunner;
  /** Opens the sealed secret variables of dispatched jobs for their executors. */
  secrets?: SecretBox;
  /** Where the agents' services are registered; none: services are not registered (tests of other parts). */
  directory?: ServiceDirectory;
  onError?: (error: unknown) => void;
  /** Lines of stdout/stderr kept as events per agent (default 200). */
  maxLogLines?: number;
  /** Inbox entries in flight above which reading pauses (default 50,000). */
  maxInFlight?: number;
  /** Inbox entries per read (default 512). */
  readBatch?: number;
  now?: () => number;
  random?: () => number;
  /** Where `MN_WARM_POOL_<NAME>_SIZE` overrides are read (default: this process's environment). */
  warmPoolEnv?: Readonly<Record<string, string | undefined>>;
  /** How often idle warm pool members are checked (default 2 s). */
  warmPoolCheckMs?: number;
}

/** Lease that makes this daemon the one that runs the agents placed on its node. */
export function hostLeaseName(node: string): string {
  return `host:${node}`;
}

export class AgentHost {
  private readonly jobs: HostedJobs;
  private readonly timers = new Timers();
  /** Entries a replaced agent's run handed to its successor: still in flight when the old run ends. */
  private readonly handedOn = new Set<string>();
  private readonly launcher = new Launcher();
  private readonly keeper: LeaseKeeper;
  private readonly reader: InboxReader;
  private readonly writes: AgentWrites;
  private readonly events: AgentEvents;
  private readonly settler: Settler;
  private readonly delivery: Delivery;
  private readonly warmPools: WarmPools;
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private stopped = false;

  constructor(private readonly options: AgentHostOptions) {
    const { store, nodeName: node } = options;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
    this.keeper = new LeaseKeeper({ store, name: hostLeaseName(node), holder: options.holder, ttlMs: options.leaseMs });
    const fence = () => this.keeper.fence();
    this.writes = new AgentWrites({ store, node, fence, onError: this.onError });
    this.events = new AgentEvents(store, this.onError, options.maxLogLines);
    const services = options.directory ? new AgentServices({ directory: options.directory, store, node, fence, now: this.now, onError: this.onError }) : null;
    const lifecycle: AgentLifecycle = {
      restarted: async (job, agent) => services?.register(job, agent),
      failed: async (job, agent) => services?.deregister(job, agent),
    };
    const restarts = new Restarts(this.writes, this.events, node, this.now, lifecycle);
    this.settler = new Settler({
      store,
      node,
      messages: options.messages,
      fence,
      writes: this.writes,
      events: this.events,
      restarts,
      lifecycle,
      stopped: () => this.stopped,
      now: this.now,
      random: options.random ?? Math.random,
      onError: this.onError,
    });
    this.warmPools = new WarmPools({ store, node, launcher: this.launcher, home: options.home, env: options.warmPoolEnv ?? process.env, onError: this.onError, ...(options.warmPoolCheckMs !== undefined ? { checkMs: options.warmPoolCheckMs } : {}) });
    const handlers = createHandlers({ store, node, home: options.home, launcher: this.launcher, warmPools: this.warmPools, pools: new ExecutorPools(options.executorConcurrency, options.executorPools), modules: options.modules, ...(options.secrets ? { secrets: options.secrets } : {}) });
    this.delivery = new Delivery({ node, handlers, settler: this.settler, restarts, writes: this.writes, events: this.events, lifecycle, now: this.now, onAborted: (job, entry, reason) => this.forwardAborted(job, entry, reason) });
    this.jobs = new HostedJobs({
      store,
      node,
      home: options.home,
      writes: this.writes,
      events: this.events,
      services,
      mailbox: (jobId, agentId) => this.mailbox(jobId, agentId),
      forward: (job, entry) => this.forward(job, entry),
      drop: (entries) => this.settler.drop(entries).finally(() => entries.forEach((e) => this.reader.release(e.id))),
      now: this.now,
    });
    this.reader = new InboxReader({
      store,
      node,
      consumer: options.holder,
      messages: options.messages,
      canRead: () => this.keeper.held,
      onEntry: (entry) => this.accept(entry),
      onError: this.onError,
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      ...(options.readBatch !== undefined ? { batchSize: options.readBatch } : {}),
    });
  }

  /** Starts reading the inbox (once the host lease is held). */
  start(): void {
    this.reader.start();
  }

  /** Refreshes the hosted jobs: new placements, moved agents, ended or paused jobs. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.keeper.held) {
      if (await this.keeper.acquire().catch((error: unknown) => (this.onError(error), false))) this.keeper.start();
    }
    await this.jobs.refresh();
    await this.warmPools.reconcile(this.poolHostings());
  }

  /** The pool agents this machine runs now (executor nodes with `warm_pool`) whose command resolves. */
  private poolHostings(): PoolHosting[] {
    const out: PoolHosting[] = [];
    for (const hosted of this.jobs.values()) {
      // Only jobs that declare a pool (a rollout's target may add one): big jobs cost nothing here.
      if (!hosted.job.nodes.some((n) => n.warm_pool) && !hosted.rollout?.target.nodes.some((n) => n.warm_pool)) continue;
      for (const local of hosted.local.values()) {
        const spec = local.spec.warm_pool;
        if (spec === undefined || local.abort.signal.aborted) continue;
        const command = executorCommand(local.config);
        if (!command.ok) {
          this.onError(new Error(`warm pool ${spec.name} of job ${hosted.jobId} agent ${local.agentId}: ${command.message}`));
          continue;
        }
        out.push({ spec, jobId: hosted.jobId, agentId: local.agentId, argv: command.command.argv, env: () => processEnv(this.options.store, this.options.nodeName, hosted, local.agentId) });
      }
    }
    return out;
  }

  /**
   * Stops the run in progress of a local agent because its health check's `check_restart` is
   * due: the run ends as failed, and the restart policy starts it again (or fails it for good).
   */
  async restartAgent(jobId: string, agentId: string, reason: string): Promise<boolean> {
    const job = this.jobs.get(jobId);
    const agent = job?.local.get(agentId);
    if (!job || !agent) return false;
    await this.events.event(jobId, agentId, 'agent_check_restart', { reason, running: agent.run !== null });
    if (!agent.run) return false;
    agent.run.abort(reason);
    return true;
  }

  /** Kills running agents and stops reading (daemon shutdown). */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.reader.stop();
    this.timers.clear();
    for (const hosted of this.jobs.values()) for (const a of hosted.local.values()) a.abort.abort();
    await this.warmPools.close({ forget: options.release === true }).catch((error: unknown) => this.onError(error));
    this.launcher.close();
    if (options.release) await this.keeper.release().catch((error: unknown) => this.onError(error));
    else this.keeper.stop();
  }

  /** The mailbox of one local agent: it runs while the agent is still hosted here and its job is not paused. */
  private mailbox(jobId: string, agentId: string): Mailbox {
    const current = (): { job: HostedJob; agent: LocalAgent } | null => {
      const job = this.jobs.get(jobId) ?? null;
      const agent = job?.local.get(agentId) ?? null;
      return job && agent && agent.mailbox === box ? { job, agent } : null;
    };
    const box: Mailbox = new Mailbox({
      canRun: () => {
        const c = current();
        return !this.stopped && c !== null && c.job.status !== 'paused';
      },
      run: async (entry) => {
        const c = current();
        if (c) await this.delivery.handle(c.job, c.agent, entry);
      },
      onDone: (entry) => {
        if (!this.handedOn.delete(entry.id)) this.reader.release(entry.id);
      },
      onError: this.onError,
    });
    return box;
  }

  // ---- inbox --------------------------------------------------------------------------------

  private async accept(entry: InboxEntry): Promise<void> {
    if (this.stopped) return this.reader.release(entry.id);
    let queued = false;
    try {
      const here = this.options.nodeName;
      let hosted = this.jobs.get(entry.job_id) ?? null;
      if (needsFreshView(entry, hosted, here, this.now())) hosted = await this.jobs.load(entry.job_id);
      // A message read while its job loads waits for the agents it hosts.
      const loading = this.jobs.loadingOf(entry.job_id);
      if (hosted && loading && !hosted.hosts(entry.agent_id)) hosted = (await loading) ?? hosted;
      const decision = decideEntry(entry, hosted, here, this.now());
      switch (decision.action) {
        case 'drop':
          await this.settler.drop([entry]);
          return;
        case 'dead_letter':
          await this.settler.deadLetter(entry.job_id, entry.agent_id, entry, decision.reason);
          return;
        case 'forward':
          await this.settler.forward(entry, decision.node);
          return;
        case 'hold':
          return; // hosted at the next refresh; the entry is read again after the ack timeout
        case 'wait':
          queued = true;
          this.timers.after(decision.until - this.now(), () => this.enqueue(entry));
          return;
        case 'enqueue':
          queued = true;
          this.enqueue(entry);
          return;
      }
    } finally {
      if (!queued) this.reader.release(entry.id);
    }
  }

  private enqueue(entry: InboxEntry): void {
    const local = this.jobs.get(entry.job_id)?.local.get(entry.agent_id);
    if (!local) return this.reader.release(entry.id);
    local.mailbox.push(entry);
  }

  /** Hands an entry of an agent that left this machine to its new one. */
  private async forward(hosted: HostedJob, entry: InboxEntry): Promise<void> {
    const node = hosted.nodes.get(entry.agent_id);
    try {
      if (node && node !== this.options.nodeName) await this.settler.forward(entry, node);
    } finally {
      this.reader.release(entry.id);
    }
  }

  /** A run stopped because its agent left this machine (forward the message) or was replaced here (hand it to the new agent). */
  private async forwardAborted(job: HostedJob, entry: InboxEntry, reason: unknown): Promise<void> {
    const now = this.jobs.get(job.jobId);
    if (!now) return;
    if (reason === REPLACED && now.local.has(entry.agent_id)) {
      // Still in flight: the new agent's mailbox owns it now, not the old one's.
      this.handedOn.add(entry.id);
      return this.enqueue(entry);
    }
    await this.forward(now, entry);
  }
}
