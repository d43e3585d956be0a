/**
 * The evaluation part of the {@link Store}: one record per placement decision (see
 * `src/core/queue/evaluation.ts`), kept per job (the newest {@link EVALUATIONS_PER_JOB}) and in
 * a cluster-wide list (the newest {@link EVALUATIONS_KEPT}). Both stores pass one contract suite
 * (`test/integration/store/evaluation-contract.ts`).
 */
import type { EvaluationPatch, EvaluationRecord, NewEvaluation } from '../core/queue/evaluation.js';

export { EVALUATIONS_KEPT, EVALUATIONS_PER_JOB } from '../core/queue/evaluation.js';

/** A page of evaluations, newest first; `next` is the cursor of the next page, or null at the end. */
export interface EvaluationPage {
  evaluations: EvaluationRecord[];
  next: string | null;
}

export interface EvaluationStore {
  /** Records an evaluation (`MN_E_CONFLICT` when its id exists); older ones past the bounds are dropped. */
  record(evaluation: NewEvaluation): Promise<EvaluationRecord>;
  /** Changes an evaluation's outcome (`MN_E_NOT_FOUND` when it is unknown or was dropped). */
  update(id: string, patch: EvaluationPatch): Promise<EvaluationRecord>;
  get(id: string): Promise<EvaluationRecord | null>;
  /**
   * Evaluations newest first: of one job, or of every job when `job_id` is absent; `limit` per
   * page (default 100), after the cursor `after` (a previous page's `next`).
   */
  list(options?: { job_id?: string; limit?: number; after?: string }): Promise<EvaluationPage>;
}
