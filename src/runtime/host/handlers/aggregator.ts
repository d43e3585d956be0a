import { aggregatorComplete, aggregatorKey, aggregatorStep } from '../../../core/runtime/builtins.js';
import type { Store } from '../../../store/store.js';
import type { AgentHandler } from './handler.js';

/**
 * Aggregator agents (spec §2.4): collect message bodies once per key in the store (so a
 * redelivered message counts once), and emit the collection when complete.
 */
export function aggregatorHandler(store: Store): AgentHandler {
  return {
    async handle({ job, agent, message }) {
      const seen = await store.collect(job.jobId, agent.agentId, aggregatorKey(message), JSON.stringify(message.body ?? null));
      const step = aggregatorStep(agent.config, seen, message);
      const actions = [...step.actions];
      if (step.complete) {
        const bodies = (await store.listCollected(job.jobId, agent.agentId)).map((t) => JSON.parse(t) as unknown);
        actions.push(...aggregatorComplete(agent.config, bodies, message));
      }
      return { ok: true, actions };
    },
  };
}
