import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { clusterServiceHandlers } from './cluster-service.js';
import { type ApiContext, jobServiceHandlers } from './job-service.js';
import { observabilityServiceHandlers } from './observability-service.js';
import { ERROR_CODE_METADATA } from './status-map.js';
import { reflectionDefinition } from './reflection.js';
import { CLUSTER_SERVICE, JOB_SERVICE, OBSERVABILITY_SERVICE, loadContract, serviceConstructor } from './protos.js';

export interface ApiServer {
  /** `host:port` actually bound (port 0 resolves to a free port). */
  address: string;
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls and ends open streams after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts the gRPC server: the three runtime services, the standard health service and server
 * reflection, so that generic clients (grpcurl, Postman) work without the proto files.
 */
export async function startApiServer(ctx: ApiContext, bind: { host: string; port: number }): Promise<ApiServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(...refusingMalformed(serviceConstructor(JOB_SERVICE).service, jobServiceHandlers(ctx)));
  server.addService(...refusingMalformed(serviceConstructor(CLUSTER_SERVICE).service, clusterServiceHandlers(ctx)));
  server.addService(...refusingMalformed(serviceConstructor(OBSERVABILITY_SERVICE).service, observabilityServiceHandlers(ctx)));
  const health = new HealthImplementation({ '': 'SERVING', [JOB_SERVICE]: 'SERVING', [CLUSTER_SERVICE]: 'SERVING', [OBSERVABILITY_SERVICE]: 'SERVING' });
  health.addToServer(server);
  new ReflectionService(reflectionDefinition(loadContract().definition)).addToServer(server);

  const host = bind.host.includes(':') && !bind.host.startsWith('[') ? `[${bind.host}]` : bind.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${bind.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    address: `${bind.host}:${port}`,
    port,
    health,
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** Marks a request whose bytes did not parse as its message type. */
const MALFORMED = Symbol('mn.malformed-request');

interface MalformedRequest {
  [MALFORMED]: string;
}

function isMalformed(value: unknown): value is MalformedRequest {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

/**
 * A service whose requests that do not parse are refused with INVALID_ARGUMENT naming the message
 * type (grpc-js answers INTERNAL for them): the deserializer returns a marker instead of throwing,
 * and the handler answers the marker without running.
 */
export function refusingMalformed(
  definition: grpc.ServiceDefinition,
  handlers: grpc.UntypedServiceImplementation,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)) {
    const type = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? 'the request message';
    defs[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return { [MALFORMED]: `request bytes do not parse as ${type} (${error instanceof Error ? error.message : String(error)})` } satisfies MalformedRequest;
        }
      },
    };
    const handler = handlers[name];
    if (handler === undefined) continue;
    const refusal = (request: MalformedRequest): Partial<grpc.StatusObject> => {
      const metadata = new grpc.Metadata();
      metadata.set(ERROR_CODE_METADATA, 'MN_E_INVALID_ARGUMENT');
      return { code: grpc.status.INVALID_ARGUMENT, details: `MN_E_INVALID_ARGUMENT: ${request[MALFORMED]}`, metadata };
    };
    if (!method.requestStream && !method.responseStream) {
      const unaryHandler = handler as grpc.handleUnaryCall<unknown, unknown>;
      impl[name] = ((call, callback) => {
        if (isMalformed(call.request)) callback(refusal(call.request), null);
        else unaryHandler(call, callback);
      }) satisfies grpc.handleUnaryCall<unknown, unknown>;
    } else if (!method.requestStream && method.responseStream) {
      const streamHandler = handler as grpc.handleServerStreamingCall<unknown, unknown>;
      impl[name] = ((call) => {
        if (isMalformed(call.request)) call.emit('error', refusal(call.request));
        else streamHandler(call);
      }) satisfies grpc.handleServerStreamingCall<unknown, unknown>;
    } else {
      impl[name] = handler;
    }
  }
  return [defs as grpc.ServiceDefinition, impl];
}
