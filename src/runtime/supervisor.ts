import type { JobType } from '../core/manifest/types.js';
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';
import { decideCompletion, initDeliveries } from '../core/runtime/completion.js';
import type { RoutedAgent } from '../core/runtime/routing.js';
import type { Plan } from '../core/placement/plan-types.js';
import { type AgentRecord, type Fence, type JobRecord, type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import type { Coordinators } from './coordinators.js';

export interface SupervisorOptions {
  store: Store;
  coordinators: Coordinators;
  /** Registers the job-level services of a job this daemon coordinates (on start, and after adopting it). */
  jobServices?: (record: JobRecord, fence: Fence) => Promise<void>;
  now?: () => number;
  onError?: (error: unknown) => void;
}

/** Init messages sent per store call. */
const SEED_CHUNK = 2000;
/** Ticks between full checks of a job's agents. */
const FULL_CHECK_TICKS = 20;

/**
 * The coordinator's view of the jobs it owns while they run: it seeds each job's entrypoints
 * once its placements are committed, then ends it when the store says so (spec §2.5, §4.4): a
 * recorded `complete_job`, no message outstanding, or an agent that failed for good. Each tick
 * costs two small reads per job; agents are listed only when something may have changed.
 */
export class Supervisor {
  private readonly now: () => number;
  /** Jobs seeded by this incarnation (the record's `details.seeded` survives a takeover). */
  private readonly seeded = new Set<string>();
  private readonly deadSeen = new Map<string, number>();
  /** Job types of the seeded jobs: quiescence and complete_job only end batch and sysbatch jobs. */
  private readonly types = new Map<string, JobType>();
  private ticks = 0;
  /** The tick in progress, and whether another was asked for meanwhile (ticks never overlap). */
  private current: Promise<void> | null = null;
  private rerun = false;
  private poked = false;

  constructor(private readonly options: SupervisorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A tick now, or right after the one in progress: a job just scheduled is seeded without waiting for the interval. */
  poke(): void {
    if (this.poked) return;
    this.poked = true;
    setImmediate(() => {
      this.poked = false;
      void this.tick();
    });
  }

  tick(): Promise<void> {
    if (this.current) {
      this.rerun = true;
      return this.current;
    }
    this.current = this.run().finally(() => {
      this.current = null;
      if (this.rerun) {
        this.rerun = false;
        void this.tick();
      }
    });
    return this.current;
  }

  private async run(): Promise<void> {
    this.ticks++;
    for (const jobId of this.options.coordinators.jobIds) {
      try {
        await this.supervise(jobId);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }

  private async supervise(jobId: string): Promise<void> {
    const { store, coordinators } = this.options;
    if (!this.seeded.has(jobId)) {
      const record = await store.getJob(jobId);
      if (!record || TERMINAL_JOB_STATUSES.has(record.status)) {
        this.forget(jobId);
        return;
      }
      if (!record.plan || record.status === 'pending') return;
      if (record.details.seeded !== true) {
        const job = record.job;
        const bySource = await entrypointAgents(record.plan.placements, new Set(job.entrypoints), await store.listAgents(jobId));
        // A chunk of entrypoint agents at a time, with a turn of the event loop between chunks.
        let initMessages = 0;
        const now = this.now();
        for (const entry of new Set(job.entrypoints)) {
          const list = bySource.get(entry) ?? [];
          for (let i = 0; i < list.length; i += SEED_CHUNK) {
            const inits = initDeliveries({ jobId, entrypoints: [entry], initialInputs: job.initial_inputs, agents: new Map([[entry, list.slice(i, i + SEED_CHUNK)]]), now });
            await store.sendMessages(inits.map((d) => ({ job_id: jobId, agent_id: d.agent_id, node: d.node, message_id: d.message.envelope.message_id, message: JSON.stringify(d.message) })));
            initMessages += inits.length;
            await yieldToLoop();
          }
        }
        const fence = coordinators.fence(jobId);
        const fresh = await store.getJob(jobId);
        await store.updateJob(jobId, { details: { ...(fresh?.details ?? record.details), seeded: true }, ...(fresh?.status === 'scheduled' ? { status: 'running' } : {}) }, { fence });
        await store.appendEvent(jobId, { type: 'job_running', payload: { status: 'running', init_messages: initMessages } });
      }
      this.seeded.add(jobId);
      this.types.set(jobId, record.job.policies.job_type);
      if (this.options.jobServices) await this.options.jobServices(record, coordinators.fence(jobId)).catch((error: unknown) => this.options.onError?.(error));
    }
    const [counts, completion] = await Promise.all([store.messageCounts(jobId), store.getCompletion(jobId)]);
    const deadBefore = this.deadSeen.get(jobId) ?? 0;
    this.deadSeen.set(jobId, counts.dead_letters);
    const type = this.types.get(jobId);
    const mayEnd = (type === 'batch' || type === 'sysbatch') && (completion !== null || counts.outstanding === 0);
    // Agents are listed when the job may end, a message was dead-lettered (an agent may have
    // failed), and every few seconds for failures that leave no dead letter.
    if (!mayEnd && counts.dead_letters === deadBefore && this.ticks % FULL_CHECK_TICKS !== 0) return;
    const record = await store.getJob(jobId);
    if (!record || TERMINAL_JOB_STATUSES.has(record.status)) {
      this.forget(jobId);
      return;
    }
    if (record.status === 'paused') return;
    const agents = await store.listAgents(jobId);
    const job = record.job;
    const decision = decideCompletion({
      job_type: job.policies.job_type,
      seeded: true,
      completion: completion ? { agent_id: completion.agent_id, result: JSON.parse(completion.result) as unknown } : null,
      outstanding: counts.outstanding,
      agents,
      dead_letters: counts.dead_letters,
    });
    if (decision.action === 'none') return;
    const fence = coordinators.fence(jobId);
    if (decision.action === 'pause') {
      await store.updateJob(jobId, { status: 'paused', details: { ...record.details, requires_review: true, review_reason: decision.reason } }, { fence });
      await store.appendEvent(jobId, { type: 'job_paused_for_review', agent_id: decision.agent_id, payload: { reason: decision.reason } });
      return;
    }
    // Keep the agents' final states on the record: releasing the placements removes them.
    const status = decision.action === 'complete' ? 'completed' : 'failed';
    const ended = (state: string): boolean => state === 'failed' || state === 'lost';
    const final = agents.map((a) => ({ ...a, state: ended(a.state) ? a.state : status === 'completed' ? 'completed' : 'stopped' }));
    const details =
      decision.action === 'complete'
        ? { ...record.details, final_agents: final, result: decision.result, completed_by: decision.completed_by }
        : { ...record.details, final_agents: final, failure: { reason: decision.reason, agent_id: decision.agent_id } };
    await store.updateJob(jobId, { details }, { fence });
    await coordinators.transition(jobId, status, `job_${status}`);
    this.forget(jobId);
  }

  private forget(jobId: string): void {
    this.seeded.delete(jobId);
    this.deadSeen.delete(jobId);
    this.types.delete(jobId);
  }
}

/**
 * The agents of a job's entrypoint nodes, by node id, where they run now: a chunk per turn of the
 * event loop, so seeding a 100,000-agent job does not hold it.
 */
async function entrypointAgents(placements: Plan['placements'], entrypoints: ReadonlySet<string>, agents: readonly AgentRecord[]): Promise<Map<string, RoutedAgent[]>> {
  const nodes = new Map<string, string>();
  for (let i = 0; i < agents.length; i++) {
    nodes.set(agents[i]!.agent_id, agents[i]!.node);
    if (i % LOOP_CHUNK === LOOP_CHUNK - 1) await yieldToLoop();
  }
  const out = new Map<string, RoutedAgent[]>();
  for (let i = 0; i < placements.length; i++) {
    const p = placements[i]!;
    if (entrypoints.has(p.source_node_id)) {
      let group = out.get(p.source_node_id);
      if (!group) out.set(p.source_node_id, (group = []));
      group.push({ agent_id: p.agent_id, node: nodes.get(p.agent_id) ?? p.node });
    }
    if (i % LOOP_CHUNK === LOOP_CHUNK - 1) await yieldToLoop();
  }
  return out;
}
