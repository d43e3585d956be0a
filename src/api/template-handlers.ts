/**
 * The job template part of `mirrorneuron.job.v1.JobService`: register, list, get, delete and
 * dispatch. Mutating methods need the auth token, like SubmitJob. No answer carries a secret
 * value: dispatch results show secret variables as `***`.
 */
import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import { jsonMethods, parseJsonField, requireField } from './handler.js';
import { type ApiContext, bundleFiles } from './job-service.js';
import type { JobTemplates } from '../runtime/job-templates.js';

export function templateHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const service = (): JobTemplates => {
    if (!ctx.templates) throw new MnError('MN_E_FAILED_PRECONDITION', 'this daemon does not serve job templates');
    return ctx.templates;
  };
  const { mutating, reading } = jsonMethods(ctx);

  return {
    RegisterJobTemplate: mutating<{ manifest_json: string; payloads: Record<string, Buffer> }>('RegisterJobTemplate', async (req) => {
      const s = service();
      return s.view(await s.register(requireField(req.manifest_json, 'manifest_json'), bundleFiles(req.payloads)));
    }),
    ListJobTemplates: reading<Record<string, never>>('ListJobTemplates', async () => {
      const s = service();
      return (await s.list()).map((t) => s.view(t));
    }),
    GetJobTemplate: reading<{ name: string }>('GetJobTemplate', async (req) => {
      const s = service();
      return s.view(await s.get(requireField(req.name, 'name')));
    }),
    DeleteJobTemplate: mutating<{ name: string }>('DeleteJobTemplate', async (req) => service().delete(requireField(req.name, 'name'))),
    DispatchJob: mutating<{ name: string; variables: Record<string, string>; payload_json: string }>('DispatchJob', async (req) => {
      const name = requireField(req.name, 'name');
      const payload = req.payload_json && req.payload_json.trim() !== '' ? parseJsonField(req.payload_json, 'payload_json') : undefined;
      return service().dispatch(name, req.variables ?? {}, payload);
    }),
  };
}
