/** Job events a host appends for its agents, and their output lines as bounded `agent_log` events. */
import type { Store } from '../../store/store.js';
import type { LocalAgent } from './hosted-job.js';

/** Default of lines of stdout/stderr kept as events per agent. */
export const DEFAULT_MAX_LOG_LINES = 200;

export class AgentEvents {
  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
    private readonly maxLogLines = DEFAULT_MAX_LOG_LINES,
  ) {}

  /** Appends an event of an agent (or of the job, for a null agent); a failure is reported, never thrown. */
  async event(jobId: string, agentId: string | null, type: string, payload: Record<string, unknown>): Promise<void> {
    await this.store.appendEvent(jobId, { type, ...(agentId !== null ? { agent_id: agentId } : {}), payload }).catch((error) => this.onError(error));
  }

  /** Non-empty lines as `agent_log` events, up to the agent's line budget. */
  async log(jobId: string, agent: LocalAgent, stream: 'stdout' | 'stderr', lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      if (line === '' || agent.logLines >= this.maxLogLines) continue;
      agent.logLines++;
      await this.event(jobId, agent.agentId, 'agent_log', { stream, line });
    }
  }
}
