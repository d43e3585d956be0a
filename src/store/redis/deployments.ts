import type { DeploymentRecord, DeploymentStatus, VersionRecord } from '../../core/deploy/records.js';
import type { DeploymentPatch, DeploymentStore } from '../deployments.js';
import { scriptError, ScriptCode } from '../script-codes.js';
import type { WriteGuard } from '../store.js';
import { checkDeploymentKey, checkGuard, checkName } from '../validate.js';
import { jsonFields, type RedisCore } from './core.js';

/** The durable deployments (keys: docs/redis-keys.md, "Deployments"). */
export class RedisDeployments implements DeploymentStore {
  constructor(private readonly core: RedisCore) {}

  async create(record: DeploymentRecord): Promise<DeploymentRecord> {
    checkName(record.deployment_id, 'deployment_id');
    checkDeploymentKey(record.deployment_key);
    const { keys } = this.core;
    const now = this.core.clock();
    const stored: DeploymentRecord = { ...record, created_at: now, updated_at: now, version: 1 };
    const fields = Object.entries(stored).filter(([, v]) => v !== undefined);
    await this.core.script(
      'createDeployment',
      [keys.deployment(record.deployment_id), keys.deployments(), keys.deploymentCurrent(record.deployment_key), keys.deploymentIdsOfKey(record.deployment_key), keys.deploymentKeys()],
      [record.deployment_id, record.deployment_key, keys.deployment(''), String(fields.length), ...fields.map(([k]) => k), ...fields.map(([, v]) => JSON.stringify(v))],
      { object: `deployment "${record.deployment_id}" of key "${record.deployment_key}"` },
    );
    return JSON.parse(JSON.stringify(stored)) as DeploymentRecord;
  }

  async get(id: string): Promise<DeploymentRecord | null> {
    const hash = await this.core.call(() => this.core.client.hgetall(this.core.keys.deployment(id)));
    return Object.keys(hash).length === 0 ? null : decode(hash);
  }

  async current(key: string): Promise<DeploymentRecord | null> {
    const id = await this.core.call(() => this.core.client.get(this.core.keys.deploymentCurrent(key)));
    return id === null ? null : this.get(id);
  }

  async list(query: { deployment_key?: string; status?: DeploymentStatus } = {}): Promise<DeploymentRecord[]> {
    const { client, keys } = this.core;
    const ids = await this.core.call(() => client.smembers(query.deployment_key !== undefined ? keys.deploymentIdsOfKey(query.deployment_key) : keys.deployments()));
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.deployment(id));
    const replies = (await this.core.call(() => pipeline.exec())) ?? [];
    const out: DeploymentRecord[] = [];
    for (const [error, hash] of replies) {
      if (error) throw error;
      const h = hash as Record<string, string>;
      if (Object.keys(h).length > 0) out.push(decode(h));
    }
    return out
      .filter((d) => query.status === undefined || d.status === query.status)
      .sort((a, b) => b.created_at - a.created_at || (a.deployment_id < b.deployment_id ? 1 : -1));
  }

  async update(id: string, patch: DeploymentPatch, guard: WriteGuard = {}): Promise<DeploymentRecord> {
    checkGuard(guard);
    const { keys } = this.core;
    const key = keys.deployment(id);
    const args: string[] = [guard.fence ? String(guard.fence.token) : '', guard.expectedVersion === undefined ? '' : String(guard.expectedVersion), String(this.core.clock()), ''];
    for (const [field, value] of Object.entries(patch)) if (value !== undefined) args.push(field, JSON.stringify(value));
    const reply = await this.core.script('updateRecord', [key, guard.fence ? keys.lease(guard.fence.lease) : key, key, key], args, {
      object: `deployment "${id}"`,
      ...(guard.fence ? { lease: guard.fence.lease, token: guard.fence.token } : {}),
      ...(guard.expectedVersion !== undefined ? { expectedVersion: guard.expectedVersion } : {}),
    });
    return decode(Object.fromEntries(pairs(reply)));
  }

  async addVersion(input: Omit<VersionRecord, 'version' | 'stable'>): Promise<VersionRecord> {
    checkDeploymentKey(input.deployment_key);
    const { keys } = this.core;
    const reply = await this.core.script('addDeploymentVersion', [keys.deploymentVersions(input.deployment_key), keys.deploymentVersionCounter(input.deployment_key)], [JSON.stringify(input)], {
      object: `deployment key "${input.deployment_key}"`,
    });
    return { ...JSON.parse(JSON.stringify(input)), version: Number(reply[0]), stable: false } as VersionRecord;
  }

  async markStable(key: string, version: number): Promise<void> {
    const { client, keys } = this.core;
    const exists = await this.core.call(() => client.hexists(keys.deploymentVersions(key), String(version)));
    if (!exists) throw scriptError(ScriptCode.NotFound, { object: `version ${version} of deployment key "${key}"` });
    await this.core.call(() => client.sadd(keys.deploymentStableVersions(key), String(version)));
  }

  async versions(key: string): Promise<VersionRecord[]> {
    const { client, keys } = this.core;
    const [all, stable] = await this.core.call(() => Promise.all([client.hgetall(keys.deploymentVersions(key)), client.smembers(keys.deploymentStableVersions(key))]));
    const stableSet = new Set(stable);
    return Object.entries(all)
      .map(([n, json]) => ({ ...(JSON.parse(json) as Omit<VersionRecord, 'version' | 'stable'>), version: Number(n), stable: stableSet.has(n) }))
      .sort((a, b) => a.version - b.version);
  }
}

function pairs(flat: readonly unknown[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
  return out;
}

function decode(hash: Record<string, string>): DeploymentRecord {
  return jsonFields(Object.entries(hash).flat()) as unknown as DeploymentRecord;
}
