import { SENSOR_TICK_TYPE, sensorHandle, type SensorState } from '../../../core/runtime/builtins.js';
import { childMessage, childMessageId } from '../../../core/runtime/message.js';
import type { OutgoingMessage } from '../../../store/store.js';
import type { AgentHandler } from './handler.js';

/** Id slot of a sensor's own tick messages among its children (never an emitted message's index). */
const TICK_INDEX = 1_000_000;

/** Sensor agents (spec §2.4): observe messages, and in interval mode wake themselves with tick messages. */
export const sensorHandler: AgentHandler = {
  async handle(ctx) {
    const { agent, message } = ctx;
    const r = sensorHandle(agent.config, agent.state as SensorState | null, message, ctx.now());
    const extraSends: OutgoingMessage[] = [];
    if (r.nextTickAt !== null) {
      const tick = childMessage({
        parent: message,
        from: agent.agentId,
        to: agent.agentId,
        type: SENSOR_TICK_TYPE,
        body: {},
        messageId: childMessageId(message.envelope.message_id, agent.agentId, agent.agentId, TICK_INDEX),
        now: ctx.now(),
      });
      extraSends.push(ctx.outgoing(agent.agentId, tick, r.nextTickAt));
    }
    return { ok: true, actions: r.actions, state: r.state, extraSends };
  },
};
