import { routerHandle, type RouterState } from '../../../core/runtime/builtins.js';
import type { AgentHandler } from './handler.js';

/** Router agents (spec §2.4): emit what they receive, re-typed by `emit_type`; counters in their state. */
export const routerHandler: AgentHandler = {
  async handle({ agent, message }) {
    const r = routerHandle(agent.config, agent.state as RouterState | null, message);
    return { ok: true, actions: r.actions, state: r.state };
  },
};
