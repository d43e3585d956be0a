/**
 * Applies the restart policy to a hosted agent whose run ended (spec §4.1, §4.5): the decision is
 * `core/runtime/restart.ts`; this records it (history, the persisted restart counter, an event).
 */
import { restartPolicyFor } from '../../core/policy/lifecycle.js';
import { childMessage, childMessageId, type Message } from '../../core/runtime/message.js';
import { restartVerdict, restartsWhenDone } from '../../core/runtime/restart.js';
import type { OutgoingMessage } from '../../store/store.js';
import type { AgentEvents } from './agent-events.js';
import type { AgentWrites } from './agent-writes.js';
import { type AgentLifecycle, type HostedJob, type LocalAgent, outgoing } from './hosted-job.js';

/** When the agent runs again, or why it may not. */
export type RestartAnswer = { at: number } | { exhausted: string };

export class Restarts {
  constructor(
    private readonly writes: AgentWrites,
    private readonly events: AgentEvents,
    private readonly node: string,
    private readonly now: () => number,
    private readonly lifecycle: AgentLifecycle,
  ) {}

  /** The policy's answer for a run that ended with `reason`; an allowed restart is recorded and counted. */
  async after(hosted: HostedJob, agent: LocalAgent, reason: string, extra: Record<string, unknown>): Promise<RestartAnswer> {
    const now = this.now();
    const policy = restartPolicyFor(hosted.job.policies, agent.spec, hosted.recoveryMode);
    const verdict = restartVerdict(policy, agent.history, reason, now);
    switch (verdict.kind) {
      case 'restart':
        agent.history = verdict.history;
        agent.restarts++;
        await this.writes.set(hosted.jobId, agent.agentId, { restarts: agent.restarts });
        await this.events.event(hosted.jobId, agent.agentId, 'agent_restart_scheduled', { attempt: verdict.attempt, delay_ms: verdict.delay_ms, reason, ...extra });
        await this.lifecycle.restarted(hosted, agent);
        return { at: verdict.at };
      case 'defer':
        await this.events.event(hosted.jobId, agent.agentId, 'agent_restart_deferred', { reason, next_eligible_at: verdict.at });
        return { at: verdict.at };
      case 'exhausted':
        return { exhausted: verdict.reason };
    }
  }

  /**
   * Service and system jobs keep their executors running: when the process started for the
   * `init` message exits, the agent is sent its init message again under the restart policy
   * (settled with the run's outcome, so a crash in between neither loses nor doubles it). Null
   * when the run does not restart; `failed` when the policy is exhausted.
   */
  async whenDone(hosted: HostedJob, agent: LocalAgent, message: Message): Promise<OutgoingMessage | 'failed' | null> {
    if (!restartsWhenDone(hosted.job.policies.job_type, agent.spec.agent_type, message.envelope.type)) return null;
    const next = await this.after(hosted, agent, 'the process exited', {});
    if ('exhausted' in next) {
      await this.events.event(hosted.jobId, agent.agentId, 'agent_failed', { reason: 'the process exited and its restart policy is exhausted', detail: next.exhausted });
      return 'failed';
    }
    const again = childMessage({
      parent: message,
      from: 'runtime',
      to: agent.agentId,
      type: 'init',
      body: message.body,
      messageId: childMessageId(message.envelope.message_id, 'runtime', agent.agentId, agent.restarts),
      now: this.now(),
    });
    return outgoing(hosted, agent.agentId, again, next.at, this.node);
  }
}
