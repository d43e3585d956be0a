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
  | 'MN_E_RESOURCE_EXHAUSTED'
  /** A manifest given to `simulatePlan` does not validate; `details.issues` lists its errors. */
  | 'MN_E_INVALID_MANIFEST'
  /** A cluster file does not validate; `details.issues` lists every finding by JSON path. */
  | 'MN_E_CLUSTER_FILE'
  /** A snapshot's bytes are not a snapshot of this format (a bug or a version mismatch). */
  | 'MN_E_SNAPSHOT_DECODE'
  /** A placement worker died while running a task; the pool replaces it. */
  | 'MN_E_WORKER_EXITED'
  /** A placement task failed inside its worker (an error the planner raised). */
  | 'MN_E_TASK_FAILED'
  /** A task named a snapshot generation its worker no longer (or never) had. */
  | 'MN_E_UNKNOWN_GENERATION'
  /** A task the worker does not understand. */
  | 'MN_E_BAD_TASK'
  /** The placement pool was closed. */
  | 'MN_E_POOL_CLOSED'
  /** A bug: anything that is not one of the above. Its details stay in the daemon's log. */
  | 'MN_E_INTERNAL';

/** Every {@link MnErrorCode}, for exhaustive tables and for reading a code back from the wire. */
export const MN_ERROR_CODES: readonly MnErrorCode[] = [
  'MN_E_LEASE_LOST',
  'MN_E_FENCED',
  'MN_E_NOT_FOUND',
  'MN_E_CONFLICT',
  'MN_E_STORE_UNAVAILABLE',
  'MN_E_INVALID_ARGUMENT',
  'MN_E_UNAUTHENTICATED',
  'MN_E_PERMISSION_DENIED',
  'MN_E_PLACEMENT_FAILED',
  'MN_E_FAILED_PRECONDITION',
  'MN_E_SOLVER_UNAVAILABLE',
  'MN_E_RESOURCE_EXHAUSTED',
  'MN_E_INVALID_MANIFEST',
  'MN_E_CLUSTER_FILE',
  'MN_E_SNAPSHOT_DECODE',
  'MN_E_WORKER_EXITED',
  'MN_E_TASK_FAILED',
  'MN_E_UNKNOWN_GENERATION',
  'MN_E_BAD_TASK',
  'MN_E_POOL_CLOSED',
  'MN_E_INTERNAL',
];

/** True when `value` is one of the runtime's error codes. */
export function isMnErrorCode(value: unknown): value is MnErrorCode {
  return typeof value === 'string' && (MN_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Which conflict an `MN_E_CONFLICT` is (`details.reason`). Callers match on the reason, never on
 * the shape of the other details.
 */
export type ConflictReason =
  /** The object exists already (create). */
  | 'exists'
  /** An optimistic write's `expectedVersion` is not the record's version. */
  | 'version'
  /** A placement commit would exceed a node's capacity (`details.node`, `details.dimension`). */
  | 'capacity'
  /** A placement commit needs an exclusive resource another agent holds (`details.node`, `details.hold`). */
  | 'hold'
  /** The agent is no longer placed on the writing node (`details.node` is where it is now). */
  | 'agent_moved'
  /** A message id was sent before with other content (`details.message_id`). */
  | 'message'
  /** The object is not in a state that allows the write (e.g. removing a job that still runs). */
  | 'state'
  /** Another daemon took over the object first (e.g. adopted a job before its first commit). */
  | 'taken';

/** True when `error` is an `MN_E_CONFLICT` for `reason`. */
export function isConflict(error: unknown, reason: ConflictReason): error is MnError<{ reason: ConflictReason } & Record<string, unknown>> {
  return isMnError(error, 'MN_E_CONFLICT') && (error.details as { reason?: unknown }).reason === reason;
}

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
