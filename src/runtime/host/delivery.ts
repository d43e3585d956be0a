/**
 * The life of one message at its agent: parse it, run the agent type's handler, then settle what
 * it produced (or what its failure means), and restart a service executor whose process exited.
 */
import { normaliseMessage, type Message } from '../../core/runtime/message.js';
import type { AgentType } from '../../core/manifest/types.js';
import type { InboxEntry } from '../../store/store.js';
import type { AgentEvents } from './agent-events.js';
import type { AgentWrites } from './agent-writes.js';
import type { AgentHandler, Outcome } from './handlers/index.js';
import { type AgentLifecycle, type HostedJob, type LocalAgent, outgoing } from './hosted-job.js';
import type { Restarts } from './restarts.js';
import type { Settler } from './settler.js';

export interface DeliveryOptions {
  node: string;
  handlers: Readonly<Record<AgentType, AgentHandler>>;
  settler: Settler;
  restarts: Restarts;
  writes: AgentWrites;
  events: AgentEvents;
  lifecycle: AgentLifecycle;
  now(): number;
  /** A run was aborted (its agent moved away or its job ended): hand its entry on, if anyone should get it. */
  onAborted(job: HostedJob, entry: InboxEntry, reason: unknown): Promise<void>;
}

export class Delivery {
  constructor(private readonly o: DeliveryOptions) {}

  async handle(job: HostedJob, agent: LocalAgent, entry: InboxEntry): Promise<void> {
    const { settler, events } = this.o;
    let message: Message;
    try {
      message = normaliseMessage(JSON.parse(entry.message), { jobId: job.jobId, to: agent.agentId, messageId: entry.message_id, now: this.o.now() });
    } catch {
      await settler.deadLetter(job.jobId, agent.agentId, entry, 'message is not valid JSON');
      return;
    }
    const run = new AbortController();
    agent.run = run;
    const signal = AbortSignal.any([agent.abort.signal, run.signal]);
    let outcome: Outcome;
    try {
      outcome = await this.o.handlers[agent.spec.agent_type].handle({
        job,
        agent,
        message,
        signal,
        now: this.o.now,
        outgoing: (agentId, m, notBefore) => outgoing(job, agentId, m, notBefore, this.o.node),
        event: (type, payload) => events.event(job.jobId, agent.agentId, type, payload),
        log: (stream, lines) => events.log(job.jobId, agent, stream, lines),
      });
    } catch (error) {
      outcome = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      if (agent.run === run) agent.run = null;
    }
    if (agent.abort.signal.aborted) return this.o.onAborted(job, entry, agent.abort.signal.reason);
    // Stopped by its health check (`check_restart`): a failed run, so the restart policy decides.
    if (run.signal.aborted) outcome = { ok: false, reason: String(run.signal.reason ?? 'stopped by its health check') };
    if (!outcome.ok) return settler.failure(job, agent, entry, outcome.reason);
    const restart = await this.o.restarts.whenDone(job, agent, message);
    if (restart === 'failed') {
      await settler.success(job, agent, entry, message, outcome);
      await this.o.writes.set(job.jobId, agent.agentId, { state: 'failed' });
      await this.o.lifecycle.failed(job, agent);
      return;
    }
    await settler.success(job, agent, entry, message, restart ? { ...outcome, extraSends: [...(outcome.extraSends ?? []), restart] } : outcome);
  }
}
