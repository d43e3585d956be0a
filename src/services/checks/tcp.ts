import { connect } from 'node:net';
import type { RawCheckResult } from '../../core/services/health.js';
import type { InstanceCheck } from '../../core/services/instance.js';
import { checkHost, checkPort } from './target.js';

/** A tcp check (spec §5.3): passes when a connection to address:port opens within `timeout_ms`. */
export function tcpCheck(check: InstanceCheck, signal: AbortSignal): Promise<RawCheckResult> {
  const port = checkPort(check);
  if (port === null) return Promise.resolve({ ok: false, output: `no valid port to connect to (${JSON.stringify(check.port)})` });
  const host = checkHost(check);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: RawCheckResult): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => done({ ok: false, output: `no connection to ${host}:${port} within ${check.timeout_ms} ms` });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done({ ok: true, output: `connected to ${host}:${port}` }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, output: `${host}:${port}: ${error.code ?? error.message}` }));
  });
}
