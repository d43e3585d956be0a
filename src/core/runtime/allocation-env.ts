/**
 * Environment hints for an agent's process (spec §3.8): what it was allocated, as variables.
 * Hints only: nothing is isolated or mounted.
 */

/** A device as allocated to an agent; `index` is its position among the node's devices of its driver. */
export interface AllocatedDevice {
  id: string;
  driver?: string | null;
  index?: number | null;
}

/** A device of the machine's inventory, as far as environment hints need it. */
export interface InventoryDevice {
  id: string;
  driver?: string | null;
}

/**
 * The allocated devices with their driver and their index among the machine's devices of that
 * driver (what `CUDA_VISIBLE_DEVICES` counts). A device the inventory does not list keeps no
 * driver and no index.
 */
export function allocatedDevices(allocated: ReadonlyArray<{ id: string }>, inventory: readonly InventoryDevice[]): AllocatedDevice[] {
  return allocated.map((d) => {
    const known = inventory.find((x) => x.id === d.id);
    if (!known) return { id: d.id, driver: null, index: null };
    const sameDriver = inventory.filter((x) => x.driver === known.driver);
    return { id: d.id, driver: known.driver ?? null, index: sameDriver.indexOf(known) };
  });
}

export interface AllocationForEnv {
  devices: readonly AllocatedDevice[];
  ports: ReadonlyArray<{ label: string; port: number; protocol?: string }>;
  volumes: ReadonlyArray<{ name: string; source: string; target: string; mode?: string }>;
  runtime_driver?: string | null;
}

/** `agent-api` → `AGENT_API`: upper case, every non-alphanumeric character as `_`. */
export function envSuffix(label: string): string {
  return label.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * The variables of spec §3.8: `MN_ALLOCATION_JSON`, `MN_ALLOCATED_DEVICE_IDS`,
 * `CUDA_VISIBLE_DEVICES` (indices of the CUDA devices), `MN_GPU_DRIVER` (distinct drivers in
 * allocation order), `MN_PORT_<LABEL>`, `MN_VOLUME_<NAME>` (host source) and
 * `MN_VOLUME_<NAME>_TARGET`. Variables with nothing to say are left out.
 */
export function allocationEnv(allocation: AllocationForEnv): Record<string, string> {
  const env: Record<string, string> = { MN_ALLOCATION_JSON: JSON.stringify(allocation) };
  if (allocation.devices.length > 0) {
    env.MN_ALLOCATED_DEVICE_IDS = allocation.devices.map((d) => d.id).join(',');
    const cuda = allocation.devices.filter((d) => d.driver === 'cuda').map((d, i) => String(d.index ?? i));
    if (cuda.length > 0) env.CUDA_VISIBLE_DEVICES = cuda.join(',');
    const drivers = [...new Set(allocation.devices.map((d) => d.driver).filter((d): d is string => !!d))];
    if (drivers.length > 0) env.MN_GPU_DRIVER = drivers.join(',');
  }
  for (const p of allocation.ports) env[`MN_PORT_${envSuffix(p.label)}`] = String(p.port);
  for (const v of allocation.volumes) {
    env[`MN_VOLUME_${envSuffix(v.name)}`] = v.source;
    env[`MN_VOLUME_${envSuffix(v.name)}_TARGET`] = v.target;
  }
  return env;
}
