import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadBundle, moduleFiles } from '../../bundle/load.js';
import { issueText } from '../../core/manifest/context.js';
import { ApiClient, CliError, clientFrom } from '../client.js';
import { EXIT, type ProgressCounts, colorEnabled, printJson, renderProgress, say, table } from '../output.js';
import { ageOf, renderTable } from '../table.js';
import { countsOf, progressLine } from '../progress.js';

interface TargetOpts { target?: string; json?: boolean }
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Events that end a job: following stops after one of them. */
const TERMINAL_EVENTS = new Set(['job_completed', 'job_failed', 'job_cancelled']);
/** How often a follower asks the daemon for heartbeats, to notice a job that ended without its event. */
const FOLLOW_HEARTBEAT_MS = 5000;
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** `mn job run|list|status|events|logs|result|dead-letters|pause|resume|cancel`. */
export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('submit and control jobs on a daemon');
  const withTarget = (c: Command): Command => c.option('--target <host:port>', 'daemon address (default MN_GRPC_TARGET or MN_CORE_HOST:MN_GRPC_PORT)').option('--json', 'print one JSON document');

  withTarget(job.command('run').description('submit a bundle; without --detach, follow the job to its end').argument('<bundle>'))
    .option('--detach', 'return once the job is submitted')
    .option('--force', 'start even if its required_services are not met (the job records the skipped check)')
    .option('--no-queue', 'refuse the job (exit 3) when it cannot start now, instead of queueing it')
    .action(async (target: string, opts: TargetOpts & { detach?: boolean; force?: boolean; queue?: boolean }) => {
      const { manifest, payloads } = await readBundle(target);
      const client = clientFrom(opts);
      try {
        const res = await client.call<{ job_id: string; status: string; queue_json?: string }>('job', 'SubmitJob', { manifest_json: JSON.stringify(manifest), payloads, force: !!opts.force, no_queue: opts.queue === false });
        const queue = res.queue_json ? (JSON.parse(res.queue_json) as QueuePlaceView) : null;
        if (opts.detach) {
          if (opts.json) printJson({ job_id: res.job_id, status: res.status, ...(queue ? { queue } : {}) });
          else say(`${res.job_id} ${statusText(res.status, queue)}`);
          return;
        }
        if (!opts.json) say(`${res.job_id} ${statusText(res.status, queue)}; following (Ctrl-C stops following, not the job)`);
        if (!opts.json && queue) say(`${res.job_id} is queued: it starts when capacity frees, after the jobs ahead of it`);
        const progress = process.stderr.isTTY ? startProgress(client, res.job_id) : null;
        const final = await follow(client, res.job_id, !opts.json && !progress).finally(() => progress?.stop());
        if (opts.json) printJson({ job_id: res.job_id, status: final });
        else say(`${res.job_id} ${final}`);
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
      const now = Date.now();
      say(renderTable(['JOB', 'STATUS', 'CREATED', 'AGE'], jobs.map((j) => [j.job_id as string, j.status as string, new Date(j.created_at as number).toISOString(), ageOf(j.created_at as number, now)]), { color: colorEnabled(process.stdout), statusColumn: 'STATUS' }));
    });

  withTarget(job.command('status').description("a job's status and its agents").argument('<job_id>'))
    .option('--watch', 'follow the job until it ends: a progress bar on a terminal, one line per change otherwise (exit 0 completed, 1 failed or cancelled)')
    .action(async (jobId: string, opts: TargetOpts & { watch?: boolean }) => {
      if (opts.watch) {
        const final = await withInterruptibleClient(opts, (client, signal) => watchJob(client, jobId, { json: !!opts.json, signal }));
        if (final !== null) process.exitCode = final === 'completed' ? EXIT.ok : EXIT.invalid;
        if (!opts.json && final === null) return;
      }
      const { record, all } = await withClient(opts, async (c) => {
        const doc = JSON.parse((await c.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as Record<string, unknown>;
        // A big job's agents come a page at a time.
        return { record: doc, all: doc.agents_truncated === true ? await listAllAgents(c, jobId) : (doc.agents as Array<Record<string, unknown>>) };
      });
      const agents = all.map((a) => ({ agent_id: a.agent_id, node: a.node, state: a.state, restarts: a.restarts }));
      const queue = (record.queue as QueuePlaceView | null | undefined) ?? null;
      const latest = (record.latest_evaluation as EvaluationView | null | undefined) ?? null;
      if (opts.json) {
        return printJson({ job_id: record.job_id, status: record.status, version: record.version, created_at: record.created_at, updated_at: record.updated_at, queue, latest_evaluation: latest, agents });
      }
      say(`${record.job_id}: ${statusText(record.status as string, queue)} (${agents.length} agents)`);
      // "Why is my job pending": the latest evaluation's explanation while something waits.
      const waiting = queue !== null || record.status === 'pending' || agents.some((a) => a.state === 'pending') || (record.details as { blocked?: unknown } | undefined)?.blocked !== undefined;
      if (waiting && latest?.explanation?.summary) say(`why: ${latest.explanation.summary} (evaluation ${latest.id}, ${latest.trigger}, ${latest.status}; see mn eval status ${latest.id})`);
      if (agents.length > 0) say(renderTable(['AGENT', 'NODE', 'STATE', 'RESTARTS'], agents.map((a) => [a.agent_id as string, a.node as string, a.state as string, a.restarts as number]), { color: colorEnabled(process.stdout), statusColumn: 'STATE' }));
    });

  withTarget(job.command('events').description("a job's events").argument('<job_id>'))
    .option('--follow', 'after the past events, keep streaming new ones until the job ends or Ctrl-C (with --json: one JSON object per line, NDJSON)')
    .action(async (jobId: string, opts: TargetOpts & { follow?: boolean }) => {
      await withInterruptibleClient(opts, async (client, signal) => {
        const events: unknown[] = [];
        for await (const event of jobEvents(client, jobId, { follow: !!opts.follow, signal })) {
          if (opts.json && !opts.follow) events.push(event);
          else if (opts.json) say(JSON.stringify(event));
          else say(formatEvent(event));
        }
        if (opts.json && !opts.follow) printJson(events);
      });
    });

  withTarget(job.command('logs').description("the stdout and stderr lines of a job's agents").argument('<job_id>'))
    .option('--agent <agent_id>', "only this agent's lines")
    .option('--follow', 'after the past lines, keep streaming new ones until the job ends or Ctrl-C (with --json: one JSON object per line, NDJSON)')
    .addHelpText('after', '\nLines print as "<agent_id> <stream>: <line>" (stream is stdout or stderr). --json prints a JSON\narray of {agent_id, stream, line, timestamp}; with --follow, one such object per line (NDJSON).')
    .action(async (jobId: string, opts: TargetOpts & { agent?: string; follow?: boolean }) => {
      await withInterruptibleClient(opts, async (client, signal) => {
        if (opts.agent !== undefined) await checkAgent(client, jobId, opts.agent);
        const lines: LogLine[] = [];
        for await (const event of jobEvents(client, jobId, { follow: !!opts.follow, signal })) {
          const log = logLineOf(event);
          if (!log || (opts.agent !== undefined && log.agent_id !== opts.agent)) continue;
          if (opts.json && !opts.follow) lines.push(log);
          else if (opts.json) say(JSON.stringify(log));
          else say(`${log.agent_id ?? '-'} ${log.stream}: ${log.line}`);
        }
        if (opts.json && !opts.follow) printJson(lines);
      });
    });

  withTarget(job.command('result').description("a completed job's result, as JSON (exit 1 while the job has none)").argument('<job_id>'))
    .addHelpText('after', '\n--json prints {job_id, status, result, completed_by, failure}; result is null until the job completes.')
    .action(async (jobId: string, opts: TargetOpts) => {
      const res = await withClient(opts, (c) =>
        c.call<{ job_id: string; status: string; result_json: string; completed_by: string; failure_json: string }>('job', 'GetJobResult', { job_id: jobId }),
      );
      const result: unknown = res.result_json === '' ? null : JSON.parse(res.result_json);
      const failure = res.failure_json === '' ? null : (JSON.parse(res.failure_json) as { reason?: unknown; agent_id?: unknown });
      const completed = res.status === 'completed';
      if (opts.json) {
        printJson({ job_id: res.job_id, status: res.status, result, completed_by: res.completed_by || null, failure });
        if (!completed) process.exitCode = EXIT.invalid;
        return;
      }
      if (!completed) throw new CliError(noResultMessage(res.job_id, res.status, failure), EXIT.invalid);
      printJson(result);
    });

  withTarget(job.command('dead-letters').description('messages of a job that exhausted their delivery attempts').argument('<job_id>'))
    .option('--limit <n>', 'at most n dead letters, oldest first', '1000')
    .addHelpText('after', '\n--json prints {job_id, total, data: [{agent_id, message_id, attempts, reason, message, at, ...}]}, each message parsed.')
    .action(async (jobId: string, opts: TargetOpts & { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive integer, got ${JSON.stringify(opts.limit)}`, EXIT.usage);
      const res = await withClient(opts, (c) => c.call<{ dead_letters_json: string; total: number }>('job', 'ListDeadLetters', { job_id: jobId, limit }));
      const list = JSON.parse(res.dead_letters_json) as Array<{ agent_id: string; message_id: string; attempts: number; reason: string; message: string; at: number }>;
      if (opts.json) return printJson({ job_id: jobId, total: res.total, data: list.map((d) => ({ ...d, message: parseOrKeep(d.message) })) });
      if (list.length === 0) return say(`job ${jobId} has no dead letters`);
      say(table([['AGENT', 'MESSAGE', 'ATTEMPTS', 'REASON', 'AT'], ...list.map((d) => [d.agent_id, d.message_id, d.attempts, d.reason, new Date(d.at).toISOString()])]));
      if (res.total > list.length) say(`(${list.length} of ${res.total} shown; raise --limit for more)`);
    });

  for (const [verb, rpc, text] of [['pause', 'PauseJob', 'pause a job'], ['resume', 'ResumeJob', 'resume a paused job'], ['cancel', 'CancelJob', 'cancel a job']] as const) {
    withTarget(job.command(verb).description(text).argument('<job_id>')).action(async (jobId: string, opts: TargetOpts) => {
      const res = await withClient(opts, (c) => c.call<{ job_id: string; status: string }>('job', rpc, { job_id: jobId }));
      if (opts.json) printJson({ job_id: res.job_id, status: res.status });
      else say(`${res.job_id} ${res.status}`);
    });
  }
}

/** A queued job's place as the API answers it. */
export interface QueuePlaceView { position: number; total: number; priority: number; since: number; evaluation_id: string | null }

/** An evaluation as the API answers it (the fields the job commands show). */
export interface EvaluationView { id: string; trigger: string; status: string; explanation?: { summary?: string | null } }

/** A job status for people: `pending (queued: position 3 of 7, priority 50)` for a queued job. */
export function statusText(status: string, queue: QueuePlaceView | null): string {
  return queue ? `${status} (queued: position ${queue.position} of ${queue.total}, priority ${queue.priority})` : status;
}

/** Runs `fn` with a client for the command's target and closes it afterwards. */
/** A bundle as a request carries it: its manifest and its payloads, config and module files; an invalid one is refused naming every problem. */
export async function readBundle(target: string): Promise<{ manifest: unknown; payloads: Record<string, Buffer> }> {
  const bundle = await loadBundle(target);
  if (!bundle.ok || !bundle.manifest) {
    const lines = bundle.errors.map(issueText);
    throw new CliError(`${target} is not a valid bundle:\n  ${lines.join('\n  ')}`, bundle.unreadable ? EXIT.usage : EXIT.invalid);
  }
  const payloads = {
    ...(await readPayloads(bundle.root, bundle.manifestPath !== path.join(bundle.root, 'manifest.json'))),
    ...(await moduleFiles(bundle.root, bundle.manifest)),
  };
  return { manifest: bundle.manifest, payloads };
}

export async function withClient<T>(opts: { target?: string }, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = clientFrom(opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * Runs `fn` with a client and a signal that Ctrl-C aborts: a follower stops following and the
 * command ends normally instead of being killed mid-write.
 */
async function withInterruptibleClient<T>(opts: { target?: string }, fn: (client: ApiClient, signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await withClient(opts, (client) => fn(client, controller.signal));
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

type JobEvent = Record<string, unknown> & { id?: string; type?: string };

/**
 * A job's events: the retained past ones, then, with `follow`, new ones until the job ends (its
 * job_completed/failed/cancelled event) or `signal` aborts. The past is read first and the live
 * stream resumes after its last id, so nothing between the two is lost. A job that was already
 * over is not followed; one that ends without its event (trimmed, or written by an older daemon)
 * is noticed from its status on a heartbeat, one heartbeat after it ended.
 */
async function* jobEvents(client: ApiClient, jobId: string, options: { follow: boolean; signal: AbortSignal }): AsyncGenerator<JobEvent> {
  const { follow, signal } = options;
  const status = async (): Promise<string> => (JSON.parse((await client.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as { status: string }).status;
  // Asked before the past is read: a job that ends afterwards has its end event in what follows.
  const endedBefore = follow ? TERMINAL.has(await status()) : true;
  let last = '';
  let ended = false;
  for await (const event of streamEvents(client, { job_id: jobId, follow: false, heartbeat_interval_ms: 0 }, signal)) {
    if (typeof event.id === 'string') last = event.id;
    if (TERMINAL_EVENTS.has(String(event.type))) ended = true;
    yield event;
  }
  if (!follow || ended || endedBefore || signal.aborted) return;
  let endedQuietly = false;
  for await (const event of streamEvents(client, { job_id: jobId, follow: true, heartbeat_interval_ms: FOLLOW_HEARTBEAT_MS, after_id: last }, signal)) {
    if (event.type === 'heartbeat' && event.id === undefined) {
      // Give the end event one more heartbeat to arrive after the status changed.
      if (endedQuietly) return;
      endedQuietly = TERMINAL.has(await status());
      continue;
    }
    yield event;
    if (TERMINAL_EVENTS.has(String(event.type))) return;
  }
}

/**
 * One StreamEvents call, parsed. However the consumer stops (end, break, error, `signal`), the
 * gRPC call is cancelled before the iterator is closed: a call left open would keep the client's
 * channel, and so the CLI process, alive.
 */
async function* streamEvents(client: ApiClient, request: Record<string, unknown>, signal: AbortSignal): AsyncGenerator<JobEvent> {
  if (signal.aborted) return;
  const live = new AbortController();
  const onAbort = (): void => live.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const items = client.stream<{ event_json: string }>('observability', 'StreamEvents', request, live.signal)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await items.next();
      if (next.done) return;
      yield JSON.parse(next.value.event_json) as JobEvent;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    live.abort();
    await items.return?.(undefined);
  }
}

/** One agent output line, as `mn job logs --json` prints it. */
interface LogLine {
  agent_id: string | null;
  stream: string;
  line: string;
  timestamp: number | null;
}

function logLineOf(e: JobEvent): LogLine | null {
  if (e.type !== 'agent_log') return null;
  const payload = (e.payload ?? {}) as { stream?: unknown; line?: unknown };
  return {
    agent_id: typeof e.agent_id === 'string' ? e.agent_id : null,
    stream: payload.stream === 'stderr' ? 'stderr' : 'stdout',
    line: typeof payload.line === 'string' ? payload.line : JSON.stringify(payload.line ?? ''),
    timestamp: typeof e.timestamp === 'number' ? e.timestamp : null,
  };
}

/** The job's agents, a page of ListAgents at a time. */
async function* agentPages(client: ApiClient, jobId: string): AsyncGenerator<Array<Record<string, unknown>>> {
  let token = '';
  do {
    const res = await client.call<{ agents_json: string; next_page_token: string }>('job', 'ListAgents', { job_id: jobId, page_size: 5000, page_token: token });
    yield JSON.parse(res.agents_json) as Array<Record<string, unknown>>;
    token = res.next_page_token;
  } while (token !== '');
}

/** Every agent of the job, paged through ListAgents. */
async function listAllAgents(client: ApiClient, jobId: string): Promise<Array<Record<string, unknown>>> {
  const all: Array<Record<string, unknown>> = [];
  for await (const page of agentPages(client, jobId)) all.push(...page);
  return all;
}

/** Refuses an agent the job does not have (once its agents are known), naming a few it does have. */
async function checkAgent(client: ApiClient, jobId: string, agentId: string): Promise<void> {
  const ids: string[] = [];
  for await (const page of agentPages(client, jobId)) {
    for (const a of page) {
      if (a.agent_id === agentId) return;
      ids.push(a.agent_id as string);
    }
  }
  if (ids.length === 0 || ids.includes(agentId)) return;
  const shown = ids.slice(0, 5).join(', ');
  throw new CliError(`job ${jobId} has no agent ${agentId}; its agents: ${shown}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`, EXIT.invalid);
}

function noResultMessage(jobId: string, status: string, failure: { reason?: unknown; agent_id?: unknown } | null): string {
  if (status === 'failed') {
    const reason = typeof failure?.reason === 'string' ? `: ${failure.reason}` : '';
    const agent = typeof failure?.agent_id === 'string' ? ` (agent ${failure.agent_id})` : '';
    return `job ${jobId} failed${reason}${agent}; it has no result`;
  }
  if (status === 'cancelled') return `job ${jobId} was cancelled; it has no result`;
  return `job ${jobId} is ${status}; it has no result until it completes`;
}

/** A dead letter's message parsed, or the text itself when it is not JSON. */
function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function formatEvent(e: Record<string, unknown>): string {
  const at = typeof e.timestamp === 'number' ? new Date(e.timestamp).toISOString() : '';
  const payload = e.payload && Object.keys(e.payload as object).length > 0 ? ` ${JSON.stringify(e.payload)}` : '';
  return `${at} ${e.type}${e.agent_id ? ` ${e.agent_id}` : ''}${payload}`;
}

/**
 * A progress bar on stderr while a job runs ({@link renderProgress}), redrawn in place and cleared
 * at the end. Used only on a terminal; piped output stays quiet.
 */
function startProgress(client: ApiClient, jobId: string): { stop(): void } {
  let drawn = false;
  let busy = false;
  let stopped = false;
  let total: number | null = null;
  const draw = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      const record = JSON.parse((await client.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as { job?: { agent_count?: unknown }; agent_summary?: { total: number; by_state: Record<string, number> } };
      total ??= typeof record.job?.agent_count === 'number' ? record.job.agent_count : 0;
      const summary = record.agent_summary ?? { total: 0, by_state: {} };
      // A job that ended gives its placements back: keep the last bar rather than draw zeros.
      if (stopped || (summary.total === 0 && drawn)) return;
      const by = summary.by_state;
      const counts: ProgressCounts = { total, placed: summary.total, running: by.running ?? 0, completed: by.completed ?? 0, failed: by.failed ?? 0 };
      process.stderr.write(`\r\x1b[2K${renderProgress(counts, (process.stderr.columns || 80) - 1)}`);
      drawn = true;
    } catch {
      // The event stream reports failures; the bar just skips a beat.
    } finally {
      busy = false;
    }
  };
  void draw();
  const timer = setInterval(() => void draw(), 500);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

/** How often `mn job status --watch` reads the job. */
const WATCH_INTERVAL_MS = 500;

/**
 * `mn job status --watch`: reads the job until it ends (or Ctrl-C), drawing the progress bar on
 * stderr when it is a terminal, else printing one line on stdout whenever the counts or the status
 * change (nothing with --json until the end). Returns the final status, or null when interrupted.
 */
async function watchJob(client: ApiClient, jobId: string, options: { json: boolean; signal: AbortSignal }): Promise<string | null> {
  const bar = !options.json && process.stderr.isTTY === true;
  let last = '';
  let drawn = false;
  try {
    while (!options.signal.aborted) {
      const record = JSON.parse((await client.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as { status: string; job?: { agent_count?: unknown }; agents?: Array<{ state?: unknown }> };
      const counts = countsOf(record);
      if (bar) {
        process.stderr.write(`\r\x1b[2K${renderProgress(counts, (process.stderr.columns || 80) - 1)}`);
        drawn = true;
      } else if (!options.json) {
        const line = progressLine(jobId, record.status, counts);
        if (line !== last) say(line);
        last = line;
      }
      if (TERMINAL.has(record.status)) return record.status;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_INTERVAL_MS);
        options.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
    return null;
  } finally {
    if (drawn) process.stderr.write('\r\x1b[2K');
  }
}

/** Follows a job's events until it reaches a terminal status; returns that status. */
async function follow(client: ApiClient, jobId: string, print: boolean): Promise<string> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  let status = 'scheduled';
  try {
    for await (const event of jobEvents(client, jobId, { follow: true, signal: controller.signal })) {
      if (print) say(formatEvent(event));
      const s = (event.payload as Record<string, unknown> | undefined)?.status;
      if (typeof s === 'string') status = s;
      if (TERMINAL.has(status)) break;
    }
    // The job ended without an end event carrying its status (noticed from a heartbeat).
    if (!TERMINAL.has(status) && !controller.signal.aborted) {
      status = (JSON.parse((await client.call<{ job_json: string }>('job', 'GetJob', { job_id: jobId })).job_json) as { status: string }).status;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    controller.abort();
  }
  return status;
}

/** The bundle's payloads/ and config/ files as `relative path → bytes`. */
export async function readPayloads(root: string, bareManifest: boolean): Promise<Record<string, Buffer>> {
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
