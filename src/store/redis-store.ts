/**
 * The durable {@link Store} on Redis (plain or Sentinel-managed), shared by every daemon of a
 * cluster. Key layout: docs/redis-keys.md. Every multi-step write is one Lua script
 * (`scripts/*.lua`), so fencing and version checks happen in the same atomic step as the write.
 */
import type { Redis } from 'ioredis';
import { type AgentSummary, addToSummary, emptySummary, firstAfter } from '../core/paging.js';
import { MnError } from '../core/errors.js';
import { createRedisClient, redisConfigFromEnv, type ClientOptions, type RedisConfig } from './connect.js';
import { StoreKeys } from './keys.js';
import { randomBytes } from 'node:crypto';
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';
import { contextOf, decodeJobRecord, frozen, frozenPlan, frozenPlanChunked, newJobRecord } from './records.js';
import type { RedisCore } from './redis/core.js';
import { RedisDeployments } from './redis/deployments.js';
import { RedisSchedules } from './redis/schedules.js';
import { RedisServiceRegistry } from './redis/service-registry.js';
import { RedisJobTemplates } from './redis/job-templates.js';
import { RedisJobQueue } from './redis/job-queue.js';
import { RedisEvaluations } from './redis/evaluations.js';
import { RedisWarmPools } from './redis/warm-pools.js';
import { defineScripts, runScript } from './script-loader.js';
import { redisCommandSeconds, timed } from '../observability/metrics.js';
import { ScriptCode, scriptError, type ScriptContext } from './script-codes.js';
import {
  type AgentPage,
  type CompletionRecord,
  type DeadLetter,
  type InboxEntry,
  type MessageCounts,
  type MessageLimits,
  type OutgoingMessage,
  type SendResult,
  type SettleOptions,
  TERMINAL_JOB_STATUSES,
  type AgentPatch,
  type AgentPlacement,
  type AgentRecord,
  type AgentWriteGuard,
  type Fence,
  type FollowEventsOptions,
  type JobPatch,
  type JobRecord,
  type JobSummary,
  type LeaseGrant,
  type LeaseInfo,
  type NewEvent,
  type NewJob,
  type NewNode,
  type NodePatch,
  type NodeRecord,
  type NodeView,
  type PlacementCommit,
  type ReadEventsOptions,
  type Store,
  type StoreOptions,
  type StoredEvent,
  type WriteGuard,
} from './store.js';
import {
  DEFAULT_MAX_EVENTS,
  DEFAULT_TERMINAL_JOB_TTL_SECONDS,
  agentUnits,
  checkAgentPatch,
  checkEventId,
  checkFence,
  checkGuard,
  checkJobPatch,
  checkName,
  checkNewJob,
  checkNodePatch,
  checkOutgoing,
  checkPlacements,
  checkEvictions,
  checkPlacementsChunked,
  checkTtl,
  emptyUsage,
  capacityUnits,
} from './validate.js';

/** Options of {@link RedisStore.connect}. */
export interface RedisStoreOptions extends StoreOptions {
  /** Connection settings; default {@link redisConfigFromEnv}. */
  config?: RedisConfig;
  /** Overrides `config.namespace`. */
  namespace?: string;
  /** Lease connection command timeout (default 2000 ms). */
  leaseCommandTimeoutMs?: number;
  /** How long `connect` waits for the first connection (default 10000 ms). */
  connectTimeoutMs?: number;
  /** How long one follower `XREAD BLOCK` waits before re-issuing (default 5000 ms). */
  followBlockMs?: number;
}

type Hash = Record<string, string>;

const JOB_FIELDS = ['job_id', 'manifest', 'job', 'plan', 'status', 'requested_policies', 'effective_policies', 'details', 'created_at', 'updated_at', 'version'] as const;

/** The Redis-backed store. Create with {@link RedisStore.connect}. */
export class RedisStore implements Store {
  readonly keys: StoreKeys;
  private readonly clock: () => number;
  private readonly maxEvents: number;
  /** Parsed plans by job: the plan text, its value and the record version it was read at. */
  private readonly plans = new Map<string, { raw: string | null; plan: JobRecord['plan']; version: number; until: number | null }>();
  private readonly maxGlobalEvents: number;
  private readonly terminalTtl: number;
  private readonly followBlockMs: number;
  private readonly followers = new Set<Redis>();
  /** Blocking connection of `readInbox`, opened on first use. */
  private inboxConn: Redis | null = null;
  /** Inboxes whose consumer group is known to exist. */
  private readonly groups = new Set<string>();
  private closed = false;
  readonly services: RedisServiceRegistry;
  readonly deployments: RedisDeployments;
  readonly schedules: RedisSchedules;
  readonly jobTemplates: RedisJobTemplates;
  readonly queue: RedisJobQueue;
  readonly evaluations: RedisEvaluations;
  readonly warmPools: RedisWarmPools;

  private constructor(
    private readonly config: RedisConfig,
    /** Data connection. */
    readonly client: Redis,
    /** Lease connection: no offline queue, bounded command time. */
    readonly leaseClient: Redis,
    options: RedisStoreOptions,
  ) {
    this.keys = new StoreKeys(options.namespace ?? config.namespace);
    this.clock = options.clock ?? Date.now;
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.maxGlobalEvents = options.maxGlobalEvents ?? DEFAULT_MAX_EVENTS;
    this.terminalTtl = options.terminalJobTtlSeconds ?? DEFAULT_TERMINAL_JOB_TTL_SECONDS;
    this.followBlockMs = options.followBlockMs ?? 5000;
    const core: RedisCore = {
      client,
      keys: this.keys,
      clock: () => this.clock(),
      call: (fn) => this.call(fn),
      script: (name, keys, args, context) => this.script(this.client, name, keys, args, context),
    };
    this.services = new RedisServiceRegistry(core);
    this.deployments = new RedisDeployments(core);
    this.jobTemplates = new RedisJobTemplates(core);
    this.queue = new RedisJobQueue(core);
    this.evaluations = new RedisEvaluations(core, this.terminalTtl);
    this.warmPools = new RedisWarmPools(core);
    this.schedules = new RedisSchedules(core, (job) => {
      checkNewJob(job);
      const record = newJobRecord(job, this.clock());
      return JOB_FIELDS.flatMap((field) => [field, JSON.stringify(record[field])]);
    });
  }

  /** Opens the data and lease connections and waits until both are ready. */
  static async connect(options: RedisStoreOptions = {}): Promise<RedisStore> {
    const config = options.config ?? redisConfigFromEnv();
    const clientOpts: ClientOptions = options.leaseCommandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.leaseCommandTimeoutMs };
    const client = createRedisClient(config, 'data');
    const leaseClient = createRedisClient(config, 'lease', clientOpts);
    defineScripts(client);
    defineScripts(leaseClient);
    const store = new RedisStore(config, client, leaseClient, options);
    try {
      await Promise.all([waitReady(client, options.connectTimeoutMs ?? 10_000), waitReady(leaseClient, options.connectTimeoutMs ?? 10_000)]);
    } catch (error) {
      client.disconnect();
      leaseClient.disconnect();
      throw unavailable(error, 'connect');
    }
    return store;
  }

  // ---- jobs ---------------------------------------------------------------------------------

  async createJob(input: NewJob): Promise<JobRecord> {
    checkNewJob(input);
    const record = newJobRecord(input, this.clock());
    const args: string[] = [record.job_id];
    for (const field of JOB_FIELDS) args.push(field, JSON.stringify(record[field]));
    await this.script(this.client, 'createJob', [this.keys.job(record.job_id), this.keys.jobs()], args, { object: `job "${record.job_id}"` });
    return JSON.parse(JSON.stringify(record)) as JobRecord;
  }

  /**
   * Decodes a stored job. Its plan is parsed once per plan text and shared (frozen) by every read
   * until it changes: a job of 100,000 agents has a plan of 100,000 placements.
   */
  private decodeJob(hash: Hash): JobRecord {
    const jobId = hash.job_id === undefined ? '' : String(JSON.parse(hash.job_id));
    const raw = hash.plan;
    const cached = this.plans.get(jobId);
    let plan: unknown = null;
    if (raw !== undefined) plan = cached && cached.raw === raw ? cached.plan : raw.length > PLAN_CACHE_MIN_CHARS ? frozen(JSON.parse(raw)) : JSON.parse(raw);
    const record = decodeJobRecord((f) => (f === 'plan' ? plan : hash[f] === undefined ? null : JSON.parse(hash[f]!)));
    this.keepPlan(record, raw !== undefined && raw.length > PLAN_CACHE_MIN_CHARS, raw ?? null);
    return record;
  }

  /**
   * The record a write script returned (every field but the plan) with its plan: the one written,
   * else the cached plan when this write followed the read it was cached at (nothing else wrote
   * in between, and this write kept the plan), else the stored one, read again.
   */
  private async recordAfterWrite(jobId: string, hash: Hash, written: { plan: JobRecord['plan'] } | undefined): Promise<JobRecord> {
    const version = Number(hash.version === undefined ? NaN : JSON.parse(hash.version));
    const cached = this.plans.get(jobId);
    let plan: JobRecord['plan'];
    if (written) plan = written.plan;
    else if (cached && cached.version === version - 1) plan = cached.plan;
    else {
      const raw = await this.call(() => this.client.hget(this.keys.job(jobId), 'plan'));
      plan = raw === null ? null : (frozen(JSON.parse(raw)) as JobRecord['plan']);
    }
    const record = decodeJobRecord((f) => (f === 'plan' ? plan : hash[f] === undefined ? null : JSON.parse(hash[f]!)));
    this.keepPlan(record, placementCount(plan) > PLAN_CACHE_MIN_PLACEMENTS, null);
    return record;
  }

  /**
   * Caches a big plan for the reads that follow (most recently read last, at most
   * {@link KEPT_PLANS}). The plan of a job that ended is kept only briefly: its last readers (its
   * hosts, its coordinator, the release) still ask for it, and then it is let go.
   */
  private keepPlan(record: JobRecord, big: boolean, raw: string | null): void {
    const now = Date.now();
    for (const [id, entry] of this.plans) if (entry.until !== null && entry.until <= now) this.plans.delete(id);
    this.plans.delete(record.job_id);
    if (!big) return;
    const until = TERMINAL_JOB_STATUSES.has(record.status) ? now + ENDED_PLAN_KEPT_MS : null;
    this.plans.set(record.job_id, { raw, plan: record.plan, version: record.version, until });
    if (until !== null) {
      setTimeout(() => {
        const entry = this.plans.get(record.job_id);
        if (entry && entry.until !== null && entry.until <= Date.now()) this.plans.delete(record.job_id);
      }, ENDED_PLAN_KEPT_MS + 50).unref();
    }
    if (this.plans.size > KEPT_PLANS) this.plans.delete(this.plans.keys().next().value!);
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    checkName(jobId, 'job id');
    const key = this.keys.job(jobId);
    const cached = this.plans.get(jobId);
    if (cached) {
      // The plan is the big field (a placement per agent): while the record's version is the one
      // the cached plan was read at, only the other fields are read.
      const values = await this.call(() => this.client.hmget(key, ...JOB_FIELDS_BUT_PLAN));
      if (values.every((v) => v === null)) return null;
      if (Number(values[JOB_FIELDS_BUT_PLAN.indexOf('version')]) === cached.version) {
        const hash: Hash = {};
        JOB_FIELDS_BUT_PLAN.forEach((f, i) => {
          if (values[i] !== null && values[i] !== undefined) hash[f] = values[i]!;
        });
        return decodeJobRecord((f) => (f === 'plan' ? cached.plan : hash[f] === undefined ? null : JSON.parse(hash[f]!)));
      }
    }
    const hash = await this.call(() => this.client.hgetall(key));
    return Object.keys(hash).length === 0 ? null : this.decodeJob(hash);
  }

  async listJobs(): Promise<JobSummary[]> {
    const ids = await this.call(() => this.client.smembers(this.keys.jobs()));
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.job(id), 'status', 'version', 'created_at', 'updated_at');
    const replies = await this.call(() => pipeline.exec());
    const out: JobSummary[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const [err, values] = replies?.[i] ?? [null, null];
      if (err) throw unavailable(err, 'listJobs');
      const [status, version, created, updated] = values as Array<string | null>;
      if (status == null) {
        gone.push(id); // expired terminal job
        return;
      }
      out.push({ job_id: id, status: JSON.parse(status), version: Number(version), created_at: Number(created), updated_at: Number(updated) });
    });
    if (gone.length > 0) await this.call(() => this.client.srem(this.keys.jobs(), ...gone));
    return out.sort((a, b) => a.created_at - b.created_at || (a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : 0));
  }

  async updateJob(jobId: string, patch: JobPatch, guard: WriteGuard = {}): Promise<JobRecord> {
    checkName(jobId, 'job id');
    checkJobPatch(patch);
    checkGuard(guard);
    let retention = '';
    if (patch.status !== undefined) retention = TERMINAL_JOB_STATUSES.has(patch.status) ? String(this.terminalTtl) : '0';
    const args: string[] = [guard.fence ? String(guard.fence.token) : '', guard.expectedVersion === undefined ? '' : String(guard.expectedVersion), String(this.clock()), retention];
    for (const [field, value] of Object.entries(patch)) {
      if (value !== undefined) args.push(field, JSON.stringify(value));
    }
    const jobKey = this.keys.job(jobId);
    const reply = await this.script(
      this.client,
      'updateRecord',
      [jobKey, guard.fence ? this.keys.lease(guard.fence.lease) : jobKey, this.keys.jobAgents(jobId), this.keys.jobEvents(jobId)],
      args,
      contextOf(`job "${jobId}"`, guard),
    );
    if (patch.status !== undefined && TERMINAL_JOB_STATUSES.has(patch.status)) await this.expireJob(jobId);
    return this.recordAfterWrite(jobId, pairs(reply), patch.plan === undefined ? undefined : { plan: patch.plan === null ? null : frozenPlan(patch.plan) });
  }

  /**
   * Starts the retention clock of an ended job on every key it owns (the job hash, agents and
   * events are covered by the write itself; messages, states and collections are not).
   */
  private async expireJob(jobId: string): Promise<void> {
    const keys = await this.jobKeys(jobId);
    await this.call(() => keys.reduce((m, k) => m.expire(k, this.terminalTtl), this.client.multi()).exec());
  }

  /** Every key of one job. */
  private async jobKeys(jobId: string): Promise<string[]> {
    const collections = await this.call(() => this.client.smembers(this.keys.jobCollections(jobId)));
    return [
      this.keys.job(jobId),
      this.keys.jobAgents(jobId),
      this.keys.jobEvents(jobId),
      this.keys.jobMessageIds(jobId),
      this.keys.jobMessageCounts(jobId),
      this.keys.jobPendingByAgent(jobId),
      this.keys.jobAgentStates(jobId),
      this.keys.jobCompletion(jobId),
      this.keys.jobDeadLetters(jobId),
      this.keys.jobCollections(jobId),
      ...collections,
    ];
  }

  // ---- agents and placements ----------------------------------------------------------------

  async listAgents(jobId: string): Promise<AgentRecord[]> {
    checkName(jobId, 'job id');
    const key = this.keys.jobAgents(jobId);
    // A small job in one read; a big one in chunks (HSCAN), each parsed in its own turn of the
    // event loop, so listing 100,000 agents never holds it for long.
    const size = await this.call(() => this.client.hlen(key));
    let list: AgentRecord[];
    if (size <= LIST_CHUNK) {
      list = Object.values(await this.call(() => this.client.hgetall(key))).map((json) => JSON.parse(json) as AgentRecord);
    } else {
      const byId = new Map<string, AgentRecord>();
      let cursor = '0';
      do {
        const [next, flat] = await this.call(() => this.client.hscan(key, cursor, 'COUNT', LIST_CHUNK));
        for (let i = 0; i + 1 < flat.length; i += 2) if (!byId.has(flat[i]!)) byId.set(flat[i]!, JSON.parse(flat[i + 1]!) as AgentRecord);
        cursor = next;
      } while (cursor !== '0');
      list = [...byId.values()];
    }
    return list.sort((a, b) => (a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0));
  }

  async listAgentsPage(jobId: string, options: { after?: string; limit: number }): Promise<AgentPage> {
    checkName(jobId, 'job id');
    const key = this.keys.jobAgents(jobId);
    const ids = (await this.call(() => this.client.hkeys(key))).sort();
    const start = firstAfter(ids, options.after);
    const page = ids.slice(start, start + options.limit);
    const values = page.length > 0 ? await this.call(() => this.client.hmget(key, ...page)) : [];
    const agents = values.filter((v): v is string => v !== null).map((json) => JSON.parse(json) as AgentRecord);
    const more = start + options.limit < ids.length && page.length > 0;
    return { agents, next: more ? page[page.length - 1]! : null, total: ids.length };
  }

  async agentSummary(jobId: string): Promise<AgentSummary> {
    checkName(jobId, 'job id');
    const key = this.keys.jobAgents(jobId);
    const summary = emptySummary();
    // HSCAN in chunks: each reply is small, and a field returned twice (a rehash) counts once.
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.call(() => this.client.hscan(key, cursor, 'COUNT', LIST_CHUNK));
      const chunk: AgentRecord[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (seen.has(flat[i]!)) continue;
        seen.add(flat[i]!);
        chunk.push(JSON.parse(flat[i + 1]!) as AgentRecord);
      }
      addToSummary(summary, chunk);
      cursor = next;
    } while (cursor !== '0');
    return summary;
  }

  async updateAgent(jobId: string, agentId: string, patch: AgentPatch, guard: AgentWriteGuard = {}): Promise<AgentRecord> {
    checkName(jobId, 'job id');
    checkAgentPatch(patch);
    if (guard.fence) checkFence(guard.fence);
    const agentsKey = this.keys.jobAgents(jobId);
    const reply = await this.script(
      this.client,
      'updateAgent',
      [agentsKey, guard.fence ? this.keys.lease(guard.fence.lease) : agentsKey],
      [
        guard.fence ? String(guard.fence.token) : '',
        agentId,
        String(this.clock()),
        patch.state ?? '',
        patch.restarts === undefined ? '' : String(patch.restarts),
        patch.attempt === undefined ? '' : String(patch.attempt),
        guard.node ?? '',
      ],
      contextOf(`agent "${agentId}" of job "${jobId}"`, guard),
    );
    return JSON.parse(String(reply[0])) as AgentRecord;
  }

  async commitPlacements(jobId: string, commit: PlacementCommit, fence: Fence): Promise<JobRecord> {
    checkName(jobId, 'job id');
    checkFence(fence);
    const big = Array.isArray(commit.placements) && commit.placements.length > LOOP_CHUNK;
    if (big) await checkPlacementsChunked(commit.placements);
    else checkPlacements(commit.placements);
    checkEvictions(jobId, commit.evict);
    if (commit.status !== undefined) checkJobPatch({ status: commit.status });
    const usageKey = this.keys.nodeUsage('\u0000');
    const [prefix, suffix] = usageKey.split('\u0000') as [string, string];
    const args: string[] = [
      String(fence.token),
      commit.mode ?? 'replace',
      String(this.clock()),
      commit.plan === undefined ? '' : await planJson(commit.plan),
      commit.status === undefined ? '' : JSON.stringify(commit.status),
      prefix,
      suffix,
      this.keys.nodeHolds('\u0000').split('\u0000')[1]!,
      String(commit.placements.length),
    ];
    // A big commit's placement groups go first, a chunk per command and turn of the event loop,
    // into a staging list the script reads (and deletes): no one command carries them all.
    const staged = big ? this.keys.stagedPlacements(jobId, randomBytes(8).toString('hex')) : null;
    let chunk: string[] = [];
    for (let i = 0; i < commit.placements.length; i++) {
      const p = commit.placements[i]!;
      const u = agentUnits(p.resources);
      (staged ? chunk : args).push(p.agent_id, p.node, String(u[0]), String(u[1]), String(u[2]), String(u[3]), JSON.stringify(p.resources), JSON.stringify(p.holds ?? []));
      if (staged && (chunk.length >= LOOP_CHUNK * 8 || i === commit.placements.length - 1)) {
        const values = chunk;
        await this.call(() => this.client.multi().rpush(staged, ...values).pexpire(staged, STAGED_TTL_MS).exec());
        chunk = [];
      }
    }
    const capacity = Object.entries(commit.capacity ?? {});
    args.push(String(capacity.length));
    for (const [node, limits] of capacity) {
      args.push(node, ...capacityUnits(limits).map((v) => (v === null ? '' : String(v))));
    }
    const evict = commit.evict ?? [];
    args.push(String(evict.length));
    if (evict.length > 0) {
      const [jobPrefix] = this.keys.job('\u0000').split('\u0000') as [string];
      const agentsSuffix = this.keys.jobAgents('\u0000').split('\u0000')[1]!;
      args.push(jobPrefix, agentsSuffix);
      for (const e of evict) args.push(e.job_id, e.agent_id, e.node);
    }
    // The record returned carries a copy of the plan written (the script does not send it back).
    const written = commit.plan === undefined ? undefined : { plan: placementCount(commit.plan) > LOOP_CHUNK ? await frozenPlanChunked(commit.plan) : frozenPlan(commit.plan) };
    const reply = await this.script(
      this.client,
      'commitPlacements',
      [this.keys.job(jobId), this.keys.jobAgents(jobId), this.keys.lease(fence.lease), ...(staged ? [staged] : [])],
      args,
      contextOf(`job "${jobId}"`, { fence }),
    );
    if (commit.status !== undefined && TERMINAL_JOB_STATUSES.has(commit.status)) await this.expireJob(jobId);
    return this.recordAfterWrite(jobId, pairs(reply), written);
  }

  putPlacements(jobId: string, placements: AgentPlacement[], fence: Fence): Promise<JobRecord> {
    return this.commitPlacements(jobId, { placements, mode: 'merge' }, fence);
  }

  // ---- nodes --------------------------------------------------------------------------------

  async upsertNode(node: NewNode): Promise<NodeRecord> {
    checkName(node.name, 'node name');
    checkNodePatch(node);
    const always: string[] = ['name', JSON.stringify(node.name)];
    if (node.inventory !== undefined) always.push('inventory', JSON.stringify(node.inventory));
    if (node.status !== undefined) always.push('status', JSON.stringify(node.status));
    if (node.scheduling_eligible !== undefined) always.push('scheduling_eligible', JSON.stringify(node.scheduling_eligible));
    if (node.details !== undefined) always.push('details', JSON.stringify(node.details));
    const defaults = ['inventory', '{}', 'status', '"joining"', 'scheduling_eligible', 'true', 'details', '{}'];
    const reply = await this.script(
      this.client,
      'upsertNode',
      [this.keys.node(node.name), this.keys.nodes()],
      [node.name, String(this.clock()), String(always.length / 2), ...always, ...defaults],
      { object: `node "${node.name}"` },
    );
    return decodeNode(pairs(reply));
  }

  async updateNode(name: string, patch: NodePatch, guard: WriteGuard = {}): Promise<NodeRecord> {
    checkName(name, 'node name');
    checkNodePatch(patch);
    checkGuard(guard);
    const args: string[] = [guard.fence ? String(guard.fence.token) : '', guard.expectedVersion === undefined ? '' : String(guard.expectedVersion), String(this.clock()), ''];
    for (const [field, value] of Object.entries(patch)) {
      if (value !== undefined) args.push(field, JSON.stringify(value));
    }
    const key = this.keys.node(name);
    const reply = await this.script(this.client, 'updateRecord', [key, guard.fence ? this.keys.lease(guard.fence.lease) : key, key, key], args, contextOf(`node "${name}"`, guard));
    return decodeNode(pairs(reply));
  }

  async getNode(name: string): Promise<NodeView | null> {
    checkName(name, 'node name');
    const [view] = await this.nodeViews([name]);
    return view ?? null;
  }

  async listNodes(): Promise<NodeView[]> {
    const names = await this.call(() => this.client.smembers(this.keys.nodes()));
    const views = await this.nodeViews(names);
    return views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async nodeViews(names: string[]): Promise<NodeView[]> {
    if (names.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const name of names) {
      pipeline.hgetall(this.keys.node(name));
      pipeline.get(this.keys.nodeHeartbeat(name));
      pipeline.hgetall(this.keys.nodeUsage(name));
    }
    const replies = (await this.call(() => pipeline.exec())) ?? [];
    const out: NodeView[] = [];
    for (let i = 0; i < names.length; i++) {
      const [e1, hash] = replies[i * 3] ?? [null, {}];
      const [e2, heartbeat] = replies[i * 3 + 1] ?? [null, null];
      const [e3, usage] = replies[i * 3 + 2] ?? [null, {}];
      const err = e1 ?? e2 ?? e3;
      if (err) throw unavailable(err, 'listNodes');
      if (Object.keys(hash as Hash).length === 0) continue;
      const u = usage as Hash;
      out.push({
        ...decodeNode(hash as Hash),
        alive: heartbeat != null,
        heartbeat_at: heartbeat == null ? null : Number(heartbeat),
        usage: {
          ...emptyUsage(),
          cpu_cores: Number(u['cpu_millis'] ?? 0) / 1000,
          memory_mb: Number(u['memory_mb'] ?? 0),
          disk_mb: Number(u['disk_mb'] ?? 0),
          gpu_count: Number(u['gpu_count'] ?? 0),
          agents: Number(u['agents'] ?? 0),
        },
      });
    }
    return out;
  }

  async heartbeat(name: string, ttlMs: number): Promise<void> {
    checkName(name, 'node name');
    checkTtl(ttlMs);
    await this.script(this.client, 'heartbeat', [this.keys.node(name), this.keys.nodeHeartbeat(name)], [String(this.clock()), String(ttlMs)], { object: `node "${name}"` });
  }

  // ---- events -------------------------------------------------------------------------------

  async appendEvent(jobId: string, event: NewEvent): Promise<StoredEvent> {
    checkName(jobId, 'job id');
    if (typeof event.type !== 'string' || event.type === '') {
      throw new MnError('MN_E_INVALID_ARGUMENT', 'event type must be a non-empty string', { details: { field: 'type' } });
    }
    const body = {
      job_id: jobId,
      type: event.type,
      timestamp: this.clock(),
      ...(event.agent_id !== undefined ? { agent_id: event.agent_id } : {}),
      payload: event.payload ?? {},
    };
    const json = JSON.stringify(body);
    const replies = await this.call(() =>
      this.client
        .multi()
        .xadd(this.keys.jobEvents(jobId), 'MAXLEN', '~', this.maxEvents, '*', 'e', json)
        .xadd(this.keys.events(), 'MAXLEN', '~', this.maxGlobalEvents, '*', 'e', json)
        .exec(),
    );
    const [err, id] = replies?.[0] ?? [new Error('empty transaction reply'), null];
    if (err) throw unavailable(err, 'appendEvent');
    return { id: String(id), ...(JSON.parse(json) as Omit<StoredEvent, 'id'>) };
  }

  async readEvents(jobId: string | null, options: ReadEventsOptions = {}): Promise<StoredEvent[]> {
    const key = this.eventsKey(jobId);
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `limit must be a positive integer, got ${limit}`, { details: { field: 'limit' } });
    }
    const start = options.afterId === undefined ? '-' : `(${checkEventId(options.afterId)}`;
    const entries = await this.call(() => this.client.xrange(key, start, '+', 'COUNT', limit));
    return entries.map(decodeEntry);
  }

  followEvents(jobId: string | null, options: FollowEventsOptions = {}): AsyncIterable<StoredEvent> {
    const key = this.eventsKey(jobId);
    if (options.afterId !== undefined) checkEventId(options.afterId);
    return { [Symbol.asyncIterator]: () => this.follow(key, options) };
  }

  async latestEventId(jobId: string | null): Promise<string | null> {
    const key = this.eventsKey(jobId);
    const newest = await this.call(() => this.client.xrevrange(key, '+', '-', 'COUNT', 1));
    return newest[0]?.[0] ?? null;
  }

  private async *follow(key: string, options: FollowEventsOptions): AsyncGenerator<StoredEvent> {
    const { signal } = options;
    if (signal?.aborted || this.closed) return;
    const conn = createRedisClient(this.config, 'blocking');
    this.followers.add(conn);
    const onAbort = () => conn.disconnect();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let lastId = options.afterId;
      if (lastId === undefined) {
        const newest = await conn.xrevrange(key, '+', '-', 'COUNT', 1);
        lastId = newest[0]?.[0] ?? '0-0';
      }
      while (!signal?.aborted && !this.closed) {
        const reply = (await conn.xread('COUNT', 500, 'BLOCK', this.followBlockMs, 'STREAMS', key, lastId)) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [, entries] of reply ?? []) {
          for (const entry of entries) {
            lastId = entry[0];
            yield decodeEntry(entry);
            if (signal?.aborted || this.closed) return;
          }
        }
      }
    } catch (error) {
      // Aborting or closing disconnects the follower's connection, which fails its pending read.
      if (signal?.aborted || this.closed) return;
      throw unavailable(error, 'followEvents');
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.followers.delete(conn);
      conn.disconnect();
    }
  }

  private eventsKey(jobId: string | null): string {
    if (jobId === null) return this.keys.events();
    checkName(jobId, 'job id');
    return this.keys.jobEvents(jobId);
  }

  // ---- leases -------------------------------------------------------------------------------

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    checkName(name, 'lease name', true);
    checkName(holder, 'lease holder', true);
    checkTtl(ttlMs);
    const reply = (await this.call(() => runScript(this.leaseClient, 'acquireLease', [this.keys.lease(name), this.keys.leaseEpoch(name)], [holder, String(ttlMs)]))) as [number, number];
    const [token, pttl] = reply.map(Number) as [number, number];
    return token > 0 ? { token, expiresAt: this.clock() + pttl } : null;
  }

  async renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    checkName(name, 'lease name', true);
    checkTtl(ttlMs);
    const reply = await this.call(() => runScript(this.leaseClient, 'renewLease', [this.keys.lease(name)], [holder, String(token), String(ttlMs)]));
    return Number(reply) === 1;
  }

  async releaseLease(name: string, holder: string, token: number): Promise<boolean> {
    checkName(name, 'lease name', true);
    const reply = await this.call(() => runScript(this.leaseClient, 'releaseLease', [this.keys.lease(name)], [holder, String(token)]));
    return Number(reply) === 1;
  }

  async getLease(name: string): Promise<LeaseInfo | null> {
    checkName(name, 'lease name', true);
    const key = this.keys.lease(name);
    const replies = await this.call(() => this.leaseClient.multi().get(key).pttl(key).exec());
    const value = replies?.[0]?.[1] as string | null | undefined;
    const pttl = Number(replies?.[1]?.[1]);
    if (value == null || pttl < 0) return null;
    const match = /^(.*)\|(\d+)$/s.exec(value);
    if (!match) return null;
    return { name, holder: match[1]!, token: Number(match[2]), expiresAt: this.clock() + pttl };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of this.followers) conn.disconnect();
    this.followers.clear();
    this.inboxConn?.disconnect();
    // QUIT only over a live connection: while Redis is down it would wait for a reconnection.
    await Promise.allSettled([this.client, this.leaseClient].map((c) => (c.status === 'ready' ? c.quit() : Promise.resolve())));
    this.client.disconnect();
    this.leaseClient.disconnect();
  }

  async getSetting(name: string): Promise<unknown> {
    checkName(name, 'setting name', true);
    const raw = await this.call(() => this.client.get(this.keys.setting(name)));
    return raw === null ? null : JSON.parse(raw);
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    checkName(name, 'setting name', true);
    await this.call(() => this.client.set(this.keys.setting(name), JSON.stringify(value)));
  }

  async deleteJob(jobId: string): Promise<boolean> {
    checkName(jobId, 'job id');
    this.plans.delete(jobId);
    const job = await this.getJob(jobId);
    if (job === null) return false;
    const status = job.status;
    if (!TERMINAL_JOB_STATUSES.has(status)) {
      throw new MnError('MN_E_CONFLICT', `job ${jobId} is ${status}; only completed, failed or cancelled jobs can be removed`, {
        details: { reason: 'state', job_id: jobId, status },
      });
    }
    const keys = await this.jobKeys(jobId);
    await this.call(() =>
      this.client
        .multi()
        .del(...keys)
        .srem(this.keys.jobs(), jobId)
        .exec(),
    );
    return true;
  }


  // ---- messages -----------------------------------------------------------------------------

  /** Splits messages by job: each script call handles one job's counters. */
  private sendArgs(messages: OutgoingMessage[], firstInboxKey: number): Map<string, { inboxes: string[]; args: string[]; n: number }> {
    const byJob = new Map<string, { inboxes: string[]; index: Map<string, number>; args: string[]; n: number }>();
    for (const m of messages) {
      checkOutgoing(m);
      let g = byJob.get(m.job_id);
      if (!g) {
        g = { inboxes: [], index: new Map(), args: [], n: 0 };
        byJob.set(m.job_id, g);
      }
      let k = g.index.get(m.node);
      if (k === undefined) {
        k = firstInboxKey + g.inboxes.length;
        g.index.set(m.node, k);
        g.inboxes.push(this.keys.inbox(m.node));
      }
      g.args.push(String(k), m.agent_id, m.message_id, String(m.not_before ?? 0), m.message);
      g.n++;
    }
    return byJob;
  }

  async sendMessages(messages: OutgoingMessage[], options: { limits?: MessageLimits } = {}): Promise<SendResult> {
    const total: SendResult = { accepted: 0, duplicates: 0 };
    for (const [jobId, g] of this.sendArgs(messages, 4)) {
      const reply = await this.script(
        this.client,
        'sendMessages',
        [this.keys.jobMessageIds(jobId), this.keys.jobMessageCounts(jobId), this.keys.jobPendingByAgent(jobId), ...g.inboxes],
        [String(options.limits?.perAgent ?? 0), String(options.limits?.perJob ?? 0), jobId, String(g.n), ...g.args],
        { object: `job "${jobId}"` },
      );
      total.accepted += Number(reply[0]);
      total.duplicates += Number(reply[1]);
    }
    return total;
  }

  private async ensureGroup(node: string): Promise<string> {
    const key = this.keys.inbox(node);
    if (this.groups.has(key)) return key;
    try {
      await this.client.xgroup('CREATE', key, INBOX_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw unavailable(error, 'readInbox');
    }
    this.groups.add(key);
    return key;
  }

  async readInbox(node: string, consumer: string, options: { count: number; blockMs: number; claimIdleMs: number }): Promise<InboxEntry[]> {
    checkName(node, 'node name', true);
    checkName(consumer, 'consumer', true);
    if (this.closed) throw new MnError('MN_E_STORE_UNAVAILABLE', 'store is closed');
    const key = await this.ensureGroup(node);
    try {
      const claimed = (await this.client.xautoclaim(key, INBOX_GROUP, consumer, Math.max(0, options.claimIdleMs), '0-0', 'COUNT', options.count)) as [string, Array<[string, string[]] | null>];
      const entries = (claimed[1] ?? []).filter((e): e is [string, string[]] => e !== null).map((e) => decodeInbox(node, e));
      if (entries.length > 0) return entries;
      this.inboxConn ??= createRedisClient(this.config, 'blocking');
      const args: Array<string | number> = ['GROUP', INBOX_GROUP, consumer, 'COUNT', options.count];
      if (options.blockMs > 0) args.push('BLOCK', options.blockMs);
      const reply = (await (this.inboxConn as unknown as { xreadgroup(...a: Array<string | number>): Promise<unknown> }).xreadgroup(...args, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]> | null;
      return (reply?.[0]?.[1] ?? []).map((e) => decodeInbox(node, e));
    } catch (error) {
      if (this.closed) return [];
      // A Redis that restarted without its data lost the group: create it again on the next read.
      if (String((error as Error).message).includes('NOGROUP')) this.groups.delete(key);
      throw unavailable(error, 'readInbox');
    }
  }

  async settleMessage(entry: InboxEntry, options: SettleOptions): Promise<SendResult> {
    checkFence(options.fence);
    const jobId = entry.job_id;
    const send = options.send ?? [];
    for (const m of send) {
      if (m.job_id !== jobId) throw new MnError('MN_E_INVALID_ARGUMENT', `settleMessage sends messages of job ${jobId} only, got one of ${m.job_id}`, { details: { field: 'send' } });
    }
    const g = this.sendArgs(send, 9).get(jobId) ?? { inboxes: [], args: [], n: 0 };
    const reply = await this.script(
      this.client,
      'settleMessage',
      [
        this.keys.inbox(entry.node),
        this.keys.lease(options.fence.lease),
        this.keys.jobAgents(jobId),
        this.keys.jobMessageIds(jobId),
        this.keys.jobMessageCounts(jobId),
        this.keys.jobPendingByAgent(jobId),
        this.keys.jobAgentStates(jobId),
        this.keys.jobCompletion(jobId),
        ...g.inboxes,
      ],
      [
        INBOX_GROUP,
        entry.id,
        String(options.fence.token),
        entry.node,
        entry.agent_id,
        options.state === undefined ? '0' : '1',
        options.state ?? '',
        options.complete === undefined ? '0' : '1',
        options.complete ?? '',
        String(this.clock()),
        String(options.limits?.perAgent ?? 0),
        String(options.limits?.perJob ?? 0),
        jobId,
        String(g.n),
        ...g.args,
      ],
      { object: `message ${entry.message_id} of job "${jobId}"`, lease: options.fence.lease, token: options.fence.token },
    );
    return { accepted: Number(reply[0]), duplicates: Number(reply[1]) };
  }

  async retryMessage(entry: InboxEntry, notBefore: number, fence?: Fence): Promise<void> {
    await this.requeue(entry, entry.node, entry.attempt + 1, Math.max(0, Math.round(notBefore)), fence);
  }

  private async requeue(entry: InboxEntry, toNode: string, attempt: number, notBefore: number, fence: Fence | undefined): Promise<void> {
    if (fence) checkFence(fence);
    const inbox = this.keys.inbox(entry.node);
    await this.script(
      this.client,
      'requeueMessage',
      [inbox, this.keys.inbox(toNode), fence ? this.keys.lease(fence.lease) : inbox],
      [INBOX_GROUP, entry.id, entry.job_id, entry.agent_id, entry.message_id, String(attempt), String(notBefore), entry.message, fence ? String(fence.token) : ''],
      entryContext(entry, fence),
    );
  }

  async deadLetter(entry: InboxEntry, reason: string, fence?: Fence): Promise<void> {
    const dead: DeadLetter = { job_id: entry.job_id, agent_id: entry.agent_id, message_id: entry.message_id, attempts: entry.attempt, reason, message: entry.message, at: this.clock() };
    await this.settleOnly(entry, JSON.stringify(dead), fence);
  }

  async dropMessages(entries: InboxEntry[], fence?: Fence): Promise<void> {
    for (const entry of entries) await this.settleOnly(entry, '', fence);
  }

  private async settleOnly(entry: InboxEntry, dead: string, fence: Fence | undefined): Promise<void> {
    if (fence) checkFence(fence);
    const jobId = entry.job_id;
    const inbox = this.keys.inbox(entry.node);
    await this.script(
      this.client,
      'deadLetter',
      [inbox, this.keys.jobDeadLetters(jobId), this.keys.jobMessageCounts(jobId), this.keys.jobPendingByAgent(jobId), fence ? this.keys.lease(fence.lease) : inbox],
      [INBOX_GROUP, entry.id, entry.agent_id, dead, fence ? String(fence.token) : ''],
      entryContext(entry, fence),
    );
  }

  async forwardMessage(entry: InboxEntry, toNode: string, fence?: Fence): Promise<void> {
    checkName(toNode, 'node name', true);
    await this.requeue(entry, toNode, entry.attempt, entry.not_before, fence);
  }

  async listDeadLetters(jobId: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    checkName(jobId, 'job id');
    const limit = options.limit ?? 1000;
    const raw = await this.call(() => this.client.lrange(this.keys.jobDeadLetters(jobId), 0, limit - 1));
    return raw.map((r) => JSON.parse(r) as DeadLetter);
  }

  async messageCounts(jobId: string): Promise<MessageCounts> {
    checkName(jobId, 'job id');
    const [outstanding, dead] = await this.call(() => this.client.hmget(this.keys.jobMessageCounts(jobId), 'outstanding', 'dead_letters'));
    return { outstanding: Math.max(0, Number(outstanding ?? 0)), dead_letters: Number(dead ?? 0) };
  }

  async agentStates(jobId: string): Promise<Record<string, string>> {
    checkName(jobId, 'job id');
    return this.call(() => this.client.hgetall(this.keys.jobAgentStates(jobId)));
  }

  async collect(jobId: string, agentId: string, key: string, value: string): Promise<{ added: boolean; count: number }> {
    checkName(jobId, 'job id');
    const reply = (await this.call(() =>
      runScript(this.client, 'collect', [this.keys.agentCollectedKeys(jobId, agentId), this.keys.agentCollected(jobId, agentId), this.keys.jobCollections(jobId)], [key, value]),
    )) as [number, number];
    return { added: Number(reply[0]) === 1, count: Number(reply[1]) };
  }

  async listCollected(jobId: string, agentId: string): Promise<string[]> {
    checkName(jobId, 'job id');
    return this.call(() => this.client.lrange(this.keys.agentCollected(jobId, agentId), 0, -1));
  }

  async getCompletion(jobId: string): Promise<CompletionRecord | null> {
    checkName(jobId, 'job id');
    const raw = await this.call(() => this.client.get(this.keys.jobCompletion(jobId)));
    return raw === null ? null : (JSON.parse(raw) as CompletionRecord);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new MnError('MN_E_STORE_UNAVAILABLE', 'store is closed');
    try {
      return await timed(redisCommandSeconds, fn);
    } catch (error) {
      throw unavailable(error, 'command');
    }
  }

  /** Runs a status-returning script; returns the reply after the status or throws its error. */
  private async script(client: Redis, name: string, keys: string[], args: string[], context: ScriptContext): Promise<unknown[]> {
    const reply = (await this.call(() => runScript(client, name, keys, args))) as unknown[];
    const code = Number(reply[0]);
    if (code !== ScriptCode.Ok) throw scriptError(code, context, reply.slice(1));
    return reply.slice(1);
  }
}

/** Consumer group of every inbox. */
const INBOX_GROUP = 'mn_agents';

function decodeInbox(node: string, [id, fields]: [string, string[]]): InboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return { id, node, job_id: f.j ?? '', agent_id: f.a ?? '', message_id: f.m ?? '', attempt: Number(f.n ?? 1), not_before: Number(f.t ?? 0), message: f.b ?? '' };
}

/** What an error of an entry-settling script names. */
function entryContext(entry: InboxEntry, fence: Fence | undefined): ScriptContext {
  return contextOf(`message ${entry.message_id} of job "${entry.job_id}"`, fence ? { fence } : {});
}

function pairs(flat: readonly unknown[]): Hash {
  const out: Hash = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** Agents read per round trip when listing a big job's agents. */
const LIST_CHUNK = 2000;

/** Plans shorter than this are parsed on every read (caching them saves nothing). */
const PLAN_CACHE_MIN_CHARS = 64 * 1024;
/** Plans written with more placements than this are cached as written (about 64 KiB of JSON). */
const PLAN_CACHE_MIN_PLACEMENTS = 256;

/** How long a big commit's staged placement groups wait for its script (then they lapse). */
const STAGED_TTL_MS = 120_000;

/** Marks where a plan's placements go in the JSON of the rest of it. */
const PLACEMENTS_MARK = '\u0000mn-placements\u0000';

/**
 * A plan's JSON, its placements serialised a chunk per turn of the event loop (the JSON of a
 * 100,000-agent plan is about 20 MB). The same text as `JSON.stringify(plan)`.
 */
export async function planJson(plan: NonNullable<JobRecord['plan']>): Promise<string> {
  if (!Array.isArray(plan.placements) || plan.placements.length <= LOOP_CHUNK) return JSON.stringify(plan);
  const shell = JSON.stringify({ ...plan, placements: [PLACEMENTS_MARK] });
  const parts: string[] = [];
  for (let i = 0; i < plan.placements.length; i += LOOP_CHUNK) {
    parts.push(JSON.stringify(plan.placements.slice(i, i + LOOP_CHUNK)).slice(1, -1));
    await yieldToLoop();
  }
  return shell.replace(JSON.stringify([PLACEMENTS_MARK]), () => `[${parts.join(',')}]`);
}

/** Placements of a stored plan (any JSON a caller committed: 0 when it has no placement list). */
function placementCount(plan: JobRecord['plan']): number {
  return plan !== null && Array.isArray(plan.placements) ? plan.placements.length : 0;
}


/** Job fields other than the plan, in the order getJob reads them. */
const JOB_FIELDS_BUT_PLAN = JOB_FIELDS.filter((f) => f !== 'plan');

/** Parsed plans kept per job, most recently read last. */
const KEPT_PLANS = 64;
/** How long the plan of a job that ended stays cached (ms). */
const ENDED_PLAN_KEPT_MS = 5_000;

function decodeNode(hash: Hash): NodeRecord {
  const v = (f: string): unknown => (hash[f] === undefined ? null : JSON.parse(hash[f]!));
  return {
    name: v('name') as string,
    status: v('status') as NodeRecord['status'],
    scheduling_eligible: v('scheduling_eligible') as boolean,
    inventory: (v('inventory') ?? {}) as Record<string, unknown>,
    details: (v('details') ?? {}) as Record<string, unknown>,
    updated_at: Number(hash['updated_at']),
    version: Number(hash['version']),
  };
}

function decodeEntry(entry: [string, string[]]): StoredEvent {
  const [id, fields] = entry;
  const json = fields[fields.indexOf('e') + 1] ?? '{}';
  return { id, ...(JSON.parse(json) as Omit<StoredEvent, 'id'>) };
}

function unavailable(error: unknown, what: string): MnError {
  if (error instanceof MnError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // Server replies (script or argument errors) will not succeed on retry; transport errors may.
  const retryable = !(error instanceof Error && error.name === 'ReplyError');
  return new MnError('MN_E_STORE_UNAVAILABLE', `redis ${what} failed: ${message}`, { retryable, cause: error, details: { operation: what } });
}

function waitReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no connection to Redis within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('connection to Redis ended'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
    };
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}
