/**
 * Settling a handled message (spec §2.3). Success: its events, then one atomic store step that
 * sends what it emitted, writes the agent's state and a first `complete_job`, and acknowledges
 * the entry, under the host lease (so a redelivered message never counts twice). Failure: the
 * restart policy decides between a redelivery later and a failed agent with a dead letter.
 */
import type { MessageSettings } from '../../core/config.js';
import { isConflict, isMnError } from '../../core/errors.js';
import { deliveryBackoff } from '../../core/runtime/builtins.js';
import type { Message } from '../../core/runtime/message.js';
import { routeActions } from '../../core/runtime/routing.js';
import type { Fence, InboxEntry, Store } from '../../store/store.js';
import type { AgentEvents } from './agent-events.js';
import type { AgentWrites } from './agent-writes.js';
import type { Outcome } from './handlers/index.js';
import { type AgentLifecycle, type HostedJob, type LocalAgent, outgoing } from './hosted-job.js';
import { sleep } from './mailbox.js';
import { countFencing, deadLetters, messageRedeliveries, messagesDelivered } from '../../observability/metrics.js';
import type { Restarts } from './restarts.js';

/** Settle attempts between two reports of the same failure. */
const REPORT_EVERY = 20;
/** Backoff exponent cap of settle retries. */
const MAX_BACKOFF_STEP = 7;

export interface SettlerOptions {
  store: Store;
  node: string;
  messages: MessageSettings;
  fence(): Fence;
  writes: AgentWrites;
  events: AgentEvents;
  restarts: Restarts;
  lifecycle: AgentLifecycle;
  /** True once the host is stopping: settling gives up (the entry is read again after the ack timeout). */
  stopped(): boolean;
  now(): number;
  random(): number;
  onError(error: unknown): void;
}

export class Settler {
  constructor(private readonly o: SettlerOptions) {}

  /** Carries out a successful handling; an unreachable store or back-pressure is retried until it settles. */
  async success(job: HostedJob, agent: LocalAgent, entry: InboxEntry, parent: Message, outcome: Extract<Outcome, { ok: true }>): Promise<void> {
    const { store, messages, events, node } = this.o;
    let state = outcome.state;
    let complete: string | undefined;
    for (const action of outcome.actions) {
      if (action.kind === 'event') await events.event(job.jobId, agent.agentId, action.type, action.payload);
      else if (action.kind === 'next_state') state = action.state;
      else if (action.kind === 'complete_job' && complete === undefined) complete = JSON.stringify(action.result ?? null);
    }
    const routed = routeActions({
      job: job.job,
      from: { agent_id: agent.agentId, source_node_id: agent.spec.node_id, node },
      parent,
      actions: outcome.actions,
      agents: job.bySource,
      now: this.o.now(),
    });
    for (const p of routed.problems) await events.event(job.jobId, agent.agentId, p.type, p.payload);
    const send = [...routed.deliveries.map((d) => outgoing(job, d.agent_id, d.message, 0, node)), ...(outcome.extraSends ?? [])];
    const stateJson = state === undefined ? undefined : JSON.stringify(state);
    for (let attempt = 1; !this.o.stopped(); attempt++) {
      try {
        await store.settleMessage(entry, {
          fence: this.o.fence(),
          send,
          ...(stateJson !== undefined ? { state: stateJson } : {}),
          ...(complete !== undefined ? { complete } : {}),
          limits: { perAgent: messages.maxPendingPerAgent, perJob: messages.maxPendingPerJob },
        });
        if (state !== undefined) agent.state = state;
        messagesDelivered.inc();
        return;
      } catch (error) {
        if (isConflict(error, 'agent_moved')) {
          // The agent was moved while it handled the message: its new host handles it again.
          await this.forward(entry, String(error.details.node));
          return;
        }
        if (lostLease(error)) return; // read again by whoever holds the node
        // Back-pressure or an unreachable store: the outcome is kept and settled again later.
        if (attempt === 1 || attempt % REPORT_EVERY === 0) this.o.onError(error);
        await sleep(deliveryBackoff(Math.min(attempt, MAX_BACKOFF_STEP), this.o.random()));
      }
    }
  }

  /** A failed handling: redelivered later under the restart policy, or the agent fails and the message is dead-lettered. */
  async failure(job: HostedJob, agent: LocalAgent, entry: InboxEntry, reason: string): Promise<void> {
    const { messages, events, writes } = this.o;
    let why = `${reason} (delivery attempts exhausted: ${entry.attempt})`;
    if (entry.attempt < messages.maxAttempts) {
      const next = await this.o.restarts.after(job, agent, reason, { message_id: entry.message_id });
      if ('at' in next) {
        await this.entryWrite(() => this.o.store.retryMessage(entry, next.at, this.o.fence()));
        messageRedeliveries.inc();
        return;
      }
      why = `${reason} (${next.exhausted})`;
    }
    await writes.set(job.jobId, agent.agentId, { state: 'failed' });
    await this.o.lifecycle.failed(job, agent);
    await events.event(job.jobId, agent.agentId, 'agent_failed', { reason, detail: why });
    await this.deadLetter(job.jobId, agent.agentId, entry, why);
  }

  /** Dead-letters an entry that can never be handled, with its event. */
  async deadLetter(jobId: string, agentId: string, entry: InboxEntry, reason: string): Promise<void> {
    await this.entryWrite(() => this.o.store.deadLetter(entry, reason, this.o.fence()));
    deadLetters.inc();
    await this.o.events.event(jobId, agentId, 'dead_letter', { message_id: entry.message_id, reason, attempts: entry.attempt });
  }

  /** Queues an entry on the inbox of the machine its agent runs on now. */
  async forward(entry: InboxEntry, node: string): Promise<void> {
    await this.entryWrite(() => this.o.store.forwardMessage(entry, node, this.o.fence()));
  }

  /** Drops entries of jobs that ended. */
  async drop(entries: InboxEntry[]): Promise<void> {
    await this.entryWrite(() => this.o.store.dropMessages(entries, this.o.fence()));
  }

  /**
   * An entry write under the host lease. A lost lease is not an error of this write: whoever holds
   * the machine now reads the entry again. Anything else is reported.
   */
  private async entryWrite(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (!lostLease(error)) this.o.onError(error);
    }
  }
}

function lostLease(error: unknown): boolean {
  const lost = isMnError(error, 'MN_E_FENCED') || isMnError(error, 'MN_E_LEASE_LOST');
  if (lost) countFencing(error);
  return lost;
}
