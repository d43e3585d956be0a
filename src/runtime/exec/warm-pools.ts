/**
 * The warm pools of this machine: for every pool agent placed here (an executor node with
 * `warm_pool`), `size` members, each a process of the pool's command started ahead of time and
 * waiting for its input on stdin. A consumer (`config.warm_pool: NAME`) takes an idle member and
 * hands it its message; the pool starts a new member behind it. Idle members are checked: one
 * that exits, or whose process is gone at a check, is replaced. Members that keep dying at once
 * are restarted with a growing delay (the reason shows as `last_error`). Each pool's counts are
 * written to the store (`store.warmPools`) when they change, for `mn pool list`.
 */
import path from 'node:path';
import { effectiveWarmPoolSize, type WarmPoolSpec } from '../../core/manifest/warm-pool.js';
import type { Store } from '../../store/store.js';
import type { NewWarmPoolState } from '../../store/warm-pools.js';
import type { Launcher, ProcessResult, WarmProcess } from './launcher.js';

/** One pool agent placed on this machine, as the host sees it. */
export interface PoolHosting {
  spec: WarmPoolSpec;
  jobId: string;
  agentId: string;
  /** The pool node's command (argv). */
  argv: string[];
  /** The pool agent's process environment. */
  env: () => Promise<NodeJS.ProcessEnv>;
}

/** An idle member taken by a consumer: feed it once, and it is gone. */
export interface TakenMember {
  readonly id: string;
  readonly pid: number;
  /** Milliseconds between the member's start and its take. */
  readonly waitedMs: number;
  feed(args: { stdin: string; signal: AbortSignal; timeoutMs: number | null; killTimeoutMs?: number }): Promise<ProcessResult>;
}

export interface WarmPoolsOptions {
  store: Store;
  node: string;
  launcher: Launcher;
  /** Members run in `<home>/jobs/<job>/<agent>/warm/<member>`. */
  home: string;
  /** Where `MN_WARM_POOL_<NAME>_SIZE` is read (the daemon's environment). */
  env: Readonly<Record<string, string | undefined>>;
  /** How often idle members are checked (default 2 s). */
  checkMs?: number;
  onError: (error: unknown) => void;
  now?: () => number;
}

interface Member {
  id: string;
  process: WarmProcess;
  startedAt: number;
}

interface Pool {
  name: string;
  hosting: PoolHosting[];
  /** Command and agent the members run as; a change replaces the idle members. */
  fingerprint: string;
  size: number;
  idle: Member[];
  starting: number;
  inUse: number;
  servedWarm: number;
  servedCold: number;
  lastError: string | null;
  /** Consecutive members that died at once, for the restart delay. */
  failures: number;
  retryTimer: NodeJS.Timeout | null;
  nextId: number;
  closed: boolean;
}

/** A member that ends within this long of its start counts as a failed start. */
const QUICK_DEATH_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class WarmPools {
  private readonly pools = new Map<string, Pool>();
  /** Pools whose record this daemon wrote (removed when the pool goes). */
  private readonly written = new Set<string>();
  private firstReconcile = true;
  private readonly dirty = new Set<string>();
  private flushing: Promise<void> | null = null;
  private readonly checker: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly o: WarmPoolsOptions) {
    this.now = o.now ?? Date.now;
    this.checker = setInterval(() => void this.check().catch(o.onError), o.checkMs ?? 2000);
    this.checker.unref();
  }

  /** Brings the pools in line with the pool agents placed here now: new pools start, gone ones stop. */
  async reconcile(hostings: readonly PoolHosting[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, PoolHosting[]>();
    for (const h of hostings) wanted.set(h.spec.name, [...(wanted.get(h.spec.name) ?? []), h]);
    for (const [name, pool] of this.pools) if (!wanted.has(name)) this.retire(pool);
    for (const [name, list] of wanted) {
      let size = 0;
      for (const h of list) {
        const eff = effectiveWarmPoolSize(h.spec, this.o.env);
        size += eff.size;
        if (eff.problem) this.o.onError(new Error(eff.problem));
      }
      const first = list[0]!;
      const fingerprint = JSON.stringify([first.jobId, first.agentId, first.argv]);
      let pool = this.pools.get(name);
      if (!pool) {
        pool = { name, hosting: list, fingerprint, size, idle: [], starting: 0, inUse: 0, servedWarm: 0, servedCold: 0, lastError: null, failures: 0, retryTimer: null, nextId: 1, closed: false };
        this.pools.set(name, pool);
        this.mark(name);
      }
      if (pool.fingerprint !== fingerprint) {
        for (const m of pool.idle.splice(0)) m.process.kill();
        pool.fingerprint = fingerprint;
        this.mark(name);
      }
      if (pool.size !== size || pool.hosting.map((h) => h.agentId).join() !== list.map((h) => h.agentId).join()) this.mark(name);
      pool.hosting = list;
      pool.size = size;
      while (pool.idle.length > pool.size) {
        pool.idle.pop()?.process.kill();
        this.mark(name);
      }
      this.fill(pool);
    }
    if (this.firstReconcile) {
      this.firstReconcile = false;
      // Records of this machine left by an earlier incarnation of the daemon.
      for (const r of await this.o.store.warmPools.list()) if (r.node === this.o.node && !this.pools.has(r.pool)) await this.o.store.warmPools.delete(r.pool, r.node);
    }
    await this.flush();
  }

  /** An idle member of the pool, now in use; null when the pool is not here or has none idle. */
  take(name: string): TakenMember | null {
    const pool = this.pools.get(name);
    const member = pool?.idle.shift();
    if (!pool || !member) return null;
    pool.inUse++;
    pool.servedWarm++;
    pool.failures = 0;
    this.mark(name);
    this.fill(pool);
    void this.flush();
    return {
      id: member.id,
      pid: member.process.pid,
      waitedMs: this.now() - member.startedAt,
      feed: async (args) => {
        try {
          return await member.process.feed(args);
        } finally {
          pool.inUse--;
          this.mark(name);
          void this.flush();
        }
      },
    };
  }

  /** A consumer here found no idle member and spawns cold. */
  recordCold(name: string): void {
    const pool = this.pools.get(name);
    if (!pool) return;
    pool.servedCold++;
    this.mark(name);
    void this.flush();
  }

  /** The command of a pool kept here (what a consumer without a command of its own spawns cold). */
  commandOf(name: string): string[] | null {
    return this.pools.get(name)?.hosting[0]?.argv ?? null;
  }

  /** Kills every member; `forget` also removes this machine's records from the store. */
  async close(options: { forget?: boolean } = {}): Promise<void> {
    this.closed = true;
    clearInterval(this.checker);
    for (const pool of this.pools.values()) {
      pool.closed = true;
      if (pool.retryTimer) clearTimeout(pool.retryTimer);
      for (const m of pool.idle.splice(0)) m.process.kill();
    }
    await this.flushing?.catch(() => undefined);
    if (options.forget) for (const name of this.pools.keys()) await this.o.store.warmPools.delete(name, this.o.node).catch(this.o.onError);
    this.pools.clear();
  }

  /** Idle members whose process is gone are replaced. */
  private async check(): Promise<void> {
    for (const pool of this.pools.values()) {
      for (const m of [...pool.idle]) {
        if (await m.process.probe()) continue;
        const i = pool.idle.indexOf(m);
        if (i < 0) continue;
        pool.idle.splice(i, 1);
        m.process.kill();
        pool.lastError = `member ${m.id} (pid ${m.process.pid}) failed its check: its process is gone`;
        this.mark(pool.name);
        this.fill(pool);
      }
    }
    await this.flush();
  }

  private retire(pool: Pool): void {
    pool.closed = true;
    if (pool.retryTimer) clearTimeout(pool.retryTimer);
    for (const m of pool.idle.splice(0)) m.process.kill();
    this.pools.delete(pool.name);
    this.mark(pool.name);
  }

  /** Starts members until idle + starting reaches the size (unless a restart delay is running). */
  private fill(pool: Pool): void {
    if (pool.closed || this.closed || pool.retryTimer) return;
    while (pool.idle.length + pool.starting < pool.size) this.startMember(pool);
  }

  private startMember(pool: Pool): void {
    const hosting = pool.hosting[0];
    if (!hosting) return;
    const id = `${pool.name}-${pool.nextId++}`;
    const fingerprint = pool.fingerprint;
    pool.starting++;
    this.mark(pool.name);
    const startedAt = this.now();
    let member: Member | null = null;
    const died = (why: string): void => {
      const i = member ? pool.idle.indexOf(member) : -1;
      if (i >= 0) pool.idle.splice(i, 1);
      pool.lastError = `member ${id} ${why}`;
      this.mark(pool.name);
      if (this.now() - startedAt < QUICK_DEATH_MS) this.backOff(pool);
      else {
        pool.failures = 0;
        this.fill(pool);
      }
      void this.flush();
    };
    void (async () => {
      const env = { ...(await hosting.env()), MN_WARM_POOL: pool.name, MN_WARM_POOL_MEMBER: id };
      const cwd = path.join(this.o.home, 'jobs', hosting.jobId, hosting.agentId, 'warm', id);
      return this.o.launcher.warm({ argv: hosting.argv, cwd, env, onExit: (why) => died(why) });
    })().then(
      (process) => {
        pool.starting--;
        if (pool.closed || this.closed || pool.fingerprint !== fingerprint || pool.idle.length >= pool.size) {
          process.kill();
        } else {
          member = { id, process, startedAt };
          pool.idle.push(member);
        }
        this.mark(pool.name);
        void this.flush();
      },
      (error: unknown) => {
        pool.starting--;
        pool.lastError = `member ${id} could not start: ${error instanceof Error ? error.message : String(error)}`;
        this.mark(pool.name);
        this.backOff(pool);
        void this.flush();
      },
    );
  }

  /** Members die at once: wait longer before each new start (250 ms doubling, at most 30 s). */
  private backOff(pool: Pool): void {
    if (pool.closed || this.closed || pool.retryTimer) return;
    pool.failures++;
    const delay = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(pool.failures - 1, 10));
    pool.retryTimer = setTimeout(() => {
      pool.retryTimer = null;
      this.fill(pool);
      void this.flush();
    }, delay);
    pool.retryTimer.unref();
  }

  private mark(name: string): void {
    this.dirty.add(name);
  }

  /** Writes the records of the pools that changed; one write at a time, the latest counts win. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.dirty.size > 0 ? this.flush() : undefined));
    if (this.dirty.size === 0) return Promise.resolve();
    const names = [...this.dirty];
    this.dirty.clear();
    this.flushing = (async () => {
      for (const name of names) {
        const pool = this.pools.get(name);
        try {
          if (pool) {
            await this.o.store.warmPools.put(this.state(pool));
            this.written.add(name);
          } else if (this.written.delete(name)) {
            await this.o.store.warmPools.delete(name, this.o.node);
          }
        } catch (error) {
          this.o.onError(error);
        }
      }
    })().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private state(pool: Pool): NewWarmPoolState {
    const first = pool.hosting[0]!;
    return {
      pool: pool.name,
      node: this.o.node,
      provider: first.spec.provider,
      job_id: first.jobId,
      agent_ids: pool.hosting.map((h) => h.agentId),
      size: pool.size,
      idle: pool.idle.length,
      in_use: pool.inUse,
      starting: pool.starting,
      served_warm: pool.servedWarm,
      served_cold: pool.servedCold,
      last_error: pool.lastError,
    };
  }
}
