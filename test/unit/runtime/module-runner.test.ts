import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentAction } from '../../../src/core/runtime/actions.js';
import { initialMessage } from '../../../src/core/runtime/executor.js';
import { ModuleRunner, type ModuleCall } from '../../../src/runtime/exec/module-runner.js';
import { builtWorkerFile } from '../solver/built-worker.js';

let dir: string;
let runner: ModuleRunner;
const workerErrors: unknown[] = [];

function moduleFile(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

function call(modulePath: string, extra: Partial<ModuleCall> = {}): ModuleCall {
  return {
    modulePath,
    jobId: 'job-1',
    agentId: 'score',
    config: { factor: 2 },
    state: null,
    message: initialMessage({ jobId: 'job-1', to: 'score', body: { texts: ['a b', 'c'] }, messageId: 'm-1', now: 0 }),
    ...extra,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-module-test-'));
  // Worker threads cannot load TypeScript: run the worker from the syntax-only transpilation of src/.
  const workerFile = join(dirname(builtWorkerFile()), '..', 'runtime', 'exec', 'module-worker.js');
  runner = new ModuleRunner({ threads: 1, workerFile, onError: (error) => workerErrors.push(error) });
});

afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ModuleRunner', () => {
  it('collects every kind of action from a JS module and returns the new state', async () => {
    const path = moduleFile(
      'all.mjs',
      `export async function handle(message, ctx) {
        await new Promise((r) => setTimeout(r, 5));
        ctx.emit('scored', { n: message.body.texts.length * ctx.config.factor }, { priority: 5 });
        ctx.emitTo('audit', 'seen', { from: ctx.agent_id, job: ctx.job_id });
        ctx.event('counted', { previous: ctx.state });
        ctx.setState({ seen: (ctx.state?.seen ?? 0) + 1 });
        ctx.completeJob({ done: true, now: ctx.state });
      }`,
    );
    const outcome = await runner.run(call(path, { state: { seen: 4 } }));
    expect(outcome).toEqual({
      ok: true,
      actions: [
        { kind: 'emit', type: 'scored', body: { n: 4 }, options: { priority: 5 } },
        { kind: 'emit_to', to: 'audit', type: 'seen', body: { from: 'score', job: 'job-1' } },
        { kind: 'event', type: 'counted', payload: { previous: { seen: 4 } } },
        { kind: 'next_state', state: { seen: 5 } },
        { kind: 'complete_job', result: { done: true, now: { seen: 5 } } },
      ],
      state: { seen: 5 },
    });
  });

  it('keeps the given state when the handler sets none, and sets it from a returned { state }', async () => {
    const quiet = moduleFile('quiet.mjs', 'export function handle() {}');
    expect(await runner.run(call(quiet, { state: { keep: 1 } }))).toEqual({ ok: true, actions: [], state: { keep: 1 } });
    const returning = moduleFile('returning.mjs', 'export function handle(m, ctx) { ctx.setState(1); return { state: 2 }; }');
    expect(await runner.run(call(returning))).toEqual({
      ok: true,
      actions: [{ kind: 'next_state', state: 1 }, { kind: 'next_state', state: 2 }],
      state: 2,
    });
  });

  it('runs the handler off the main thread', async () => {
    const path = moduleFile(
      'thread.mjs',
      `import { isMainThread } from 'node:worker_threads';
       export function handle(m, ctx) { ctx.event('thread', { isMainThread }); }`,
    );
    expect(await runner.run(call(path))).toMatchObject({ ok: true, actions: [{ kind: 'event', payload: { isMainThread: false } }] });
  });

  it('transpiles TypeScript modules with type annotations (.ts and .mts)', async () => {
    const source = `
      interface Body { texts: string[] }
      type Ctx = { emit(type: string, body: unknown): void; config: Record<string, unknown> };
      enum Unit { Word = 'word' }
      function count<T extends string>(text: T): number { return text.split(/\\s+/).filter(Boolean).length; }
      export function handle(message: { body: unknown }, ctx: Ctx): void {
        const body = message.body as Body;
        const scores: number[] = body.texts.map((t) => count(t));
        ctx.emit('scored', { scores, unit: Unit.Word });
      }`;
    for (const name of ['typed.ts', 'typed.mts']) {
      const outcome = await runner.run(call(moduleFile(name, source)));
      expect(outcome).toEqual({ ok: true, actions: [{ kind: 'emit', type: 'scored', body: { scores: [2, 1], unit: 'word' } }], state: null });
    }
  });

  it('re-imports a module whose file changed', async () => {
    const path = moduleFile('changing.ts', `export const handle = (m: unknown, ctx: any) => ctx.event('v', { v: 1 });`);
    expect(await runner.run(call(path))).toMatchObject({ ok: true, actions: [{ payload: { v: 1 } }] });
    writeFileSync(path, `export const handle = (m: unknown, ctx: any) => ctx.event('v', { v: 2 });`);
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    expect(await runner.run(call(path))).toMatchObject({ ok: true, actions: [{ payload: { v: 2 } }] });
  });

  it('accepts a default export function and a default export object with handle', async () => {
    const fn = moduleFile('default-fn.mjs', `export default async (m, ctx) => { ctx.emit('x', 1); };`);
    const obj = moduleFile(
      'default-obj.mjs',
      `export default { kind: 'obj', handle(m, ctx) { ctx.emit('x', this.kind); } };`,
    );
    const cjs = moduleFile('default-cjs.cjs.js', `module.exports = { handle(m, ctx) { ctx.emit('x', 'cjs'); } };`);
    expect(await runner.run(call(fn))).toMatchObject({ ok: true, actions: [{ kind: 'emit', type: 'x', body: 1 }] });
    expect(await runner.run(call(obj))).toMatchObject({ ok: true, actions: [{ kind: 'emit', type: 'x', body: 'obj' }] });
    expect(await runner.run(call(cjs))).toMatchObject({ ok: true, actions: [{ kind: 'emit', type: 'x', body: 'cjs' }] });
  });

  it('imports a module once per worker and never shares module state between paths', async () => {
    const source = `let calls = 0; export function handle(m, ctx) { calls++; ctx.event('calls', { calls }); }`;
    const jobA = moduleFile('counter-a.mjs', source);
    const jobB = moduleFile('counter-b.mjs', source);
    const calls = async (path: string): Promise<unknown> => {
      const outcome = await runner.run(call(path));
      return outcome.ok ? (outcome.actions[0] as Extract<AgentAction, { kind: 'event' }>).payload.calls : outcome;
    };
    expect(await calls(jobA)).toBe(1);
    expect(await calls(jobA)).toBe(2);
    expect(await calls(jobB)).toBe(1);
  });

  it('reports a throwing or rejecting handler as handler_error with its message', async () => {
    const sync = moduleFile('throws.mjs', `export function handle() { throw new Error('boom: bad input'); }`);
    const async = moduleFile('rejects.mjs', `export async function handle() { throw 'plain string'; }`);
    expect(await runner.run(call(sync))).toEqual({ ok: false, code: 'handler_error', message: 'handle of module throws.mjs threw: boom: bad input' });
    expect(await runner.run(call(async))).toMatchObject({ ok: false, code: 'handler_error', message: expect.stringContaining('plain string') });
  });

  it('times out a handler that never returns, replaces its worker, and serves the next call', async () => {
    const spin = moduleFile('spin.mjs', `export function handle() { for (;;) {} }`);
    const hang = moduleFile('hang.mjs', `export function handle() { return new Promise(() => {}); }`);
    const ok = moduleFile('ok.mjs', `export function handle(m, ctx) { ctx.emit('ok', null); }`);
    const started = Date.now();
    expect(await runner.run(call(spin, { timeoutMs: 300 }))).toMatchObject({ ok: false, code: 'timeout', message: expect.stringContaining('300 ms') });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await runner.run(call(hang, { timeoutMs: 300 }))).toMatchObject({ ok: false, code: 'timeout' });
    expect(await runner.run(call(ok))).toMatchObject({ ok: true, actions: [{ kind: 'emit', type: 'ok' }] });
  });

  it('starts the timeout when a worker picks the call up, not while it waits in the queue', async () => {
    const slow = moduleFile('slow.mjs', `export function handle() { const end = Date.now() + 400; while (Date.now() < end) {} }`);
    const fast = moduleFile('fast.mjs', `export function handle(m, ctx) { ctx.emit('fast', null); }`);
    await runner.run(call(fast)); // warm the single worker so both calls wait only on each other
    const [first, second] = await Promise.all([runner.run(call(slow, { timeoutMs: 5_000 })), runner.run(call(fast, { timeoutMs: 250 }))]);
    expect(first).toMatchObject({ ok: true });
    expect(second).toMatchObject({ ok: true, actions: [{ type: 'fast' }] });
  });

  it('reports a module calling process.exit as worker_crashed, and later calls still work', async () => {
    const exits = moduleFile('exits.mjs', `export function handle() { process.exit(3); }`);
    const throwsLater = moduleFile('uncaught.mjs', `export function handle() { return new Promise(() => setTimeout(() => { throw new Error('stray'); }, 1)); }`);
    const ok = moduleFile('ok-after-crash.mjs', `export function handle(m, ctx) { ctx.emit('ok', null); }`);
    expect(await runner.run(call(exits))).toMatchObject({ ok: false, code: 'worker_crashed', message: expect.stringContaining('code: 3') });
    expect(await runner.run(call(ok))).toMatchObject({ ok: true, actions: [{ kind: 'emit', type: 'ok' }] });
    expect(await runner.run(call(throwsLater))).toMatchObject({ ok: false, code: 'worker_crashed', message: expect.stringContaining('stray') });
    expect(await runner.run(call(ok))).toMatchObject({ ok: true });
  });

  it('reports a ctx call after the handler returned as a worker error, not a lost action', async () => {
    const late = moduleFile('late.mjs', `export function handle(m, ctx) { setTimeout(() => ctx.emit('late', 1), 1); }`);
    const ok = moduleFile('ok-after-late.mjs', `export function handle(m, ctx) { ctx.emit('ok', null); }`);
    expect(await runner.run(call(late))).toEqual({ ok: true, actions: [], state: null });
    await expect.poll(() => workerErrors.length).toBeGreaterThan(0);
    expect(String(workerErrors.at(-1))).toContain('ctx.emit called after handle returned');
    expect(await runner.run(call(ok))).toMatchObject({ ok: true });
  });

  it('reports a missing file, a wrong extension and a relative path as module_not_found', async () => {
    expect(await runner.run(call(join(dir, 'missing.mjs')))).toMatchObject({ ok: false, code: 'module_not_found', message: expect.stringContaining('missing.mjs') });
    expect(await runner.run(call(moduleFile('data.json', '{}')))).toMatchObject({ ok: false, code: 'module_not_found', message: expect.stringContaining('.ts or .mts') });
    expect(await runner.run(call('agents/score.ts'))).toMatchObject({ ok: false, code: 'module_not_found', message: expect.stringContaining('absolute') });
  });

  it('reports a module without a handle export as no_handler', async () => {
    const path = moduleFile('nohandler.mjs', `export const handler = () => {}; export default { name: 'x' };`);
    expect(await runner.run(call(path))).toMatchObject({ ok: false, code: 'no_handler', message: expect.stringContaining('nohandler.mjs exports no handle function') });
  });

  it('reports a module that does not compile or throws on import as module_load_failed', async () => {
    const broken = moduleFile('broken.ts', `export function handle( {`);
    const throwing = moduleFile('throws-on-import.mjs', `throw new Error('no config at import');`);
    expect(await runner.run(call(broken))).toMatchObject({ ok: false, code: 'module_load_failed', message: expect.stringMatching(/broken\.ts:1:\d+ does not compile/) });
    expect(await runner.run(call(throwing))).toMatchObject({ ok: false, code: 'module_load_failed', message: expect.stringContaining('no config at import') });
  });

  it('rejects actions with fields of the wrong type as invalid_actions naming the field', async () => {
    const cases: [string, string][] = [
      [`ctx.emit(42, {})`, 'actions[0] (ctx.emit): type must be a non-empty string, got number 42'],
      [`ctx.emit('x', { items: [1, () => 2] })`, 'actions[0] (ctx.emit): body.items[1] must be a JSON value, got function'],
      [`ctx.emit('x', { at: new Date(0) })`, 'actions[0] (ctx.emit): body.at must be a JSON value, got Date'],
      [`ctx.emit('x', 1, { priority: 'high' })`, 'actions[0] (ctx.emit): options.priority must be an integer, got string "high"'],
      [`ctx.emit('x', 1, { colour: 'red' })`, 'actions[0] (ctx.emit): options.colour is not an emit option'],
      [`ctx.emit('ok', 1); ctx.emitTo('', 'x', 1)`, 'actions[1] (ctx.emitTo): to must be a non-empty string, got string ""'],
      [`ctx.event('e', [1])`, 'actions[0] (ctx.event): payload must be an object, got list'],
      [`const a = {}; a.self = a; ctx.completeJob(a)`, 'actions[0] (ctx.completeJob): result.self refers back to an enclosing value (cycle)'],
      [`ctx.setState(undefined)`, 'actions[0] (ctx.setState): state must be a JSON value (null clears it), got undefined'],
      [`return { state: NaN }`, 'actions[0] (returned { state }): state must be a finite number, got NaN'],
    ];
    for (const [i, [body, message]] of cases.entries()) {
      const path = moduleFile(`invalid-${i}.mjs`, `export function handle(m, ctx) { ${body}; }`);
      const outcome = await runner.run(call(path));
      expect(outcome, body).toMatchObject({ ok: false, code: 'invalid_actions', message: expect.stringContaining(message) });
    }
  });

  it('runs the examples/module score agent on the manifest\'s initial input', async () => {
    const bundle = fileURLToPath(new URL('../../../examples/module/', import.meta.url));
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as {
      initial_inputs: { intake: unknown[] };
      nodes: { node_id: string; config: { module?: string } }[];
    };
    const score = manifest.nodes.find((n) => n.node_id === 'score')!;
    const message = initialMessage({ jobId: 'job-1', to: 'score', body: manifest.initial_inputs.intake[0], messageId: 'm-1', now: 0 });
    const outcome = await runner.run(call(join(bundle, score.config.module!), { message }));
    const summary = { scores: [9, 9, 3], total: 21 };
    expect(outcome).toEqual({ ok: true, actions: [{ kind: 'emit', type: 'scored', body: summary }, { kind: 'complete_job', result: summary }], state: null });
  });

  it('resolves calls after close to runner_closed', async () => {
    const closing = new ModuleRunner({ threads: 1, workerFile: join(dirname(builtWorkerFile()), '..', 'runtime', 'exec', 'module-worker.js') });
    await closing.close();
    expect(await closing.run(call(join(dir, 'ok.mjs')))).toMatchObject({ ok: false, code: 'runner_closed' });
  });
});
