/**
 * Every write a host makes to the records of the agents it runs: fenced by the machine's host
 * lease and guarded by the agent still being placed here, so a stale host (one that paused past
 * its lease, or whose machine was declared lost) cannot change an agent another host now runs.
 * A refusal because the agent is gone or moved is expected and silent; any other failure is
 * reported.
 */
import { isConflict, isMnError } from '../../core/errors.js';
import type { AgentPatch, AgentRecord, Fence, Store } from '../../store/store.js';

/** Agents written per round of concurrent writes. */
const WRITE_CHUNK = 200;

export interface AgentWritesOptions {
  store: Store;
  node: string;
  /** The host lease's current fence (throws `MN_E_LEASE_LOST` while it is not held). */
  fence(): Fence;
  onError(error: unknown): void;
}

export class AgentWrites {
  constructor(private readonly options: AgentWritesOptions) {}

  /** Writes one agent; null when refused (it left this machine, or the write failed and was reported). */
  async set(jobId: string, agentId: string, patch: AgentPatch): Promise<AgentRecord | null> {
    const { store, node } = this.options;
    try {
      return await store.updateAgent(jobId, agentId, patch, { fence: this.options.fence(), node });
    } catch (error) {
      if (!isMnError(error, 'MN_E_NOT_FOUND') && !isConflict(error, 'agent_moved')) this.options.onError(error);
      return null;
    }
  }

  /** Writes the same patch to many agents, a bounded number at a time. */
  async setAll(jobId: string, agentIds: readonly string[], patch: AgentPatch): Promise<void> {
    for (let i = 0; i < agentIds.length; i += WRITE_CHUNK) {
      await Promise.all(agentIds.slice(i, i + WRITE_CHUNK).map((id) => this.set(jobId, id, patch)));
    }
  }
}
