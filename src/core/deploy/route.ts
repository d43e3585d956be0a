/**
 * How a deploy of a new version proceeds (spec §6.4), decided from the current deployment, the
 * live source job and the new job. Pure.
 */
import type { Job, UpdatePolicy } from '../manifest/types.js';
import { changedNodes, jobChanged, topologyChanged } from './diff.js';

export type DeployRoute =
  /** No deployment for the key yet: start the job (version 1). */
  | { kind: 'initial'; reason: string }
  /** A batch or sysbatch job: run the new version as a new job, recorded (not stable). */
  | { kind: 'rerun'; reason: string }
  /** Nothing that reaches the running job changed: record the version as stable. */
  | { kind: 'noop'; reason: string }
  /** Same topology: replace the agents of the changed nodes in the live job. */
  | { kind: 'agent_level'; reason: string; nodes: string[] }
  /** Topology changed, or the source job is not active: a candidate job beside the old one. */
  | { kind: 'blue_green'; reason: string; candidate: boolean };

const ACTIVE = new Set(['pending', 'scheduled', 'running', 'paused']);

export interface RouteInput {
  /** The source job's spec and status, or null when the key has no deployment. */
  source: { job: Job; status: string } | null;
  target: Job;
  policy: UpdatePolicy;
}

export function routeDeploy({ source, target, policy }: RouteInput): DeployRoute {
  if (!source) return { kind: 'initial', reason: 'first deployment of the key' };
  const type = source.job.policies.job_type;
  if (type === 'batch' || type === 'sysbatch') return { kind: 'rerun', reason: `the ${type} job runs again as a new version` };
  const candidate = policy.strategy === 'canary' || policy.canary > 0;
  if (!ACTIVE.has(source.status)) return { kind: 'blue_green', reason: `the source job is ${source.status}`, candidate };
  if (policy.strategy === 'blue-green') return { kind: 'blue_green', reason: 'the update strategy is blue-green', candidate };
  if (topologyChanged(source.job, target)) return { kind: 'blue_green', reason: 'the topology changed (nodes, counts, edges or entrypoints)', candidate };
  if (!jobChanged(source.job, target)) return { kind: 'noop', reason: 'deployment contained no runtime changes' };
  const nodes = changedNodes(source.job, target);
  if (nodes.length === 0) return { kind: 'blue_green', reason: 'job-level settings changed (services or initial inputs)', candidate };
  return { kind: 'agent_level', reason: `agents of ${nodes.join(', ')} changed`, nodes };
}

/**
 * The batches of an agent-level rollout (spec §6.4): a canary batch of `min(canary, n)` agents
 * (1 for the canary strategy without a count), then batches of `max(max_parallel, 1)`.
 */
export function rolloutBatches(agents: readonly string[], policy: UpdatePolicy): { batches: string[][]; canary: boolean } {
  const size = Math.max(policy.max_parallel, 1);
  const canaryCount = policy.canary > 0 ? Math.min(policy.canary, agents.length) : policy.strategy === 'canary' ? Math.min(1, agents.length) : 0;
  const batches: string[][] = [];
  let i = 0;
  if (canaryCount > 0) {
    batches.push(agents.slice(0, canaryCount));
    i = canaryCount;
  }
  for (; i < agents.length; i += size) batches.push(agents.slice(i, i + size));
  return { batches, canary: canaryCount > 0 };
}
