import { allocatedDevices, allocationEnv, type InventoryDevice } from '../../core/runtime/allocation-env.js';
import type { Store } from '../../store/store.js';
import type { HostedJob } from '../host/hosted-job.js';

/**
 * The environment of an agent's process: the daemon's own, the allocation hints of spec §3.8,
 * and `MN_JOB_ID`, `MN_AGENT_ID`, `MN_NODE_NAME`. The machine's device inventory is read only
 * when the agent holds devices.
 */
export async function processEnv(store: Store, node: string, job: HostedJob, agentId: string): Promise<NodeJS.ProcessEnv> {
  const placement = job.placements.get(agentId);
  const allocated = placement?.allocations.devices ?? [];
  const inventory = allocated.length > 0 ? await deviceInventory(store, node) : [];
  return {
    ...process.env,
    ...allocationEnv({
      devices: allocatedDevices(allocated, inventory),
      ports: placement?.allocations.ports ?? [],
      volumes: placement?.allocations.volumes ?? [],
      runtime_driver: placement?.allocations.runtime_driver ?? null,
    }),
    MN_JOB_ID: job.jobId,
    MN_AGENT_ID: agentId,
    MN_NODE_NAME: node,
  };
}

/** This machine's devices as registered. */
async function deviceInventory(store: Store, node: string): Promise<InventoryDevice[]> {
  const record = await store.getNode(node);
  return (record?.inventory as { devices?: InventoryDevice[] } | undefined)?.devices ?? [];
}
