import type { JobType } from '../manifest/types.js';

/** How an executor agent runs (from its `config`). */
export interface ExecutorCommand {
  argv: string[];
  /** Milliseconds before the process is killed; null for no limit. */
  timeoutMs: number | null;
}

/**
 * Resolves an executor's `config.command` (issue text: argv, no shell unless the manifest asks):
 * a list of strings runs as argv; a string runs through `/bin/sh -c` only with `config.shell:
 * true`. Returns the reason when the config cannot run.
 */
export function executorCommand(config: Record<string, unknown>): { ok: true; command: ExecutorCommand } | { ok: false; message: string } {
  const raw = config.command;
  const timeout = config.timeout_ms;
  let timeoutMs: number | null = null;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0) return { ok: false, message: `config.timeout_ms must be a positive integer, got ${JSON.stringify(timeout)}` };
    timeoutMs = timeout;
  }
  if (Array.isArray(raw) && raw.length > 0 && raw.every((a) => typeof a === 'string') && raw[0] !== '') {
    return { ok: true, command: { argv: raw as string[], timeoutMs } };
  }
  if (typeof raw === 'string' && raw.trim() !== '') {
    if (config.shell === true) return { ok: true, command: { argv: ['/bin/sh', '-c', raw], timeoutMs } };
    return { ok: false, message: 'config.command must be a list of strings (argv); a string runs through a shell only with config.shell: true' };
  }
  return { ok: false, message: `config.command must be a non-empty list of strings, got ${JSON.stringify(raw ?? null)}` };
}

/** An `mn-msg/1` message (spec §2.1) with the envelope defaults filled in. */
export interface Message {
  envelope: {
    spec_version: 'mn-msg/1';
    message_id: string;
    job_id: string;
    from: string;
    to: string;
    type: string;
    class: string;
    timestamp: string;
    correlation_id: string;
    attempt: number;
    priority: number;
    content_type: string;
    content_encoding: string;
  };
  headers: Record<string, unknown>;
  body: unknown;
  artifacts: unknown[];
  stream: null;
}

/** The message an entrypoint agent starts with: one of the job's initial inputs, from `runtime`. */
export function initialMessage(args: { jobId: string; to: string; body: unknown; messageId: string; now: number }): Message {
  return {
    envelope: {
      spec_version: 'mn-msg/1',
      message_id: args.messageId,
      job_id: args.jobId,
      from: 'runtime',
      to: args.to,
      type: 'init',
      class: 'event',
      timestamp: new Date(args.now).toISOString(),
      correlation_id: args.messageId,
      attempt: 1,
      priority: 100,
      content_type: 'application/json',
      content_encoding: 'identity',
    },
    headers: {},
    body: args.body,
    artifacts: [],
    stream: null,
  };
}

const TERMINAL_AGENT = new Set(['completed', 'failed', 'stopped', 'lost']);

/**
 * The job status its agents imply: `running` once any agent started; for batch jobs `completed`
 * when every agent completed and `failed` when all finished and one failed or was lost. Null
 * when nothing changes. Service and system jobs keep running.
 */
export function jobStatusFromAgents(type: JobType, current: string, agents: ReadonlyArray<{ state: string }>): 'running' | 'completed' | 'failed' | null {
  if (agents.length === 0) return null;
  const finished = agents.every((a) => TERMINAL_AGENT.has(a.state));
  if ((type === 'batch' || type === 'sysbatch') && finished) {
    return agents.every((a) => a.state === 'completed') ? 'completed' : 'failed';
  }
  if (current === 'scheduled' && agents.some((a) => a.state !== 'pending')) return 'running';
  return null;
}
