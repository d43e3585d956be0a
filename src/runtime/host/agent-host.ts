/**
 * Runs the agents placed on this daemon's machine. Where each decision is made:
 *
 * - what to do with an inbox entry: `core/runtime/inbox-decision.ts` (read by `inbox-reader.ts`)
 * - handling one message: `delivery.ts`, with one handler per agent type in `handlers/`
 * - settling its outcome, retries and dead letters: `settler.ts`
 * - whether an agent restarts: `core/runtime/restart.ts`, recorded by `restarts.ts`
 * - writes of agent records (fenced, machine-guarded): `agent-writes.ts`
 *
 * This class keeps the view of every job with agents here, hosts the agents that arrive, and
 * stops those that leave or whose job ended.
 */
import type { MessageSettings } from '../../core/config.js';
import type { NodeSpec } from '../../core/manifest/types.js';
import type { Plan } from '../../core/placement/plan-types.js';
import { decideEntry, needsFreshView } from '../../core/runtime/inbox-decision.js';
import { LeaseKeeper } from '../../store/lease-keeper.js';
import type { AgentRecord, InboxEntry, JobRecord, JobStatus, Store } from '../../store/store.js';
import { ExecutorPools } from '../exec/executor-pools.js';
import { Launcher } from '../exec/launcher.js';
import type { ModuleRunner } from '../exec/module-runner.js';
import { stageModules } from '../exec/module-staging.js';
import { AgentEvents } from './agent-events.js';
import { AgentWrites } from './agent-writes.js';
import { Delivery } from './delivery.js';
import { createHandlers } from './handlers/index.js';
import { type HostedJob, type LocalAgent, hostedJob, localAgent } from './hosted-job.js';
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
  onError?: (error: unknown) => void;
  /** Lines of stdout/stderr kept as events per agent (default 200). */
  maxLogLines?: number;
  /** Inbox entries in flight above which reading pauses (default 50,000). */
  maxInFlight?: number;
  /** Inbox entries per read (default 512). */
  readBatch?: number;
  now?: () => number;
  random?: () => number;
}

/** Lease that makes this daemon the one that runs the agents placed on its node. */
export function hostLeaseName(node: string): string {
  return `host:${node}`;
}

/** Job statuses whose agents run. */
const ACTIVE: ReadonlySet<JobStatus> = new Set(['scheduled', 'running', 'paused']);

export class AgentHost {
  private readonly jobs = new Map<string, HostedJob>();
  private readonly loading = new Map<string, Promise<HostedJob | null>>();
  private readonly timers = new Timers();
  private readonly launcher = new Launcher();
  private readonly keeper: LeaseKeeper;
  private readonly reader: InboxReader;
  private readonly writes: AgentWrites;
  private readonly events: AgentEvents;
  private readonly settler: Settler;
  private readonly delivery: Delivery;
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
    const restarts = new Restarts(this.writes, this.events, node, this.now);
    this.settler = new Settler({
      store,
      node,
      messages: options.messages,
      fence,
      writes: this.writes,
      events: this.events,
      restarts,
      stopped: () => this.stopped,
      now: this.now,
      random: options.random ?? Math.random,
      onError: this.onError,
    });
    const handlers = createHandlers({ store, node, home: options.home, launcher: this.launcher, pools: new ExecutorPools(options.executorConcurrency, options.executorPools), modules: options.modules });
    this.delivery = new Delivery({ node, handlers, settler: this.settler, restarts, writes: this.writes, events: this.events, now: this.now, onAborted: (job, entry) => this.forwardAborted(job, entry) });
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
    const summaries = await this.options.store.listJobs();
    const seen = new Set<string>();
    for (const s of summaries) {
      if (!ACTIVE.has(s.status)) continue;
      seen.add(s.job_id);
      const hosted = this.jobs.get(s.job_id);
      if (!hosted || hosted.version !== s.version) await this.load(s.job_id);
    }
    for (const [jobId, hosted] of this.jobs) {
      if (!seen.has(jobId)) this.unhost(hosted);
    }
  }

  /** Kills running agents and stops reading (daemon shutdown). */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.reader.stop();
    this.timers.clear();
    for (const hosted of this.jobs.values()) for (const a of hosted.local.values()) a.abort.abort();
    this.launcher.close();
    if (options.release) await this.keeper.release().catch((error: unknown) => this.onError(error));
    else this.keeper.stop();
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** Reads a job and its agents; hosts its agents placed here. Null when it no longer runs. */
  private load(jobId: string): Promise<HostedJob | null> {
    let p = this.loading.get(jobId);
    if (!p) {
      p = this.read(jobId).finally(() => this.loading.delete(jobId));
      this.loading.set(jobId, p);
    }
    return p;
  }

  private async read(jobId: string): Promise<HostedJob | null> {
    const { store, nodeName } = this.options;
    const [record, agents] = await Promise.all([store.getJob(jobId), store.listAgents(jobId)]);
    const previous = this.jobs.get(jobId);
    if (!record || !ACTIVE.has(record.status) || !record.plan) {
      if (previous) this.unhost(previous);
      return null;
    }
    const hosted = hostedJob(record as JobRecord & { plan: Plan }, agents, previous, this.now());
    // Agents that left this node stop here; their unsettled messages are forwarded when read again.
    for (const [id, local] of hosted.local) {
      if (hosted.nodes.get(id) !== nodeName) {
        local.abort.abort();
        hosted.local.delete(id);
        for (const entry of local.mailbox.takeAll()) void this.forward(hosted, entry);
      }
    }
    const arriving = agents.filter((a) => a.node === nodeName && !hosted.local.has(a.agent_id));
    // Published only once its agents are hosted: a message read meanwhile waits for this load.
    if (arriving.length > 0) await this.host(hosted, record, arriving);
    this.jobs.set(jobId, hosted);
    if (hosted.status !== 'paused') for (const a of hosted.local.values()) a.mailbox.pump();
    return hosted;
  }

  private async host(hosted: HostedJob, record: JobRecord, arriving: AgentRecord[]): Promise<void> {
    const { store, nodeName } = this.options;
    const states = await store.agentStates(hosted.jobId);
    if (hosted.modulesDir === null && hosted.job.nodes.some((n) => n.agent_type === 'module')) {
      hosted.modulesDir = await stageModules(this.options.home, hosted.jobId, record.details.modules);
    }
    const specs = new Map<string, NodeSpec>(hosted.job.nodes.map((n) => [n.node_id, n]));
    for (const a of arriving) {
      const spec = specs.get(hosted.sourceOf.get(a.agent_id) ?? a.agent_id);
      if (!spec) continue;
      hosted.local.set(a.agent_id, localAgent(a, spec, states[a.agent_id], this.mailbox(hosted.jobId, a.agent_id)));
    }
    const pending = arriving.filter((a) => a.state === 'pending').map((a) => a.agent_id);
    await this.writes.setAll(hosted.jobId, pending, { state: 'running' });
    if (pending.length > 0) await this.events.event(hosted.jobId, null, 'agents_started', { node: nodeName, count: pending.length });
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
      onDone: (entry) => this.reader.release(entry.id),
      onError: this.onError,
    });
    return box;
  }

  /** The job ended (or left this daemon's view): its runs stop and its queued messages are dropped. */
  private unhost(hosted: HostedJob): void {
    this.jobs.delete(hosted.jobId);
    const queued: InboxEntry[] = [];
    for (const a of hosted.local.values()) {
      a.abort.abort();
      queued.push(...a.mailbox.takeAll());
    }
    if (queued.length === 0) return;
    void this.settler.drop(queued).finally(() => queued.forEach((e) => this.reader.release(e.id)));
  }

  // ---- inbox --------------------------------------------------------------------------------

  private async accept(entry: InboxEntry): Promise<void> {
    if (this.stopped) return this.reader.release(entry.id);
    let queued = false;
    try {
      const here = this.options.nodeName;
      let hosted = this.jobs.get(entry.job_id) ?? null;
      if (needsFreshView(entry, hosted, here, this.now())) hosted = await this.load(entry.job_id);
      // A message read while its job loads waits for the agents it hosts.
      const loading = this.loading.get(entry.job_id);
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

  private async forwardAborted(job: HostedJob, entry: InboxEntry): Promise<void> {
    const now = this.jobs.get(job.jobId);
    if (now) await this.forward(now, entry);
  }
}
