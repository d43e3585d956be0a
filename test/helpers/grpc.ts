import * as grpc from '@grpc/grpc-js';
import { serviceConstructor } from '../../src/api/protos.js';

/** Result of a raw unary call: the response, or the gRPC status code and details. */
export interface RawResult<T> {
  code: grpc.status;
  details: string;
  res: T | null;
}

/** One unary call over real gRPC, keeping the status code (tests assert on it). */
export function rawCall<T = Record<string, string>>(
  target: string,
  service: string,
  method: string,
  request: object,
  token?: string,
): Promise<RawResult<T>> {
  const Ctor = serviceConstructor(service);
  const client = new Ctor(target, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    (client as unknown as Record<string, Function>)[method]!.call(client, request, md, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: T) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details, res: null } : { code: grpc.status.OK, details: '', res });
    });
  });
}
