/**
 * The schedule part of `mirrorneuron.job.v1.JobService` (spec §9.1): schedules, delayed jobs,
 * triggers and events. Mutating methods need the auth token (DESIGN §5: every mutating RPC).
 */
import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import { isObject } from '../core/manifest/context.js';
import { SCHEDULE_STATUSES } from '../core/schedules/records.js';
import type { ScheduleQuery } from '../store/schedules.js';
import { bundleFiles } from './job-service.js';
import { jsonMethods, parseJsonField, requireField } from './handler.js';
import type { ApiContext } from './job-service.js';

interface CreateRequest { manifest_json: string; payloads: Record<string, Buffer>; schedule_json: string; source_json: string; kind: string }
interface ActionRequest { schedule_id: string; attrs_json: string; reason: string }
const KINDS = ['periodic', 'delayed', 'event'] as const;

function optionalJson(text: string | undefined, field: string): unknown {
  return text && text.trim() !== '' ? parseJsonField(text, field) : undefined;
}

/** `query_json` of ListSchedules; an invalid one names the field. */
function queryOf(text: string | undefined): ScheduleQuery {
  const value = optionalJson(text, 'query_json');
  if (value === undefined) return {};
  if (!isObject(value)) throw new MnError('MN_E_INVALID_ARGUMENT', 'query_json must be an object', { details: { field: 'query_json' } });
  const out: ScheduleQuery = {};
  if (value.kind !== undefined && value.kind !== null) {
    if (!(KINDS as readonly unknown[]).includes(value.kind)) throw new MnError('MN_E_INVALID_ARGUMENT', `query_json.kind must be periodic, delayed or event, got ${JSON.stringify(value.kind)}`, { details: { field: 'query_json.kind' } });
    out.kind = value.kind as ScheduleQuery['kind'] & string;
  }
  if (value.status !== undefined && value.status !== null) {
    if (!(SCHEDULE_STATUSES as readonly unknown[]).includes(value.status)) throw new MnError('MN_E_INVALID_ARGUMENT', `query_json.status must be ${SCHEDULE_STATUSES.join(', ')}, got ${JSON.stringify(value.status)}`, { details: { field: 'query_json.status' } });
    out.status = value.status as ScheduleQuery['status'] & string;
  }
  if (value.enabled !== undefined && value.enabled !== null) {
    if (typeof value.enabled !== 'boolean') throw new MnError('MN_E_INVALID_ARGUMENT', 'query_json.enabled must be a boolean', { details: { field: 'query_json.enabled' } });
    out.enabled = value.enabled;
  }
  return out;
}

export function scheduleHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  const service = (): NonNullable<ApiContext['schedules']> => {
    if (!ctx.schedules) throw new MnError('MN_E_FAILED_PRECONDITION', 'this daemon does not serve schedules');
    return ctx.schedules;
  };
  const { mutating, reading } = jsonMethods(ctx);

  return {
    CreateSchedule: mutating<CreateRequest>('CreateSchedule', async (req) => {
      const manifestJson = requireField(req.manifest_json, 'manifest_json');
      bundleFiles(req.payloads);
      const attrs = optionalJson(req.schedule_json, 'schedule_json');
      const source = optionalJson(req.source_json, 'source_json') ?? { via: 'api' };
      if (!isObject(source)) throw new MnError('MN_E_INVALID_ARGUMENT', 'source_json must be an object', { details: { field: 'source_json' } });
      const kind = req.kind?.trim() ?? '';
      if (kind !== '' && !(KINDS as readonly string[]).includes(kind)) throw new MnError('MN_E_INVALID_ARGUMENT', `kind must be periodic, delayed or event, got ${JSON.stringify(kind)}`, { details: { field: 'kind' } });
      const s = service();
      return s.view(await s.create({ manifestJson, files: req.payloads ?? {}, attrs: attrs ?? null, source, ...(kind !== '' ? { forceKind: kind as (typeof KINDS)[number] } : {}) }));
    }),
    UpdateSchedule: mutating<ActionRequest>('UpdateSchedule', async (req) => {
      const attrs = optionalJson(requireField(req.attrs_json, 'attrs_json'), 'attrs_json');
      return service().update(requireField(req.schedule_id, 'schedule_id'), attrs);
    }),
    PauseSchedule: mutating<ActionRequest>('PauseSchedule', async (req) => service().pause(requireField(req.schedule_id, 'schedule_id'), req.reason ?? '')),
    ResumeSchedule: mutating<ActionRequest>('ResumeSchedule', async (req) => {
      const s = service();
      return s.view(await s.resume(requireField(req.schedule_id, 'schedule_id')));
    }),
    DeleteSchedule: mutating<ActionRequest>('DeleteSchedule', async (req) => service().remove(requireField(req.schedule_id, 'schedule_id'))),
    GetSchedule: reading<{ schedule_id: string }>('GetSchedule', async (req) => {
      const s = service();
      return s.view(await s.get(requireField(req.schedule_id, 'schedule_id')));
    }),
    ListSchedules: reading<{ query_json: string }>('ListSchedules', async (req) => service().list(queryOf(req.query_json))),
    DispatchSchedule: mutating<{ schedule_id: string; payload_json: string; reason: string }>('DispatchSchedule', async (req) => {
      const payload = optionalJson(req.payload_json, 'payload_json');
      const outcome = await service().runNow(requireField(req.schedule_id, 'schedule_id'), payload, req.reason?.trim() ?? '');
      return { dispatched: outcome.committed && outcome.dispatch.status === 'submitted' ? 1 : 0, failed: outcome.dispatch.status === 'failed' ? 1 : 0, ...outcome };
    }),
    EmitTriggerEvent: mutating<{ event_type: string; payload_json: string; source: string; event_id: string }>('EmitTriggerEvent', async (req) => {
      const type = requireField(req.event_type, 'event_type');
      const eventId = req.event_id?.trim() ?? '';
      if (eventId !== '' && !/^[A-Za-z0-9_.:-]{1,160}$/.test(eventId)) throw new MnError('MN_E_INVALID_ARGUMENT', `event_id must match ^[A-Za-z0-9_.:-]{1,160}$, got ${JSON.stringify(eventId)}`, { details: { field: 'event_id' } });
      return service().emit(type, req.payload_json ?? '', req.source?.trim() || 'api', eventId === '' ? undefined : eventId);
    }),
    ListTriggerEvents: reading<{ limit: number }>('ListTriggerEvents', async (req) => service().listEvents(req.limit > 0 ? Math.min(req.limit, 1000) : 100)),
  };
}
