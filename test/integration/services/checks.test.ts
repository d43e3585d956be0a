/**
 * The check runners against real servers on loopback (spec §5.3), including the bad cases of the
 * services issue: nobody listening, an address that never answers, endless redirects, a script
 * that hangs or floods its output, an endpoint that is not gRPC. Each ends critical with a short
 * reason within its timeout.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceCheck } from '../../../src/core/services/instance.js';
import { Launcher } from '../../../src/runtime/exec/launcher.js';
import { runCheck } from '../../../src/services/checks/index.js';

const base: InstanceCheck = {
  type: 'tcp', name: 'c', timeout_ms: 1000, interval_ms: 1000, required: true, failures_before_critical: 1,
  address: '127.0.0.1', port: null, url: null, scheme: 'http', path: null, method: 'GET', expected_status: [], contains: null, service: null, command: null,
};
const check = (extra: Partial<InstanceCheck>): InstanceCheck => ({ ...base, ...extra });
const service = { name: 'api', address: '127.0.0.1', port: 8080 };

let launcher: Launcher;
let cwd: string;
let http: Server;
let httpPort: number;
let silent: TcpServer;
let silentPort: number;
let grpcServer: grpc.Server;
let grpcPort: number;
let health: HealthImplementation;
let closedPort: number;
const silentSockets = new Set<import('node:net').Socket>();

const run = (c: InstanceCheck) => runCheck(c, service, { launcher, cwd });
const timed = async (c: InstanceCheck) => {
  const started = Date.now();
  const r = await run(c);
  return { ...r, ms: Date.now() - started };
};

beforeAll(async () => {
  launcher = new Launcher();
  cwd = mkdtempSync(path.join(tmpdir(), 'mn-checks-'));
  http = createHttpServer((req, res) => {
    if (req.url === '/ok') return void res.end('all good: ready');
    if (req.url === '/fail') return void (res.writeHead(500), res.end('boom'));
    if (req.url === '/loop') return void (res.writeHead(302, { location: '/loop' }), res.end());
    if (req.url === '/hang') return; // never answers
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
  silent = createTcpServer((socket) => void silentSockets.add(socket)); // accepts, never speaks (not gRPC, not HTTP)
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as AddressInfo).port;
  grpcServer = new grpc.Server();
  health = new HealthImplementation({ '': 'SERVING', 'mn.Api': 'NOT_SERVING' });
  health.addToServer(grpcServer);
  grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const probe = createTcpServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  launcher.close();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  grpcServer.forceShutdown();
});

describe('http checks', () => {
  it('pass on an accepted status and a body that contains the text; fail otherwise with the status', async () => {
    expect(await run(check({ type: 'http', port: String(httpPort), path: '/ok' }))).toMatchObject({ ok: true, output: expect.stringContaining('HTTP 200') });
    expect(await run(check({ type: 'http', port: String(httpPort), path: '/ok', contains: 'ready' }))).toMatchObject({ ok: true });
    expect(await run(check({ type: 'http', port: String(httpPort), path: '/ok', contains: 'nope' }))).toMatchObject({ ok: false, output: expect.stringContaining('does not contain "nope"') });
    expect(await run(check({ type: 'http', port: String(httpPort), path: '/fail' }))).toMatchObject({ ok: false, output: expect.stringContaining('HTTP 500 (expected 200..399)') });
    expect(await run(check({ type: 'http', port: String(httpPort), path: '/fail', expected_status: [[500, 599]] }))).toMatchObject({ ok: true });
    expect(await run(check({ type: 'http', url: `http://127.0.0.1:${httpPort}/ok`, method: 'HEAD' }))).toMatchObject({ ok: true });
  });

  it('end critical with a short reason: nobody listening, endless redirects, no answer (within the timeout)', async () => {
    const refused = await timed(check({ type: 'http', port: String(closedPort) }));
    expect(refused).toMatchObject({ ok: false, output: expect.stringContaining('ECONNREFUSED') });
    const loop = await timed(check({ type: 'http', port: String(httpPort), path: '/loop' }));
    expect(loop.ok).toBe(false);
    expect(loop.output).toMatch(/redirect/i);
    const hang = await timed(check({ type: 'http', port: String(httpPort), path: '/hang', timeout_ms: 300 }));
    expect(hang).toMatchObject({ ok: false, output: expect.stringContaining('no answer within 300 ms') });
    expect(hang.ms).toBeLessThan(300 + 1000);
    for (const r of [refused, loop, hang]) expect(r.output.length).toBeLessThan(300);
  });
});

describe('tcp checks', () => {
  it('pass when a connection opens, fail on a closed port and on an address that never answers', async () => {
    expect(await run(check({ port: String(httpPort) }))).toMatchObject({ ok: true });
    expect(await run(check({ port: String(closedPort) }))).toMatchObject({ ok: false, output: expect.stringContaining('ECONNREFUSED') });
    // A TEST-NET-1 address: nothing answers there (refused by the network or timed out, never passing).
    const blackhole = await timed(check({ address: '192.0.2.1', port: '9', timeout_ms: 300 }));
    expect(blackhole.ok).toBe(false);
    expect(blackhole.ms).toBeLessThan(300 + 1000);
    expect(await run(check({ port: null }))).toMatchObject({ ok: false, output: expect.stringContaining('no valid port') });
  });
});

describe('grpc checks', () => {
  it('pass only on SERVING, for the server or a named service', async () => {
    expect(await run(check({ type: 'grpc', port: String(grpcPort) }))).toMatchObject({ ok: true, output: expect.stringContaining('SERVING') });
    expect(await run(check({ type: 'grpc', port: String(grpcPort), service: 'mn.Api' }))).toMatchObject({ ok: false, output: expect.stringContaining('NOT_SERVING') });
    expect(await run(check({ type: 'grpc', port: String(grpcPort), service: 'mn.Unknown' }))).toMatchObject({ ok: false, output: expect.stringContaining('NOT_FOUND') });
    health.setStatus('mn.Api', 'SERVING');
    expect(await run(check({ type: 'grpc', port: String(grpcPort), service: 'mn.Api' }))).toMatchObject({ ok: true });
  });

  it('fail against an endpoint that is not gRPC and against a closed port, within the timeout', async () => {
    const notGrpc = await timed(check({ type: 'grpc', port: String(silentPort), timeout_ms: 500 }));
    expect(notGrpc.ok).toBe(false);
    expect(notGrpc.ms).toBeLessThan(500 + 1000);
    const http1 = await timed(check({ type: 'grpc', port: String(httpPort), timeout_ms: 500 }));
    expect(http1.ok).toBe(false);
    expect((await run(check({ type: 'grpc', port: String(closedPort), timeout_ms: 500 }))).ok).toBe(false);
  });
});

describe('script checks', () => {
  it('run argv without a shell, with the service variables; exit 0 passes', async () => {
    const ok = await run(check({ type: 'script', command: ['/bin/sh', '-c', 'echo "$MN_SERVICE_NAME $MN_SERVICE_ADDRESS $MN_SERVICE_PORT"'], port: null, address: null }));
    expect(ok).toEqual({ ok: true, output: 'api 127.0.0.1 8080' });
    expect(await run(check({ type: 'script', command: ['/bin/sh', '-c', 'echo not ready >&2; exit 3'] }))).toEqual({ ok: false, output: 'exit 3: not ready' });
    // No shell: metacharacters are plain arguments.
    expect(await run(check({ type: 'script', command: ['/bin/echo', '$(id)', ';', 'ls'] }))).toEqual({ ok: true, output: '$(id) ; ls' });
    expect(await run(check({ type: 'script', command: ['/no/such/tool'] }))).toMatchObject({ ok: false, output: expect.stringContaining('command not found') });
  });

  it('kill a script that hangs at its timeout and cut one that prints megabytes', async () => {
    const hang = await timed(check({ type: 'script', command: ['sleep', '30'], timeout_ms: 300 }));
    expect(hang.ok).toBe(false);
    expect(hang.output).toMatch(/timed out after 300 ms|no result within 300 ms/);
    expect(hang.ms).toBeLessThan(300 + 1000);
    const flood = await run(check({ type: 'script', command: ['/bin/sh', '-c', 'head -c 5000000 /dev/zero | tr "\\0" x; exit 1'], timeout_ms: 5000 }));
    expect(flood.ok).toBe(false);
    expect(flood.output.length).toBeLessThan(300);
  });
});
