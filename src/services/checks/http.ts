import { statusAccepted, type RawCheckResult } from '../../core/services/health.js';
import type { InstanceCheck } from '../../core/services/instance.js';
import { checkHost, checkPort, reasonOf } from './target.js';

/** Most bytes of a response body read for `contains`. */
const MAX_BODY = 1 << 20;

/** The URL an http check requests: its `url`, or scheme://address:port/path. */
export function checkUrl(check: InstanceCheck): string | null {
  if (check.url) return check.url;
  const port = checkPort(check);
  if (port === null) return null;
  const host = checkHost(check);
  const path = check.path ? (check.path.startsWith('/') ? check.path : `/${check.path}`) : '/';
  return `${check.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

/**
 * An http check (spec §5.3): the method against the URL; redirects are followed (up to the
 * client's limit, after which the check is critical); the final status must be accepted by
 * `expected_status` (default 200..399), and the body must contain `contains` when given (the first
 * MiB is searched).
 */
export async function httpCheck(check: InstanceCheck, signal: AbortSignal): Promise<RawCheckResult> {
  const url = checkUrl(check);
  if (url === null) return { ok: false, output: `no url and no valid port to request (${JSON.stringify(check.port)})` };
  let response: Response;
  try {
    response = await fetch(url, { method: check.method, redirect: 'follow', signal, headers: { 'user-agent': 'mn-runtime-health-check' } });
  } catch (error) {
    if (signal.aborted) return { ok: false, output: `${check.method} ${url}: no answer within ${check.timeout_ms} ms` };
    return { ok: false, output: `${check.method} ${url}: ${reasonOf(error)}` };
  }
  try {
    if (!statusAccepted(response.status, check.expected_status)) {
      return { ok: false, output: `${check.method} ${url}: HTTP ${response.status}${expected(check)}` };
    }
    if (check.contains !== null && check.method !== 'HEAD') {
      const body = await readBody(response, MAX_BODY);
      if (!body.includes(check.contains)) return { ok: false, output: `${check.method} ${url}: HTTP ${response.status}, body does not contain ${JSON.stringify(check.contains)}` };
    }
    return { ok: true, output: `${check.method} ${url}: HTTP ${response.status}` };
  } catch (error) {
    if (signal.aborted) return { ok: false, output: `${check.method} ${url}: body not read within ${check.timeout_ms} ms` };
    return { ok: false, output: `${check.method} ${url}: ${reasonOf(error)}` };
  } finally {
    await response.body?.cancel().catch(() => undefined);
  }
}

function expected(check: InstanceCheck): string {
  return check.expected_status.length === 0 ? ' (expected 200..399)' : ` (expected ${check.expected_status.map(([a, b]) => (a === b ? String(a) : `${a}..${b}`)).join(', ')})`;
}

/** The start of a body as text, at most `limit` bytes. */
async function readBody(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
