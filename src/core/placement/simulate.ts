/**
 * `simulatePlan`: offline placement of jobs onto a cluster file (DESIGN §1 entry point 3). Pure:
 * no I/O; the caller passes the clock used for `stats.elapsed_ms`.
 */
import { isClusterState, parseClusterFile } from '../cluster/parse.js';
import { MnError } from '../errors.js';
import type { ClusterState } from '../cluster/types.js';
import type { Job, ValidationIssue } from '../manifest/types.js';
import { validateManifest } from '../manifest/validate.js';
import type { ExecutionProfile } from './filters.js';
import { JsKernel } from './kernel.js';
import type { PlacementKernel } from './kernel-types.js';
import type { Plan } from './plan-types.js';
import { type PlannerOptions, planJobs } from './planner.js';

/** Thrown by `simulatePlan` when a raw manifest does not validate; `issues` lists its errors. */
export class InvalidManifestError extends MnError<{ job_index: number; issues: ValidationIssue[] }> {
  constructor(
    readonly jobIndex: number,
    readonly issues: ValidationIssue[],
  ) {
    super(
      'MN_E_INVALID_MANIFEST',
      `manifest ${jobIndex} is invalid: ${issues
        .slice(0, 5)
        .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
        .join('; ')}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`,
      { details: { job_index: jobIndex, issues } },
    );
    this.name = 'InvalidManifestError';
  }
}

export interface SimulateOptions extends Omit<PlannerOptions, 'executionProfiles'> {
  /** A raw cluster file object (validated here) or a parsed `ClusterState`. */
  cluster: unknown;
  /** Validated jobs, or raw manifests (validated here); placed in this order. */
  jobs: readonly unknown[];
  /** Placement kernel; defaults to the JS reference kernel. */
  kernel?: PlacementKernel;
  executionProfiles?: Readonly<Record<string, ExecutionProfile>>;
}

/** A validated `Job` (as opposed to a raw manifest): nodes already carry normalised resources. */
function isJob(value: unknown): value is Job {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Job>;
  return (
    typeof v.agent_count === 'number' &&
    typeof v.policies === 'object' &&
    v.policies !== null &&
    typeof v.policies.job_type === 'string' &&
    Array.isArray(v.nodes) &&
    v.nodes.every((n) => typeof n === 'object' && n !== null && Array.isArray(n.resources?.devices) && typeof n.count === 'number')
  );
}

/**
 * Places `jobs` in order onto `cluster` and returns the plan (DESIGN §4.3). Throws
 * `ClusterFileError` for an invalid cluster file and `InvalidManifestError` for an invalid manifest.
 */
export function simulatePlan(options: SimulateOptions): Plan {
  const cluster: ClusterState = isClusterState(options.cluster) ? options.cluster : parseClusterFile(options.cluster);
  const jobs: Job[] = options.jobs.map((raw, k) => {
    if (isJob(raw)) return raw;
    const result = validateManifest(raw);
    if (!result.ok || !result.job) throw new InvalidManifestError(k, result.errors);
    return result.job;
  });
  const { kernel, cluster: _c, jobs: _j, ...plannerOptions } = options;
  return planJobs(cluster, jobs, kernel ?? new JsKernel(), plannerOptions);
}
