/**
 * The evaluation part of `mirrorneuron.job.v1.JobService`: ListEvaluations and GetEvaluation,
 * reading methods open to every caller (like GetJob).
 */
import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import type { EvaluationRecord } from '../core/queue/evaluation.js';
import type { EvaluationPage } from '../store/evaluations.js';
import type { Store } from '../store/store.js';
import { jsonMethods, requireField } from './handler.js';
import type { ApiContext } from './job-service.js';

/** One page of evaluations, newest first (of one job when `jobId` is set). */
export async function evaluationPage(store: Store, request: { job_id?: string; page_size?: number; page_token?: string }): Promise<{ evaluations: EvaluationRecord[]; next_page_token: string }> {
  const size = request.page_size ?? 0;
  if (!Number.isInteger(size) || size < 0) throw new MnError('MN_E_INVALID_ARGUMENT', `page_size: must be 0 or a positive integer, got ${size}`, { details: { field: 'page_size' } });
  const jobId = request.job_id?.trim() ?? '';
  const page: EvaluationPage = await store.evaluations
    .list({ ...(jobId !== '' ? { job_id: jobId } : {}), limit: size === 0 ? 100 : Math.min(size, 1000), ...(request.page_token ? { after: request.page_token } : {}) })
    .catch((error: unknown) => {
      if (error instanceof MnError && error.code === 'MN_E_INVALID_ARGUMENT' && (error.details as { field?: string }).field === 'after') {
        throw new MnError('MN_E_INVALID_ARGUMENT', `page_token: not a token of this list: ${JSON.stringify(request.page_token)}`, { details: { field: 'page_token' } });
      }
      throw error;
    });
  return { evaluations: page.evaluations, next_page_token: page.next ?? '' };
}

/** One evaluation; `MN_E_NOT_FOUND` names it. */
export async function evaluationDetail(store: Store, id: unknown): Promise<EvaluationRecord> {
  const evaluationId = requireField(id, 'evaluation_id');
  const record = await store.evaluations.get(evaluationId);
  if (!record) throw new MnError('MN_E_NOT_FOUND', `evaluation ${evaluationId} not found (the newest 50 per job and 1,000 overall are kept)`, { details: { evaluation_id: evaluationId } });
  return record;
}

export function evaluationHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { reading } = jsonMethods(ctx);
  return {
    ListEvaluations: reading<{ job_id: string; page_size: number; page_token: string }>('ListEvaluations', (req) => evaluationPage(ctx.store, req)),
    GetEvaluation: reading<{ evaluation_id: string }>('GetEvaluation', (req) => evaluationDetail(ctx.store, req.evaluation_id)),
  };
}
