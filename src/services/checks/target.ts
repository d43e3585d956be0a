import type { InstanceCheck } from '../../core/services/instance.js';

/** Where a check connects: its own address or the service's, else the loopback address. */
export function checkHost(check: InstanceCheck): string {
  const host = check.address && check.address.trim() !== '' ? check.address.trim() : '127.0.0.1';
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The check's port as a number, or null when it has none or it is not a valid port. */
export function checkPort(check: InstanceCheck): number | null {
  if (check.port === null) return null;
  const n = Number(check.port);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}

/** A short reason from an error (no stack, no library noise). */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const code = (error as NodeJS.ErrnoException).code ?? (cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined);
    const message = cause instanceof Error && error.message === 'fetch failed' ? cause.message : error.message;
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
