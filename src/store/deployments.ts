/**
 * The deployment part of the {@link Store} (spec §6.3): deployment records (versioned for
 * optimistic updates, optionally fenced) with one current deployment per key, and each key's
 * version history, which is never rewritten (a version may only turn stable). Both stores pass
 * one contract suite (`test/integration/store/deployment-contract.ts`).
 */
import type { DeploymentRecord, DeploymentStatus, VersionRecord } from '../core/deploy/records.js';
import type { WriteGuard } from './store.js';

/** Fields a deployment update may change (the store sets `version` and `updated_at`). */
export type DeploymentPatch = Partial<Omit<DeploymentRecord, 'deployment_id' | 'deployment_key' | 'created_at' | 'updated_at' | 'version'>>;

export interface DeploymentStore {
  /**
   * Creates a deployment at version 1 and makes it the key's current one. Refused with
   * `MN_E_CONFLICT` (`reason: 'state'`) while the key's current deployment is running, awaiting
   * promotion or paused, and (`reason: 'exists'`) for an id that exists.
   */
  create(record: DeploymentRecord): Promise<DeploymentRecord>;
  get(id: string): Promise<DeploymentRecord | null>;
  /** The key's current deployment, or null. */
  current(key: string): Promise<DeploymentRecord | null>;
  /** Deployments, newest first, optionally of one key and/or status. */
  list(query?: { deployment_key?: string; status?: DeploymentStatus }): Promise<DeploymentRecord[]>;
  /** Applies `patch`, bumps `version`; `expectedVersion` and `fence` as for jobs. */
  update(id: string, patch: DeploymentPatch, guard?: WriteGuard): Promise<DeploymentRecord>;
  /** Records the key's next version (highest + 1, from 1) and returns it. */
  addVersion(record: Omit<VersionRecord, 'version' | 'stable'>): Promise<VersionRecord>;
  /** Marks a version stable (a version never turns unstable again). `MN_E_NOT_FOUND` for an unknown one. */
  markStable(key: string, version: number): Promise<void>;
  /** The key's versions, oldest first. */
  versions(key: string): Promise<VersionRecord[]>;
}
