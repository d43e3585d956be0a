/** Runs one check of a service instance, whatever its type, bounded by its `timeout_ms`. */
import type { RawCheckResult } from '../../core/services/health.js';
import type { InstanceCheck } from '../../core/services/instance.js';
import type { Launcher } from '../../runtime/exec/launcher.js';
import { grpcCheck } from './grpc.js';
import { httpCheck } from './http.js';
import { scriptCheck } from './script.js';
import { tcpCheck } from './tcp.js';
import { reasonOf } from './target.js';

export interface CheckDeps {
  launcher: Launcher;
  /** Working directory of script checks. */
  cwd: string;
}

/** Grace after `timeout_ms` within which a check must have settled before it is cut off. */
const SETTLE_MS = 250;

/**
 * Runs a check. Never throws and never takes longer than about `timeout_ms`: the check is
 * aborted then, and if it still has not answered shortly after, it is reported critical anyway.
 */
export async function runCheck(check: InstanceCheck, service: { name: string; address: string | null; port: number | null }, deps: CheckDeps): Promise<RawCheckResult> {
  const controller = new AbortController();
  const abortTimer = setTimeout(() => controller.abort(), check.timeout_ms);
  let cutTimer: NodeJS.Timeout | undefined;
  const cut = new Promise<RawCheckResult>((resolve) => {
    cutTimer = setTimeout(() => resolve({ ok: false, output: `no result within ${check.timeout_ms} ms` }), check.timeout_ms + SETTLE_MS);
  });
  try {
    const run = (async (): Promise<RawCheckResult> => {
      switch (check.type) {
        case 'tcp':
          return tcpCheck(check, controller.signal);
        case 'http':
          return httpCheck(check, controller.signal);
        case 'grpc':
          return grpcCheck(check, controller.signal);
        case 'script':
          return scriptCheck(check, service, deps.launcher, deps.cwd, controller.signal);
      }
    })().catch((error: unknown) => ({ ok: false, output: reasonOf(error) }));
    return await Promise.race([run, cut]);
  } finally {
    clearTimeout(abortTimer);
    clearTimeout(cutTimer);
    controller.abort();
  }
}
