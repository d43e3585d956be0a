import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MessageSettings } from '../core/config.js';
import { isMnError } from '../core/errors.js';
import { agentConfig } from '../core/manifest/expand.js';
import type { Job, NodeSpec } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { attemptDecision, recordAttempt, restartPolicyFor, type AttemptRecord, type EffectiveRecoveryMode } from '../core/policy/lifecycle.js';
import type { AgentAction } from '../core/runtime/actions.js';
import { allocationEnv, type AllocatedDevice } from '../core/runtime/allocation-env.js';
import {
  SENSOR_TICK_TYPE,
  aggregatorComplete,
  aggregatorKey,
  aggregatorStep,
  deliveryBackoff,
  executorActions,
  executorAttempts,
  executorRetryDelay,
  isTransient,
  routerHandle,
  sensorHandle,
  type RouterState,
  type SensorState,
} from '../core/runtime/builtins.js';
import { executorCommand } from '../core/runtime/executor.js';
import { childMessage, childMessageId, normaliseMessage, positiveInt, type Message } from '../core/runtime/message.js';
import { agentsBySource, routeActions, type RoutedAgent } from '../core/runtime/routing.js';
import { LeaseKeeper } from '../store/lease-keeper.js';
import type { AgentRecord, InboxEntry, JobStatus, OutgoingMessage, Store } from '../store/store.js';
import { Launcher } from './launcher.js';
import { Slots } from './slots.js';
import type { ModuleRunner } from './module-runner.js';

export interface AgentHostOptions {
  store: Store;
  nodeName: string;
  /** Unique per daemon incarnation; also this daemon's inbox consumer name. */
  holder: string;
  /** Staging root: agents run in `<home>/jobs/<job>/<agent>`. */
  home: string;
  /** TTL of the host lease (the job lease duration). */
  leaseMs: number;
  messages: MessageSettings;
  /** Slots of the `default` executor pool (and of pools not in `executorPools`). */
  executorConcurrency: number;
  /** Slots of named executor pools (`config.pool`). */
  executorPools?: Readonly<Record<string, number>>;
  modules: ModuleRunner;
  onError?: (error: unknown) => void;
  /** Lines of stdout/stderr kept as events per agent (default 200). */
  maxLogLines?: number;
  now?: () => number;
  random?: () => number;
}

/** Lease that makes this daemon the one that runs the agents placed on its node. */
export function hostLeaseName(node: string): string {
  return `host:${node}`;
}

/** Job statuses whose agents run. */
const ACTIVE: ReadonlySet<JobStatus> = new Set(['scheduled', 'running', 'paused']);

/** What the handler of one message produced. */
type Outcome =
  | { ok: true; actions: AgentAction[]; state?: unknown; extraSends?: OutgoingMessage[] }
  | { ok: false; reason: string };

/** One agent of a hosted job that runs on this node. */
interface LocalAgent {
  agentId: string;
  spec: NodeSpec;
  config: Record<string, unknown>;
  queue: InboxEntry[];
  busy: boolean;
  /** Aborts the current run (the agent moved, or its job ended). */
  abort: AbortController;
  /** Restart attempts of this incarnation (spec §4.1 sliding window). */
  history: AttemptRecord[];
  restarts: number;
  state: unknown;
  logLines: number;
}

/** A job with agents anywhere, as this daemon last read it. */
interface HostedJob {
  jobId: string;
  version: number;
  status: JobStatus;
  job: Job;
  /** Current node of every agent. */
  nodes: Map<string, string>;
  bySource: Map<string, RoutedAgent[]>;
  sourceOf: Map<string, string>;
  placements: Map<string, Plan['placements'][number]>;
  local: Map<string, LocalAgent>;
  modulesDir: string | null;
  /** The job's effective recovery mode, as its coordinator last recorded it. */
  recoveryMode: EffectiveRecoveryMode;
  /** When this view was read (epoch ms). */
  loadedAt: number;
}

/**
 * Runs the agents placed on this daemon's node. Messages reach them through the node's inbox;
 * each agent handles one message at a time, and the outcome (emitted messages, new state, a
 * `complete_job`) is settled atomically with the message's acknowledgement under this node's
 * host lease, so a redelivered message (after a crash) never counts twice. A message for an
 * agent that moved is forwarded to its new node.
 */
export class AgentHost {
  private readonly jobs = new Map<string, HostedJob>();
  private readonly inflight = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Executor pools by name (`config.pool`, default `default`), created on first use. */
  private readonly pools = new Map<string, Slots>();
  private readonly launcher = new Launcher();
  private readonly keeper: LeaseKeeper;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxLogLines: number;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private loading = new Map<string, Promise<HostedJob | null>>();

  constructor(private readonly options: AgentHostOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxLogLines = options.maxLogLines ?? 200;
    this.keeper = new LeaseKeeper({ store: options.store, name: hostLeaseName(options.nodeName), holder: options.holder, ttlMs: options.leaseMs });
  }

  /** Starts reading the inbox (once the host lease is held). */
  start(): void {
    this.loop ??= this.readLoop();
  }

  /** Refreshes the hosted jobs: new placements, moved agents, ended or paused jobs. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.keeper.held) {
      if (await this.keeper.acquire().catch(() => false)) this.keeper.start();
    }
    const summaries = await this.options.store.listJobs();
    const seen = new Set<string>();
    for (const s of summaries) {
      if (!ACTIVE.has(s.status)) continue;
      seen.add(s.job_id);
      const hosted = this.jobs.get(s.job_id);
      if (!hosted || hosted.version !== s.version) await this.load(s.job_id);
    }
    for (const [jobId, hosted] of this.jobs) {
      if (!seen.has(jobId)) this.unhost(hosted);
    }
  }

  /** Kills running agents and stops reading (daemon shutdown). */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const hosted of this.jobs.values()) for (const a of hosted.local.values()) a.abort.abort();
    this.launcher.close();
    if (options.release) await this.keeper.release().catch(() => false);
    else this.keeper.stop();
  }

  // ---- jobs ---------------------------------------------------------------------------------

  /** Reads a job and its agents; hosts its agents placed here. Null when it no longer runs. */
  private load(jobId: string): Promise<HostedJob | null> {
    let p = this.loading.get(jobId);
    if (!p) {
      p = this.read(jobId).finally(() => this.loading.delete(jobId));
      this.loading.set(jobId, p);
    }
    return p;
  }

  private async read(jobId: string): Promise<HostedJob | null> {
    const { store, nodeName } = this.options;
    const [record, agents] = await Promise.all([store.getJob(jobId), store.listAgents(jobId)]);
    const previous = this.jobs.get(jobId);
    if (!record || !ACTIVE.has(record.status) || !record.plan) {
      if (previous) this.unhost(previous);
      return null;
    }
    const plan = record.plan as Plan;
    const nodes = new Map(agents.map((a) => [a.agent_id, a.node]));
    const placements = plan.placements.map((p) => ({ agent_id: p.agent_id, source_node_id: p.source_node_id, node: nodes.get(p.agent_id) ?? p.node }));
    const hosted: HostedJob = {
      jobId,
      version: record.version,
      status: record.status,
      job: record.job as Job,
      nodes,
      bySource: agentsBySource(placements),
      sourceOf: new Map(placements.map((p) => [p.agent_id, p.source_node_id])),
      placements: new Map(plan.placements.map((p) => [p.agent_id, p])),
      local: previous?.local ?? new Map(),
      modulesDir: previous?.modulesDir ?? null,
      recoveryMode: (record.effective_policies as { recovery_mode?: EffectiveRecoveryMode }).recovery_mode ?? 'local_restart',
      loadedAt: this.now(),
    };
    // Agents that left this node stop here; their unsettled messages are forwarded when read again.
    for (const [id, local] of hosted.local) {
      if (nodes.get(id) !== nodeName) {
        local.abort.abort();
        hosted.local.delete(id);
        for (const entry of local.queue.splice(0)) void this.forward(hosted, entry);
      }
    }
    const arriving = agents.filter((a) => a.node === nodeName && !hosted.local.has(a.agent_id));
    // Published only once its agents are hosted: a message read meanwhile waits for this load.
    if (arriving.length > 0) await this.host(hosted, record.details, arriving);
    this.jobs.set(jobId, hosted);
    if (hosted.status !== 'paused') for (const a of hosted.local.values()) this.pump(hosted, a);
    return hosted;
  }

  private async host(hosted: HostedJob, details: Record<string, unknown>, arriving: AgentRecord[]): Promise<void> {
    const { store, nodeName } = this.options;
    const states = await store.agentStates(hosted.jobId);
    if (hosted.modulesDir === null && hosted.job.nodes.some((n) => n.agent_type === 'module')) {
      hosted.modulesDir = await this.writeModules(hosted.jobId, details.modules);
    }
    const specs = new Map(hosted.job.nodes.map((n) => [n.node_id, n]));
    for (const a of arriving) {
      const source = hosted.sourceOf.get(a.agent_id) ?? a.agent_id;
      const spec = specs.get(source);
      if (!spec) continue;
      const index = spec.count > 1 ? Number(a.agent_id.slice(source.length + 1).split('@')[0]) : null;
      const raw = states[a.agent_id];
      hosted.local.set(a.agent_id, {
        agentId: a.agent_id,
        spec,
        config: agentConfig(spec, index !== null && Number.isInteger(index) ? index : null),
        queue: [],
        busy: false,
        abort: new AbortController(),
        history: [],
        restarts: a.restarts,
        state: raw === undefined ? null : (JSON.parse(raw) as unknown),
        logLines: 0,
      });
    }
    const pending = arriving.filter((a) => a.state === 'pending');
    for (let i = 0; i < pending.length; i += 200) {
      await Promise.all(pending.slice(i, i + 200).map((a) => store.updateAgent(hosted.jobId, a.agent_id, { state: 'running' }).catch(() => undefined)));
    }
    if (pending.length > 0) {
      await store.appendEvent(hosted.jobId, { type: 'agents_started', payload: { node: nodeName, count: pending.length } });
    }
  }

  /** The job ended (or left this daemon's view): its runs stop and its queued messages are dropped. */
  private unhost(hosted: HostedJob): void {
    this.jobs.delete(hosted.jobId);
    const queued: InboxEntry[] = [];
    for (const a of hosted.local.values()) {
      a.abort.abort();
      queued.push(...a.queue.splice(0));
    }
    if (queued.length === 0) return;
    void this.options.store
      .dropMessages(queued)
      .catch((error) => this.options.onError?.(error))
      .finally(() => queued.forEach((e) => this.inflight.delete(e.id)));
  }

  /** Writes the module sources shipped with the job (`details.modules`) under its staging area. */
  private async writeModules(jobId: string, modules: unknown): Promise<string> {
    const dir = path.join(this.options.home, 'jobs', jobId, 'bundle');
    const files = modules && typeof modules === 'object' ? (modules as Record<string, unknown>) : {};
    for (const [rel, text] of Object.entries(files)) {
      if (typeof text !== 'string' || path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) continue;
      const target = path.join(dir, rel);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, text);
    }
    return dir;
  }

  // ---- inbox --------------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    const { store, nodeName, holder, messages } = this.options;
    while (!this.stopped) {
      if (!this.keeper.held || this.inflight.size > 50_000) {
        await sleep(100);
        continue;
      }
      try {
        const entries = await store.readInbox(nodeName, holder, { count: 512, blockMs: messages.pollMs, claimIdleMs: messages.ackTimeoutMs });
        for (const entry of entries) void this.accept(entry).catch((error) => this.options.onError?.(error));
      } catch (error) {
        if (this.stopped) return;
        this.options.onError?.(error);
        await sleep(500);
      }
    }
  }

  private async accept(entry: InboxEntry): Promise<void> {
    if (this.inflight.has(entry.id) || this.stopped) return;
    this.inflight.add(entry.id);
    let queued = false;
    try {
      let hosted = this.jobs.get(entry.job_id) ?? null;
      // A message for an agent this view does not place here may mean the view is behind (the agent
      // was just moved here): read the job again, at most once a second, before forwarding.
      if (!hosted || (hosted.nodes.get(entry.agent_id) !== this.options.nodeName && this.now() - hosted.loadedAt > 1000)) {
        hosted = await this.load(entry.job_id);
      }
      if (!hosted) {
        await this.options.store.dropMessages([entry]);
        return;
      }
      const node = hosted.nodes.get(entry.agent_id);
      if (node === undefined) {
        await this.options.store.deadLetter(entry, `agent ${entry.agent_id} is not an agent of job ${entry.job_id}`);
        await this.options.store.appendEvent(entry.job_id, { type: 'dead_letter', agent_id: entry.agent_id, payload: { message_id: entry.message_id, reason: 'unknown agent' } });
        return;
      }
      if (node !== this.options.nodeName) {
        await this.options.store.forwardMessage(entry, node);
        return;
      }
      let local = hosted.local.get(entry.agent_id);
      const loading = this.loading.get(entry.job_id);
      if (!local && loading) local = (await loading)?.local.get(entry.agent_id);
      if (!local) return; // hosted at the next refresh; the entry is read again after the ack timeout
      queued = true;
      const wait = entry.not_before - this.now();
      if (wait > 0) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.enqueue(entry);
        }, wait);
        this.timers.add(t);
      } else this.enqueue(entry);
    } finally {
      if (!queued) this.inflight.delete(entry.id);
    }
  }

  private enqueue(entry: InboxEntry): void {
    const hosted = this.jobs.get(entry.job_id);
    const local = hosted?.local.get(entry.agent_id);
    if (!hosted || !local) {
      this.inflight.delete(entry.id);
      return;
    }
    local.queue.push(entry);
    this.pump(hosted, local);
  }

  /** Handles the agent's next message unless it is busy or its job is paused. */
  private pump(hosted: HostedJob, local: LocalAgent): void {
    if (local.busy || local.queue.length === 0 || hosted.status === 'paused' || this.stopped) return;
    const entry = local.queue.shift()!;
    local.busy = true;
    void this.handle(hosted, local, entry)
      .catch((error) => this.options.onError?.(error))
      .finally(() => {
        local.busy = false;
        this.inflight.delete(entry.id);
        const current = this.jobs.get(hosted.jobId);
        if (current && current.local.get(local.agentId) === local) this.pump(current, local);
      });
  }

  private async forward(hosted: HostedJob, entry: InboxEntry): Promise<void> {
    const node = hosted.nodes.get(entry.agent_id);
    try {
      if (node && node !== this.options.nodeName) await this.options.store.forwardMessage(entry, node);
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.inflight.delete(entry.id);
    }
  }

  // ---- handling -----------------------------------------------------------------------------

  private async handle(hosted: HostedJob, local: LocalAgent, entry: InboxEntry): Promise<void> {
    const { store } = this.options;
    let message: Message;
    try {
      message = normaliseMessage(JSON.parse(entry.message), { jobId: hosted.jobId, to: local.agentId, messageId: entry.message_id, now: this.now() });
    } catch {
      await store.deadLetter(entry, 'message is not valid JSON');
      await this.event(hosted.jobId, local.agentId, 'dead_letter', { message_id: entry.message_id, reason: 'message is not valid JSON' });
      return;
    }
    const signal = local.abort.signal;
    let outcome: Outcome;
    try {
      outcome = await this.run(hosted, local, message, signal);
    } catch (error) {
      outcome = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (signal.aborted) {
      // Moved away or ended: the new host (or nobody) handles the message.
      const now = this.jobs.get(hosted.jobId);
      if (now) await this.forward(now, entry);
      return;
    }
    if (!outcome.ok) return this.failed(hosted, local, entry, outcome.reason);
    const restart = await this.restartAfterExit(hosted, local, message);
    if (restart === 'failed') {
      await this.settle(hosted, local, entry, message, outcome);
      await store.updateAgent(hosted.jobId, local.agentId, { state: 'failed' }).catch(() => undefined);
      return;
    }
    await this.settle(hosted, local, entry, message, restart ? { ...outcome, extraSends: [...(outcome.extraSends ?? []), restart] } : outcome);
  }

  /**
   * Service and system jobs keep their executors running (spec §1.7, §4.5): when the process an
   * executor started for its `init` message exits, it is started again under the restart
   * policy, by sending the agent its init message once more (settled with the run's outcome, so a
   * crash in between neither loses nor doubles it). Null for other jobs and messages; `failed`
   * when the policy is exhausted.
   */
  private async restartAfterExit(hosted: HostedJob, local: LocalAgent, message: Message): Promise<OutgoingMessage | 'failed' | null> {
    const type = hosted.job.policies.job_type;
    if ((type !== 'service' && type !== 'system') || local.spec.agent_type !== 'executor' || message.envelope.type !== 'init') return null;
    const next = await this.restart(hosted, local, 'the process exited', {});
    if ('exhausted' in next) {
      await this.event(hosted.jobId, local.agentId, 'agent_failed', { reason: 'the process exited and its restart policy is exhausted', detail: next.exhausted });
      return 'failed';
    }
    const again = childMessage({ parent: message, from: 'runtime', to: local.agentId, type: 'init', body: message.body, messageId: childMessageId(message.envelope.message_id, 'runtime', local.agentId, local.restarts), now: this.now() });
    return this.outgoing(hosted, local.agentId, again, next.at);
  }

  /**
   * The restart policy's answer for an agent whose run ended (spec §4.1, §4.5): when it runs
   * again (an allowed attempt is recorded and counted; `delay` mode defers past the window), or
   * why it may not.
   */
  private async restart(hosted: HostedJob, local: LocalAgent, reason: string, extra: Record<string, unknown>): Promise<{ at: number } | { exhausted: string }> {
    const now = this.now();
    const policy = restartPolicyFor(hosted.job.policies, local.spec, hosted.recoveryMode);
    const verdict = attemptDecision('restart', policy, local.history, now);
    if (verdict.decision === 'allowed') {
      local.history = recordAttempt(local.history, { action: 'restart', reason, at: now });
      local.restarts++;
      await this.options.store.updateAgent(hosted.jobId, local.agentId, { restarts: local.restarts }).catch(() => undefined);
      await this.event(hosted.jobId, local.agentId, 'agent_restart_scheduled', { attempt: verdict.attempt, delay_ms: verdict.delay_ms, reason, ...extra });
      return { at: now + verdict.delay_ms };
    }
    if (policy.enabled && policy.mode === 'delay') {
      const at = verdict.wait_until ?? now + policy.interval_ms;
      await this.event(hosted.jobId, local.agentId, 'agent_restart_deferred', { reason, next_eligible_at: at });
      return { at };
    }
    return { exhausted: verdict.reason };
  }

  private async run(hosted: HostedJob, local: LocalAgent, message: Message, signal: AbortSignal): Promise<Outcome> {
    const { store } = this.options;
    const { config } = local;
    switch (local.spec.agent_type) {
      case 'router': {
        const r = routerHandle(config, local.state as RouterState | null, message);
        return { ok: true, actions: r.actions, state: r.state };
      }
      case 'aggregator': {
        const seen = await store.collect(hosted.jobId, local.agentId, aggregatorKey(message), JSON.stringify(message.body ?? null));
        const step = aggregatorStep(config, seen, message);
        const actions = [...step.actions];
        if (step.complete) {
          const bodies = (await store.listCollected(hosted.jobId, local.agentId)).map((t) => JSON.parse(t) as unknown);
          actions.push(...aggregatorComplete(config, bodies, message));
        }
        return { ok: true, actions };
      }
      case 'sensor': {
        const r = sensorHandle(config, local.state as SensorState | null, message, this.now());
        const extraSends: OutgoingMessage[] = [];
        if (r.nextTickAt !== null) {
          const tick = childMessage({ parent: message, from: local.agentId, to: local.agentId, type: SENSOR_TICK_TYPE, body: {}, messageId: childMessageId(message.envelope.message_id, local.agentId, local.agentId, 1_000_000), now: this.now() });
          extraSends.push(this.outgoing(hosted, local.agentId, tick, r.nextTickAt));
        }
        return { ok: true, actions: r.actions, state: r.state, extraSends };
      }
      case 'module': {
        const rel = typeof config.module === 'string' ? config.module : null;
        if (!rel) return { ok: false, reason: 'module agent requires config.module' };
        const modulePath = path.resolve(hosted.modulesDir ?? path.join(this.options.home, 'jobs', hosted.jobId, 'bundle'), rel);
        const timeoutMs = typeof config.timeout_ms === 'number' && config.timeout_ms > 0 ? config.timeout_ms : undefined;
        const r = await this.options.modules.run({ modulePath, jobId: hosted.jobId, agentId: local.agentId, config, state: local.state, message, ...(timeoutMs ? { timeoutMs } : {}) });
        return r.ok ? { ok: true, actions: r.actions, state: r.state } : { ok: false, reason: `${r.code}: ${r.message}` };
      }
      case 'executor':
        return this.execute(hosted, local, message, signal);
    }
  }

  /** Runs the executor's command for one message, retrying transient failures (spec §2.4). */
  private async execute(hosted: HostedJob, local: LocalAgent, message: Message, signal: AbortSignal): Promise<Outcome> {
    const resolved = executorCommand(local.config);
    if (!resolved.ok) return { ok: false, reason: resolved.message };
    const attempts = executorAttempts(local.config);
    const env = await this.environment(hosted, local.agentId);
    const cwd = path.join(this.options.home, 'jobs', hosted.jobId, local.agentId);
    for (let attempt = 1; ; attempt++) {
      const release = await this.pool(local.config).acquire(positiveInt(local.config.pool_slots) ?? 1);
      let result;
      try {
        if (signal.aborted) return { ok: false, reason: 'aborted' };
        result = await this.launcher.run({ command: resolved.command, cwd, env, stdin: `${JSON.stringify(message)}\n`, signal });
      } finally {
        release();
      }
      await this.logStream(hosted.jobId, local, 'stderr', result.stderr.split(/\r?\n/));
      if (result.exit_code === 0) {
        const out = executorActions(local.config, local.agentId, message, { exit_code: 0, stdout: result.stdout, stderr: result.stderr, attempts: attempt, duration_ms: result.duration_ms });
        await this.logStream(hosted.jobId, local, 'stdout', out.stdoutLogLines);
        if (out.warning) await this.event(hosted.jobId, local.agentId, 'executor_output_invalid', { warning: out.warning });
        return { ok: true, actions: out.actions };
      }
      await this.logStream(hosted.jobId, local, 'stdout', result.stdout.split(/\r?\n/));
      const reason = result.error ?? `exited with ${result.exit_code ?? result.signal}`;
      if (result.aborted || attempt >= attempts || !isTransient(`${reason}\n${result.stderr}\n${result.stdout}`)) return { ok: false, reason };
      const delay = executorRetryDelay(local.config, attempt);
      await this.event(hosted.jobId, local.agentId, 'executor_retry_scheduled', { attempt, delay_ms: delay, reason });
      await sleep(delay, signal);
    }
  }

  /**
   * The executor pool an agent's runs take their slots from (spec §2.4 `config.pool`): long-running
   * executors in a pool of their own cannot starve the short runs of the `default` pool.
   */
  private pool(config: Record<string, unknown>): Slots {
    const name = typeof config.pool === 'string' && config.pool !== '' ? config.pool : 'default';
    let slots = this.pools.get(name);
    if (!slots) {
      slots = new Slots(name === 'default' ? this.options.executorConcurrency : (this.options.executorPools?.[name] ?? this.options.executorConcurrency));
      this.pools.set(name, slots);
    }
    return slots;
  }

  private async environment(hosted: HostedJob, agentId: string): Promise<NodeJS.ProcessEnv> {
    const placement = hosted.placements.get(agentId);
    const nodeDevices = placement?.allocations.devices.length ? await this.deviceInventory() : [];
    const devices: AllocatedDevice[] = (placement?.allocations.devices ?? []).map((d) => {
      const known = nodeDevices.find((x) => x.id === d.id);
      const sameDriver = nodeDevices.filter((x) => x.driver === known?.driver);
      return { id: d.id, driver: known?.driver ?? null, index: known ? sameDriver.indexOf(known) : null };
    });
    return {
      ...process.env,
      ...allocationEnv({ devices, ports: placement?.allocations.ports ?? [], volumes: placement?.allocations.volumes ?? [], runtime_driver: placement?.allocations.runtime_driver ?? null }),
      MN_JOB_ID: hosted.jobId,
      MN_AGENT_ID: agentId,
      MN_NODE_NAME: this.options.nodeName,
    };
  }

  /** This machine's devices as registered (read when an agent holds devices). */
  private async deviceInventory(): Promise<Array<{ id: string; driver?: string | null }>> {
    const node = await this.options.store.getNode(this.options.nodeName);
    return (node?.inventory as { devices?: Array<{ id: string; driver?: string | null }> } | undefined)?.devices ?? [];
  }

  /** Carries out a successful handling: events, then one atomic settle of sends, state and completion. */
  private async settle(hosted: HostedJob, local: LocalAgent, entry: InboxEntry, parent: Message, outcome: Extract<Outcome, { ok: true }>): Promise<void> {
    const { store, messages } = this.options;
    let state = outcome.state;
    let complete: string | undefined;
    for (const action of outcome.actions) {
      if (action.kind === 'event') await this.event(hosted.jobId, local.agentId, action.type, action.payload);
      else if (action.kind === 'next_state') state = action.state;
      else if (action.kind === 'complete_job' && complete === undefined) complete = JSON.stringify(action.result ?? null);
    }
    const routed = routeActions({
      job: hosted.job,
      from: { agent_id: local.agentId, source_node_id: local.spec.node_id, node: this.options.nodeName },
      parent,
      actions: outcome.actions,
      agents: hosted.bySource,
      now: this.now(),
    });
    for (const p of routed.problems) await this.event(hosted.jobId, local.agentId, p.type, p.payload);
    const send = [...routed.deliveries.map((d) => this.outgoing(hosted, d.agent_id, d.message, 0)), ...(outcome.extraSends ?? [])];
    const stateJson = state === undefined ? undefined : JSON.stringify(state);
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await store.settleMessage(entry, {
          fence: this.keeper.fence(),
          send,
          ...(stateJson !== undefined ? { state: stateJson } : {}),
          ...(complete !== undefined ? { complete } : {}),
          limits: { perAgent: messages.maxPendingPerAgent, perJob: messages.maxPendingPerJob },
        });
        if (state !== undefined) local.state = state;
        return;
      } catch (error) {
        if (isMnError(error, 'MN_E_CONFLICT') && typeof error.details.node === 'string') {
          // The agent was moved while it handled the message: its new host handles it again.
          await store.forwardMessage(entry, error.details.node);
          return;
        }
        if (isMnError(error, 'MN_E_FENCED') || isMnError(error, 'MN_E_LEASE_LOST')) return; // read again by whoever holds the node
        // Back-pressure or an unreachable store: the outcome is kept and settled again later.
        if (attempt === 1 || attempt % 20 === 0) this.options.onError?.(error);
        await sleep(deliveryBackoff(Math.min(attempt, 7), this.random()));
      }
    }
  }

  /** A failed handling: restart policy (spec §4.1, §4.5), then redelivery or a failed agent. */
  private async failed(hosted: HostedJob, local: LocalAgent, entry: InboxEntry, reason: string): Promise<void> {
    const { store, messages } = this.options;
    let why = `${reason} (delivery attempts exhausted: ${entry.attempt})`;
    if (entry.attempt < messages.maxAttempts) {
      const next = await this.restart(hosted, local, reason, { message_id: entry.message_id });
      if ('at' in next) {
        await store.retryMessage(entry, next.at);
        return;
      }
      why = `${reason} (${next.exhausted})`;
    }
    await store.updateAgent(hosted.jobId, local.agentId, { state: 'failed' }).catch(() => undefined);
    await this.event(hosted.jobId, local.agentId, 'agent_failed', { reason, detail: why });
    await store.deadLetter(entry, why);
    await this.event(hosted.jobId, local.agentId, 'dead_letter', { message_id: entry.message_id, reason: why, attempts: entry.attempt });
  }

  private outgoing(hosted: HostedJob, agentId: string, message: Message, notBefore: number): OutgoingMessage {
    return {
      job_id: hosted.jobId,
      agent_id: agentId,
      node: hosted.nodes.get(agentId) ?? this.options.nodeName,
      message_id: message.envelope.message_id,
      message: JSON.stringify(message, bytesAsBase64),
      ...(notBefore > 0 ? { not_before: notBefore } : {}),
    };
  }

  private async event(jobId: string, agentId: string, type: string, payload: Record<string, unknown>): Promise<void> {
    await this.options.store.appendEvent(jobId, { type, agent_id: agentId, payload }).catch((error) => this.options.onError?.(error));
  }

  /** Plain output lines as bounded `agent_log` events. */
  private async logStream(jobId: string, local: LocalAgent, stream: 'stdout' | 'stderr', lines: string[]): Promise<void> {
    for (const line of lines) {
      if (line === '' || local.logLines >= this.maxLogLines) continue;
      local.logLines++;
      await this.event(jobId, local.agentId, 'agent_log', { stream, line });
    }
  }
}

/** Byte bodies (`body_base64`, `application/octet-stream`) travel in the JSON envelope as base64 text. */
function bytesAsBase64(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
