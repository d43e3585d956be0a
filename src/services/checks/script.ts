import type { RawCheckResult } from '../../core/services/health.js';
import type { InstanceCheck } from '../../core/services/instance.js';
import type { Launcher } from '../../runtime/exec/launcher.js';

/** Characters of a script's output kept as the check's output. */
const OUTPUT_CHARS = 200;

/**
 * A script check (spec §5.3): the argv (never a shell) with `MN_SERVICE_NAME`,
 * `MN_SERVICE_ADDRESS` and `MN_SERVICE_PORT`; exit 0 passes. It runs from the daemon's small
 * launcher process; a script that hangs is killed at `timeout_ms`, and what it prints is cut.
 */
export async function scriptCheck(
  check: InstanceCheck,
  service: { name: string; address: string | null; port: number | null },
  launcher: Launcher,
  cwd: string,
  signal: AbortSignal,
): Promise<RawCheckResult> {
  if (!check.command || check.command.length === 0) return { ok: false, output: 'script check has no command' };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MN_SERVICE_NAME: service.name,
    MN_SERVICE_ADDRESS: check.address ?? service.address ?? '',
    MN_SERVICE_PORT: check.port ?? (service.port === null ? '' : String(service.port)),
  };
  const r = await launcher.run({ command: { argv: check.command, timeoutMs: check.timeout_ms }, cwd, env, stdin: '', signal });
  const text = `${r.stdout}${r.stderr}`.trim().replace(/\s+/g, ' ');
  const out = text.length > OUTPUT_CHARS ? `${text.slice(0, OUTPUT_CHARS)}...` : text;
  if (r.exit_code === 0) return { ok: true, output: out || 'exit 0' };
  const why = r.aborted || signal.aborted ? `timed out after ${check.timeout_ms} ms` : r.error ?? (r.exit_code !== null ? `exit ${r.exit_code}` : `killed by ${r.signal}`);
  return { ok: false, output: out ? `${why}: ${out}` : why };
}
