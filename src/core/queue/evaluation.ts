/**
 * Evaluations (pure): every placement decision the runtime makes (a submit, a node lost, a drain,
 * a blocked retry, a start from the queue, a preemption) is recorded as one evaluation, so that
 * "why is my job pending" has an answer: the engine's failures with their reasons, the nodes
 * filtered per stage, the nearest nodes and the suggestion, and the job's place in the queue.
 */
import type { PlacementFailure } from '../placement/plan-types.js';
import type { QueuePlace } from './order.js';

/** What started an evaluation. */
export type EvaluationTrigger = 'submit' | 'node_loss' | 'drain' | 'blocked_retry' | 'queue' | 'preemption';

export const EVALUATION_TRIGGERS: readonly EvaluationTrigger[] = ['submit', 'node_loss', 'drain', 'blocked_retry', 'queue', 'preemption'];

/** `complete`: everything it had to place was placed; `blocked`: some agents wait for capacity; `failed`: refused for good. */
export type EvaluationStatus = 'complete' | 'blocked' | 'failed';

export const EVALUATION_STATUSES: readonly EvaluationStatus[] = ['complete', 'blocked', 'failed'];

/** One failure as an evaluation keeps it: the plan's failure without its job id. */
export type EvaluationFailure = Omit<PlacementFailure, 'job'>;

/** What an evaluation explains: the engine's failures, and a one-line summary of the first. */
export interface EvaluationExplanation {
  /** One line: the first failure's reason and suggestion, or why the job waits in the queue. */
  summary: string | null;
  failures: EvaluationFailure[];
}

/** What recording an evaluation takes (the store adds the times). */
export interface NewEvaluation {
  id: string;
  job_id: string;
  trigger: EvaluationTrigger;
  status: EvaluationStatus;
  placed: number;
  failed: number;
  explanation: EvaluationExplanation;
  /** The job's place in the queue when the evaluation queued it. */
  queue: QueuePlace | null;
  /** Agents the evaluation moved or placed, when it concerned only some of the job's agents. */
  agents?: string[];
}

/** A stored evaluation. */
export interface EvaluationRecord extends NewEvaluation {
  created_at: number;
  updated_at: number;
}

/** Fields an evaluation's later update may change (a blocked one that the queue later started). */
export type EvaluationPatch = Partial<Pick<EvaluationRecord, 'status' | 'placed' | 'failed' | 'explanation' | 'queue'>>;

/** Evaluations kept per job (older ones are dropped) and in the cluster-wide list. */
export const EVALUATIONS_PER_JOB = 50;
export const EVALUATIONS_KEPT = 1000;

/**
 * The explanation of a plan's failures for one job. `waitingBehind` names the queued job a
 * submission waits behind when it would have fitted (no starvation).
 */
export function explainFailures(failures: readonly PlacementFailure[], waitingBehind?: { job_id: string; priority: number } | null): EvaluationExplanation {
  const own: EvaluationFailure[] = failures.map(({ job: _job, ...rest }) => rest);
  const first = own[0];
  let summary: string | null = null;
  if (first) {
    const more = own.length > 1 ? ` (and ${own.length - 1} more groups)` : '';
    summary = `${first.reason}${first.suggestion ? `; ${first.suggestion}` : ''}${more}`;
  } else if (waitingBehind) {
    summary = `queued behind job ${waitingBehind.job_id} (priority ${waitingBehind.priority}): a job never starts ahead of a waiting job of higher or equal priority`;
  }
  return { summary, failures: own };
}

/** Counts of placed and failed agents from a plan's failures for one job. */
export function failedCount(failures: readonly PlacementFailure[]): number {
  return failures.reduce((n, f) => n + Math.max(1, f.count), 0);
}
