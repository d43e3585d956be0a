/** The deployment key of a job (spec §6.2). Pure. */
import type { Job } from '../manifest/types.js';

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * The first non-empty of: the explicit key, `metadata.deployment_key`, `metadata.mn_deployment_key`,
 * `metadata.mn_cli.deployment_key`, `deployment.key`, `policies.deployment_key`, `job_name`,
 * `graph_id`.
 */
export function deploymentKey(job: Job, explicit?: string | null): string {
  const meta = job.metadata;
  const cli = meta.mn_cli && typeof meta.mn_cli === 'object' ? (meta.mn_cli as Record<string, unknown>).deployment_key : undefined;
  return text(explicit) ?? text(meta.deployment_key) ?? text(meta.mn_deployment_key) ?? text(cli) ?? text(job.deployment.key) ?? text(job.policies.deployment_key) ?? text(job.job_name) ?? job.graph_id;
}
