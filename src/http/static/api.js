// The dashboard's calls to its daemon: JSON reads, token-guarded actions, and server-sent events.

const TOKEN_KEY = 'mn-token';

/** The token typed into the header (kept for this browser tab only). */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** GET a JSON route; throws an Error with the daemon's message on failure. */
export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

/** POST an action with the token; resolves to {ok, status, message, body}. */
export async function act(path, payload = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(payload) });
  const body = await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, message: res.ok ? 'done' : (body?.error?.message ?? `${res.status} ${res.statusText}`), body };
}

/**
 * Live events of one job (or every job when jobId is null). The browser reconnects on its own
 * and resumes after the last event it saw. Returns the function that closes the stream.
 */
export function subscribe(jobId, onEvent, onState) {
  const es = new EventSource(jobId ? `/api/stream?job=${encodeURIComponent(jobId)}` : '/api/stream');
  es.onmessage = (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch {
      // a malformed frame is skipped
    }
  };
  es.addEventListener('open', () => onState?.('live'));
  es.onerror = () => onState?.(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  return () => es.close();
}
