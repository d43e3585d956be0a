import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { clusterServiceHandlers } from './cluster-service.js';
import { type ApiContext, jobServiceHandlers } from './job-service.js';
import { observabilityServiceHandlers } from './observability-service.js';
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
  server.addService(serviceConstructor(JOB_SERVICE).service, jobServiceHandlers(ctx));
  server.addService(serviceConstructor(CLUSTER_SERVICE).service, clusterServiceHandlers(ctx));
  server.addService(serviceConstructor(OBSERVABILITY_SERVICE).service, observabilityServiceHandlers(ctx));
  const health = new HealthImplementation({ '': 'SERVING', [JOB_SERVICE]: 'SERVING', [CLUSTER_SERVICE]: 'SERVING', [OBSERVABILITY_SERVICE]: 'SERVING' });
  health.addToServer(server);
  new ReflectionService(loadContract().definition).addToServer(server);

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
