/**
 * The schedule RPCs that change state need the auth token when the daemon has one (DESIGN §5);
 * the reading ones do not.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ApiContext } from '../../../src/api/job-service.js';
import { scheduleHandlers } from '../../../src/api/schedule-handlers.js';
import { ERROR_CODE_METADATA } from '../../../src/api/status-map.js';

function call(handler: unknown, request: object, token?: string): Promise<{ code: number; details: string; errorCode: string | null }> {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    (handler as grpc.handleUnaryCall<object, object>)({ request, metadata } as unknown as grpc.ServerUnaryCall<object, object>, (err) => {
      const e = err as (grpc.ServiceError & { metadata?: grpc.Metadata }) | null;
      resolve({ code: e?.code ?? grpc.status.OK, details: e?.details ?? '', errorCode: (e?.metadata?.get(ERROR_CODE_METADATA)[0] as string | undefined) ?? null });
    });
  });
}

describe('schedule RPCs and the auth token', () => {
  const calls: string[] = [];
  const schedules = new Proxy({}, { get: (_t, name: string) => (...args: unknown[]) => { calls.push(name); return Promise.resolve(name === 'view' ? args[0] : { committed: true, dispatch: { status: 'submitted' } }); } });
  const ctx = { authToken: 'secret', schedules } as unknown as ApiContext;
  const handlers = scheduleHandlers(ctx);

  it.each([
    ['CreateSchedule', { manifest_json: '{}', schedule_json: '{}' }],
    ['UpdateSchedule', { schedule_id: 's', attrs_json: '{}' }],
    ['PauseSchedule', { schedule_id: 's' }],
    ['ResumeSchedule', { schedule_id: 's' }],
    ['DeleteSchedule', { schedule_id: 's' }],
    ['DispatchSchedule', { schedule_id: 's' }],
    ['EmitTriggerEvent', { event_type: 'demo', payload_json: '{}' }],
  ])('%s is refused without the token and runs with it', async (rpc, request) => {
    calls.length = 0;
    const refused = await call(handlers[rpc], request);
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(calls).toEqual([]);
    const wrong = await call(handlers[rpc], request, 'guess');
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    const ok = await call(handlers[rpc], request, 'secret');
    expect(ok.code).toBe(grpc.status.OK);
    expect(calls.length).toBeGreaterThan(0);
  });

  it.each([
    ['GetSchedule', { schedule_id: 's' }],
    ['ListSchedules', { query_json: '' }],
    ['ListTriggerEvents', { limit: 5 }],
  ])('%s reads without the token', async (rpc, request) => {
    expect((await call(handlers[rpc], request)).code).toBe(grpc.status.OK);
  });
});
