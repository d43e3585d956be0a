/**
 * Module agent worker entry (run by Piscina; the host is `module-runner.ts`). A task names a
 * module file of a job's bundle; the worker imports it once per (path, mtime, size), calls its
 * `handle(message, ctx)` and returns the actions the handler collected through `ctx`.
 *
 * Every outcome is returned as a {@link WorkerReply}; nothing is thrown across the boundary.
 * What the handler produced is checked here, where the module's values still exist: a value that
 * is not JSON (a function, a Date, a cycle) would otherwise fail to cross the thread boundary with
 * a clone error that names nothing.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import type { AgentAction, EmitOptions } from '../../core/runtime/actions.js';
import { checkAction, isRecord } from '../../core/runtime/module-actions.js';
import type { Message } from '../../core/runtime/executor.js';
import type { ModuleCall } from './module-runner.js';

/** What the host gives every worker at start. */
export interface ModuleWorkerInit {
  /** Directory for transpiled TypeScript modules; owned (and removed) by the host. */
  cacheDir: string;
}

/** One call of a module's handler, as posted to a worker. */
export interface ModuleTask extends Omit<ModuleCall, 'timeoutMs'> {
  /** The worker posts one message here when it picks the task up, so the host's timeout starts then. */
  started: MessagePort;
}

/** Why a call produced no actions. */
export type ModuleErrorCode =
  | 'module_not_found'
  | 'module_load_failed'
  | 'no_handler'
  | 'handler_error'
  | 'timeout'
  | 'invalid_actions'
  | 'worker_crashed'
  | 'runner_closed';

/** What a worker sends back for a task. */
export type WorkerReply =
  | { ok: true; actions: AgentAction[]; state: unknown }
  | { ok: false; code: ModuleErrorCode; message: string };

/**
 * The second argument of a module's `handle`. Methods record actions, which the runtime carries
 * out after `handle` returns (or its promise settles); calling them later throws.
 */
export interface ModuleContext {
  readonly agent_id: string;
  readonly job_id: string;
  /** The agent's `config` from the manifest, templates resolved. */
  readonly config: Record<string, unknown>;
  /** The agent's persisted local state (null when none); reflects `setState` calls of this call. */
  readonly state: unknown;
  /** Sends along every outbound edge of this agent's node whose message type matches. */
  emit(type: string, body?: unknown, options?: EmitOptions): void;
  /** Sends to a named agent or manifest node, bypassing edges. */
  emitTo(to: string, type: string, body?: unknown, options?: EmitOptions): void;
  /** Appends a job event. */
  event(type: string, payload?: Record<string, unknown>): void;
  /** Replaces the agent's persisted local state (JSON; null clears it). */
  setState(state: unknown): void;
  /** Ends the job (batch, sysbatch) with this result. */
  completeJob(result?: unknown): void;
}

/** The function a module exports. */
export type ModuleHandler = (message: Message, ctx: ModuleContext) => unknown;

type Failure = Extract<WorkerReply, { ok: false }>;

const EXTENSIONS = new Set(['.js', '.mjs', '.ts', '.mts']);
const TYPESCRIPT = new Set(['.ts', '.mts']);

const init = workerData as ModuleWorkerInit;

interface LoadedModule {
  /** `mtimeMs:size` of the file that was imported. */
  version: string;
  namespace: Record<string, unknown>;
}

/** Imported modules by absolute path; different jobs have different bundle paths, so none share. */
const loaded = new Map<string, LoadedModule>();

type TypeScript = typeof import('typescript');
let typescript: Promise<TypeScript> | undefined;

/** Loads `typescript` on the first TypeScript module only: it is large and JS modules never need it. */
function loadTypeScript(): Promise<TypeScript> {
  typescript ??= import('typescript').then((m) => (m as unknown as { default: TypeScript }).default ?? m);
  return typescript;
}

/** Piscina task handler. */
export default async function runModuleTask(task: ModuleTask): Promise<WorkerReply> {
  task.started.postMessage('started');
  task.started.close();
  const { modulePath } = task;
  const name = basename(modulePath);

  if (!isAbsolute(modulePath)) return fail('module_not_found', `module path ${JSON.stringify(modulePath)} must be absolute`);
  const ext = extname(modulePath).toLowerCase();
  if (!EXTENSIONS.has(ext)) return fail('module_not_found', `module ${modulePath} must end in .js, .mjs, .ts or .mts`);
  let version: string;
  try {
    const stat = statSync(modulePath);
    if (!stat.isFile()) return fail('module_not_found', `module ${modulePath} is not a file`);
    version = `${stat.mtimeMs}:${stat.size}`;
  } catch (error) {
    return fail('module_not_found', `module ${modulePath} cannot be read: ${errorMessage(error)}`);
  }

  let namespace: Record<string, unknown>;
  const cached = loaded.get(modulePath);
  if (cached && cached.version === version) {
    namespace = cached.namespace;
  } else {
    const imported = await importModule(modulePath, ext, version);
    if (!imported.ok) return imported;
    namespace = imported.namespace;
    loaded.set(modulePath, { version, namespace });
  }

  const handler = findHandler(namespace);
  if (!handler) {
    return fail('no_handler', `module ${name} exports no handle function (expected export function handle, export default function, or export default { handle })`);
  }

  const recorder = new ActionRecorder(task);
  let returned: unknown;
  try {
    returned = await handler.fn.call(handler.self, task.message, recorder.context);
  } catch (error) {
    recorder.close();
    return fail('handler_error', `handle of module ${name} threw: ${errorMessage(error)}`);
  }
  if (isRecord(returned) && 'state' in returned) recorder.record('return', { kind: 'next_state', state: returned.state });
  recorder.close();

  const problem = recorder.check();
  if (problem) return fail('invalid_actions', `module ${name}: ${problem}`);
  return { ok: true, actions: recorder.actions, state: recorder.state };
}

async function importModule(
  path: string,
  ext: string,
  version: string,
): Promise<{ ok: true; namespace: Record<string, unknown> } | Failure> {
  let url: string;
  if (TYPESCRIPT.has(ext)) {
    const compiled = await transpile(path, version);
    if (!compiled.ok) return compiled;
    url = pathToFileURL(compiled.file).href;
  } else {
    // The version in the query makes a changed file a new module; an unchanged one is imported once.
    url = `${pathToFileURL(path).href}?v=${encodeURIComponent(version)}`;
  }
  try {
    return { ok: true, namespace: (await import(url)) as Record<string, unknown> };
  } catch (error) {
    return fail('module_load_failed', `module ${basename(path)} failed to load: ${errorMessage(error)}`);
  }
}

/**
 * Transpiles one TypeScript file (syntax only; types are not checked) into the host's cache
 * directory, once per (path, version) across all workers: the file name carries both, and it is
 * written under a temporary name and renamed so another worker never imports half a file.
 */
async function transpile(path: string, version: string): Promise<{ ok: true; file: string } | Failure> {
  const key = createHash('sha256').update(`${path}\0${version}`).digest('hex').slice(0, 20);
  const file = join(init.cacheDir, `${basename(path).replace(/\.m?ts$/i, '')}-${key}.mjs`);
  try {
    statSync(file);
    return { ok: true, file };
  } catch {
    // not compiled yet
  }
  let ts: TypeScript;
  try {
    ts = await loadTypeScript();
  } catch (error) {
    return fail('module_load_failed', `TypeScript module ${basename(path)} needs the typescript package: ${errorMessage(error)}`);
  }
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    return fail('module_not_found', `module ${path} cannot be read: ${errorMessage(error)}`);
  }
  const output = ts.transpileModule(source, {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true,
      verbatimModuleSyntax: false,
    },
  });
  const diagnostic = output.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostic) {
    let where = basename(path);
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      where += `:${line + 1}:${character + 1}`;
    }
    return fail('module_load_failed', `module ${where} does not compile: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
  }
  try {
    mkdirSync(init.cacheDir, { recursive: true });
    const partial = `${file}.${process.pid}-${threadId}.tmp`;
    writeFileSync(partial, output.outputText);
    renameSync(partial, file);
  } catch (error) {
    return fail('module_load_failed', `module ${basename(path)} could not be written to ${init.cacheDir}: ${errorMessage(error)}`);
  }
  return { ok: true, file };
}

function findHandler(namespace: Record<string, unknown>): { fn: ModuleHandler; self: unknown } | null {
  if (typeof namespace.handle === 'function') return { fn: namespace.handle as ModuleHandler, self: namespace };
  const fallback = namespace.default;
  if (typeof fallback === 'function') return { fn: fallback as ModuleHandler, self: undefined };
  if (isRecord(fallback) && typeof fallback.handle === 'function') return { fn: fallback.handle as ModuleHandler, self: fallback };
  return null;
}

/** Collects the actions of one call; `check` validates them once the handler is done. */
class ActionRecorder {
  readonly actions: AgentAction[] = [];
  /** Which `ctx` method produced each action, for messages. */
  private readonly sources: string[] = [];
  private closed = false;
  state: unknown;
  readonly context: ModuleContext;

  constructor(task: ModuleTask) {
    this.state = task.state ?? null;
    const recorder = this;
    const record = (method: string, action: AgentAction): void => recorder.record(method, action);
    this.context = {
      agent_id: task.agentId,
      job_id: task.jobId,
      config: task.config,
      get state(): unknown {
        return recorder.state;
      },
      emit(type, body = null, options) {
        record('ctx.emit', options === undefined ? { kind: 'emit', type, body } : { kind: 'emit', type, body, options });
      },
      emitTo(to, type, body = null, options) {
        record('ctx.emitTo', options === undefined ? { kind: 'emit_to', to, type, body } : { kind: 'emit_to', to, type, body, options });
      },
      event(type, payload = {}) {
        record('ctx.event', { kind: 'event', type, payload });
      },
      setState(state) {
        record('ctx.setState', { kind: 'next_state', state });
      },
      completeJob(result = null) {
        record('ctx.completeJob', { kind: 'complete_job', result });
      },
    };
  }

  record(method: string, action: AgentAction): void {
    // Actions recorded after the call would be lost silently; throwing surfaces the bug as a worker error.
    if (this.closed) throw new Error(`${method} called after handle returned; actions must be recorded before it returns or its promise settles`);
    this.actions.push(action);
    this.sources.push(method);
    if (action.kind === 'next_state') this.state = action.state;
  }

  close(): void {
    this.closed = true;
  }

  /** The first problem of the recorded actions, naming the action, the method and the field. */
  check(): string | null {
    for (const [i, action] of this.actions.entries()) {
      const problem = checkAction(action);
      if (problem) return `actions[${i}] (${this.sources[i] === 'return' ? 'returned { state }' : this.sources[i]}): ${problem}`;
    }
    return null;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fail(code: ModuleErrorCode, message: string): Failure {
  return { ok: false, code, message };
}
