import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';
import { parseJson } from '../core/json.js';
import { DEFAULT_LIMITS, checkJsonTextDepth } from '../core/limits.js';
import { requireToken } from './auth.js';
import { toGrpcError } from './status-map.js';

/** Called with every error that is not a runtime error (a bug), for the daemon's log. */
export type InternalErrorSink = (rpc: string, error: unknown) => void;

/**
 * Adapts an async unary handler: its result goes to the callback, any error is mapped to a gRPC
 * status. A handler can never take the daemon down, whatever the request holds.
 */
export function unary<Req, Res>(
  rpc: string,
  fn: (request: Req, metadata: grpc.Metadata) => Promise<Res>,
  onInternal?: InternalErrorSink,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let promise: Promise<Res>;
    try {
      promise = fn(call.request, call.metadata);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (res) => callback(null, res),
      (error: unknown) => {
        const { internal, ...status } = toGrpcError(error);
        if (internal) onInternal?.(rpc, error);
        callback(status, null);
      },
    );
  };
}

/** A method's answer as one JSON document (`{result_json}`). */
export type JsonResult = { result_json: string };

/**
 * Unary methods that answer `{result_json}`: reading ones open to every caller, mutating ones
 * only with the daemon's auth token (when one is set).
 */
export function jsonMethods(ctx: { authToken: string | null; onInternal?: InternalErrorSink }) {
  const json = (value: unknown): JsonResult => ({ result_json: JSON.stringify(value) });
  return {
    reading: <Req>(rpc: string, fn: (req: Req) => Promise<unknown>) => unary<Req, JsonResult>(rpc, async (req) => json(await fn(req)), ctx.onInternal),
    mutating: <Req>(rpc: string, fn: (req: Req) => Promise<unknown>) =>
      unary<Req, JsonResult>(rpc, async (req, md) => {
        requireToken(md, ctx.authToken, rpc);
        return json(await fn(req));
      }, ctx.onInternal),
  };
}

/** Reads a JSON request field; malformed JSON is an invalid argument naming the field and position. */
export function parseJsonField(value: string, field: string, maxDepth: number = DEFAULT_LIMITS.maxJsonDepth): unknown {
  checkJsonTextDepth(value, field, maxDepth);
  const parsed = parseJson(value);
  if (!parsed.ok) throw new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${parsed.message}`, { details: { field } });
  return parsed.value;
}

/** A required non-empty string field. */
export function requireField(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MnError('MN_E_INVALID_ARGUMENT', `${field} is required`, { details: { field } });
  }
  return value.trim();
}
