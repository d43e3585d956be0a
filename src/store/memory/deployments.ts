import { ACTIVE_DEPLOYMENT_STATUSES, type DeploymentRecord, type DeploymentStatus, type VersionRecord } from '../../core/deploy/records.js';
import type { DeploymentPatch, DeploymentStore } from '../deployments.js';
import { scriptError, ScriptCode } from '../script-codes.js';
import type { WriteGuard } from '../store.js';
import { checkDeploymentKey, checkGuard, checkName } from '../validate.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's deployments. */
export class MemoryDeployments implements DeploymentStore {
  private readonly records = new Map<string, DeploymentRecord>();
  private readonly currentByKey = new Map<string, string>();
  private readonly versionsByKey = new Map<string, VersionRecord[]>();

  constructor(private readonly core: MemoryCore) {}

  async create(record: DeploymentRecord): Promise<DeploymentRecord> {
    this.core.open();
    checkName(record.deployment_id, 'deployment_id');
    checkDeploymentKey(record.deployment_key);
    if (this.records.has(record.deployment_id)) throw scriptError(ScriptCode.AlreadyExists, { object: `deployment "${record.deployment_id}"` });
    const current = this.currentByKey.get(record.deployment_key);
    const busy = current === undefined ? undefined : this.records.get(current);
    if (busy && ACTIVE_DEPLOYMENT_STATUSES.has(busy.status)) {
      throw scriptError(ScriptCode.Busy, { object: `deployment key "${record.deployment_key}"` }, [busy.deployment_id, busy.status]);
    }
    const now = this.core.clock();
    const stored = copy({ ...record, created_at: now, updated_at: now, version: 1 });
    this.records.set(record.deployment_id, stored);
    this.currentByKey.set(record.deployment_key, record.deployment_id);
    return copy(stored);
  }

  async get(id: string): Promise<DeploymentRecord | null> {
    this.core.open();
    return copy(this.records.get(id) ?? null);
  }

  async current(key: string): Promise<DeploymentRecord | null> {
    this.core.open();
    const id = this.currentByKey.get(key);
    return id === undefined ? null : copy(this.records.get(id) ?? null);
  }

  async list(query: { deployment_key?: string; status?: DeploymentStatus } = {}): Promise<DeploymentRecord[]> {
    this.core.open();
    return copy(
      [...this.records.values()]
        .filter((d) => (query.deployment_key === undefined || d.deployment_key === query.deployment_key) && (query.status === undefined || d.status === query.status))
        .sort((a, b) => b.created_at - a.created_at || (a.deployment_id < b.deployment_id ? 1 : -1)),
    );
  }

  async update(id: string, patch: DeploymentPatch, guard: WriteGuard = {}): Promise<DeploymentRecord> {
    this.core.open();
    checkGuard(guard);
    const context = { object: `deployment "${id}"`, ...(guard.expectedVersion !== undefined ? { expectedVersion: guard.expectedVersion } : {}) };
    const record = this.records.get(id);
    if (!record) throw scriptError(ScriptCode.NotFound, context);
    if (guard.fence) this.core.enforceFence(guard.fence, context.object);
    if (guard.expectedVersion !== undefined && guard.expectedVersion !== record.version) throw scriptError(ScriptCode.VersionMismatch, context, [record.version]);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    Object.assign(record, copy(defined), { version: record.version + 1, updated_at: this.core.clock() });
    return copy(record);
  }

  async addVersion(input: Omit<VersionRecord, 'version' | 'stable'>): Promise<VersionRecord> {
    this.core.open();
    checkDeploymentKey(input.deployment_key);
    const list = this.versionsByKey.get(input.deployment_key) ?? [];
    const record: VersionRecord = copy({ ...input, version: list.length + 1, stable: false });
    list.push(record);
    this.versionsByKey.set(input.deployment_key, list);
    return copy(record);
  }

  async markStable(key: string, version: number): Promise<void> {
    this.core.open();
    const v = this.versionsByKey.get(key)?.find((x) => x.version === version);
    if (!v) throw scriptError(ScriptCode.NotFound, { object: `version ${version} of deployment key "${key}"` });
    v.stable = true;
  }

  async versions(key: string): Promise<VersionRecord[]> {
    this.core.open();
    return copy(this.versionsByKey.get(key) ?? []);
  }
}
