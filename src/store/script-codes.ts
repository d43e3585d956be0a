/**
 * Negative status codes returned by the Lua scripts in `scripts/`, and their mapping to
 * `MnError`. The numbers are part of the scripts' contract: change both sides together.
 */
import { MnError } from '../core/errors.js';

/** Lua return codes (first element of a script's reply). */
export enum ScriptCode {
  Ok = 0,
  NotFound = -1,
  /** The lease is held with another token: the writer's lease was taken over. */
  Fenced = -2,
  /** The lease is not held by anyone: it lapsed or was released. */
  LeaseNotHeld = -3,
  VersionMismatch = -4,
  CapacityExceeded = -5,
  AlreadyExists = -6,
  HoldConflict = -7,
  /** The message's agent is no longer placed on the settling node. */
  AgentMoved = -8,
  /** Back-pressure: a pending-message limit would be exceeded. */
  Overloaded = -9,
  /** A message id was sent before with other content. */
  MessageConflict = -10,
  /** The object is busy: another operation on it has not ended (e.g. a deployment of the key is active). */
  Busy = -11,
}

/** What the failing call was about, for messages and details. */
export interface ScriptContext {
  /** e.g. `job "j1"`, `node "n1"`, `agent "a" of job "j1"`. */
  object: string;
  lease?: string;
  token?: number;
  expectedVersion?: number;
}

/**
 * Builds the error for a negative script code. `extra` holds the reply's elements after the
 * code (current token, current version, node and dimension).
 */
export function scriptError(code: number, context: ScriptContext, extra: readonly unknown[] = []): MnError {
  switch (code) {
    case ScriptCode.NotFound:
      return new MnError('MN_E_NOT_FOUND', `${context.object} does not exist`, { details: { object: context.object } });
    case ScriptCode.Fenced: {
      const currentToken = Number(extra[0]);
      return new MnError(
        'MN_E_FENCED',
        `write to ${context.object} rejected: lease "${context.lease}" is now held with token ${currentToken}, not ${context.token}`,
        { details: { object: context.object, lease: context.lease, token: context.token, currentToken } },
      );
    }
    case ScriptCode.LeaseNotHeld:
      return new MnError('MN_E_LEASE_LOST', `write to ${context.object} rejected: lease "${context.lease}" is no longer held`, {
        details: { object: context.object, lease: context.lease, token: context.token },
      });
    case ScriptCode.VersionMismatch: {
      if (extra[0] === 'staged') {
        return new MnError('MN_E_CONFLICT', `the placements staged for a commit to ${context.object} lapsed before it ran; commit again`, { retryable: true, details: { reason: 'version', object: context.object } });
      }
      const currentVersion = Number(extra[0]);
      return new MnError(
        'MN_E_CONFLICT',
        `${context.object} is at version ${currentVersion}, not ${context.expectedVersion}`,
        { retryable: true, details: { reason: 'version', object: context.object, expectedVersion: context.expectedVersion, currentVersion } },
      );
    }
    case ScriptCode.CapacityExceeded: {
      const node = String(extra[0]);
      const dimension = String(extra[1]);
      return new MnError('MN_E_CONFLICT', `placements for ${context.object} exceed the ${dimension} capacity of node "${node}"`, {
        retryable: true,
        details: { reason: 'capacity', object: context.object, node, dimension },
      });
    }
    case ScriptCode.HoldConflict: {
      const node = String(extra[0]);
      const hold = String(extra[1]);
      return new MnError('MN_E_CONFLICT', `placements for ${context.object} need ${hold} on node "${node}", which another agent holds`, {
        retryable: true,
        details: { reason: 'hold', object: context.object, node, hold },
      });
    }
    case ScriptCode.AgentMoved:
      return new MnError('MN_E_CONFLICT', `${context.object}: its agent now runs on node "${String(extra[0])}"`, {
        details: { reason: 'agent_moved', object: context.object, node: String(extra[0]) },
      });
    case ScriptCode.Overloaded:
      return new MnError('MN_E_RESOURCE_EXHAUSTED', `${String(extra[0])} has too many undelivered messages (limit ${String(extra[1])})`, {
        retryable: true,
        details: { object: String(extra[0]), limit: Number(extra[1]) },
      });
    case ScriptCode.MessageConflict:
      return new MnError('MN_E_CONFLICT', `message ${String(extra[0])} of ${context.object} was already sent with other content`, {
        details: { reason: 'message', object: context.object, message_id: String(extra[0]) },
      });
    case ScriptCode.Busy:
      return new MnError('MN_E_CONFLICT', `${context.object} is busy: ${String(extra[0])} is ${String(extra[1])}`, {
        details: { reason: 'state', object: context.object, busy: String(extra[0]), status: String(extra[1]) },
      });
    case ScriptCode.AlreadyExists:
      return new MnError('MN_E_CONFLICT', `${context.object} already exists`, { details: { reason: 'exists', object: context.object } });
    default:
      return new MnError('MN_E_STORE_UNAVAILABLE', `unexpected store script reply ${code} for ${context.object}`, {
        details: { object: context.object, code },
      });
  }
}
