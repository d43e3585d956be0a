/**
 * When a job ends (spec §2.5, §4.5), decided from what the store records: the first
 * `complete_job`, the number of messages still outstanding, and the agents' states. Pure.
 */
import type { JobType } from '../manifest/types.js';
import { initialMessage, type Message } from './message.js';

export interface CompletionInput {
  job_type: JobType;
  /** Init messages were sent (before that, zero outstanding messages means nothing yet). */
  seeded: boolean;
  /** The recorded `complete_job`, or null. */
  completion: { agent_id: string; result: unknown } | null;
  outstanding: number;
  agents: ReadonlyArray<{ agent_id: string; node: string; state: string }>;
  dead_letters: number;
}

export type CompletionDecision =
  | { action: 'none' }
  | { action: 'complete'; completed_by: 'complete_job' | 'quiescence'; result: unknown }
  | { action: 'fail'; reason: string; agent_id: string }
  /** A long-running job whose agent exhausted its restarts waits for an operator (spec §4.4 requires_review). */
  | { action: 'pause'; reason: string; agent_id: string };

const runToCompletion = (type: JobType): boolean => type === 'batch' || type === 'sysbatch';

/**
 * Batch and sysbatch jobs complete on their first `complete_job`, or once no message is
 * outstanding (every agent has handled everything sent to it: nothing can happen any more).
 * An agent that failed for good (or was lost with its node and may not move) fails a batch job and pauses a service or system job for review.
 * Service and system jobs otherwise run until cancelled.
 */
export function decideCompletion(input: CompletionInput): CompletionDecision {
  const failed = input.agents.find((a) => a.state === 'failed' || a.state === 'lost');
  if (failed) {
    const reason =
      failed.state === 'lost' ? `agent ${failed.agent_id} was lost with its node and its reschedule policy is exhausted` : `agent ${failed.agent_id} failed and its restart policy is exhausted`;
    return runToCompletion(input.job_type) ? { action: 'fail', reason, agent_id: failed.agent_id } : { action: 'pause', reason, agent_id: failed.agent_id };
  }
  if (!runToCompletion(input.job_type)) return { action: 'none' };
  if (input.completion) return { action: 'complete', completed_by: 'complete_job', result: input.completion.result };
  if (input.seeded && input.outstanding === 0) {
    const result: Record<string, unknown> = { agents: input.agents.length, dead_letters: input.dead_letters };
    if (input.job_type === 'sysbatch') {
      result.completed_agents = input.agents.map((a) => a.agent_id);
      result.completed_targets = [...new Set(input.agents.map((a) => a.node))].sort();
    }
    return { action: 'complete', completed_by: 'quiescence', result };
  }
  return { action: 'none' };
}

/** One init message to send when a job starts. */
export interface InitDelivery {
  agent_id: string;
  node: string;
  message: Message;
}

/**
 * The init messages of a job (spec §2.2 "Seeding"): every agent of every entrypoint gets one
 * message of type `init` per payload of its `initial_inputs` (keyed by its manifest node id, or
 * `__entrypoints__` for all entrypoints), or one with an empty body when there is none. Message
 * ids are derived from the agent and the payload's position, so seeding twice sends nothing new.
 */
export function initDeliveries(args: {
  jobId: string;
  entrypoints: readonly string[];
  initialInputs: Readonly<Record<string, readonly unknown[]>>;
  agents: ReadonlyMap<string, ReadonlyArray<{ agent_id: string; node: string }>>;
  now: number;
}): InitDelivery[] {
  const out: InitDelivery[] = [];
  for (const entry of args.entrypoints) {
    const payloads = args.initialInputs[entry] ?? args.initialInputs.__entrypoints__ ?? [];
    const bodies = payloads.length > 0 ? payloads : [{}];
    for (const agent of args.agents.get(entry) ?? []) {
      bodies.forEach((body, i) => {
        const message = initialMessage({ jobId: args.jobId, to: agent.agent_id, body, messageId: `init-${agent.agent_id}-${i}`, now: args.now });
        out.push({ agent_id: agent.agent_id, node: agent.node, message });
      });
    }
  }
  return out;
}
