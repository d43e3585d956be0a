/**
 * The service registry part of the {@link Store} (spec §5.5): instances by id with indexes by
 * name, job and node. Both stores pass one contract suite (`test/integration/store/service-contract.ts`).
 * Events about instances are appended by the service layer (`src/services/`), not here.
 */
import type { ServiceDeployment, ServiceHealth, ServiceQuery, ServiceRecord, ServiceStatus } from '../core/services/registry.js';
import type { Fence } from './store.js';

/** What a health write changes. */
export interface ServiceHealthUpdate {
  status: ServiceStatus;
  health: ServiceHealth;
  last_check_at: number;
}

export interface ServiceRegistryStore {
  /**
   * Registers (or replaces) an instance by id. Fenced by the registering daemon's lease when
   * `fence` is given (a host registers under its host lease).
   */
  register(record: ServiceRecord, fence?: Fence): Promise<ServiceRecord>;
  get(id: string): Promise<ServiceRecord | null>;
  /**
   * Instances answering `query` (see `matchesQuery`), ordered by name, node and id. `name`,
   * `job_id` and `node` are served from indexes.
   */
  list(query?: ServiceQuery): Promise<ServiceRecord[]>;
  /**
   * Writes the result of a round of checks, only while the instance is still registered on
   * `node` (a monitor checks its own machine's instances; a re-registration elsewhere wins).
   * Returns the status before the write, or null when nothing was written.
   */
  setHealth(id: string, node: string, update: ServiceHealthUpdate): Promise<{ previous: ServiceStatus } | null>;
  /** Changes the deployment metadata of instances (promotion); returns how many changed. */
  setDeployment(ids: readonly string[], deployment: Partial<ServiceDeployment>): Promise<number>;
  /**
   * Removes instances by id; with `node`, only those still registered on that node (a host that
   * stops an agent must not remove the registration its new machine just made). Returns the
   * removed records.
   */
  deregister(ids: readonly string[], options?: { node?: string }): Promise<ServiceRecord[]>;
}
