/**
 * What an agent's handler returns for one message (spec §2.2): a list of actions that the
 * runtime carries out after the handler finishes. Built-in agents, executor structured stdout
 * and module agents all produce this one shape, so routing and delivery have a single input.
 */

/** Options of an emitted message: envelope fields a handler may set. */
export interface EmitOptions {
  class?: string;
  headers?: Record<string, unknown>;
  artifacts?: unknown[];
  content_type?: string;
  content_encoding?: string;
  priority?: number;
}

export type AgentAction =
  /** Deliver along every matching outbound edge of the sender's node (routing modes apply). */
  | { kind: 'emit'; type: string; body: unknown; options?: EmitOptions }
  /** Deliver to a named agent or manifest node (every copy of a fanned-out node), bypassing edges. */
  | { kind: 'emit_to'; to: string; type: string; body: unknown; options?: EmitOptions }
  /** Append a job event. */
  | { kind: 'event'; type: string; payload: Record<string, unknown> }
  /** Replace the agent's persisted local state. */
  | { kind: 'next_state'; state: unknown }
  /** End the job (batch, sysbatch) with this result. */
  | { kind: 'complete_job'; result: unknown };
