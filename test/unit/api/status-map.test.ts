import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_METADATA, STATUS_BY_CODE, errorCodeOf, toGrpcError } from '../../../src/api/status-map.js';
import { MN_ERROR_CODES, MnError, isConflict } from '../../../src/core/errors.js';
import { ClusterFileError } from '../../../src/core/cluster/parse.js';
import { InvalidManifestError } from '../../../src/core/placement/simulate.js';
import { SnapshotDecodeError } from '../../../src/core/snapshot/codec.js';
import { scriptError, ScriptCode } from '../../../src/store/script-codes.js';

describe('error → gRPC status', () => {
  it('maps every runtime code, and carries the code in the mn-error-code metadata', () => {
    for (const code of MN_ERROR_CODES) expect(STATUS_BY_CODE[code]).toBeTypeOf('number');
    const mapped = toGrpcError(new MnError('MN_E_NOT_FOUND', 'job j not found'));
    expect(mapped.code).toBe(status.NOT_FOUND);
    expect(mapped.details).toBe('MN_E_NOT_FOUND: job j not found');
    expect(mapped.metadata.get(ERROR_CODE_METADATA)).toEqual(['MN_E_NOT_FOUND']);
    expect(errorCodeOf(mapped.metadata)).toBe('MN_E_NOT_FOUND');
    expect(mapped.internal).toBe(false);
  });

  it('never leaks the message or stack of an error that is not a runtime error', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'node') at /srv/mn/dist/src/secret-path.js:12");
    const mapped = toGrpcError(bug);
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.internal).toBe(true);
    expect(mapped.details).not.toContain('secret-path');
    expect(mapped.details).not.toContain('Cannot read');
    expect(errorCodeOf(mapped.metadata)).toBe('MN_E_INTERNAL');
    expect(toGrpcError('a thrown string').details).not.toContain('a thrown string');
  });

  it('reads no code from metadata a daemon did not set', () => {
    expect(errorCodeOf(undefined)).toBeNull();
    const md = toGrpcError(new MnError('MN_E_CONFLICT', 'x')).metadata;
    md.set(ERROR_CODE_METADATA, 'NOT_A_CODE');
    expect(errorCodeOf(md)).toBeNull();
  });

  it('the planner, cluster-file and snapshot errors are runtime errors with their own codes', () => {
    const errors = [new InvalidManifestError(0, [{ path: 'graph_id', message: 'missing' }]), new ClusterFileError([{ path: 'nodes', message: 'nodes must be a list' }]), new SnapshotDecodeError('bad')];
    expect(errors.map((e) => e instanceof MnError)).toEqual([true, true, true]);
    expect(errors.map((e) => toGrpcError(e).code)).toEqual([status.INVALID_ARGUMENT, status.INVALID_ARGUMENT, status.INTERNAL]);
    expect(errors[0]!.details).toMatchObject({ job_index: 0, issues: [{ path: 'graph_id' }] });
  });

  it('every conflict names its reason, so callers never match on the shape of its details', () => {
    const ctx = { object: 'job "j"', expectedVersion: 2 };
    const cases: Array<[number, unknown[], string]> = [
      [ScriptCode.AlreadyExists, [], 'exists'],
      [ScriptCode.VersionMismatch, [3], 'version'],
      [ScriptCode.CapacityExceeded, ['n1', 'cpu_millis'], 'capacity'],
      [ScriptCode.HoldConflict, ['n1', 'port:tcp:80', 'j/a'], 'hold'],
      [ScriptCode.AgentMoved, ['n2'], 'agent_moved'],
      [ScriptCode.MessageConflict, ['m1'], 'message'],
    ];
    for (const [code, extra, reason] of cases) {
      const error = scriptError(code, ctx, extra);
      expect(error.code).toBe('MN_E_CONFLICT');
      expect(error.details.reason).toBe(reason);
    }
    // A capacity conflict names a node too, but it is not a moved agent.
    expect(isConflict(scriptError(ScriptCode.CapacityExceeded, ctx, ['n1', 'cpu_millis']), 'agent_moved')).toBe(false);
    expect(isConflict(scriptError(ScriptCode.AgentMoved, ctx, ['n2']), 'agent_moved')).toBe(true);
  });
});
