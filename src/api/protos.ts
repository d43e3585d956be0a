import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The package's proto/ folder, found from this module both in src/ (tests) and dist/src/ (built). */
export function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, 'job.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('proto/ folder not found next to the mn-runtime package');
}

export const PROTO_FILES = ['job.proto', 'cluster.proto', 'observability.proto'];

let cached: { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } | undefined;

/** Loads the gRPC contract once (snake_case fields, as on the wire). */
export function loadContract(): { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } {
  if (!cached) {
    const dir = protoDir();
    const definition = protoLoader.loadSync(PROTO_FILES.map((f) => path.join(dir, f)), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [dir],
    });
    cached = { definition, grpcObject: grpc.loadPackageDefinition(definition) };
  }
  return cached;
}

/** The service constructor at a dotted name such as `mirrorneuron.job.v1.JobService`. */
export function serviceConstructor(name: string): grpc.ServiceClientConstructor {
  let node: unknown = loadContract().grpcObject;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`gRPC service ${name} is not in the contract`);
  return node as grpc.ServiceClientConstructor;
}

export const JOB_SERVICE = 'mirrorneuron.job.v1.JobService';
export const CLUSTER_SERVICE = 'mirrorneuron.cluster.v1.ClusterService';
export const OBSERVABILITY_SERVICE = 'mirrorneuron.observability.v1.ObservabilityService';
