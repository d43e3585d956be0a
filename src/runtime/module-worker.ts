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
import type { AgentAction, EmitOptions } from '../core/runtime/actions.js';
import type { Message } from '../core/runtime/executor.js';
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
/** Deepest nesting accepted in an emitted value; deeper is almost always a cycle through a getter. */
const MAX_DEPTH = 100;

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

function checkAction(action: AgentAction): string | null {
  switch (action.kind) {
    case 'emit':
      return checkName('type', action.type) ?? checkJson('body', action.body) ?? checkOptions(action.options);
    case 'emit_to':
      return checkName('to', action.to) ?? checkName('type', action.type) ?? checkJson('body', action.body) ?? checkOptions(action.options);
    case 'event':
      if (!isPlainObject(action.payload)) return `payload must be an object, got ${describe(action.payload)}`;
      return checkName('type', action.type) ?? checkJson('payload', action.payload);
    case 'next_state':
      if (action.state === undefined) return 'state must be a JSON value (null clears it), got undefined';
      return checkJson('state', action.state);
    case 'complete_job':
      return checkJson('result', action.result);
  }
}

function checkName(field: string, value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? null : `${field} must be a non-empty string, got ${describe(value)}`;
}

const OPTION_CHECKS: Readonly<Record<keyof EmitOptions, (value: unknown) => string | null>> = {
  class: (v) => checkName('options.class', v),
  content_type: (v) => checkName('options.content_type', v),
  content_encoding: (v) => checkName('options.content_encoding', v),
  priority: (v) => (Number.isInteger(v) ? null : `options.priority must be an integer, got ${describe(v)}`),
  headers: (v) => (isPlainObject(v) ? checkJson('options.headers', v) : `options.headers must be an object, got ${describe(v)}`),
  artifacts: (v) => (Array.isArray(v) ? checkJson('options.artifacts', v) : `options.artifacts must be a list, got ${describe(v)}`),
};

function checkOptions(options: unknown): string | null {
  if (options === undefined) return null;
  if (!isPlainObject(options)) return `options must be an object, got ${describe(options)}`;
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const check = OPTION_CHECKS[key as keyof EmitOptions];
    if (!check) return `options.${key} is not an emit option (expected ${Object.keys(OPTION_CHECKS).join(', ')})`;
    const problem = check(value);
    if (problem) return problem;
  }
  return null;
}

/**
 * The path of the first value that is not JSON: plain objects, lists, strings, finite numbers,
 * booleans and null. An `undefined` object property is accepted (encoders drop it), as in JSON.stringify.
 */
function checkJson(path: string, value: unknown, ancestors: unknown[] = []): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} must be a finite number, got ${value}`;
  if (typeof value !== 'object') return `${path} must be a JSON value, got ${describe(value)}`;
  if (ancestors.includes(value)) return `${path} refers back to an enclosing value (cycle)`;
  if (ancestors.length >= MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = checkJson(`${path}[${i}]`, value[i], inner);
      if (problem) return problem;
    }
    return null;
  }
  if (!isPlainObject(value)) return `${path} must be a JSON value, got ${describe(value)}`;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const problem = checkJson(/^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, item, inner);
    if (problem) return problem;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== 'Object' ? name : 'object';
  }
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fail(code: ModuleErrorCode, message: string): Failure {
  return { ok: false, code, message };
}
