/**
 * The daemon's HTTP port (MN_HTTP_PORT): the dashboard (static preact + htm modules, no build
 * step), its JSON API (the same reads as the gRPC handlers, {@link ../api/reads.ts}), live updates
 * as server-sent events, the token-guarded actions, and Prometheus `/metrics`. Read-only for
 * anyone who reaches it; every action needs the daemon's MN_GRPC_AUTH_TOKEN as a bearer token,
 * exactly like the mutating gRPC calls.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bearerOf, requireBearer } from '../api/auth.js';
import type { ApiContext } from '../api/job-service.js';
import { isMnError, MnError, type MnErrorCode } from '../core/errors.js';
import { type Logger, errorFields } from '../observability/log.js';
import { httpRequests, sseDropped, sseStreams } from '../observability/metrics.js';
import type { StoredEvent } from '../store/store.js';
import { dashboardApi } from './routes.js';
import { DEFAULT_SSE_LIMITS, SseConnection, type SseLimits, sseFrame } from './sse.js';

export interface HttpServerOptions {
  ctx: ApiContext;
  host: string;
  port: number;
  logger: Logger;
  /** The `/metrics` exposition. */
  metrics: () => Promise<{ contentType: string; text: string }>;
  sse?: Partial<SseLimits>;
}

export interface HttpServer {
  /** `http://host:port/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const HTTP_STATUS: Partial<Record<MnErrorCode, number>> = {
  MN_E_NOT_FOUND: 404,
  MN_E_INVALID_ARGUMENT: 400,
  MN_E_INVALID_MANIFEST: 400,
  MN_E_UNAUTHENTICATED: 401,
  MN_E_PERMISSION_DENIED: 403,
  MN_E_CONFLICT: 409,
  MN_E_FAILED_PRECONDITION: 409,
  MN_E_FENCED: 409,
  MN_E_LEASE_LOST: 409,
  MN_E_RESOURCE_EXHAUSTED: 429,
  MN_E_STORE_UNAVAILABLE: 503,
};

/** Pages of the single-page app: each is answered with index.html; anything else is a 404 page. */
const APP_ROUTES = [/^\/$/, /^\/jobs\/?$/, /^\/jobs\/[^/]+\/?$/, /^\/services\/?$/, /^\/events\/?$/, /^\/deployments\/?$/, /^\/deployments\/[^/]+\/?$/, /^\/schedules\/?$/];

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const require = createRequire(import.meta.url);
/** The vendored browser modules, served from node_modules as they ship (ES modules). */
const VENDOR: Record<string, string> = {
  'preact.mjs': path.join(path.dirname(require.resolve('preact')), 'preact.module.js'),
  'preact-hooks.mjs': path.join(path.dirname(require.resolve('preact/hooks')), 'hooks.module.js'),
  'htm.mjs': path.join(path.dirname(require.resolve('htm')), 'htm.module.js'),
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
/** Only the app's own files; nothing else on disk is reachable. */
const STATIC_FILES = new Set(['index.html', 'app.js', 'pages.js', 'graph.js', 'api.js', 'style.css', 'not-found.html']);
/** Scripts only from this origin; no inline script; images only from here (a data: favicon). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Starts the HTTP port; rejects when the port cannot be bound. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { ctx, logger } = options;
  const limits: SseLimits = { ...DEFAULT_SSE_LIMITS, ...options.sse };
  const api = dashboardApi(ctx);
  const streams = new Set<AbortController>();
  const cache = new Map<string, Buffer>();

  const file = async (name: string): Promise<Buffer> => {
    let body = cache.get(name);
    if (!body) {
      body = await readFile(VENDOR[name] ?? path.join(STATIC_DIR, name));
      // The hooks module imports "preact" by its bare name; browsers need the URL (no import map: the CSP allows no inline script).
      if (name === 'preact-hooks.mjs') body = Buffer.from(body.toString('utf8').replace(/from\s*"preact"/g, 'from"/static/vendor/preact.mjs"'));
      cache.set(name, body);
    }
    return body;
  };

  const send = (res: http.ServerResponse, code: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    res.writeHead(code, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const json = (res: http.ServerResponse, code: number, value: unknown): void => send(res, code, 'application/json; charset=utf-8', JSON.stringify(value));
  const fail = (res: http.ServerResponse, error: unknown, what: string): number => {
    if (isMnError(error) && error.code !== 'MN_E_INTERNAL') {
      const code = HTTP_STATUS[error.code] ?? 500;
      json(res, code, { error: { code: error.code, message: error.message } });
      return code;
    }
    logger.error({ ...errorFields(error), route: what }, `internal error in ${what}`);
    json(res, 500, { error: { code: 'MN_E_INTERNAL', message: 'internal error (details are in the daemon log)' } });
    return 500;
  };

  const stream = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const jobId = url.searchParams.get('job') || null;
    if (jobId !== null) await ctx.jobs.get(jobId); // 404 for an unknown job
    if (streams.size >= limits.maxStreams) {
      throw new MnError('MN_E_RESOURCE_EXHAUSTED', `this daemon already serves ${limits.maxStreams} event streams; close other dashboard tabs or use another daemon`);
    }
    const lastId = typeof req.headers['last-event-id'] === 'string' && /^\d+-\d+$/.test(req.headers['last-event-id']) ? req.headers['last-event-id'] : undefined;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'keep-alive' });
    res.flushHeaders();
    const controller = new AbortController();
    streams.add(controller);
    sseStreams.inc();
    const conn = new SseConnection(res, limits);
    res.once('close', () => controller.abort());
    // A comment every 15 s: proxies keep the stream open, and a vanished browser is noticed.
    const ping = setInterval(() => void conn.send(': ping\n\n'), 15_000);
    ping.unref();
    try {
      await conn.send(sseFrame({ type: 'stream_open', job_id: jobId }, { event: 'open' }));
      const events = ctx.store.followEvents(jobId, { ...(lastId ? { afterId: lastId } : {}), signal: controller.signal });
      for await (const event of events as AsyncIterable<StoredEvent>) {
        const end = await conn.send(sseFrame(event, { id: event.id }));
        if (end !== null) {
          if (end !== 'closed') {
            sseDropped.inc();
            logger.debug({ reason: end, job_id: jobId ?? undefined }, 'dashboard event stream dropped: the browser fell behind');
          }
          break;
        }
      }
    } finally {
      clearInterval(ping);
      controller.abort();
      streams.delete(controller);
      sseStreams.dec();
      if (!res.destroyed) res.end();
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    if (p === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
      const m = await options.metrics();
      send(res, 200, m.contentType, m.text);
      return 'metrics';
    }
    if (p === '/api/stream') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      await stream(req, res, url);
      return 'stream';
    }
    if (p.startsWith('/api/')) {
      const route = api.match(req.method ?? 'GET', p);
      if (route === null) {
        json(res, 404, { error: { code: 'MN_E_NOT_FOUND', message: `no API route ${req.method} ${p}` } });
        return 'api';
      }
      let body: Record<string, unknown> = {};
      if (route.action) {
        // A JSON body only: a cross-site form cannot send one without a CORS preflight, which this port never grants.
        if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
          throw new MnError('MN_E_INVALID_ARGUMENT', 'actions take a JSON body (content-type: application/json)', { details: { field: 'content-type' } });
        }
        requireBearer(bearerOf(req.headers.authorization), ctx.authToken, route.name);
        body = await readJson(req);
      }
      json(res, 200, await route.run(url.searchParams, body));
      return 'api';
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
    const asset = /^\/static\/(?:vendor\/)?([a-z0-9.-]+)$/.exec(p);
    if (asset) {
      const name = asset[1]!;
      const vendored = p.startsWith('/static/vendor/');
      if ((vendored && VENDOR[name]) || (!vendored && STATIC_FILES.has(name))) {
        send(res, 200, TYPES[path.extname(name)] ?? 'application/octet-stream', await file(name), { 'cache-control': 'no-cache' });
        return 'static';
      }
    }
    if (APP_ROUTES.some((r) => r.test(p))) {
      send(res, 200, TYPES['.html']!, await file('index.html'), { 'content-security-policy': CSP });
      return 'page';
    }
    send(res, 404, TYPES['.html']!, await file('not-found.html'), { 'content-security-policy': CSP });
    return 'not_found';
  };

  const server = http.createServer((req, res) => {
    handle(req, res).then(
      (route) => httpRequests.inc({ route, code: String(res.statusCode) }),
      (error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const code = fail(res, error, `${req.method} ${(req.url ?? '').split('?')[0]}`);
        httpRequests.inc({ route: 'api', code: String(code) });
      },
    );
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error(errorFields(error), 'dashboard port error'));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function methodNotAllowed(res: http.ServerResponse, allow: string): string {
  res.writeHead(405, { allow, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code: 'MN_E_INVALID_ARGUMENT', message: `method not allowed; use ${allow}` } }));
  return 'method';
}

const MAX_BODY_BYTES = 64 * 1024;

/** The request's JSON body (an object; empty means `{}`), at most 64 KiB. */
async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new MnError('MN_E_INVALID_ARGUMENT', `request body exceeds ${MAX_BODY_BYTES} bytes`, { details: { field: 'body' } });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `body: ${(error as Error).message}`, { details: { field: 'body' } });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MnError('MN_E_INVALID_ARGUMENT', 'body must be a JSON object', { details: { field: 'body' } });
  return value as Record<string, unknown>;
}
