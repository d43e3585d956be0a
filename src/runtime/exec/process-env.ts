import { allocatedDevices, allocationEnv, type InventoryDevice } from '../../core/runtime/allocation-env.js';
import type { Store } from '../../store/store.js';
import { variableEnvName } from '../../core/manifest/parameters.js';
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
  const { MN_SECRET_KEY: _key, ...inherited } = process.env;
  return {
    // Never the key that opens secret variables: a job's process must not read other jobs' secrets.
    ...inherited,
    ...allocationEnv({
      devices: allocatedDevices(allocated, inventory),
      ports: placement?.allocations.ports ?? [],
      volumes: placement?.allocations.volumes ?? [],
      runtime_driver: placement?.allocations.runtime_driver ?? null,
    }),
    ...variableEnv(job.variables?.plain ?? {}),
    MN_JOB_ID: job.jobId,
    MN_AGENT_ID: agentId,
    MN_NODE_NAME: node,
  };
}

/** `MN_VAR_<NAME>` for each variable of a template dispatch. */
export function variableEnv(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) out[variableEnvName(name)] = value;
  return out;
}

/** This machine's devices as registered. */
async function deviceInventory(store: Store, node: string): Promise<InventoryDevice[]> {
  const record = await store.getNode(node);
  return (record?.inventory as { devices?: InventoryDevice[] } | undefined)?.devices ?? [];
}
