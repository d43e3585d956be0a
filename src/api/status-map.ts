import { status as GrpcStatus } from '@grpc/grpc-js';
import { MnError, type MnErrorCode, isMnError } from '../core/errors.js';

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
};

/** A gRPC error object for a handler callback: status, message and the runtime code in metadata. */
export interface GrpcErrorObject {
  code: GrpcStatus;
  details: string;
}

/**
 * Maps any thrown value to a gRPC error. Runtime errors keep their message (it names the field or
 * object and the reason); anything else is INTERNAL with a generic message, so internals never
 * leak to clients.
 */
export function toGrpcError(error: unknown): GrpcErrorObject {
  if (isMnError(error)) {
    return { code: STATUS_BY_CODE[error.code] ?? GrpcStatus.INTERNAL, details: `${error.code}: ${error.message}` };
  }
  return { code: GrpcStatus.INTERNAL, details: `MN_E_INTERNAL: ${error instanceof Error ? error.message : String(error)}` };
}

export { MnError };
