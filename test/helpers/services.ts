import path from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { ROOT } from './cli.js';

/** The test service agent: HTTP on MN_PORT_API until GET /stop. */
export const HTTP_SERVICE_AGENT = path.join(ROOT, 'test', 'fixtures', 'agents', 'http-service.mjs');

/** A TCP port free on loopback now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A service job whose one agent serves HTTP on `port` and registers `name` with an http check. */
export function httpServiceJob(graphId: string, name: string, port: number, extra: { constraints?: unknown[]; check?: Record<string, unknown>; policies?: Record<string, unknown>; nodePolicies?: Record<string, unknown> } = {}): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    type: 'service',
    entrypoints: ['api'],
    nodes: [
      {
        node_id: 'api',
        agent_type: 'executor',
        config: { command: ['node', HTTP_SERVICE_AGENT] },
        resources: { cpu_cores: 0.1, memory_mb: 32, ports: [{ label: 'api', port }] },
        ...(extra.constraints ? { constraints: extra.constraints } : {}),
        ...(extra.nodePolicies ? { policies: extra.nodePolicies } : {}),
        services: [{ name, address: '127.0.0.1', port: '${env.MN_PORT_API}', tags: ['http'], checks: [{ type: 'http', path: '/health', interval_ms: 200, timeout_ms: 500, ...extra.check }] }],
      },
    ],
    policies: { recovery_mode: 'cluster_recover', ...extra.policies },
  });
}

/** A service job that only registers `name` (no checks: passing at once) from an idle agent. */
export function plainServiceJob(graphId: string, name: string, extra: { constraints?: unknown[]; checks?: unknown[]; tags?: string[] } = {}): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    type: 'service',
    entrypoints: ['svc'],
    nodes: [
      {
        node_id: 'svc',
        agent_type: 'executor',
        config: { command: ['sleep', '600'] },
        resources: { cpu_cores: 0.05, memory_mb: 16 },
        ...(extra.constraints ? { constraints: extra.constraints } : {}),
        services: [{ name, address: '127.0.0.1', port: 1, tags: extra.tags ?? [], checks: extra.checks ?? [] }],
      },
    ],
  });
}
