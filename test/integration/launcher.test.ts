import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Launcher } from '../../src/runtime/exec/launcher.js';
import { eventually, processAlive } from '../helpers/daemon.js';

const cwd = os.tmpdir();
const run = (launcher: Launcher, argv: string[], extra: { timeoutMs?: number | null; signal?: AbortSignal; stdin?: string; killTimeoutMs?: number } = {}) =>
  launcher.run({
    command: { argv, timeoutMs: extra.timeoutMs ?? null },
    cwd,
    env: { ...process.env, MN_TEST: 'yes' },
    stdin: extra.stdin ?? '',
    signal: extra.signal ?? new AbortController().signal,
    ...(extra.killTimeoutMs !== undefined ? { killTimeoutMs: extra.killTimeoutMs } : {}),
  });

describe('Launcher (executor processes spawned from a small child process)', () => {
  const launcher = new Launcher();
  afterAll(() => launcher.close());

  it('runs argv with stdin and the environment, and reports output and exit code', async () => {
    const r = await run(launcher, ['node', '-e', "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{console.log(s.trim()+' '+process.env.MN_TEST);console.error('warn');process.exit(3)})"], { stdin: 'hello\n' });
    expect(r).toMatchObject({ exit_code: 3, stdout: 'hello yes\n', stderr: 'warn\n', error: null, aborted: false });
  });

  it('reports a missing command, a timeout and an abort, each clearly', async () => {
    expect((await run(launcher, ['no-such-command-mn'])).error).toBe('command not found: no-such-command-mn');
    const slow = await run(launcher, ['sleep', '30'], { timeoutMs: 200 });
    expect([slow.exit_code, slow.error]).toEqual([null, 'timed out after 200 ms']);
    const controller = new AbortController();
    const pending = run(launcher, ['sleep', '30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toMatchObject({ aborted: true, error: 'aborted' });
  });

  it('stops a run with SIGTERM when its process exits on it, within the kill timeout', async () => {
    const ready = path.join(mkdtempSync(path.join(cwd, 'mn-term-')), 'ready');
    const controller = new AbortController();
    // A kill timeout far beyond the test's own: the run can only end this soon through SIGTERM.
    const pending = run(launcher, ['node', '-e', `process.on('SIGTERM',()=>{console.log('terminated');process.exit(0)});require('fs').writeFileSync(${JSON.stringify(ready)},'1');setInterval(()=>{},1000)`], {
      signal: controller.signal,
      killTimeoutMs: 600_000,
    });
    await eventually(async () => (existsSync(ready) ? true : null), 10_000, 20);
    controller.abort();
    const r = await pending;
    expect(r).toMatchObject({ aborted: true, error: 'aborted', stopped_by: 'SIGTERM', exit_code: 0, stdout: 'terminated\n' });
  });

  it('sends SIGKILL after the kill timeout to a process that ignores SIGTERM, and to its whole process group', async () => {
    const dir = mkdtempSync(path.join(cwd, 'mn-kill-'));
    const pidFile = path.join(dir, 'pid');
    const controller = new AbortController();
    // sh ignores SIGTERM (and so does the sleep it starts); only SIGKILL to the group ends both.
    const pending = run(launcher, ['sh', '-c', `trap '' TERM; sleep 600 & echo $! > ${pidFile}; wait`], { signal: controller.signal, killTimeoutMs: 300 });
    const pid = await eventually(async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || null : null), 10_000, 20);
    controller.abort();
    const r = await pending;
    expect(r).toMatchObject({ aborted: true, error: 'aborted', stopped_by: 'SIGKILL', signal: 'SIGKILL', exit_code: null });
    await eventually(async () => !processAlive(pid), 5_000, 20);
  });

  it('kills at once without a kill timeout (health-check scripts)', async () => {
    const controller = new AbortController();
    const pending = run(launcher, ['node', '-e', "process.on('SIGTERM',()=>{});setInterval(()=>{},1000)"], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toMatchObject({ aborted: true, stopped_by: 'SIGKILL', signal: 'SIGKILL' });
  });

  it('fails the runs of a launcher that died and starts a new one for the next run', async () => {
    const pending = run(launcher, ['sleep', '30']);
    await new Promise((r) => setTimeout(r, 100));
    (launcher as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    expect((await pending).error).toMatch(/the launcher exited/);
    expect((await run(launcher, ['true'])).exit_code).toBe(0);
  });

  it('takes its running processes along when closed, leaving none behind', async () => {
    const own = new Launcher();
    const pidFile = path.join(mkdtempSync(path.join(cwd, 'mn-launcher-')), 'pid');
    const pending = run(own, ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 600`]);
    const pid = await eventually(async () => Number(readFileSync(pidFile, 'utf8').trim()) || null, 10_000, 20);
    expect(processAlive(pid)).toBe(true);
    own.close();
    expect((await pending).error).toMatch(/the launcher exited/);
    await eventually(async () => !processAlive(pid), 5_000, 20);
  });
});


describe('Launcher warm members (pre-started processes that wait for their input)', () => {
  const launcher = new Launcher();
  afterAll(() => launcher.close());
  const WAITER = "require('fs').writeFileSync(process.argv[1],String(process.pid));let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{console.log('got '+s.trim()+' '+process.env.MN_TEST);process.exit(s.includes('fail')?4:0)})";
  const warm = (marker: string, onExit: (why: string) => void = () => undefined) =>
    launcher.warm({ argv: ['node', '-e', WAITER, marker], cwd, env: { ...process.env, MN_TEST: 'warm' }, onExit });

  it('starts a process that waits; a feed hands it its input and reports the run', async () => {
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'mn-warm-')), 'pid');
    const member = await warm(marker);
    // Running before any input: it wrote its pid at start.
    await eventually(async () => existsSync(marker) && readFileSync(marker, 'utf8') === String(member.pid));
    expect(await member.probe()).toBe(true);
    const r = await member.feed({ stdin: 'hello\n', signal: new AbortController().signal, timeoutMs: null });
    expect(r).toMatchObject({ exit_code: 0, stdout: 'got hello warm\n', error: null, aborted: false });
    expect(await member.probe()).toBe(false);
    // Fed once only.
    expect((await member.feed({ stdin: 'again', signal: new AbortController().signal, timeoutMs: null })).error).toBe('the warm member was fed already');
    const failing = await warm(path.join(path.dirname(marker), 'pid2'));
    expect((await failing.feed({ stdin: 'fail', signal: new AbortController().signal, timeoutMs: null })).exit_code).toBe(4);
  });

  it('tells of a member that dies while it waits, and kills one on request without telling', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mn-warm-'));
    const exits: string[] = [];
    const member = await warm(path.join(dir, 'a'), (why) => exits.push(why));
    process.kill(member.pid, 'SIGKILL');
    await eventually(async () => exits.length === 1);
    expect(exits[0]).toBe('exited with SIGKILL');
    expect(await member.probe()).toBe(false);
    const quiet: string[] = [];
    const other = await warm(path.join(dir, 'b'), (why) => quiet.push(why));
    await eventually(async () => existsSync(path.join(dir, 'b')));
    other.kill();
    await eventually(async () => !processAlive(other.pid));
    expect(quiet).toEqual([]);
    await expect(launcher.warm({ argv: ['no-such-command-mn'], cwd, env: process.env, onExit: () => undefined })).rejects.toThrow('command not found: no-such-command-mn');
  });

  it('stops a fed member that runs on: on abort (SIGTERM, then SIGKILL) and on its timeout', async () => {
    const sleeper = () => launcher.warm({ argv: ['sleep', '30'], cwd, env: process.env, onExit: () => undefined });
    const ac = new AbortController();
    const pending = (await sleeper()).feed({ stdin: 'x', signal: ac.signal, timeoutMs: null, killTimeoutMs: 1000 });
    setTimeout(() => ac.abort(), 100);
    expect(await pending).toMatchObject({ aborted: true, error: 'aborted', stopped_by: 'SIGTERM' });
    const timed = await (await sleeper()).feed({ stdin: 'x', signal: new AbortController().signal, timeoutMs: 200 });
    expect(timed.error).toBe('timed out after 200 ms');
  });
});
