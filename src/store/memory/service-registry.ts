import { discover, type ServiceDeployment, type ServiceQuery, type ServiceRecord } from '../../core/services/registry.js';
import type { ServiceHealthUpdate, ServiceRegistryStore } from '../service-registry.js';
import { checkServiceRecord, checkServiceId } from '../validate.js';
import type { Fence } from '../store.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's service registry. */
export class MemoryServiceRegistry implements ServiceRegistryStore {
  private readonly records = new Map<string, ServiceRecord>();

  constructor(private readonly core: MemoryCore) {}

  async register(record: ServiceRecord, fence?: Fence): Promise<ServiceRecord> {
    this.core.open();
    checkServiceRecord(record);
    if (fence) this.core.enforceFence(fence, `service instance "${record.id}"`);
    this.records.set(record.id, copy(record));
    return copy(record);
  }

  async get(id: string): Promise<ServiceRecord | null> {
    this.core.open();
    checkServiceId(id);
    return copy(this.records.get(id) ?? null);
  }

  async list(query: ServiceQuery = {}): Promise<ServiceRecord[]> {
    this.core.open();
    return copy(discover([...this.records.values()], query));
  }

  async setHealth(id: string, node: string, update: ServiceHealthUpdate): Promise<{ previous: ServiceRecord['status'] } | null> {
    this.core.open();
    checkServiceId(id);
    const r = this.records.get(id);
    if (!r || r.node !== node) return null;
    const previous = r.status;
    Object.assign(r, copy(update));
    return { previous };
  }

  async setDeployment(ids: readonly string[], deployment: Partial<ServiceDeployment>): Promise<number> {
    this.core.open();
    let n = 0;
    for (const id of ids) {
      const r = this.records.get(id);
      if (!r) continue;
      Object.assign(r, copy(deployment));
      n++;
    }
    return n;
  }

  async deregister(ids: readonly string[], options: { node?: string } = {}): Promise<ServiceRecord[]> {
    this.core.open();
    const removed: ServiceRecord[] = [];
    for (const id of ids) {
      const r = this.records.get(id);
      if (!r || (options.node !== undefined && r.node !== options.node)) continue;
      this.records.delete(id);
      removed.push(r);
    }
    return removed;
  }
}
