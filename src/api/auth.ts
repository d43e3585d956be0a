import { createHash, timingSafeEqual } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { MnError } from '../core/errors.js';

/** Compares two secrets in constant time (hashing first so lengths do not leak). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** The bearer token of a call's `authorization` metadata, or null. */
export function bearerToken(metadata: grpc.Metadata): string | null {
  return bearerOf(metadata.get('authorization')[0]);
}

/** The token of an `authorization: Bearer <token>` value (gRPC metadata or an HTTP header), or null. */
export function bearerOf(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^Bearer\s+(.+)$/i.exec(value.trim());
  return m ? m[1]!.trim() : null;
}

/**
 * Checks a mutating call: when the daemon has an auth token, the call must carry it as
 * `authorization: Bearer <token>`; otherwise the call fails with `MN_E_UNAUTHENTICATED`.
 */
export function requireToken(metadata: grpc.Metadata, expected: string | null, rpc: string): void {
  requireBearer(bearerToken(metadata), expected, rpc);
}

/** The check of {@link requireToken} on a token already read (the dashboard's HTTP actions use it too). */
export function requireBearer(got: string | null, expected: string | null, rpc: string): void {
  if (expected === null) return;
  if (got === null || !sameSecret(got, expected)) {
    throw new MnError('MN_E_UNAUTHENTICATED', `${rpc} requires the gRPC auth token (authorization: Bearer <MN_GRPC_AUTH_TOKEN>)`);
  }
}
