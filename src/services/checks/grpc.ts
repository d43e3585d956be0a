import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RawCheckResult } from '../../core/services/health.js';
import type { InstanceCheck } from '../../core/services/instance.js';
import { checkHost, checkPort } from './target.js';

type HealthClient = grpc.Client & {
  check(req: { service: string }, options: grpc.CallOptions, cb: (error: grpc.ServiceError | null, res?: { status: string }) => void): void;
};
type HealthClientConstructor = new (target: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => HealthClient;

let Health: HealthClientConstructor | undefined;

/** The standard `grpc.health.v1.Health` client, from the health proto shipped with grpc-health-check. */
function healthClient(): HealthClientConstructor {
  if (!Health) {
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
    const definition = protoLoader.loadSync(file, { keepCase: true, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: HealthClientConstructor } } } };
    Health = pkg.grpc.health.v1.Health;
  }
  return Health;
}

/**
 * A grpc check (spec §5.3): the standard health protocol's `Check` for `service` (empty: the
 * whole server); passes only on `SERVING`. An endpoint that is not gRPC fails by the deadline.
 */
export function grpcCheck(check: InstanceCheck, signal: AbortSignal): Promise<RawCheckResult> {
  const port = checkPort(check);
  if (port === null) return Promise.resolve({ ok: false, output: `no valid port to call (${JSON.stringify(check.port)})` });
  const host = checkHost(check);
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const Client = healthClient();
  const client = new Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024, 'grpc.enable_retries': 0 });
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: RawCheckResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.close();
      resolve(result);
    };
    const onAbort = (): void => done({ ok: false, output: `${target}: no health answer within ${check.timeout_ms} ms` });
    signal.addEventListener('abort', onAbort, { once: true });
    client.check({ service: check.service ?? '' }, { deadline: Date.now() + check.timeout_ms }, (error, res) => {
      if (error) done({ ok: false, output: `${target}: ${grpc.status[error.code] ?? error.code} ${error.details}`.trim() });
      else if (res?.status === 'SERVING') done({ ok: true, output: `${target}: SERVING` });
      else done({ ok: false, output: `${target}: ${res?.status ?? 'no status'}` });
    });
  });
}
