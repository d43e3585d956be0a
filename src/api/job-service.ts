import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import type { Deployer } from '../deploy/deployer.js';
import type { Jobs } from '../runtime/jobs.js';
import type { Schedules } from '../schedules/schedules.js';
import type { JobTemplates } from '../runtime/job-templates.js';
import { templateHandlers } from './template-handlers.js';
import { evaluationHandlers } from './evaluation-handlers.js';
import type { ServiceDirectory } from '../services/directory.js';
import type { Preflight } from '../services/preflight.js';
import type { MonitorMetrics } from '../services/monitor.js';
import { type Store, TERMINAL_JOB_STATUSES } from '../store/store.js';
import { requireToken, sameSecret } from './auth.js';
import { agentPage, jobDocument } from './job-view.js';
import { deploymentHandlers } from './deployment-handlers.js';
import { scheduleHandlers } from './schedule-handlers.js';
import { type InternalErrorSink, requireField, unary } from './handler.js';
import { controlJob, jobEventPage, jobResult, listJobSummaries } from './reads.js';

export interface ApiContext {
  store: Store;
  jobs: Jobs;
  authToken: string | null;
  adminToken: string | null;
  nodeName: string;
  /** Discovery and preflight (ClusterService's service methods). */
  services: { directory: ServiceDirectory; preflight: Preflight; monitor?: { metrics(): MonitorMetrics } };
  /** Deployments (JobService's deployment methods). */
  deployer: Deployer;
  /** Schedules, triggers and events (spec §7); absent in contexts that do not serve them. */
  schedules?: Schedules;
  /** Job templates and dispatch; absent in contexts that do not serve them. */
  templates?: JobTemplates;
  onInternal?: InternalErrorSink;
  /** The daemon's environment (MN_PREEMPTION overrides the stored scheduler configuration). */
  env?: Readonly<Record<string, string | undefined>>;
}

interface JobIdRequest { job_id: string }

/** A request's bundle files; a path that is absolute or climbs out of the bundle is refused. */
export function bundleFiles(payloads: Record<string, Buffer> | undefined): Record<string, Buffer> {
  for (const name of Object.keys(payloads ?? {})) {
    if (name.startsWith('/') || name.split(/[\\/]/).includes('..')) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `payloads: path ${JSON.stringify(name)} must be relative and must not contain ".."`, { details: { field: 'payloads' } });
    }
  }
  return payloads ?? {};
}

/** `mirrorneuron.job.v1.JobService` handlers. */
export function jobServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { store, jobs } = ctx;
  const control = (rpc: string, action: 'pause' | 'resume' | 'cancel') =>
    unary<JobIdRequest, { job_id: string; status: string }>(rpc, async (req, md) => {
      requireToken(md, ctx.authToken, rpc);
      return controlJob(ctx, req.job_id, action);
    }, ctx.onInternal);

  return {
    ...scheduleHandlers(ctx),
    ...templateHandlers(ctx),
    ...evaluationHandlers(ctx),
    SubmitJob: unary<{ manifest_json: string; payloads: Record<string, Buffer>; force?: boolean; no_queue?: boolean }, { job_id: string; status: string; queue_json: string; evaluation_id: string }>(
      'SubmitJob',
      async (req, md) => {
        requireToken(md, ctx.authToken, 'SubmitJob');
        const text = requireField(req.manifest_json, 'manifest_json');
        const { job_id, status, queue, evaluation_id } = await jobs.submit(text, bundleFiles(req.payloads), { force: req.force === true, noQueue: req.no_queue === true });
        return { job_id, status, queue_json: queue ? JSON.stringify(queue) : '', evaluation_id: evaluation_id ?? '' };
      },
      ctx.onInternal,
    ),
    GetJob: unary<JobIdRequest & { include_manifest?: boolean }, { job_json: string }>('GetJob', async (req) => {
      const record = await jobs.get(requireField(req.job_id, 'job_id'));
      return { job_json: JSON.stringify(await jobDocument(store, record, req.include_manifest === true)) };
    }, ctx.onInternal),
    ListJobs: unary<{ limit: number; include_terminal: boolean }, { jobs_json: string }>('ListJobs', async (req) => {
      return { jobs_json: JSON.stringify(await listJobSummaries(ctx, { limit: req.limit, includeTerminal: req.include_terminal })) };
    }, ctx.onInternal),
    ListAgents: unary<JobIdRequest & { page_size?: number; page_token?: string }, { agents_json: string; next_page_token: string; total: number }>('ListAgents', async (req) => {
      const record = await jobs.get(requireField(req.job_id, 'job_id'));
      const page = await agentPage(store, record, req);
      return { agents_json: JSON.stringify(page.agents), next_page_token: page.next_page_token, total: page.total };
    }, ctx.onInternal),
    ListJobEvents: unary<{ job_id: string; after_id: string; limit: number }, { events_json: string }>('ListJobEvents', async (req) => {
      return { events_json: JSON.stringify(await jobEventPage(ctx, req.job_id, { afterId: req.after_id, limit: req.limit })) };
    }, ctx.onInternal),
    GetJobResult: unary<JobIdRequest, { job_id: string; status: string; result_json: string; completed_by: string; failure_json: string }>('GetJobResult', async (req) => {
      const r = await jobResult(ctx, req.job_id);
      return {
        job_id: r.job_id,
        status: r.status,
        result_json: r.has_result ? JSON.stringify(r.result) : '',
        completed_by: r.completed_by ?? '',
        failure_json: r.failure !== null ? JSON.stringify(r.failure) : '',
      };
    }, ctx.onInternal),
    ListDeadLetters: unary<{ job_id: string; limit: number }, { dead_letters_json: string; total: number }>('ListDeadLetters', async (req) => {
      const jobId = requireField(req.job_id, 'job_id');
      await jobs.get(jobId);
      const [list, counts] = await Promise.all([
        store.listDeadLetters(jobId, { limit: req.limit > 0 ? Math.min(req.limit, 10_000) : 1000 }),
        store.messageCounts(jobId),
      ]);
      return { dead_letters_json: JSON.stringify(list), total: Math.max(counts.dead_letters, list.length) };
    }, ctx.onInternal),
    CancelJob: control('CancelJob', 'cancel'),
    PauseJob: control('PauseJob', 'pause'),
    ResumeJob: control('ResumeJob', 'resume'),
    ...deploymentHandlers(ctx),
    ClearJobs: unary<{ admin_token: string }, { cleared_count: number }>('ClearJobs', async (req, md) => {
      requireToken(md, ctx.authToken, 'ClearJobs');
      if (ctx.adminToken === null) throw new MnError('MN_E_PERMISSION_DENIED', 'ClearJobs requires MN_GRPC_ADMIN_TOKEN to be set on the daemon');
      if (!req.admin_token || !sameSecret(req.admin_token, ctx.adminToken)) {
        throw new MnError('MN_E_PERMISSION_DENIED', 'ClearJobs requires MN_GRPC_ADMIN_TOKEN as admin_token');
      }
      let cleared = 0;
      for (const job of await store.listJobs()) {
        if (TERMINAL_JOB_STATUSES.has(job.status) && (await store.deleteJob(job.job_id))) cleared++;
      }
      return { cleared_count: cleared };
    }, ctx.onInternal),
  };
}
