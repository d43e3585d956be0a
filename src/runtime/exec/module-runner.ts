/**
 * Runs `module` agents: a JavaScript or TypeScript module shipped in the job's bundle, called once
 * per message on a worker thread (the worker side is `module-worker.ts`), so a slow or crashing
 * module never blocks or takes down the daemon's event loop.
 *
 * ## Module contract
 *
 * The module file (`.js`, `.mjs`, `.ts` or `.mts`; ESM, or CommonJS for `.js` outside a
 * `"type": "module"` package) exports a handler, looked up in this order:
 *
 * 1. a named export `handle`: `export function handle(message, ctx) { ... }`
 * 2. a default export function: `export default function (message, ctx) { ... }`
 * 3. a default export object with `handle`: `export default { handle(message, ctx) { ... } }`
 *    (called with the object as `this`).
 *
 * The handler may be sync or async. `message` is the `mn-msg/1` {@link Message} (`envelope`,
 * `headers`, `body`, `artifacts`). `ctx` (`ModuleContext`) carries `agent_id`, `job_id`,
 * `config` (the node's manifest config) and `state` (the agent's last persisted state, or null),
 * and records actions that the runtime carries out after the handler is done:
 *
 * | call | action |
 * |---|---|
 * | `ctx.emit(type, body?, options?)` | `emit`: along every outbound edge matching `type` |
 * | `ctx.emitTo(to, type, body?, options?)` | `emit_to`: to a named agent or node, bypassing edges |
 * | `ctx.event(type, payload?)` | `event`: append a job event (`payload` an object) |
 * | `ctx.setState(state)` | `next_state`: replace the agent's persisted state |
 * | `ctx.completeJob(result?)` | `complete_job`: end the job with `result` |
 *
 * A handler that returns an object with a `state` key also sets the state (after its `ctx`
 * calls); any other return value is ignored. Bodies, payloads, state, results, headers and
 * artifacts must be JSON values; `options` takes the `EmitOptions` fields of `core/runtime/actions.ts`. `ctx` methods
 * called after the handler returned throw.
 *
 * TypeScript files are transpiled one file at a time (types are erased, not checked) into a
 * temporary directory and imported from there, so a TypeScript module must be self-contained:
 * `node:` built-ins resolve, relative imports and packages do not. Split JavaScript modules may
 * import their siblings normally.
 *
 * A module is imported once per worker and re-imported when its file changes (mtime or size).
 * Module-level variables are a per-worker cache, not durable state: each worker has its own copy,
 * and a replaced worker starts fresh; persist with `ctx.setState`. Modules are keyed by absolute
 * path, so two jobs (two bundle paths) never share module state. Workers are not a sandbox: a
 * module has the daemon user's access to files and network.
 */
import { builtFile } from '../../built-file.js';
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { AgentAction } from '../../core/runtime/actions.js';
import type { Message } from '../../core/runtime/executor.js';
import type { ModuleErrorCode, ModuleTask, ModuleWorkerInit, WorkerReply } from './module-worker.js';

export type { ModuleContext, ModuleErrorCode, ModuleHandler } from './module-worker.js';

/** One message for a module agent. */
export interface ModuleCall {
  /** Absolute path of the module file (.js, .mjs, .ts, .mts). */
  modulePath: string;
  jobId: string;
  agentId: string;
  /** The node's `config` from the manifest (`ctx.config`). */
  config: Record<string, unknown>;
  /** The agent's last persisted local state, or null (`ctx.state`). */
  state: unknown;
  message: Message;
  /**
   * Milliseconds the call may run once a worker picks it up (default 30000); time spent queued
   * behind other calls does not count. A call past it resolves to `timeout` and its worker is
   * replaced. Must be a positive number.
   */
  timeoutMs?: number;
}

/**
 * The result of one call. `state` is the agent's state after the call: the last `next_state`
 * among `actions`, or the call's `state` when the handler set none.
 *
 * Codes: `module_not_found` (no such file, or not an accepted extension), `module_load_failed`
 * (does not compile or throws while importing), `no_handler`, `handler_error` (the handler threw
 * or its promise rejected), `timeout`, `invalid_actions` (a recorded value of the wrong type; the
 * message names the action and field), `worker_crashed` (the worker exited or failed with an
 * uncaught error; it is replaced), `runner_closed`.
 */
export type ModuleOutcome =
  | { ok: true; actions: AgentAction[]; state: unknown }
  | { ok: false; code: ModuleErrorCode; message: string };

export interface ModuleRunnerOptions {
  /** Worker threads (default: available parallelism − 1, at least 1). */
  threads?: number;
  /** Worker entry file (default: {@link defaultModuleWorkerFile}). */
  workerFile?: string;
  /** Queued calls before `run` fails fast with `worker_crashed` (default 1024). */
  maxQueue?: number;
  /**
   * A worker failed outside any call, e.g. a module's timer threw after its handler returned;
   * the worker is replaced. Default: a process warning.
   */
  onError?: (error: unknown) => void;
}

/** Default of {@link ModuleCall.timeoutMs}. */
export const DEFAULT_MODULE_TIMEOUT_MS = 30_000;

/** The built worker entry: next to this module in `dist/`, or the package's `dist/` from `src/`. */
export function defaultModuleWorkerFile(): string {
  return builtFile(import.meta.url, 'module-worker.js');
}

/** Runs module agents' handlers on a pool of worker threads; every call resolves to a {@link ModuleOutcome}. */
export class ModuleRunner {
  private readonly piscina: Piscina<ModuleTask, WorkerReply>;
  private readonly cacheDir: string;
  private closed = false;

  constructor(options: ModuleRunnerOptions = {}) {
    const threads = Math.max(1, options.threads ?? availableParallelism() - 1);
    removeStaleCaches();
    this.cacheDir = join(tmpdir(), `mn-modules-${process.pid}`, randomUUID());
    const workerData: ModuleWorkerInit = { cacheDir: this.cacheDir };
    this.piscina = new Piscina({
      filename: options.workerFile ?? defaultModuleWorkerFile(),
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: 60_000,
      maxQueue: options.maxQueue ?? 1024,
      workerData,
      // With atomics a worker blocks in Atomics.wait between calls, so a module's timers would only
      // run (and fail) during some later, unrelated call; disabled, its event loop keeps running.
      atomics: 'disabled',
    });
    // Without a listener, a worker failing between calls would be an unhandled 'error' event and end the process.
    const onError = options.onError ?? ((error: unknown) => process.emitWarning(`module worker failed outside a call: ${errorMessage(error)}`));
    this.piscina.on('error', onError);
  }

  /** Calls the module's handler for one message. Rejects only on a `timeoutMs` that is not a positive number. */
  async run(call: ModuleCall): Promise<ModuleOutcome> {
    const timeoutMs = call.timeoutMs ?? DEFAULT_MODULE_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    if (this.closed) return { ok: false, code: 'runner_closed', message: 'module runner is closed' };

    const abort = new AbortController();
    const { port1, port2 } = new MessageChannel();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when a worker picks the call up, so a burst of calls queued behind each other does not time out.
    port1.once('message', () => {
      if (!settled) timer = setTimeout(() => abort.abort(), timeoutMs);
    });
    const task: ModuleTask = {
      modulePath: call.modulePath,
      jobId: call.jobId,
      agentId: call.agentId,
      config: call.config,
      state: call.state ?? null,
      message: call.message,
      started: port2,
    };
    try {
      const reply = await this.piscina.run(task, { signal: abort.signal, transferList: [port2] });
      return isReply(reply) ? reply : { ok: false, code: 'worker_crashed', message: `module worker sent an unexpected reply for ${call.modulePath}` };
    } catch (error) {
      if (abort.signal.aborted) {
        return { ok: false, code: 'timeout', message: `module ${call.modulePath} did not return within ${timeoutMs} ms; its worker was replaced` };
      }
      if (this.closed) return { ok: false, code: 'runner_closed', message: 'module runner closed before the call finished' };
      return { ok: false, code: 'worker_crashed', message: `module worker running ${call.modulePath} failed: ${errorMessage(error)}` };
    } finally {
      settled = true;
      clearTimeout(timer);
      port1.close();
    }
  }

  /** Worker threads running now. */
  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Stops the workers (calls in flight resolve to `runner_closed`) and removes transpiled modules. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
    rmSync(this.cacheDir, { recursive: true, force: true });
    try {
      rmdirSync(dirname(this.cacheDir)); // the process's directory, once no other runner uses it
    } catch {
      // another runner of this process still has its cache there
    }
  }
}

/** Removes the transpile caches of processes that are gone (killed before `close` ran). */
function removeStaleCaches(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^mn-modules-(\d+)$/.exec(name);
    if (!match || Number(match[1]) === process.pid) continue;
    try {
      process.kill(Number(match[1]), 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function isReply(value: unknown): value is WorkerReply {
  if (typeof value !== 'object' || value === null) return false;
  const reply = value as Record<string, unknown>;
  if (reply.ok === true) return Array.isArray(reply.actions) && 'state' in reply;
  return reply.ok === false && typeof reply.code === 'string' && typeof reply.message === 'string';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
