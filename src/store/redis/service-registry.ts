import { runScript } from '../script-loader.js';
import { discover, type ServiceDeployment, type ServiceQuery, type ServiceRecord, type ServiceStatus } from '../../core/services/registry.js';
import type { ServiceHealthUpdate, ServiceRegistryStore } from '../service-registry.js';
import type { Fence } from '../store.js';
import { checkServiceId, checkServiceRecord } from '../validate.js';
import { jsonFields, type RedisCore } from './core.js';

/** Deregistrations in flight at once. */
const CHUNK = 100;

/** The durable service registry (keys: docs/redis-keys.md, "Services"). */
export class RedisServiceRegistry implements ServiceRegistryStore {
  constructor(private readonly core: RedisCore) {}

  async register(record: ServiceRecord, fence?: Fence): Promise<ServiceRecord> {
    checkServiceRecord(record);
    const { keys } = this.core;
    const fields = Object.entries(record).filter(([, v]) => v !== undefined);
    const instance = keys.service(record.id);
    await this.core.script(
      'registerService',
      [instance, keys.services(), keys.serviceIndex('name', record.name), keys.serviceIndex('job', record.job_id), keys.serviceIndex('node', record.node), fence ? keys.lease(fence.lease) : instance],
      [fence ? String(fence.token) : '', record.id, keys.serviceIndexPrefix(), String(fields.length), ...fields.map(([k]) => k), ...fields.map(([, v]) => JSON.stringify(v))],
      { object: `service instance "${record.id}"`, ...(fence ? { lease: fence.lease, token: fence.token } : {}) },
    );
    return JSON.parse(JSON.stringify(record)) as ServiceRecord;
  }

  async get(id: string): Promise<ServiceRecord | null> {
    checkServiceId(id);
    const hash = await this.core.call(() => this.core.client.hgetall(this.core.keys.service(id)));
    return Object.keys(hash).length === 0 ? null : decode(hash);
  }

  async list(query: ServiceQuery = {}): Promise<ServiceRecord[]> {
    const { client, keys } = this.core;
    const index =
      query.name !== undefined ? keys.serviceIndex('name', query.name)
      : query.job_id !== undefined ? keys.serviceIndex('job', query.job_id)
      : query.node !== undefined ? keys.serviceIndex('node', query.node)
      : keys.services();
    const ids = await this.core.call(() => client.smembers(index));
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.service(id));
    const replies = (await this.core.call(() => pipeline.exec())) ?? [];
    const records: ServiceRecord[] = [];
    for (const [error, hash] of replies) {
      if (error) throw error;
      const h = hash as Record<string, string>;
      if (Object.keys(h).length > 0) records.push(decode(h));
    }
    return discover(records, query);
  }

  async setHealth(id: string, node: string, update: ServiceHealthUpdate): Promise<{ previous: ServiceStatus } | null> {
    checkServiceId(id);
    const reply = await this.patch(id, JSON.stringify(node), update);
    return reply === null ? null : { previous: reply };
  }

  async setDeployment(ids: readonly string[], deployment: Partial<ServiceDeployment>): Promise<number> {
    let n = 0;
    for (const id of ids) {
      checkServiceId(id);
      if ((await this.patch(id, '', deployment)) !== null) n++;
    }
    return n;
  }

  async deregister(ids: readonly string[], options: { node?: string } = {}): Promise<ServiceRecord[]> {
    const { client, keys } = this.core;
    const removed: ServiceRecord[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const replies = await Promise.all(
        ids.slice(i, i + CHUNK).map((id) => {
          checkServiceId(id);
          return this.core.call(() => runScript(client, 'deregisterService', [keys.service(id), keys.services()], [id, keys.serviceIndexPrefix(), options.node === undefined ? '' : JSON.stringify(options.node)]));
        }),
      );
      for (const reply of replies) if (Array.isArray(reply) && reply.length > 0) removed.push(jsonFields(reply) as unknown as ServiceRecord);
    }
    return removed;
  }

  /** Writes fields of a registered instance; returns its status before the write, or null when it is not registered (on `nodeJson`). */
  private async patch(id: string, nodeJson: string, fields: object): Promise<ServiceStatus | null> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    const reply = (await this.core.call(() =>
      runScript(this.core.client, 'patchService', [this.core.keys.service(id)], [nodeJson, String(entries.length), ...entries.map(([k]) => k), ...entries.map(([, v]) => JSON.stringify(v))]),
    )) as unknown[];
    return Number(reply[0]) === 1 ? (JSON.parse(String(reply[1])) as ServiceStatus) : null;
  }
}

function decode(hash: Record<string, string>): ServiceRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) out[k] = JSON.parse(v);
  return out as unknown as ServiceRecord;
}
