/**
 * The embedded in-memory {@link Store} of `mn dev`: one process, nothing persisted (like
 * `nomad agent -dev`). It keeps the Redis store's semantics, checked by the same contract suite:
 * lease TTLs and fencing tokens, heartbeat expiry, bounded event streams with the same id format,
 * atomic placement commits. TTLs are measured on the injected clock, so tests can move time.
 *
 * Differences: terminal jobs are not expired (the process is short-lived), and streams are
 * trimmed exactly to their bound instead of approximately.
 */
import { createHash } from 'node:crypto';
import { MnError } from '../core/errors.js';
import { LOOP_CHUNK, yieldToLoop } from '../yield.js';
import type { Plan } from '../core/placement/plan-types.js';
import { type AgentSummary, addToSummary, emptySummary, firstAfter } from '../core/paging.js';
import { copy, type MemoryCore } from './memory/core.js';
import { MemoryDeployments } from './memory/deployments.js';
import { MemorySchedules } from './memory/schedules.js';
import { MemoryServiceRegistry } from './memory/service-registry.js';
import { MemoryJobTemplates } from './memory/job-templates.js';
import { MemoryJobQueue } from './memory/job-queue.js';
import { MemoryEvaluations } from './memory/evaluations.js';
import { MemoryWarmPools } from './memory/warm-pools.js';
import { contextOf, frozen, frozenPlan, frozenPlanChunked, newJobRecord } from './records.js';
import { scriptError, ScriptCode, type ScriptContext } from './script-codes.js';
import type {
  AgentPage,
  CompletionRecord,
  DeadLetter,
  InboxEntry,
  MessageCounts,
  MessageLimits,
  OutgoingMessage,
  SendResult,
  SettleOptions,
  AgentPatch,
  AgentPlacement,
  AgentWriteGuard,
  AgentRecord,
  Fence,
  FollowEventsOptions,
  JobPatch,
  JobRecord,
  JobSummary,
  LeaseGrant,
  LeaseInfo,
  NewEvent,
  NewJob,
  NewNode,
  NodePatch,
  NodeRecord,
  NodeView,
  PlacementCommit,
  ReadEventsOptions,
  Store,
  StoreOptions,
  StoredEvent,
  WriteGuard,
} from './store.js';
import { TERMINAL_JOB_STATUSES } from './store.js';
import {
  DEFAULT_MAX_EVENTS,
  agentUnits,
  capacityUnits,
  checkAgentPatch,
  checkEventId,
  checkFence,
  checkGuard,
  checkJobPatch,
  checkName,
  checkNewJob,
  checkLimits,
  checkNodePatch,
  checkOutgoing,
  checkPlacements,
  checkEvictions,
  checkPlacementsChunked,
  checkTtl,
  compareEventIds,
  emptyUsage,
} from './validate.js';


/** What the idempotency check keeps of a sent message: a digest, not the text. */
function messageDigest(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

/** A first-in first-out queue of ids: taking from the front costs O(1), however long it is. */
class IdQueue {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(id: string): void {
    this.items.push(id);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const id = this.items[this.head++]!;
    // Drop the taken front once it is most of the array.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return id;
  }
}

/** One node's inbox: entries by id, the unread ones in order, and those read but not settled. */
interface Inbox {
  seq: number;
  fresh: IdQueue;
  entries: Map<string, InboxEntry>;
  pending: Map<string, { consumer: string; at: number }>;
  waiters: Set<() => void>;
}

interface JobMail {
  /** Message id → digest of its text (idempotent sends), as the Redis store keeps them. */
  ids: Map<string, string>;
  outstanding: number;
  dead: DeadLetter[];
  pending: Map<string, number>;
  states: Map<string, string>;
  collected: Map<string, Map<string, string>>;
  completion: CompletionRecord | null;
}

interface Lease {
  holder: string;
  token: number;
  expiresAt: number;
}

/** Usage counters in integer units: cpu millicores, memory MB, disk MB, GPUs, agents. */
type Units = [number, number, number, number, number];
const UNIT_NAMES = ['cpu_millis', 'memory_mb', 'disk_mb', 'gpu_count'] as const;

class EventStream {
  readonly entries: StoredEvent[] = [];
  lastMs = 0;
  lastSeq = -1;
  readonly waiters = new Set<() => void>();

  constructor(private readonly max: number) {}

  append(body: Omit<StoredEvent, 'id'>, now: number): StoredEvent {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq += 1;
    }
    const event = { id: `${this.lastMs}-${this.lastSeq}`, ...body };
    this.entries.push(event);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return event;
  }

  lastId(): string {
    return this.lastSeq < 0 ? '0-0' : `${this.lastMs}-${this.lastSeq}`;
  }

  after(id: string | undefined, limit: number): StoredEvent[] {
    const start = id === undefined ? 0 : this.entries.findIndex((e) => compareEventIds(e.id, id) > 0);
    return start < 0 ? [] : this.entries.slice(start, start + limit);
  }
}

/** The in-memory store. */
/** A job record as a read returns it: a copy, sharing only the frozen plan. */
function recordCopy(record: JobRecord): JobRecord {
  const { plan, ...rest } = record;
  return { ...copy(rest), plan } as JobRecord;
}

/**
 * A job's agent ids in order, sorted once per agent map: a commit replaces a job's map (agents
 * are never added to or removed from one in place), so reads of a big job do not sort it again.
 */
const sortedIdCache = new WeakMap<Map<string, AgentRecord>, string[]>();
function sortedIds(map: Map<string, AgentRecord>): string[] {
  let ids = sortedIdCache.get(map);
  if (ids === undefined || ids.length !== map.size) {
    ids = [...map.keys()].sort();
    sortedIdCache.set(map, ids);
  }
  return ids;
}

/** An agent record as a read returns it (agent records are flat: a spread copies them). */
function agentCopy(a: AgentRecord): AgentRecord {
  return { ...a, resources: { ...a.resources }, holds: [...a.holds] };
}

export class MemoryStore implements Store {
  private readonly clock: () => number;
  private readonly maxEvents: number;
  private readonly maxGlobalEvents: number;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly agents = new Map<string, Map<string, AgentRecord>>();
  /** Grows with every change to a job's agents (a chunked commit checks it before applying). */
  private readonly agentEpochs = new Map<string, number>();
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly heartbeats = new Map<string, { at: number; expiresAt: number }>();
  private readonly usage = new Map<string, Units>();
  private readonly leases = new Map<string, Lease>();
  private readonly epochs = new Map<string, number>();
  private readonly streams = new Map<string, EventStream>();
  private readonly global: EventStream;
  private readonly closeWaiters = new Set<() => void>();
  private readonly settings = new Map<string, string>();
  /** node → exclusive resource key → owning `jobId/agentId`. */
  private readonly holds = new Map<string, Map<string, string>>();
  private closed = false;
  /** node → inbox (see {@link Inbox}). */
  private readonly inboxes = new Map<string, Inbox>();
  /** Per job: message id → message text (idempotency), counters, pending per agent, agent states, collections, completion, dead letters. */
  private readonly mail = new Map<string, JobMail>();

  readonly services: MemoryServiceRegistry;
  readonly deployments: MemoryDeployments;
  readonly schedules: MemorySchedules;
  readonly jobTemplates: MemoryJobTemplates;
  readonly queue: MemoryJobQueue;
  readonly evaluations: MemoryEvaluations;
  readonly warmPools: MemoryWarmPools;

  constructor(options: StoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
    const core: MemoryCore = {
      clock: () => this.clock(),
      open: () => this.open(),
      enforceFence: (fence, object) => {
        checkFence(fence);
        this.enforceGuard({ fence }, { object, lease: fence.lease, token: fence.token }, 0);
      },
    };
    this.services = new MemoryServiceRegistry(core);
    this.deployments = new MemoryDeployments(core);
    this.jobTemplates = new MemoryJobTemplates(core);
    this.queue = new MemoryJobQueue(core);
    this.evaluations = new MemoryEvaluations(core);
    this.warmPools = new MemoryWarmPools(core);
    this.schedules = new MemorySchedules(core, (job) => {
      checkNewJob(job);
      if (this.jobs.has(job.job_id)) throw scriptError(ScriptCode.AlreadyExists, { object: `job "${job.job_id}"` });
      this.jobs.set(job.job_id, copy(newJobRecord(job, this.clock())));
    });
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.maxGlobalEvents = options.maxGlobalEvents ?? DEFAULT_MAX_EVENTS;
    this.global = new EventStream(this.maxGlobalEvents);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  async createJob(input: NewJob): Promise<JobRecord> {
    this.open();
    checkNewJob(input);
    if (this.jobs.has(input.job_id)) throw scriptError(ScriptCode.AlreadyExists, { object: `job "${input.job_id}"` });
    const record: JobRecord = copy(newJobRecord(input, this.clock()));
    record.plan = frozen(record.plan);
    this.jobs.set(record.job_id, record);
    return recordCopy(record);
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    this.open();
    checkName(jobId, 'job id');
    const record = this.jobs.get(jobId);
    return record ? recordCopy(record) : null;
  }

  async listJobs(): Promise<JobSummary[]> {
    this.open();
    return [...this.jobs.values()]
      .map(({ job_id, status, version, created_at, updated_at }) => ({ job_id, status, version, created_at, updated_at }))
      .sort((a, b) => a.created_at - b.created_at || (a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : 0));
  }

  async updateJob(jobId: string, patch: JobPatch, guard: WriteGuard = {}): Promise<JobRecord> {
    this.open();
    checkName(jobId, 'job id');
    checkJobPatch(patch);
    checkGuard(guard);
    const context = contextOf(`job "${jobId}"`, guard);
    const record = this.jobs.get(jobId);
    if (!record) throw scriptError(ScriptCode.NotFound, context);
    this.enforceGuard(guard, context, record.version);
    const { plan, ...rest } = definedOnly(patch);
    Object.assign(record, copy(rest), plan !== undefined ? { plan: plan === null ? null : frozenPlan(plan) } : {}, { version: record.version + 1, updated_at: this.clock() });
    return recordCopy(record);
  }

  // ---- agents and placements ----------------------------------------------------------------

  async listAgents(jobId: string): Promise<AgentRecord[]> {
    this.open();
    checkName(jobId, 'job id');
    const map = this.agents.get(jobId);
    return map ? sortedIds(map).map((id) => agentCopy(map.get(id)!)) : [];
  }

  async listAgentsPage(jobId: string, options: { after?: string; limit: number }): Promise<AgentPage> {
    this.open();
    checkName(jobId, 'job id');
    const map = this.agents.get(jobId);
    if (!map) return { agents: [], next: null, total: 0 };
    const ids = sortedIds(map);
    const start = firstAfter(ids, options.after);
    const page = ids.slice(start, start + options.limit);
    const more = start + options.limit < ids.length && page.length > 0;
    return { agents: page.map((id) => agentCopy(map.get(id)!)), next: more ? page[page.length - 1]! : null, total: ids.length };
  }

  async agentSummary(jobId: string): Promise<AgentSummary> {
    this.open();
    checkName(jobId, 'job id');
    return addToSummary(emptySummary(), this.agents.get(jobId)?.values() ?? []);
  }

  async updateAgent(jobId: string, agentId: string, patch: AgentPatch, guard: AgentWriteGuard = {}): Promise<AgentRecord> {
    this.open();
    checkName(jobId, 'job id');
    checkAgentPatch(patch);
    if (guard.fence) checkFence(guard.fence);
    const context = contextOf(`agent "${agentId}" of job "${jobId}"`, guard);
    const agent = this.agents.get(jobId)?.get(agentId);
    if (!agent) throw scriptError(ScriptCode.NotFound, context);
    this.enforceGuard(guard, context, 0);
    if (guard.node !== undefined && agent.node !== guard.node) throw scriptError(ScriptCode.AgentMoved, context, [agent.node]);
    Object.assign(agent, copy(definedOnly(patch)), { updated_at: this.clock() });
    this.agentEpochs.set(jobId, (this.agentEpochs.get(jobId) ?? 0) + 1);
    return copy(agent);
  }

  /**
   * The agents a commit leaves the job with, the usage it moves and the holds it frees and takes,
   * from the job's current agents. With `chunked`, the loop gives the event loop a turn every
   * {@link LOOP_CHUNK} agents (the caller checks the agents did not change meanwhile).
   */
  private async preparePlacements(jobId: string, commit: PlacementCommit, now: number, chunked: boolean) {
    const current = this.agents.get(jobId) ?? new Map<string, AgentRecord>();
    const delta = new Map<string, Units>();
    const add = (node: string, sign: 1 | -1, u: readonly number[]) => {
      let d = delta.get(node);
      if (!d) delta.set(node, (d = [0, 0, 0, 0, 0]));
      for (let k = 0; k < 4; k++) d[k]! += sign * u[k]!;
      d[4] += sign;
    };
    const next = new Map<string, AgentRecord>(commit.mode === 'merge' ? current : []);
    const listed = new Set<string>();
    const owner = (agentId: string): string => `${jobId}/${agentId}`;
    const frees: Array<[string, string, string]> = [];
    const freed = new Map<string, string>();
    const release = (rec: AgentRecord): void => {
      for (const h of rec.holds ?? []) {
        frees.push([rec.node, h, owner(rec.agent_id)]);
        freed.set(`${rec.node}\u0000${h}`, owner(rec.agent_id));
      }
    };
    const takes: Array<[string, string, string]> = [];
    let n = 0;
    for (const p of commit.placements) {
      if (chunked && ++n % LOOP_CHUNK === 0) await yieldToLoop();
      listed.add(p.agent_id);
      const old = current.get(p.agent_id);
      let restarts = 0;
      let attempt = 1;
      let state: AgentRecord['state'] = 'pending';
      for (const h of p.holds ?? []) takes.push([p.node, h, owner(p.agent_id)]);
      if (old) {
        release(old);
        // A preempted agent gave back its usage and holds when it was evicted; placed again, it is a new attempt.
        const preempted = old.state === 'preempted';
        if (!preempted) add(old.node, -1, agentUnits(old.resources));
        restarts = old.restarts;
        attempt = old.node !== p.node || preempted ? old.attempt + 1 : old.attempt;
        if (old.node === p.node && !preempted) state = old.state;
      }
      add(p.node, 1, agentUnits(p.resources));
      const { cpu_cores, memory_mb, disk_mb, gpu_count } = p.resources;
      next.set(p.agent_id, { agent_id: p.agent_id, node: p.node, state, restarts, attempt, resources: { cpu_cores, memory_mb, disk_mb, gpu_count }, holds: [...(p.holds ?? [])], updated_at: now });
    }
    if (commit.mode !== 'merge') {
      for (const old of current.values()) {
        if (chunked && ++n % LOOP_CHUNK === 0) await yieldToLoop();
        if (listed.has(old.agent_id)) continue;
        release(old);
        if (old.state !== 'preempted') add(old.node, -1, agentUnits(old.resources));
      }
    }
    return { next, delta, frees, freed, takes };
  }

  async commitPlacements(jobId: string, commit: PlacementCommit, fence: Fence): Promise<JobRecord> {
    this.open();
    checkName(jobId, 'job id');
    checkFence(fence);
    // A big commit is validated and prepared a chunk at a time, with turns of the event loop in
    // between; what it read is checked again before the one synchronous step that applies it.
    const big = commit.placements.length > LOOP_CHUNK || (this.agents.get(jobId)?.size ?? 0) > LOOP_CHUNK;
    if (big) await checkPlacementsChunked(commit.placements);
    else checkPlacements(commit.placements);
    checkEvictions(jobId, commit.evict);
    if (commit.status !== undefined) checkJobPatch({ status: commit.status });
    const plan = commit.plan === undefined ? undefined : big ? await frozenPlanChunked(commit.plan) : frozenPlan(commit.plan);
    const now = this.clock();
    const epoch = this.agentEpochs.get(jobId) ?? 0;
    let prepared = await this.preparePlacements(jobId, commit, now, big);
    this.open();
    if ((this.agentEpochs.get(jobId) ?? 0) !== epoch) prepared = await this.preparePlacements(jobId, commit, now, false);
    const context = contextOf(`job "${jobId}"`, { fence });
    const job = this.jobs.get(jobId);
    if (!job) throw scriptError(ScriptCode.NotFound, context);
    this.enforceGuard({ fence }, context, job.version);
    const { next, delta, frees, freed, takes } = prepared;
    // Evictions (preemption): checked with everything else, applied in the same step.
    const evictions: Array<[Map<string, AgentRecord>, AgentRecord, JobRecord]> = [];
    for (const e of commit.evict ?? []) {
      const victims = this.agents.get(e.job_id);
      const rec = victims?.get(e.agent_id);
      const victimJob = this.jobs.get(e.job_id);
      if (!victims || !rec || !victimJob || rec.node !== e.node || rec.state === 'preempted') {
        throw scriptError(ScriptCode.AgentMoved, { object: `agent "${e.agent_id}" of job "${e.job_id}"` }, [rec?.node ?? '']);
      }
      const who = `${e.job_id}/${e.agent_id}`;
      for (const h of rec.holds ?? []) {
        frees.push([rec.node, h, who]);
        freed.set(`${rec.node}\u0000${h}`, who);
      }
      let d = delta.get(rec.node);
      if (!d) delta.set(rec.node, (d = [0, 0, 0, 0, 0]));
      const u = agentUnits(rec.resources);
      for (let k = 0; k < 4; k++) d[k]! -= u[k]!;
      d[4] -= 1;
      evictions.push([victims, rec, victimJob]);
    }
    for (const [node, hold, who] of takes) {
      const cur = this.holds.get(node)?.get(hold);
      if (cur !== undefined && cur !== who && freed.get(`${node}\u0000${hold}`) !== cur) {
        throw scriptError(ScriptCode.HoldConflict, context, [node, hold, cur]);
      }
    }
    for (const [node, limits] of Object.entries(commit.capacity ?? {})) {
      const d = delta.get(node);
      if (!d) continue;
      const cur = this.usage.get(node) ?? [0, 0, 0, 0, 0];
      const caps = capacityUnits(limits);
      for (let k = 0; k < 4; k++) {
        const limit = caps[k];
        if (limit !== null && limit !== undefined && d[k]! > 0 && cur[k]! + d[k]! > limit) {
          throw scriptError(ScriptCode.CapacityExceeded, context, [node, UNIT_NAMES[k]]);
        }
      }
    }
    for (const [node, d] of delta) {
      const cur = this.usage.get(node) ?? [0, 0, 0, 0, 0];
      this.usage.set(node, cur.map((v, k) => v + d[k]!) as Units);
    }
    for (const [node, hold, who] of frees) {
      const held = this.holds.get(node);
      if (held?.get(hold) === who) held.delete(hold);
    }
    for (const [node, hold, who] of takes) {
      let held = this.holds.get(node);
      if (!held) this.holds.set(node, (held = new Map()));
      held.set(hold, who);
    }
    this.agents.set(jobId, next);
    this.agentEpochs.set(jobId, (this.agentEpochs.get(jobId) ?? 0) + 1);
    for (const [victims, rec, victimJob] of evictions) {
      victims.set(rec.agent_id, { ...rec, state: 'preempted', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 }, holds: [], updated_at: now });
      this.agentEpochs.set(victimJob.job_id, (this.agentEpochs.get(victimJob.job_id) ?? 0) + 1);
      victimJob.version += 1;
      victimJob.updated_at = now;
    }
    if (plan !== undefined) job.plan = plan;
    if (commit.status !== undefined) job.status = commit.status;
    job.version += 1;
    job.updated_at = now;
    return recordCopy(job);
  }

  putPlacements(jobId: string, placements: AgentPlacement[], fence: Fence): Promise<JobRecord> {
    return this.commitPlacements(jobId, { placements, mode: 'merge' }, fence);
  }

  // ---- nodes --------------------------------------------------------------------------------

  async upsertNode(node: NewNode): Promise<NodeRecord> {
    this.open();
    checkName(node.name, 'node name');
    checkNodePatch(node);
    const now = this.clock();
    const existing = this.nodes.get(node.name);
    const record: NodeRecord = existing
      ? Object.assign(existing, copy(definedOnly(node)), { version: existing.version + 1, updated_at: now })
      : copy({
          name: node.name,
          status: node.status ?? 'joining',
          scheduling_eligible: node.scheduling_eligible ?? true,
          inventory: node.inventory ?? {},
          details: node.details ?? {},
          updated_at: now,
          version: 1,
        });
    this.nodes.set(node.name, record);
    return copy(record);
  }

  async updateNode(name: string, patch: NodePatch, guard: WriteGuard = {}): Promise<NodeRecord> {
    this.open();
    checkName(name, 'node name');
    checkNodePatch(patch);
    checkGuard(guard);
    const context = contextOf(`node "${name}"`, guard);
    const record = this.nodes.get(name);
    if (!record) throw scriptError(ScriptCode.NotFound, context);
    this.enforceGuard(guard, context, record.version);
    Object.assign(record, copy(definedOnly(patch)), { version: record.version + 1, updated_at: this.clock() });
    return copy(record);
  }

  async getNode(name: string): Promise<NodeView | null> {
    this.open();
    checkName(name, 'node name');
    return this.view(name);
  }

  async listNodes(): Promise<NodeView[]> {
    this.open();
    return [...this.nodes.keys()].sort().map((name) => this.view(name)!);
  }

  private view(name: string): NodeView | null {
    const record = this.nodes.get(name);
    if (!record) return null;
    const hb = this.heartbeats.get(name);
    const alive = hb !== undefined && this.clock() <= hb.expiresAt;
    const u = this.usage.get(name);
    return {
      ...copy(record),
      alive,
      heartbeat_at: alive ? hb!.at : null,
      usage: u ? { cpu_cores: u[0] / 1000, memory_mb: u[1], disk_mb: u[2], gpu_count: u[3], agents: u[4] } : emptyUsage(),
    };
  }

  async heartbeat(name: string, ttlMs: number): Promise<void> {
    this.open();
    checkName(name, 'node name');
    checkTtl(ttlMs);
    if (!this.nodes.has(name)) throw scriptError(ScriptCode.NotFound, { object: `node "${name}"` });
    const now = this.clock();
    this.heartbeats.set(name, { at: now, expiresAt: now + ttlMs });
  }

  // ---- events -------------------------------------------------------------------------------

  async appendEvent(jobId: string, event: NewEvent): Promise<StoredEvent> {
    this.open();
    checkName(jobId, 'job id');
    if (typeof event.type !== 'string' || event.type === '') {
      throw new MnError('MN_E_INVALID_ARGUMENT', 'event type must be a non-empty string', { details: { field: 'type' } });
    }
    const now = this.clock();
    const body = copy({
      job_id: jobId,
      type: event.type,
      timestamp: now,
      ...(event.agent_id !== undefined ? { agent_id: event.agent_id } : {}),
      payload: event.payload ?? {},
    });
    const stored = this.stream(jobId).append(body, now);
    this.global.append(copy(body), now);
    return copy(stored);
  }

  async readEvents(jobId: string | null, options: ReadEventsOptions = {}): Promise<StoredEvent[]> {
    this.open();
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `limit must be a positive integer, got ${limit}`, { details: { field: 'limit' } });
    }
    const afterId = options.afterId === undefined ? undefined : checkEventId(options.afterId);
    return copy(this.streamOf(jobId).after(afterId, limit));
  }

  async latestEventId(jobId: string | null): Promise<string | null> {
    this.open();
    const stream = this.streamOf(jobId);
    return stream.entries.length === 0 ? null : stream.lastId();
  }

  followEvents(jobId: string | null, options: FollowEventsOptions = {}): AsyncIterable<StoredEvent> {
    const stream = this.streamOf(jobId);
    if (options.afterId !== undefined) checkEventId(options.afterId);
    return { [Symbol.asyncIterator]: () => this.follow(stream, options) };
  }

  private async *follow(stream: EventStream, { afterId, signal }: FollowEventsOptions): AsyncGenerator<StoredEvent> {
    let last = afterId ?? stream.lastId();
    while (!signal?.aborted && !this.closed) {
      const batch = stream.after(last, 500);
      if (batch.length === 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.waiters.delete(done);
            this.closeWaiters.delete(done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          stream.waiters.add(done);
          this.closeWaiters.add(done);
          signal?.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      for (const event of batch) {
        last = event.id;
        yield copy(event);
        if (signal?.aborted || this.closed) return;
      }
    }
  }

  private streamOf(jobId: string | null): EventStream {
    if (jobId === null) return this.global;
    checkName(jobId, 'job id');
    return this.stream(jobId);
  }

  private stream(jobId: string): EventStream {
    let stream = this.streams.get(jobId);
    if (!stream) {
      stream = new EventStream(this.maxEvents);
      this.streams.set(jobId, stream);
    }
    return stream;
  }

  // ---- leases -------------------------------------------------------------------------------

  private live(name: string): Lease | undefined {
    const lease = this.leases.get(name);
    if (lease && this.clock() > lease.expiresAt) {
      this.leases.delete(name);
      return undefined;
    }
    return lease;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    this.open();
    checkName(name, 'lease name', true);
    checkName(holder, 'lease holder', true);
    checkTtl(ttlMs);
    const now = this.clock();
    const lease = this.live(name);
    if (lease) {
      if (lease.holder !== holder) return null;
      lease.expiresAt = now + ttlMs;
      return { token: lease.token, expiresAt: lease.expiresAt };
    }
    const token = (this.epochs.get(name) ?? 0) + 1;
    this.epochs.set(name, token);
    this.leases.set(name, { holder, token, expiresAt: now + ttlMs });
    return { token, expiresAt: now + ttlMs };
  }

  async renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    this.open();
    checkName(name, 'lease name', true);
    checkTtl(ttlMs);
    const lease = this.live(name);
    if (!lease || lease.holder !== holder || lease.token !== token) return false;
    lease.expiresAt = this.clock() + ttlMs;
    return true;
  }

  async releaseLease(name: string, holder: string, token: number): Promise<boolean> {
    this.open();
    checkName(name, 'lease name', true);
    const lease = this.live(name);
    if (!lease || lease.holder !== holder || lease.token !== token) return false;
    this.leases.delete(name);
    return true;
  }

  async getLease(name: string): Promise<LeaseInfo | null> {
    this.open();
    checkName(name, 'lease name', true);
    const lease = this.live(name);
    return lease ? { name, holder: lease.holder, token: lease.token, expiresAt: lease.expiresAt } : null;
  }

  async getSetting(name: string): Promise<unknown> {
    this.open();
    checkName(name, 'setting name', true);
    const raw = this.settings.get(name);
    return raw === undefined ? null : JSON.parse(raw);
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    this.open();
    checkName(name, 'setting name', true);
    this.settings.set(name, JSON.stringify(value));
  }

  async deleteJob(jobId: string): Promise<boolean> {
    this.open();
    checkName(jobId, 'job id');
    const job = this.jobs.get(jobId);
    if (!job) return false;
    if (!TERMINAL_JOB_STATUSES.has(job.status)) {
      throw new MnError('MN_E_CONFLICT', `job ${jobId} is ${job.status}; only completed, failed or cancelled jobs can be removed`, {
        details: { reason: 'state', job_id: jobId, status: job.status },
      });
    }
    this.jobs.delete(jobId);
    this.agents.delete(jobId);
    this.agentEpochs.set(jobId, (this.agentEpochs.get(jobId) ?? 0) + 1);
    this.streams.delete(jobId);
    this.mail.delete(jobId);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.closeWaiters) wake();
    this.closeWaiters.clear();
  }


  // ---- messages -------------------------------------------------------------------------------

  private jobMail(jobId: string): JobMail {
    let m = this.mail.get(jobId);
    if (!m) {
      m = { ids: new Map(), outstanding: 0, dead: [], pending: new Map(), states: new Map(), collected: new Map(), completion: null };
      this.mail.set(jobId, m);
    }
    return m;
  }

  private inbox(node: string): Inbox {
    let box = this.inboxes.get(node);
    if (!box) {
      box = { seq: 0, fresh: new IdQueue(), entries: new Map(), pending: new Map(), waiters: new Set() };
      this.inboxes.set(node, box);
    }
    return box;
  }

  private enqueue(entry: Omit<InboxEntry, 'id'>): void {
    const box = this.inbox(entry.node);
    const id = `${this.clock()}-${box.seq++}`;
    box.entries.set(id, { ...entry, id });
    box.fresh.push(id);
    for (const wake of box.waiters) wake();
    box.waiters.clear();
  }

  /** The send step shared by sendMessages and settleMessage; `lenient` treats conflicting ids as duplicates. */
  private send(messages: OutgoingMessage[], limits: MessageLimits | undefined, lenient: boolean): SendResult {
    const fresh: OutgoingMessage[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    for (const m of messages) {
      checkOutgoing(m);
      const known = this.mail.get(m.job_id)?.ids.get(m.message_id);
      const key = `${m.job_id}\0${m.message_id}`;
      if (known !== undefined || seen.has(key)) {
        if (known !== undefined && known !== messageDigest(m.message) && !lenient) {
          throw scriptError(ScriptCode.MessageConflict, { object: `job "${m.job_id}"` }, [m.message_id]);
        }
        duplicates++;
        continue;
      }
      seen.add(key);
      fresh.push(m);
    }
    if (limits) checkLimits(fresh, limits, (jobId) => this.mail.get(jobId)?.outstanding ?? 0, (jobId, agentId) => this.mail.get(jobId)?.pending.get(agentId) ?? 0);
    for (const m of fresh) {
      const mail = this.jobMail(m.job_id);
      mail.ids.set(m.message_id, messageDigest(m.message));
      mail.outstanding++;
      mail.pending.set(m.agent_id, (mail.pending.get(m.agent_id) ?? 0) + 1);
      this.enqueue({ node: m.node, job_id: m.job_id, agent_id: m.agent_id, message_id: m.message_id, attempt: 1, not_before: m.not_before ?? 0, message: m.message });
    }
    return { accepted: fresh.length, duplicates };
  }

  async sendMessages(messages: OutgoingMessage[], options: { limits?: MessageLimits } = {}): Promise<SendResult> {
    this.open();
    return this.send(messages, options.limits, false);
  }

  async readInbox(node: string, consumer: string, options: { count: number; blockMs: number; claimIdleMs: number }): Promise<InboxEntry[]> {
    this.open();
    checkName(node, 'node name', true);
    checkName(consumer, 'consumer', true);
    const box = this.inbox(node);
    const take = (): InboxEntry[] => {
      const now = this.clock();
      const out: InboxEntry[] = [];
      for (const [id, p] of box.pending) {
        if (out.length >= options.count) break;
        if (p.consumer !== consumer && now - p.at >= options.claimIdleMs) {
          box.pending.set(id, { consumer, at: now });
          out.push({ ...box.entries.get(id)! });
        }
      }
      while (out.length < options.count && box.fresh.length > 0) {
        const id = box.fresh.shift()!;
        const entry = box.entries.get(id);
        if (!entry) continue;
        box.pending.set(id, { consumer, at: now });
        out.push({ ...entry });
      }
      return out;
    };
    let got = take();
    if (got.length > 0 || options.blockMs <= 0) return got;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        box.waiters.delete(done);
        this.closeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, options.blockMs);
      box.waiters.add(done);
      this.closeWaiters.add(done);
    });
    if (this.closed) return [];
    got = take();
    return got;
  }

  /** Removes a pending entry; false when it was settled already (or never read). */
  private ack(entry: InboxEntry): boolean {
    const box = this.inboxes.get(entry.node);
    if (!box || !box.pending.has(entry.id)) return false;
    box.pending.delete(entry.id);
    box.entries.delete(entry.id);
    return true;
  }

  private settled(entry: InboxEntry, dead: DeadLetter | null): void {
    const mail = this.jobMail(entry.job_id);
    mail.outstanding = Math.max(0, mail.outstanding - 1);
    const left = (mail.pending.get(entry.agent_id) ?? 1) - 1;
    if (left > 0) mail.pending.set(entry.agent_id, left);
    else mail.pending.delete(entry.agent_id);
    if (dead) mail.dead.push(dead);
  }

  async settleMessage(entry: InboxEntry, options: SettleOptions): Promise<SendResult> {
    this.open();
    checkFence(options.fence);
    const context = { object: `message ${entry.message_id} of job "${entry.job_id}"`, lease: options.fence.lease, token: options.fence.token };
    this.enforceGuard({ fence: options.fence }, context, 0);
    const placed = this.agents.get(entry.job_id)?.get(entry.agent_id);
    if (placed && placed.node !== entry.node) throw scriptError(ScriptCode.AgentMoved, context, [placed.node]);
    const box = this.inboxes.get(entry.node);
    if (!box?.pending.has(entry.id)) return { accepted: 0, duplicates: 0 };
    const result = this.send(options.send ?? [], options.limits, true);
    this.ack(entry);
    const mail = this.jobMail(entry.job_id);
    if (options.state !== undefined) mail.states.set(entry.agent_id, options.state);
    if (options.complete !== undefined && mail.completion === null) mail.completion = { agent_id: entry.agent_id, result: options.complete, at: this.clock() };
    this.settled(entry, null);
    return result;
  }

  async retryMessage(entry: InboxEntry, notBefore: number, fence?: Fence): Promise<void> {
    this.open();
    this.enforceEntryFence(entry, fence);
    if (!this.ack(entry)) return;
    this.enqueue({ node: entry.node, job_id: entry.job_id, agent_id: entry.agent_id, message_id: entry.message_id, attempt: entry.attempt + 1, not_before: notBefore, message: entry.message });
  }

  async deadLetter(entry: InboxEntry, reason: string, fence?: Fence): Promise<void> {
    this.open();
    this.enforceEntryFence(entry, fence);
    if (!this.ack(entry)) return;
    this.settled(entry, { job_id: entry.job_id, agent_id: entry.agent_id, message_id: entry.message_id, attempts: entry.attempt, reason, message: entry.message, at: this.clock() });
  }

  async forwardMessage(entry: InboxEntry, toNode: string, fence?: Fence): Promise<void> {
    this.open();
    checkName(toNode, 'node name', true);
    this.enforceEntryFence(entry, fence);
    if (!this.ack(entry)) return;
    this.enqueue({ ...entry, node: toNode });
  }

  async dropMessages(entries: InboxEntry[], fence?: Fence): Promise<void> {
    this.open();
    for (const entry of entries) this.enforceEntryFence(entry, fence);
    for (const entry of entries) if (this.ack(entry)) this.settled(entry, null);
  }

  async listDeadLetters(jobId: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    this.open();
    checkName(jobId, 'job id');
    return copy((this.mail.get(jobId)?.dead ?? []).slice(0, options.limit ?? 1000));
  }

  async messageCounts(jobId: string): Promise<MessageCounts> {
    this.open();
    checkName(jobId, 'job id');
    const mail = this.mail.get(jobId);
    return { outstanding: mail?.outstanding ?? 0, dead_letters: mail?.dead.length ?? 0 };
  }

  async agentStates(jobId: string): Promise<Record<string, string>> {
    this.open();
    checkName(jobId, 'job id');
    return Object.fromEntries(this.mail.get(jobId)?.states ?? []);
  }

  async collect(jobId: string, agentId: string, key: string, value: string): Promise<{ added: boolean; count: number }> {
    this.open();
    checkName(jobId, 'job id');
    const mail = this.jobMail(jobId);
    let c = mail.collected.get(agentId);
    if (!c) {
      c = new Map();
      mail.collected.set(agentId, c);
    }
    const added = !c.has(key);
    if (added) c.set(key, value);
    return { added, count: c.size };
  }

  async listCollected(jobId: string, agentId: string): Promise<string[]> {
    this.open();
    checkName(jobId, 'job id');
    return [...(this.mail.get(jobId)?.collected.get(agentId)?.values() ?? [])];
  }

  async getCompletion(jobId: string): Promise<CompletionRecord | null> {
    this.open();
    checkName(jobId, 'job id');
    return copy(this.mail.get(jobId)?.completion ?? null);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private open(): void {
    if (this.closed) throw new MnError('MN_E_STORE_UNAVAILABLE', 'store is closed');
  }

  /** The fence check of the entry-settling scripts (requeue, dead letter). */
  private enforceEntryFence(entry: InboxEntry, fence: Fence | undefined): void {
    if (!fence) return;
    checkFence(fence);
    this.enforceGuard({ fence }, { object: `message ${entry.message_id} of job "${entry.job_id}"`, lease: fence.lease, token: fence.token }, 0);
  }

  /** The fence and version checks of the Lua scripts, in the same order. */
  private enforceGuard(guard: WriteGuard, context: ScriptContext, version: number): void {
    if (guard.fence) {
      const lease = this.live(guard.fence.lease);
      if (!lease) throw scriptError(ScriptCode.LeaseNotHeld, context);
      if (lease.token !== guard.fence.token) throw scriptError(ScriptCode.Fenced, context, [lease.token]);
    }
    if (guard.expectedVersion !== undefined && guard.expectedVersion !== version) {
      throw scriptError(ScriptCode.VersionMismatch, context, [version]);
    }
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
