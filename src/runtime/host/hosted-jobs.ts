/**
 * The jobs this machine hosts agents of, as last read: a job is read again when its version
 * changes (a move, a pause, a new plan). Arriving agents are hosted (marked running, their
 * services registered), leaving ones stopped and their unsettled messages forwarded, and the
 * agents of a job that ended are stopped and its queued messages dropped.
 */
import type { Plan } from '../../core/placement/plan-types.js';
import type { AgentRecord, InboxEntry, JobRecord, JobStatus, Store } from '../../store/store.js';
import { stageModules } from '../exec/module-staging.js';
import type { AgentEvents } from './agent-events.js';
import type { AgentServices } from './agent-services.js';
import type { AgentWrites } from './agent-writes.js';
import { type HostedJob, agentRelease, hostedJob, localAgent } from './hosted-job.js';
import type { Mailbox } from './mailbox.js';

/** Abort reason of a run whose agent was replaced by a rollout: its message is handled again by the new agent. */
export const REPLACED = 'replaced by a new release';

/** Job statuses whose agents run. */
export const ACTIVE: ReadonlySet<JobStatus> = new Set(['scheduled', 'running', 'paused']);

export interface HostedJobsOptions {
  store: Store;
  node: string;
  home: string;
  writes: AgentWrites;
  events: AgentEvents;
  services: AgentServices | null;
  /** A new agent's mailbox. */
  mailbox(jobId: string, agentId: string): Mailbox;
  /** Hands an entry of an agent that left this machine to its new one. */
  forward(job: HostedJob, entry: InboxEntry): Promise<void>;
  /** Drops the queued entries of a job that ended. */
  drop(entries: InboxEntry[]): Promise<void>;
  now(): number;
}

export class HostedJobs {
  private readonly jobs = new Map<string, HostedJob>();
  private readonly loading = new Map<string, Promise<HostedJob | null>>();

  constructor(private readonly o: HostedJobsOptions) {}

  get(jobId: string): HostedJob | undefined {
    return this.jobs.get(jobId);
  }

  values(): IterableIterator<HostedJob> {
    return this.jobs.values();
  }

  /** The read of a job in progress, if any. */
  loadingOf(jobId: string): Promise<HostedJob | null> | undefined {
    return this.loading.get(jobId);
  }

  /** Re-reads the jobs whose version changed; stops hosting those no longer active. */
  async refresh(): Promise<void> {
    const seen = new Set<string>();
    for (const s of await this.o.store.listJobs()) {
      if (!ACTIVE.has(s.status)) continue;
      seen.add(s.job_id);
      const hosted = this.jobs.get(s.job_id);
      if (!hosted || hosted.version !== s.version) await this.load(s.job_id);
    }
    for (const [jobId, hosted] of this.jobs) if (!seen.has(jobId)) this.unhost(hosted);
  }

  /** Reads a job and its agents; hosts its agents placed here. Null when it no longer runs. */
  load(jobId: string): Promise<HostedJob | null> {
    let p = this.loading.get(jobId);
    if (!p) {
      p = this.read(jobId).finally(() => this.loading.delete(jobId));
      this.loading.set(jobId, p);
    }
    return p;
  }

  private async read(jobId: string): Promise<HostedJob | null> {
    const { store, node } = this.o;
    const [record, agents] = await Promise.all([store.getJob(jobId), store.listAgents(jobId)]);
    const previous = this.jobs.get(jobId);
    if (!record || !ACTIVE.has(record.status) || !record.plan) {
      if (previous) this.unhost(previous);
      return null;
    }
    const hosted = await hostedJob(record as JobRecord & { plan: Plan }, agents, previous, this.o.now());
    // Agents that left this node stop here; their unsettled messages are forwarded when read again.
    for (const [id, local] of hosted.local) {
      if (hosted.nodes.get(id) !== node) {
        local.abort.abort();
        hosted.local.delete(id);
        void this.o.services?.deregister(hosted, local);
        for (const entry of local.mailbox.takeAll()) void this.o.forward(hosted, entry);
      }
    }
    // Agents a rollout replaced (or put back) start again here with their new release.
    const replaced = agents.filter((a) => a.node === node && hosted.local.has(a.agent_id) && hosted.local.get(a.agent_id)!.version !== agentRelease(hosted, a.agent_id)?.version);
    for (const a of replaced) await this.replace(hosted, a);
    const arriving = agents.filter((a) => a.node === node && !hosted.local.has(a.agent_id));
    // Published only once its agents are hosted: a message read meanwhile waits for this load.
    if (arriving.length > 0) await this.host(hosted, record, arriving);
    this.jobs.set(jobId, hosted);
    if (hosted.status !== 'paused') for (const a of hosted.local.values()) a.mailbox.pump();
    return hosted;
  }

  private async host(hosted: HostedJob, record: JobRecord, arriving: AgentRecord[]): Promise<void> {
    const { store, node } = this.o;
    const states = await store.agentStates(hosted.jobId);
    if (hosted.modulesDir === null && hosted.job.nodes.some((n) => n.agent_type === 'module')) {
      hosted.modulesDir = await stageModules(this.o.home, hosted.jobId, record.details.modules);
    }
    const started = [];
    for (const a of arriving) {
      const release = agentRelease(hosted, a.agent_id);
      if (!release) continue;
      const local = localAgent(a, release, states[a.agent_id], this.o.mailbox(hosted.jobId, a.agent_id));
      hosted.local.set(a.agent_id, local);
      if (a.state !== 'failed' && a.state !== 'lost') started.push(local);
    }
    const pending = arriving.filter((a) => a.state === 'pending').map((a) => a.agent_id);
    await this.o.writes.setAll(hosted.jobId, pending, { state: 'running' });
    if (pending.length > 0) await this.o.events.event(hosted.jobId, null, 'agents_started', { node, count: pending.length });
    if (this.o.services) for (const local of started) await this.o.services.register(hosted, local);
  }

  /**
   * Replaces a local agent by its new release: its run is stopped (the message it was handling is
   * handled again by the new one, so a service's process starts again with the new config), its
   * waiting messages move to the new one, and its services are registered again.
   */
  private async replace(hosted: HostedJob, a: AgentRecord): Promise<void> {
    const old = hosted.local.get(a.agent_id);
    const release = agentRelease(hosted, a.agent_id);
    if (!old || !release) return;
    const states = await this.o.store.agentStates(hosted.jobId);
    const fresh = localAgent(a, release, states[a.agent_id], this.o.mailbox(hosted.jobId, a.agent_id));
    fresh.restarts = old.restarts;
    hosted.local.set(a.agent_id, fresh);
    old.abort.abort(REPLACED);
    for (const entry of old.mailbox.takeAll()) fresh.mailbox.push(entry);
    await this.o.events.event(hosted.jobId, a.agent_id, 'agent_replaced', { node: this.o.node, from_version: old.version, to_version: fresh.version });
    if (this.o.services) await this.o.services.register(hosted, fresh);
  }

  /** The job ended (or left this daemon's view): its runs stop, its services here go, its queued messages are dropped. */
  unhost(hosted: HostedJob): void {
    this.jobs.delete(hosted.jobId);
    const queued: InboxEntry[] = [];
    for (const a of hosted.local.values()) {
      a.abort.abort();
      void this.o.services?.deregister(hosted, a);
      queued.push(...a.mailbox.takeAll());
    }
    if (queued.length > 0) void this.o.drop(queued);
  }
}
