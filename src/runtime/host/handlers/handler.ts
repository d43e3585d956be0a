/**
 * The one interface every agent type implements: handle one message for one agent and say what
 * it produced. A new kind of agent (a warm-pool executor, say) is one new file here and one line
 * in `index.ts`; delivery, settling and restarts are the same for all.
 */
import type { AgentAction } from '../../../core/runtime/actions.js';
import type { Message } from '../../../core/runtime/message.js';
import type { OutgoingMessage } from '../../../store/store.js';
import type { HostedJob, LocalAgent } from '../hosted-job.js';

/** What handling one message produced. */
export type Outcome =
  /** Actions to carry out, the agent's new state (when it keeps one), and messages the handler addressed itself (timers). */
  | { ok: true; actions: AgentAction[]; state?: unknown; extraSends?: OutgoingMessage[] }
  /** The run failed: the restart policy decides what follows. */
  | { ok: false; reason: string };

/** What a handler may use while it handles one message. */
export interface HandlerContext {
  readonly job: HostedJob;
  readonly agent: LocalAgent;
  readonly message: Message;
  /** Aborted when the agent moves away or its job ends: stop as soon as possible. */
  readonly signal: AbortSignal;
  now(): number;
  /** A message of this job to one of its agents, due at `notBefore` (0: now). */
  outgoing(agentId: string, message: Message, notBefore: number): OutgoingMessage;
  event(type: string, payload: Record<string, unknown>): Promise<void>;
  /** Output lines of the agent's process, kept as bounded `agent_log` events. */
  log(stream: 'stdout' | 'stderr', lines: readonly string[]): Promise<void>;
}

export interface AgentHandler {
  handle(ctx: HandlerContext): Promise<Outcome>;
}
