import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { MnError, type MnErrorCode, isMnError, isMnErrorCode } from '../core/errors.js';

/** The one table from runtime error codes to gRPC status codes. */
export const STATUS_BY_CODE: Readonly<Record<MnErrorCode, GrpcStatus>> = {
  MN_E_LEASE_LOST: GrpcStatus.ABORTED,
  MN_E_FENCED: GrpcStatus.ABORTED,
  MN_E_NOT_FOUND: GrpcStatus.NOT_FOUND,
  MN_E_CONFLICT: GrpcStatus.ABORTED,
  MN_E_STORE_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  MN_E_INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  MN_E_UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  MN_E_PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  MN_E_PLACEMENT_FAILED: GrpcStatus.RESOURCE_EXHAUSTED,
  MN_E_FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  MN_E_SOLVER_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  MN_E_RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  MN_E_INVALID_MANIFEST: GrpcStatus.INVALID_ARGUMENT,
  MN_E_CLUSTER_FILE: GrpcStatus.INVALID_ARGUMENT,
  MN_E_SNAPSHOT_DECODE: GrpcStatus.INTERNAL,
  MN_E_WORKER_EXITED: GrpcStatus.UNAVAILABLE,
  MN_E_TASK_FAILED: GrpcStatus.INTERNAL,
  MN_E_UNKNOWN_GENERATION: GrpcStatus.UNAVAILABLE,
  MN_E_BAD_TASK: GrpcStatus.INTERNAL,
  MN_E_POOL_CLOSED: GrpcStatus.UNAVAILABLE,
  MN_E_INTERNAL: GrpcStatus.INTERNAL,
};

/** Metadata key of the runtime error code on every failed call (`MN_E_...`). */
export const ERROR_CODE_METADATA = 'mn-error-code';

/** A gRPC error object for a handler callback: status, message and the runtime code in metadata. */
export interface GrpcErrorObject {
  code: GrpcStatus;
  details: string;
  metadata: Metadata;
  /** True when the error is a bug (not an `MnError`): its details went to the daemon's log only. */
  internal: boolean;
}

/**
 * Maps any thrown value to a gRPC error. Runtime errors keep their message (it names the field or
 * object and the reason) and carry their code in the `mn-error-code` trailer; anything else is a
 * bug and becomes INTERNAL with a generic message, so internals (stacks, paths, library messages)
 * never leak to clients. The caller logs internal errors.
 */
export function toGrpcError(error: unknown): GrpcErrorObject {
  const metadata = new Metadata();
  if (isMnError(error) && error.code !== 'MN_E_INTERNAL') {
    metadata.set(ERROR_CODE_METADATA, error.code);
    return { code: STATUS_BY_CODE[error.code] ?? GrpcStatus.INTERNAL, details: `${error.code}: ${error.message}`, metadata, internal: false };
  }
  metadata.set(ERROR_CODE_METADATA, 'MN_E_INTERNAL');
  return { code: GrpcStatus.INTERNAL, details: 'MN_E_INTERNAL: internal error (details are in the daemon log)', metadata, internal: true };
}

/** The runtime code a failed call carried in its metadata, or null (not answered by a daemon). */
export function errorCodeOf(metadata: Metadata | undefined): MnErrorCode | null {
  const value = metadata?.get(ERROR_CODE_METADATA)[0];
  return isMnErrorCode(value) ? value : null;
}

export { MnError };
