/**
 * The one error type of the runtime. Every error a caller can act on carries a stable string
 * `code` (`MN_E_...`), whether retrying may help, and typed details naming the object involved.
 *
 * `instanceof MnError` is symbol-branded: it holds across duplicated copies of this module (two
 * installs of the package, bundlers, test isolation), like undici's errors.
 */

/** Stable error codes. Extend the union; never rename a member (callers and tests match on it). */
export type MnErrorCode =
  /** A lease the caller relied on has expired or was released; the holder must stop acting. */
  | 'MN_E_LEASE_LOST'
  /** A write carried a fencing token that is no longer the lease's current token. */
  | 'MN_E_FENCED'
  /** The named object does not exist. */
  | 'MN_E_NOT_FOUND'
  /** The write conflicts with the current state (exists already, version moved, capacity taken). */
  | 'MN_E_CONFLICT'
  /** The state store could not be reached or did not answer in time. */
  | 'MN_E_STORE_UNAVAILABLE'
  /** An argument is malformed; `details` names it. */
  | 'MN_E_INVALID_ARGUMENT'
  /** A required credential is missing or wrong. */
  | 'MN_E_UNAUTHENTICATED'
  /** The caller may not do this (e.g. ClearJobs without an admin token configured). */
  | 'MN_E_PERMISSION_DENIED'
  /** Some agents cannot be placed; `details.failures` explains each (DESIGN §4.3). */
  | 'MN_E_PLACEMENT_FAILED'
  /** The operation does not apply to the object's current state (e.g. resuming a running job). */
  | 'MN_E_FAILED_PRECONDITION'
  /** The placement workers could not answer (a crashed or overloaded pool); retry. */
  | 'MN_E_SOLVER_UNAVAILABLE'
  /** Back-pressure: too many undelivered messages for an agent or a job (spec §2.3); retry later. */
  | 'MN_E_RESOURCE_EXHAUSTED';

const kMnError = Symbol.for('mn-runtime.error');

/** Construction options of {@link MnError}. */
export interface MnErrorOptions<D> {
  /** Whether the same call may succeed later without changes (default false). */
  retryable?: boolean;
  details?: D;
  cause?: unknown;
}

/** Base error of the runtime; see the module comment. */
export class MnError<D extends object = Record<string, unknown>> extends Error {
  readonly code: MnErrorCode;
  readonly retryable: boolean;
  readonly details: D;
  declare readonly [kMnError]: true;

  constructor(code: MnErrorCode, message: string, options: MnErrorOptions<D> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MnError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? ({} as D);
    Object.defineProperty(this, kMnError, { value: true });
  }

  /** Brand check for `MnError` itself; subclasses keep the ordinary prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === MnError) {
      return typeof value === 'object' && value !== null && (value as { [kMnError]?: unknown })[kMnError] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** True when `error` is an {@link MnError}, optionally with the given code. */
export function isMnError(error: unknown, code?: MnErrorCode): error is MnError {
  return error instanceof MnError && (code === undefined || error.code === code);
}
