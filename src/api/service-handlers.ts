/**
 * The discovery part of `mirrorneuron.cluster.v1.ClusterService` (spec §9.2): list, resolve,
 * watch and check services.
 */
import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import { ValidationContext, isObject } from '../core/manifest/context.js';
import { parseServiceRequirements } from '../core/manifest/services.js';
import { validateManifest } from '../core/manifest/validate.js';
import { parseServiceQuery } from '../core/services/query.js';
import type { ServiceQuery } from '../core/services/registry.js';
import { parseJsonField, requireField, unary } from './handler.js';
import type { ApiContext } from './job-service.js';
import { toGrpcError } from './status-map.js';

interface ResolveRequest { name: string; query_json: string }

/** The parsed `query_json` of a request; an invalid one is an invalid argument naming the field. */
function queryOf(text: string | undefined): ServiceQuery {
  const parsed = parseServiceQuery(text && text.trim() !== '' ? parseJsonField(text, 'query_json') : null);
  if (!parsed.ok) throw new MnError('MN_E_INVALID_ARGUMENT', parsed.message, { details: { field: parsed.field } });
  return parsed.query;
}

/** The requirements of `services_json`: a `required_services` list, or a whole manifest. */
function requirementsOf(text: string): ReturnType<typeof parseServiceRequirements> {
  const value = parseJsonField(text, 'services_json');
  if (isObject(value)) {
    const result = validateManifest(value);
    if (!result.ok || !result.job) {
      const first = result.errors.slice(0, 5).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
      throw new MnError('MN_E_INVALID_ARGUMENT', `services_json: invalid manifest: ${first.join('; ')}`, { details: { field: 'services_json', errors: result.errors } });
    }
    return result.job.required_services;
  }
  const ctx = new ValidationContext();
  const requirements = parseServiceRequirements(ctx, value, 'services_json');
  if (ctx.errors.length > 0) {
    throw new MnError('MN_E_INVALID_ARGUMENT', ctx.errors.map((e) => e.message).join('; '), { details: { field: 'services_json', errors: ctx.errors } });
  }
  return requirements;
}

export function serviceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const { directory, preflight } = ctx.services;
  const resolve = async (req: ResolveRequest): Promise<unknown[]> => {
    const name = requireField(req.name, 'name');
    const query = queryOf(req.query_json);
    const found = await directory.resolve(name, query);
    if (found.length === 0 && (await directory.list({ name, include_candidates: true })).length === 0) {
      throw new MnError('MN_E_NOT_FOUND', `service ${name} is not registered`, { details: { service: name } });
    }
    return found;
  };
  return {
    ListServices: unary<{ query_json: string }, { result_json: string }>('ListServices', async (req) => {
      return { result_json: JSON.stringify(await directory.list(queryOf(req.query_json))) };
    }, ctx.onInternal),
    ResolveService: unary<ResolveRequest, { result_json: string }>('ResolveService', async (req) => ({ result_json: JSON.stringify(await resolve(req)) }), ctx.onInternal),
    CheckServices: unary<{ services_json: string }, { result_json: string }>('CheckServices', async (req) => {
      const requirements = requirementsOf(requireField(req.services_json, 'services_json'));
      return { result_json: JSON.stringify(await preflight.check(requirements)) };
    }, ctx.onInternal),
    WatchService: (call: grpc.ServerWritableStream<ResolveRequest, { result_json: string }>) => {
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      call.on('close', () => controller.abort());
      const run = async (): Promise<void> => {
        const name = requireField(call.request.name, 'name');
        const query = { passing_only: true, ...queryOf(call.request.query_json), name };
        for await (const answer of directory.watch(query, controller.signal)) {
          if (controller.signal.aborted) break;
          call.write({ result_json: JSON.stringify(answer) });
        }
        call.end();
      };
      run().catch((error: unknown) => {
        if (controller.signal.aborted) return;
        const mapped = toGrpcError(error);
        if (mapped.internal) ctx.onInternal?.('WatchService', error);
        call.emit('error', mapped);
      });
    },
  };
}
