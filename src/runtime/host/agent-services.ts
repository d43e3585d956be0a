/**
 * The services of the agents a host runs (spec §5.7): registered on this machine when an agent
 * starts or restarts, removed when it stops, fails for good or leaves the machine. Registration
 * is fenced by the host lease; removal is guarded by the machine, so a host never removes the
 * registration an agent's new machine just made.
 */
import { serviceRecords } from '../../core/services/registry.js';
import type { ServiceDirectory } from '../../services/directory.js';
import type { Fence, Store } from '../../store/store.js';
import { processEnv } from '../exec/process-env.js';
import { type HostedJob, type LocalAgent, agentRelease } from './hosted-job.js';

export interface AgentServicesOptions {
  directory: ServiceDirectory;
  store: Store;
  node: string;
  fence(): Fence;
  now(): number;
  onError(error: unknown): void;
}

export class AgentServices {
  constructor(private readonly o: AgentServicesOptions) {}

  /** (Re)registers an agent's services, resolved against its allocation on this machine. */
  async register(job: HostedJob, agent: LocalAgent): Promise<void> {
    if (agent.spec.services.length === 0) return;
    try {
      const env = await processEnv(this.o.store, this.o.node, job, agent.agentId);
      const release = agentRelease(job, agent.agentId);
      const records = serviceRecords(agent.spec.services, { job_id: job.jobId, agent_id: agent.agentId, node: this.o.node, env }, release?.deployment ?? job.deployment, this.o.now());
      await this.o.directory.register(records, this.o.fence());
    } catch (error) {
      this.o.onError(error);
    }
  }

  /** Removes an agent's services registered on this machine. */
  async deregister(job: HostedJob, agent: LocalAgent): Promise<void> {
    if (agent.spec.services.length === 0) return;
    try {
      await this.o.directory.deregisterAgent(job.jobId, agent.agentId, this.o.node);
    } catch (error) {
      this.o.onError(error);
    }
  }
}
