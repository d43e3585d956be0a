/**
 * The warm pool keeper of one machine over a fake launcher and the embedded store: it starts
 * members up to the size, refills behind a take, shrinks, replaces a member that died or failed
 * its check, backs off from members that die at once, and stops a pool whose agent left.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Launcher, ProcessResult, WarmProcess } from '../../../src/runtime/exec/launcher.js';
import { type PoolHosting, WarmPools } from '../../../src/runtime/exec/warm-pools.js';
import { MemoryStore } from '../../../src/store/memory-store.js';

interface FakeMember extends WarmProcess {
  alive: boolean;
  killed: boolean;
  fed: string | null;
  die(why: string): void;
}

function fakeLauncher(): { launcher: Launcher; members: FakeMember[]; fail: { next: string | null } } {
  const members: FakeMember[] = [];
  const fail = { next: null as string | null };
  let pid = 1000;
  const launcher = {
    warm: async (args: { argv: string[]; env: NodeJS.ProcessEnv; onExit: (why: string) => void }) => {
      if (fail.next !== null) {
        const why = fail.next;
        fail.next = null;
        throw new Error(why);
      }
      const m: FakeMember = {
        pid: pid++,
        alive: true,
        killed: false,
        fed: null,
        feed: async (f) => {
          m.fed = f.stdin;
          m.alive = false;
          return { exit_code: 0, signal: null, stdout: `${args.env.MN_WARM_POOL_MEMBER}`, stderr: '', duration_ms: 1, error: null, aborted: false, stopped_by: null } satisfies ProcessResult;
        },
        probe: async () => m.alive,
        kill: () => {
          m.killed = true;
          m.alive = false;
        },
        die: (why) => {
          m.alive = false;
          args.onExit(why);
        },
      };
      members.push(m);
      return m;
    },
  } as unknown as Launcher;
  return { launcher, members, fail };
}

const hosting = (size: number, argv = ['worker']): PoolHosting => ({ spec: { name: 'py', size, provider: 'openai' }, jobId: 'pools', agentId: 'py', argv, env: async () => ({ MN_JOB_ID: 'pools' }) });
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(0);
};

describe('WarmPools', () => {
  let store: MemoryStore;
  let now: number;
  let fake: ReturnType<typeof fakeLauncher>;
  let pools: WarmPools;
  const errors: unknown[] = [];
  const live = (): FakeMember[] => fake.members.filter((m) => m.alive);
  const record = async () => (await store.warmPools.list())[0];

  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
    store = new MemoryStore({ clock: () => now });
    fake = fakeLauncher();
    errors.length = 0;
    pools = new WarmPools({ store, node: 'n1', launcher: fake.launcher, home: '/tmp/mn-warm-unit', env: {}, checkMs: 1000, onError: (e) => errors.push(e), now: () => now });
  });
  afterEach(async () => {
    await pools.close();
    vi.useRealTimers();
  });

  it('starts members up to the size, hands one out, refills behind it and reports the counts', async () => {
    await pools.reconcile([hosting(2)]);
    await settle();
    expect(live()).toHaveLength(2);
    await pools.reconcile([hosting(2)]);
    expect(await record()).toMatchObject({ pool: 'py', node: 'n1', provider: 'openai', job_id: 'pools', agent_ids: ['py'], size: 2, idle: 2, in_use: 0, starting: 0 });
    now += 500;
    const taken = pools.take('py')!;
    expect(taken).toMatchObject({ id: 'py-1', pid: 1000, waitedMs: 500 });
    await settle();
    // A new member started behind it; the taken one is in use until its run ends.
    expect(fake.members).toHaveLength(3);
    const r = await taken.feed({ stdin: 'input\n', signal: new AbortController().signal, timeoutMs: null });
    expect(r.stdout).toBe('py-1');
    expect(fake.members[0]!.fed).toBe('input\n');
    await settle();
    expect(await record()).toMatchObject({ idle: 2, in_use: 0, served_warm: 1 });
    expect(pools.take('other')).toBeNull();
    pools.recordCold('py');
    await settle();
    expect((await record())!.served_cold).toBe(1);
    expect(pools.commandOf('py')).toEqual(['worker']);
  });

  it('shrinks to a smaller size, replaces idle members when the command changes, and stops a pool whose agent left', async () => {
    await pools.reconcile([hosting(3)]);
    await settle();
    await pools.reconcile([hosting(1)]);
    expect(live()).toHaveLength(1);
    await pools.reconcile([hosting(1, ['worker', '--v2'])]);
    await settle();
    expect(live()).toHaveLength(1);
    expect(fake.members.filter((m) => m.killed)).toHaveLength(3);
    await pools.reconcile([]);
    expect(live()).toHaveLength(0);
    expect(await store.warmPools.list()).toEqual([]);
  });

  it('honours MN_WARM_POOL_<NAME>_SIZE and reports a bad value', async () => {
    const withEnv = new WarmPools({ store, node: 'n2', launcher: fake.launcher, home: '/tmp', env: { MN_WARM_POOL_PY_SIZE: '4' }, onError: (e) => errors.push(e), now: () => now });
    await withEnv.reconcile([hosting(1)]);
    await settle();
    expect(fake.members).toHaveLength(4);
    await withEnv.close({ forget: true });
    const bad = new WarmPools({ store, node: 'n3', launcher: fake.launcher, home: '/tmp', env: { MN_WARM_POOL_PY_SIZE: 'x' }, onError: (e) => errors.push(e), now: () => now });
    await bad.reconcile([hosting(1)]);
    expect(String(errors[0])).toContain('MN_WARM_POOL_PY_SIZE must be an integer');
    await bad.close({ forget: true });
  });

  it('replaces a member that exits while idle, and one whose process is gone at a check', async () => {
    await pools.reconcile([hosting(2)]);
    await settle();
    now += 5000;
    fake.members[0]!.die('exited with 1');
    await settle();
    expect(live()).toHaveLength(2);
    expect((await record())!.last_error).toBe('member py-1 exited with 1');
    // Gone without a word (the exit was missed): the next check finds it.
    fake.members[1]!.alive = false;
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(live()).toHaveLength(2);
    expect((await record())!.last_error).toBe('member py-2 (pid 1001) failed its check: its process is gone');
  });

  it('waits longer before each new start while members die at once or cannot start', async () => {
    await pools.reconcile([hosting(1)]);
    await settle();
    fake.members[0]!.die('exited with 127');
    await settle();
    expect(fake.members).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(250);
    await settle();
    expect(fake.members).toHaveLength(2);
    fake.members[1]!.die('exited with 127');
    await settle();
    await vi.advanceTimersByTimeAsync(250);
    await settle();
    // The second quick death doubles the delay.
    expect(fake.members).toHaveLength(2);
    fake.fail.next = 'command not found: worker';
    await vi.advanceTimersByTimeAsync(250);
    await settle();
    expect((await record())!.last_error).toBe('member py-3 could not start: command not found: worker');
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(live()).toHaveLength(1);
  });
});
