import * as grpc from '@grpc/grpc-js';
import { CLUSTER_SERVICE, JOB_SERVICE, OBSERVABILITY_SERVICE, serviceConstructor } from '../api/protos.js';
import { STATUS_BY_CODE, errorCodeOf } from '../api/status-map.js';
import type { MnErrorCode } from '../core/errors.js';
import { EXIT } from './output.js';

/** An error that ends a CLI command with a message and an exit code (DESIGN §4.1). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The daemon's error code when the daemon answered the call. */
    readonly code: MnErrorCode | null = null,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The daemon address: `--target`, else MN_GRPC_TARGET, else MN_CORE_HOST:MN_GRPC_PORT. */
export function resolveTarget(flag: string | undefined, env: Env = process.env): string {
  if (flag && flag.trim() !== '') return flag.trim();
  if (env.MN_GRPC_TARGET && env.MN_GRPC_TARGET.trim() !== '') return env.MN_GRPC_TARGET.trim();
  const host = env.MN_CORE_HOST?.trim() || '127.0.0.1';
  const port = env.MN_GRPC_PORT?.trim() || '50051';
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

const SERVICES = { job: JOB_SERVICE, cluster: CLUSTER_SERVICE, observability: OBSERVABILITY_SERVICE } as const;
type ServiceKey = keyof typeof SERVICES;

/** A small client over the three services; every call carries the bearer token when one is set. */
export class ApiClient {
  private readonly clients = new Map<ServiceKey, grpc.Client>();

  constructor(
    readonly target: string,
    private readonly token: string | null = null,
    private readonly deadlineMs = 30_000,
  ) {}

  private client(key: ServiceKey): grpc.Client {
    let c = this.clients.get(key);
    if (!c) {
      const Ctor = serviceConstructor(SERVICES[key]);
      c = new Ctor(this.target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
      this.clients.set(key, c);
    }
    return c;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  /** One unary call; failures become {@link CliError}s with the contract's exit codes. */
  call<T>(service: ServiceKey, method: string, request: object): Promise<T> {
    const client = this.client(service) as unknown as Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: T) => void) => void>;
    return new Promise<T>((resolve, reject) => {
      client[method]!.call(this.client(service), request, this.metadata(), { deadline: Date.now() + this.deadlineMs }, (err, res) => {
        if (err) reject(this.translate(err));
        else resolve(res);
      });
    });
  }

  /** A server stream as an async iterable; ends when the server ends it or `signal` aborts. */
  async *stream<T>(service: ServiceKey, method: string, request: object, signal?: AbortSignal): AsyncIterable<T> {
    const client = this.client(service) as unknown as Record<string, (req: object, md: grpc.Metadata) => grpc.ClientReadableStream<T>>;
    const call = client[method]!.call(this.client(service), request, this.metadata());
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const item of call as AsyncIterable<T>) yield item;
    } catch (error) {
      if ((error as grpc.ServiceError).code === grpc.status.CANCELLED && signal?.aborted) return;
      throw this.translate(error as grpc.ServiceError);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private translate(err: grpc.ServiceError): CliError {
    const details = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
    // A runtime error answered by the daemon itself carries its code in metadata; it was reached.
    const code = errorCodeOf(err.metadata);
    if (code !== null) {
      return new CliError(details, STATUS_BY_CODE[code] === grpc.status.RESOURCE_EXHAUSTED ? EXIT.unplaced : EXIT.invalid, code);
    }
    switch (err.code) {
      case grpc.status.UNAVAILABLE:
      case grpc.status.DEADLINE_EXCEEDED:
        return new CliError(`cannot reach the daemon at ${this.target}: ${details}`, EXIT.usage);
      case grpc.status.RESOURCE_EXHAUSTED:
        return new CliError(details, EXIT.unplaced);
      default:
        return new CliError(details, EXIT.invalid);
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** A client for the target and token of the environment and flags. */
export function clientFrom(opts: { target?: string }, env: Env = process.env): ApiClient {
  return new ApiClient(resolveTarget(opts.target, env), env.MN_GRPC_AUTH_TOKEN?.trim() || null);
}
