/**
 * Recording evaluations (see `src/core/queue/evaluation.ts`): every placement decision leaves one
 * record, written by whoever decided (the committer at submit, the relocator on node loss and
 * drain, the leader's queue sweep, preemption). Recording is diagnostics: a store failure here
 * never undoes or fails the decision itself.
 */
import { randomBytes } from 'node:crypto';
import type { EvaluationRecord, NewEvaluation } from '../core/queue/evaluation.js';
import type { Store } from '../store/store.js';

/** A new evaluation id (`ev-` and 16 hex digits). */
export function newEvaluationId(): string {
  return `ev-${randomBytes(8).toString('hex')}`;
}

/**
 * Records an evaluation (with a new id unless one is given); returns it, or null when the store
 * refused it (reported to `onError`). For callers outside the committer, such as preemption.
 */
export async function recordEvaluation(store: Store, input: Omit<NewEvaluation, 'id'> & { id?: string }, onError?: (error: unknown) => void): Promise<EvaluationRecord | null> {
  try {
    return await store.evaluations.record({ ...input, id: input.id ?? newEvaluationId() });
  } catch (error) {
    onError?.(error);
    return null;
  }
}
