/**
 * Job-level services (spec §5.1: `services[]` at the top of a manifest): registered by the job's
 * coordinator when the job starts, on the coordinator's machine (whose monitor checks them), and
 * again on the machine of a coordinator that adopts the job.
 */
import { deploymentOf, serviceRecords } from '../core/services/registry.js';
import type { Fence, JobRecord } from '../store/store.js';
import type { ServiceDirectory } from './directory.js';

export async function ensureJobServices(
  directory: ServiceDirectory,
  record: JobRecord,
  node: string,
  env: Readonly<Record<string, string | undefined>>,
  fence: Fence,
  now: number,
): Promise<void> {
  const specs = record.job.services;
  if (specs.length === 0) return;
  const registered = (await directory.list({ job_id: record.job_id, include_candidates: true })).filter((r) => r.agent_id === null);
  if (specs.every((s) => registered.some((r) => r.name === s.name && r.node === node))) return;
  const ctx = { job_id: record.job_id, agent_id: null, node, env: { ...env, MN_JOB_ID: record.job_id, MN_NODE_NAME: node } };
  await directory.register(serviceRecords(specs, ctx, deploymentOf(record.details.deployment), now), fence);
}
