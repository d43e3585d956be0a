import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { ApiClient, CliError, clientFrom } from '../client.js';
import { EXIT, printJson, say, table } from '../output.js';

interface TargetOpts { target?: string; json?: boolean }
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** `mn job run|list|status|events|pause|resume|cancel`. */
export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('submit and control jobs on a daemon');
  const withTarget = (c: Command): Command => c.option('--target <host:port>', 'daemon address (default MN_GRPC_TARGET or MN_CORE_HOST:MN_GRPC_PORT)').option('--json', 'print one JSON document');

  withTarget(job.command('run').description('submit a bundle; without --detach, follow the job to its end').argument('<bundle>'))
    .option('--detach', 'return once the job is submitted')
    .action(async (target: string, opts: TargetOpts & { detach?: boolean }) => {
      const bundle = await loadBundle(target);
      if (!bundle.ok || !bundle.manifest) {
        const lines = bundle.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`);
        throw new CliError(`${target} is not a valid bundle:\n  ${lines.join('\n  ')}`, bundle.unreadable ? EXIT.usage : EXIT.invalid);
      }
      const payloads = await readPayloads(bundle.root, bundle.manifestPath !== path.join(bundle.root, 'manifest.json'));
      const client = clientFrom(opts);
      try {
        const res = await client.call<{ job_id: string; status: string }>('job', 'SubmitJob', { manifest_json: JSON.stringify(bundle.manifest), payloads });
        if (opts.detach) {
          if (opts.json) printJson({ job_id: res.job_id, status: res.status });
          else say(`${res.job_id} ${res.status}`);
          return;
        }
        if (!opts.json) say(`${res.job_id} ${res.status}; following (Ctrl-C stops following, not the job)`);
        const progress = process.stderr.isTTY ? startProgress(client, res.job_id) : null;
        const final = await follow(client, res.job_id, !opts.json && !progress).finally(() => progress?.stop());
        if (opts.json) printJson({ job_id: res.job_id, status: final });
        process.exitCode = final === 'completed' ? EXIT.ok : EXIT.invalid;
      } finally {
        client.close();
      }
    });

  withTarget(job.command('list').description('list jobs')).option('--all', 'include completed, failed and cancelled jobs').option('--limit <n>', 'at most n jobs', '50')
    .action(async (opts: TargetOpts & { all?: boolean; limit: string }) => {
      const jobs = await withClient(opts, async (c) => JSON.parse((await c.call<{ jobs_json: string }>('job', 'ListJobs', { limit: Number(opts.limit) || 0, include_terminal: !!opts.all })).jobs_json) as Array<Record<string, unknown>>);
      if (opts.json) return printJson(jobs);
      if (jobs.length === 0) return say('no jobs');
      say(table([['JOB', 'STATUS', 'CREATED'], ...jobs.map((j) => [j.job_id as string, j.status as string, new Date(j.created_at as number).toISOString()])]));
    });

  withTarget(job.command('status').description("a job's status and its agents").argument('<job_id>'))
    .action(async (jobId: string, opts: TargetOpts) => {
      const record = await withClient(opts, async (c) => JSON.parse((await c.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as Record<string, unknown>);
      const agents = (record.agents as Array<Record<string, unknown>>).map((a) => ({ agent_id: a.agent_id, node: a.node, state: a.state, restarts: a.restarts }));
      if (opts.json) {
        return printJson({ job_id: record.job_id, status: record.status, version: record.version, created_at: record.created_at, updated_at: record.updated_at, agents });
      }
      say(`${record.job_id}: ${record.status} (${agents.length} agents)`);
      if (agents.length > 0) say(table([['AGENT', 'NODE', 'STATE', 'RESTARTS'], ...agents.map((a) => [a.agent_id as string, a.node as string, a.state as string, a.restarts as number])]));
    });

  withTarget(job.command('events').description("a job's events").argument('<job_id>')).option('--follow', 'keep streaming new events (one JSON object per line with --json)')
    .action(async (jobId: string, opts: TargetOpts & { follow?: boolean }) => {
      const client = clientFrom(opts);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      try {
        const events: unknown[] = [];
        for await (const item of client.stream<{ event_json: string }>('observability', 'StreamEvents', { job_id: jobId, follow: !!opts.follow, heartbeat_interval_ms: 0 }, controller.signal)) {
          const event = JSON.parse(item.event_json) as Record<string, unknown>;
          if (opts.json && !opts.follow) events.push(event);
          else if (opts.json) say(JSON.stringify(event));
          else say(formatEvent(event));
        }
        if (opts.json && !opts.follow) printJson(events);
      } finally {
        client.close();
      }
    });

  for (const [verb, rpc, text] of [['pause', 'PauseJob', 'pause a job'], ['resume', 'ResumeJob', 'resume a paused job'], ['cancel', 'CancelJob', 'cancel a job']] as const) {
    withTarget(job.command(verb).description(text).argument('<job_id>')).action(async (jobId: string, opts: TargetOpts) => {
      const res = await withClient(opts, (c) => c.call<{ job_id: string; status: string }>('job', rpc, { job_id: jobId }));
      if (opts.json) printJson(res);
      else say(`${res.job_id} ${res.status}`);
    });
  }
}

/** Runs `fn` with a client for the command's target and closes it afterwards. */
export async function withClient<T>(opts: { target?: string }, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = clientFrom(opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function formatEvent(e: Record<string, unknown>): string {
  const at = typeof e.timestamp === 'number' ? new Date(e.timestamp).toISOString() : '';
  const payload = e.payload && Object.keys(e.payload as object).length > 0 ? ` ${JSON.stringify(e.payload)}` : '';
  return `${at} ${e.type}${e.agent_id ? ` ${e.agent_id}` : ''}${payload}`;
}

/**
 * A live status line on stderr while a job runs: placed agents by state. Used only on a terminal;
 * piped output stays quiet.
 */
function startProgress(client: ApiClient, jobId: string): { stop(): void } {
  let line = '';
  let busy = false;
  const draw = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const record = JSON.parse((await client.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as { status: string; agents: Array<{ state: string }> };
      const counts = new Map<string, number>();
      for (const a of record.agents) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
      const parts = ['pending', 'running', 'completed', 'failed'].map((s) => `${s} ${counts.get(s) ?? 0}`);
      line = `${jobId}: ${record.status}, ${record.agents.length} placed (${parts.join(', ')})`;
      process.stderr.write(`\r\x1b[2K${line}`);
    } catch {
      // The event stream reports failures; the status line just skips a beat.
    } finally {
      busy = false;
    }
  };
  void draw();
  const timer = setInterval(() => void draw(), 1000);
  return {
    stop() {
      clearInterval(timer);
      if (line) process.stderr.write('\n');
    },
  };
}

/** Follows a job's events until it reaches a terminal status; returns that status. */
async function follow(client: ApiClient, jobId: string, print: boolean): Promise<string> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  let status = 'scheduled';
  try {
    for await (const item of client.stream<{ event_json: string }>('observability', 'StreamEvents', { job_id: jobId, follow: true, heartbeat_interval_ms: 0 }, controller.signal)) {
      const event = JSON.parse(item.event_json) as Record<string, unknown>;
      if (print) say(formatEvent(event));
      const s = (event.payload as Record<string, unknown> | undefined)?.status;
      if (typeof s === 'string') status = s;
      if (TERMINAL.has(status)) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    controller.abort();
  }
  return status;
}

/** The bundle's payloads/ and config/ files as `relative path → bytes`. */
async function readPayloads(root: string, bareManifest: boolean): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  if (bareManifest) return out;
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    const abs = path.join(root, rel);
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) await walk(childRel);
      else if (entry.isFile()) {
        total += (await stat(path.join(root, childRel))).size;
        if (total > MAX_PAYLOAD_BYTES) throw new CliError(`bundle payloads exceed ${MAX_PAYLOAD_BYTES} bytes`, EXIT.invalid);
        out[childRel] = await readFile(path.join(root, childRel));
      }
    }
  };
  await walk('payloads');
  await walk('config');
  return out;
}
