/** Argument checks of the job queue and evaluation stores, shared by both implementations. */
import { MnError } from '../core/errors.js';
import { EVALUATION_STATUSES, EVALUATION_TRIGGERS, type EvaluationPatch, type NewEvaluation } from '../core/queue/evaluation.js';
import type { QueueEntry } from '../core/queue/order.js';
import { checkName } from './validate.js';

function invalid(field: string, message: string): MnError {
  return new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${message}`, { details: { field } });
}

/** Refuses a queue entry either store could not order (`MN_E_INVALID_ARGUMENT`, naming the field). */
export function checkQueueEntry(entry: QueueEntry): void {
  checkName(entry.job_id, 'job id');
  if (!Number.isInteger(entry.priority) || entry.priority < 1 || entry.priority > 100) {
    throw invalid('priority', `must be an integer from 1 to 100, got ${JSON.stringify(entry.priority)}`);
  }
  if (!Number.isSafeInteger(entry.since) || entry.since < 0) throw invalid('since', `must be epoch milliseconds, got ${JSON.stringify(entry.since)}`);
}

function checkCounts(value: { placed?: number; failed?: number }): void {
  for (const field of ['placed', 'failed'] as const) {
    const n = value[field];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw invalid(field, `must be a non-negative integer, got ${JSON.stringify(n)}`);
  }
}

/** Refuses an evaluation with an unknown trigger or status, or a malformed id. */
export function checkNewEvaluation(evaluation: NewEvaluation): void {
  checkName(evaluation.id, 'evaluation id');
  checkName(evaluation.job_id, 'job id');
  if (!EVALUATION_TRIGGERS.includes(evaluation.trigger)) throw invalid('trigger', `must be one of ${EVALUATION_TRIGGERS.join(', ')}, got ${JSON.stringify(evaluation.trigger)}`);
  checkEvaluationPatch(evaluation);
}

export function checkEvaluationPatch(patch: EvaluationPatch): void {
  if (patch.status !== undefined && !EVALUATION_STATUSES.includes(patch.status)) {
    throw invalid('status', `must be one of ${EVALUATION_STATUSES.join(', ')}, got ${JSON.stringify(patch.status)}`);
  }
  checkCounts(patch);
}

/** A list's page size: 1..1000, default 100. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return 100;
  if (!Number.isInteger(limit) || limit < 1) throw new MnError('MN_E_INVALID_ARGUMENT', `limit: must be a positive integer, got ${JSON.stringify(limit)}`, { details: { field: 'limit' } });
  return Math.min(limit, 1000);
}

/** The sequence number a page cursor stands for (evaluations strictly older come next); no cursor: all. */
export function cursorSeq(after: string | undefined): number {
  if (after === undefined || after === '') return Number.POSITIVE_INFINITY;
  const n = Number(after);
  if (!/^\d+$/.test(after) || !Number.isSafeInteger(n)) throw new MnError('MN_E_INVALID_ARGUMENT', `after: not a page cursor of this list: ${JSON.stringify(after)}`, { details: { field: 'after' } });
  return n;
}
