/**
 * The durable state of a cluster: jobs, their agents, nodes, events and leases.
 *
 * Two implementations pass one contract suite (`test/integration/store/contract.test.ts`):
 * {@link ../redis-store.RedisStore} (the durable store of `mn agent`, shared by every daemon of a
 * cluster) and {@link ../memory-store.MemoryStore} (the embedded, non-durable store of `mn dev`).
 *
 * Records use the snake_case field names of the JSON the runtime prints and persists.
 * Every method is async and fails with an `MnError` (`src/core/errors.ts`):
 * `MN_E_NOT_FOUND`, `MN_E_CONFLICT`, `MN_E_FENCED`, `MN_E_LEASE_LOST`, `MN_E_INVALID_ARGUMENT`,
 * `MN_E_STORE_UNAVAILABLE` (retryable).
 *
 * Fencing: a writer that acts under a lease passes `{lease, token}`; the store checks, in the same
 * atomic step as the write, that the lease is still held with that token. A holder that paused
 * past its TTL and whose lease was taken over cannot write (`MN_E_FENCED`); one whose lease
 * simply lapsed cannot either (`MN_E_LEASE_LOST`).
 */

import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import type { AttemptRecord, EffectivePolicies } from '../core/policy/lifecycle.js';
import type { JobDeployment, JobRollout } from '../core/deploy/records.js';
import type { PreflightEntry } from '../core/services/preflight.js';
import type { AgentSummary } from '../core/paging.js';
import type { DeploymentStore } from './deployments.js';
import type { ServiceRegistryStore } from './service-registry.js';
import type { ScheduleStore } from './schedules.js';
import type { JobDispatch, JobTemplateStore } from './job-templates.js';
import type { JobQueueStore } from './job-queue.js';
import type { EvaluationStore } from './evaluations.js';
import type { QueueEntry } from '../core/queue/order.js';
import type { WarmPoolStore } from './warm-pools.js';

/** Job statuses (DESIGN §4.1). Terminal: completed, failed, cancelled. */
export type JobStatus = 'pending' | 'scheduled' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'scheduled', 'running', 'paused', 'completed', 'failed', 'cancelled'];

/** Statuses after which a job never changes again; their records expire after the retention time. */
export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['completed', 'failed', 'cancelled']);

/** Node statuses (DESIGN §4.2); only healthy and joining nodes are schedulable. */
export type NodeStatus = 'healthy' | 'joining' | 'draining' | 'maintenance' | 'disconnected' | 'offline' | 'quarantined';

export const NODE_STATUSES: readonly NodeStatus[] = ['healthy', 'joining', 'draining', 'maintenance', 'disconnected', 'offline', 'quarantined'];

/** Agent lifecycle states as recorded by the job coordinator. */
export type AgentState = 'pending' | 'starting' | 'running' | 'restarting' | 'completed' | 'failed' | 'stopped' | 'lost' | 'preempted';

/** Proof that a writer holds a lease: the lease name and the fencing token it was granted. */
export interface Fence {
  lease: string;
  token: number;
}

/** Optional guards of a write. */
export interface WriteGuard {
  /** Reject with `MN_E_FENCED` / `MN_E_LEASE_LOST` unless this lease is held with this token. */
  fence?: Fence;
  /** Reject with `MN_E_CONFLICT` unless the record's `version` equals this (optimistic update). */
  expectedVersion?: number;
}

/** An evaluation that could not place every agent it had to move, retried with backoff. */
export interface BlockedEvaluation {
  agents: string[];
  reason: string | null;
  attempt: number;
  /** Epoch ms of the next retry (sooner when `capacity` changes). */
  retry_at: number;
  /** Fingerprint of the cluster's capacity when the evaluation was blocked. */
  capacity: string;
}

/**
 * Extra state of a job, replaced as a whole on update. The known fields are typed; features add
 * their own (an index signature keeps the record open).
 */
export interface JobDetails {
  /** Module agent sources by bundle path, shipped to the daemons that run them. */
  modules?: Record<string, string>;
  /** The coordinator sent the entrypoints their init messages. */
  seeded?: boolean;
  requires_review?: boolean;
  review_reason?: string;
  blocked?: BlockedEvaluation;
  /** Reschedule attempts by agent (`reason` is the agent id), spec §4.2. */
  reschedule_history?: AttemptRecord[];
  /** Agents as they were when the job ended (placements are released then). */
  final_agents?: AgentRecord[];
  /** The `complete_job` result of a completed job. */
  result?: unknown;
  completed_by?: string;
  failure?: { reason: string; agent_id?: string | null };
  /** The job's place in a deployment (spec §6.3). */
  deployment?: JobDeployment;
  /** An agent-level rollout in progress on the job. */
  rollout?: JobRollout;
  /** The service preflight (spec §5.6): what it checked, or that the submission skipped it. */
  preflight?: { skipped: boolean; reason?: string; checked?: PreflightEntry[] };
  /** The template dispatch that started the job (`mn job dispatch`). */
  dispatch?: JobDispatch;
  /** The job waits in the cluster queue (status `pending`, no plan) since it was accepted; removed when it starts. */
  queued?: QueueEntry;
  [field: string]: unknown;
}

/** The job's effective policies as its coordinator last recorded them (spec §4.3). */
export type EffectivePolicyRecord = Partial<EffectivePolicies>;

/**
 * The persisted job record. `job` and `plan` are decoded once by the store (they are written
 * only through {@link NewJob}, {@link JobPatch} and {@link PlacementCommit}, typed).
 */
export interface JobRecord {
  job_id: string;
  /** The submitted manifest, as JSON. */
  manifest: unknown;
  /** The normalised job (manifest after defaults and fan-out). */
  job: Job;
  /** The committed placement plan, or null before scheduling. */
  plan: Plan | null;
  status: JobStatus;
  requested_policies: Record<string, unknown>;
  effective_policies: EffectivePolicyRecord;
  /** Open-ended extra state (recovery fields, results, ...); replaced as a whole on update. */
  details: JobDetails;
  /** Epoch milliseconds. */
  created_at: number;
  updated_at: number;
  /** Starts at 1 and grows by exactly 1 with every write to the record (updates, placement commits). */
  version: number;
}

/** What `createJob` takes; the store sets `version`, `created_at` and `updated_at`. */
export interface NewJob {
  job_id: string;
  manifest: unknown;
  job: Job;
  plan?: Plan | null;
  status?: JobStatus;
  requested_policies?: Record<string, unknown>;
  effective_policies?: EffectivePolicyRecord;
  details?: JobDetails;
}

/** Fields `updateJob` may change; absent fields are left alone. */
export type JobPatch = Partial<Pick<JobRecord, 'manifest' | 'job' | 'plan' | 'status' | 'requested_policies' | 'effective_policies' | 'details'>>;

/** Compact view of a job for listings. */
export interface JobSummary {
  job_id: string;
  status: JobStatus;
  version: number;
  created_at: number;
  updated_at: number;
}

/** Scalar resources an agent holds on its node. */
export interface AgentResources {
  cpu_cores: number;
  memory_mb: number;
  disk_mb: number;
  gpu_count: number;
}

/** One agent of a job. */
export interface AgentRecord {
  agent_id: string;
  node: string;
  state: AgentState;
  /** Restarts so far; kept when the agent moves to another node. */
  restarts: number;
  /** 1 for the first placement; grows each time the agent is moved to another node. */
  attempt: number;
  resources: AgentResources;
  /** Exclusive resources the agent holds on its node (see {@link AgentPlacement.holds}). */
  holds: string[];
  updated_at: number;
}

/** Fields of an agent the coordinator changes without moving it. */
export type AgentPatch = Partial<Pick<AgentRecord, 'state' | 'restarts' | 'attempt'>>;

/** Guards of an agent write. */
export interface AgentWriteGuard {
  /** Reject with `MN_E_FENCED` / `MN_E_LEASE_LOST` unless this lease is held with this token. */
  fence?: Fence;
  /**
   * Reject with `MN_E_CONFLICT` (`details.reason: 'agent_moved'`, `details.node` where it is now)
   * unless the agent is still placed on this node: a host writes only agents it runs.
   */
  node?: string;
}

/** One agent's assignment to a node. */
export interface AgentPlacement {
  agent_id: string;
  node: string;
  resources: AgentResources;
  /**
   * Exclusive resources on the node (`port:tcp:8080`, `device:GPU-0`): a commit fails with
   * `MN_E_CONFLICT` when another agent holds one, and holds are given back when the agent moves
   * or is removed.
   */
  holds?: string[];
}

/**
 * An atomic placement commit: plan, agent records and node usage counters change together or
 * not at all.
 */
export interface PlacementCommit {
  /** New plan for the job record; omitted keeps the current plan. */
  plan?: Plan;
  /** New job status; omitted keeps the current status. */
  status?: JobStatus;
  placements: AgentPlacement[];
  /**
   * `replace` (default): the job's agents become exactly `placements`; agents not listed are
   * removed and their usage released (an empty list releases the whole job).
   * `merge`: only the listed agents are added or moved; the others stay.
   */
  mode?: 'replace' | 'merge';
  /**
   * Per-node capacity to re-check against the committed usage: if any node that gains usage
   * would exceed one of these limits, nothing is written and the commit fails with
   * `MN_E_CONFLICT` (`details.node`) so the caller re-plans.
   */
  capacity?: Record<string, Partial<AgentResources>>;
  /**
   * Agents of other jobs evicted in the same atomic step (preemption): each must still be placed
   * on `node` and not preempted already (else `MN_E_CONFLICT`, `details.reason: 'agent_moved'`,
   * nothing written); it becomes `preempted` (keeping its node), gives back its usage and holds,
   * and its job's version is bumped. Placed again later, it starts as a new attempt.
   */
  evict?: EvictedAgent[];
}

/** An agent a placement commit evicts. */
export interface EvictedAgent {
  job_id: string;
  agent_id: string;
  node: string;
}

/** Resources held on a node by committed placements of every job. */
export interface NodeUsage extends AgentResources {
  agents: number;
}

/** A node as registered. `inventory` is the cluster-file node shape (DESIGN §4.2). */
export interface NodeRecord {
  name: string;
  status: NodeStatus;
  scheduling_eligible: boolean;
  inventory: Record<string, unknown>;
  /** Operator and drain state (`drain`, `reason`, ...); replaced as a whole on update. */
  details: Record<string, unknown>;
  updated_at: number;
  version: number;
}

/** What `upsertNode` takes. */
export interface NewNode {
  name: string;
  status?: NodeStatus;
  scheduling_eligible?: boolean;
  inventory?: Record<string, unknown>;
  details?: Record<string, unknown>;
}

export type NodePatch = Partial<Pick<NodeRecord, 'status' | 'scheduling_eligible' | 'inventory' | 'details'>>;

/** A node with its liveness and committed usage. */
export interface NodeView extends NodeRecord {
  /** True while the node's last heartbeat is within its TTL. */
  alive: boolean;
  /** Epoch ms of the last heartbeat while it is live, else null. */
  heartbeat_at: number | null;
  usage: NodeUsage;
}

/** An event to append. */
export interface NewEvent {
  type: string;
  agent_id?: string;
  payload?: Record<string, unknown>;
}

/** A stored event; `id` orders events within their stream (`<ms>-<seq>`, Redis stream ids). */
export interface StoredEvent {
  id: string;
  job_id: string;
  type: string;
  timestamp: number;
  agent_id?: string;
  payload: Record<string, unknown>;
}

export interface ReadEventsOptions {
  /** Return events strictly after this id (default: from the oldest retained). */
  afterId?: string;
  /** At most this many events (default 1000). */
  limit?: number;
}

export interface FollowEventsOptions {
  /** Yield events strictly after this id; default `$`-like: only events appended from now on. */
  afterId?: string;
  /** Ends the iteration (without an error) when aborted. */
  signal?: AbortSignal;
}

/** A granted lease. */
export interface LeaseGrant {
  /** Fencing token: grows with every grant of this lease name, never reused. */
  token: number;
  /** Epoch ms (store clock) at which the lease lapses unless renewed. */
  expiresAt: number;
}

/** A lease as currently held. */
export interface LeaseInfo extends LeaseGrant {
  name: string;
  holder: string;
}

// ---- messages between agents -----------------------------------------------------------------

/**
 * A message on its way to one agent. Messages travel through the inbox of the node that runs the
 * target agent (a Redis Stream with one consumer group in the Redis store); a daemon that reads a
 * message for an agent it no longer runs forwards it to the agent's current node.
 */
export interface OutgoingMessage {
  job_id: string;
  /** Target agent id. */
  agent_id: string;
  /** Node whose inbox receives the message (the target agent's node). */
  node: string;
  /** Idempotency key within the job: a second send of the same id is a duplicate (same content) or a conflict. */
  message_id: string;
  /** The `mn-msg/1` message as JSON. */
  message: string;
  /** Epoch ms before which the message must not be handled (timers, retry backoff); default 0. */
  not_before?: number;
}

/** A message read from a node's inbox, not yet settled. */
export interface InboxEntry {
  /** Entry id within the inbox. */
  id: string;
  node: string;
  job_id: string;
  agent_id: string;
  message_id: string;
  /** Delivery attempts including this one (1 for the first). */
  attempt: number;
  not_before: number;
  message: string;
}

/** Back-pressure limits (spec §2.3: MN_MESSAGE_MAX_PENDING_PER_AGENT / _PER_JOB). */
export interface MessageLimits {
  perAgent: number;
  perJob: number;
}

export interface SendResult {
  accepted: number;
  duplicates: number;
}

/** What settling a handled message writes, atomically with its acknowledgement. */
export interface SettleOptions {
  /** The node's host lease: refused (`MN_E_FENCED`/`MN_E_LEASE_LOST`) when it is lost, and `MN_E_CONFLICT` when the agent is no longer placed on the entry's node. */
  fence: Fence;
  /** Messages the handler emitted (same rules as `sendMessages`). */
  send?: OutgoingMessage[];
  /** New local state of the receiving agent (JSON text). */
  state?: string;
  /** A `complete_job` result (JSON text): recorded as the job's completion unless one is recorded already. */
  complete?: string;
  limits?: MessageLimits;
}

/** A message that exhausted its delivery attempts. */
export interface DeadLetter {
  job_id: string;
  agent_id: string;
  message_id: string;
  attempts: number;
  reason: string;
  /** The message as JSON. */
  message: string;
  at: number;
}

/** Message accounting of one job. */
export interface MessageCounts {
  /** Sent and not yet settled or dead-lettered: zero means the job's agents are quiescent. */
  outstanding: number;
  dead_letters: number;
}

/** The first `complete_job` of a job, waiting for its coordinator. */
export interface CompletionRecord {
  agent_id: string;
  /** The result as JSON text. */
  result: string;
  at: number;
}

/** Pseudo job id carrying cluster-level events (node drain, maintenance). */
export const CLUSTER_EVENTS_JOB_ID = '__cluster__';

/** The state store. See the module comment for semantics shared by every implementation. */
export interface Store {
  /** Service instances (spec §5.5). */
  readonly services: ServiceRegistryStore;
  /** Deployments and their version history (spec §6.3). */
  readonly deployments: DeploymentStore;
  /** Schedules, their dispatches and trigger events (spec §7). */
  readonly schedules: ScheduleStore;
  /** Job templates registered for dispatch (`mn job register`). */
  readonly jobTemplates: JobTemplateStore;
  /** The cluster-wide queue of jobs waiting for capacity (priority, then age). */
  readonly queue: JobQueueStore;
  /** Placement decisions, per job and cluster-wide (`mn eval list`). */
  readonly evaluations: EvaluationStore;
  /** What each machine reports of the warm pools it keeps (`mn pool list`). */
  readonly warmPools: WarmPoolStore;

  // ---- jobs ---------------------------------------------------------------------------------
  /** Creates a job at version 1 (`MN_E_CONFLICT` if the id exists). */
  createJob(job: NewJob): Promise<JobRecord>;
  /** The job, or null. */
  getJob(jobId: string): Promise<JobRecord | null>;
  /** Every job, oldest first. */
  listJobs(): Promise<JobSummary[]>;
  /**
   * Applies `patch`, bumps `version` and `updated_at`, returns the new record. Terminal statuses
   * start the retention clock. `MN_E_NOT_FOUND`, `MN_E_CONFLICT` (expectedVersion),
   * `MN_E_FENCED` / `MN_E_LEASE_LOST` (fence).
   */
  updateJob(jobId: string, patch: JobPatch, guard?: WriteGuard): Promise<JobRecord>;

  // ---- agents and placements ----------------------------------------------------------------
  /** The job's agents, ordered by agent id. */
  listAgents(jobId: string): Promise<AgentRecord[]>;
  /**
   * Changes an agent's state or counters (`MN_E_NOT_FOUND` if the agent is not placed). Guarded
   * by a fence and by the node the agent must still be on (see {@link AgentWriteGuard}).
   */
  updateAgent(jobId: string, agentId: string, patch: AgentPatch, guard?: AgentWriteGuard): Promise<AgentRecord>;
  /**
   * Atomically writes the plan, the agent records and the node usage counters of a job (see
   * {@link PlacementCommit}); bumps the job's version. The fence is required.
   */
  commitPlacements(jobId: string, commit: PlacementCommit, fence: Fence): Promise<JobRecord>;
  /** Adds or moves some agents of a job: `commitPlacements` in `merge` mode, plan unchanged. */
  putPlacements(jobId: string, placements: AgentPlacement[], fence: Fence): Promise<JobRecord>;

  // ---- nodes --------------------------------------------------------------------------------
  /** Registers a node or replaces its inventory (new nodes default to `joining`, eligible). */
  upsertNode(node: NewNode): Promise<NodeRecord>;
  /** Changes a node's status, eligibility, inventory or details (`MN_E_NOT_FOUND`). */
  updateNode(name: string, patch: NodePatch, guard?: WriteGuard): Promise<NodeRecord>;
  getNode(name: string): Promise<NodeView | null>;
  /** Every registered node, ordered by name; expired heartbeats show as `alive: false`. */
  listNodes(): Promise<NodeView[]>;
  /** Marks a registered node alive for `ttlMs` (`MN_E_NOT_FOUND` if it is not registered). */
  heartbeat(name: string, ttlMs: number): Promise<void>;

  // ---- events -------------------------------------------------------------------------------
  /**
   * Appends to the job's bounded stream and to the bounded global stream. Streams keep at least
   * the newest `maxEvents` entries (Redis trims approximately, so a few more may remain).
   */
  appendEvent(jobId: string, event: NewEvent): Promise<StoredEvent>;
  /** Events of one job, or of every job when `jobId` is null (the global stream), oldest first. */
  readEvents(jobId: string | null, options?: ReadEventsOptions): Promise<StoredEvent[]>;
  /** Id of the newest event of a stream, or null when it has none: a follower started after it misses nothing. */
  latestEventId(jobId: string | null): Promise<string | null>;
  /** Live events of one job (or every job when null), in order, until `signal` aborts. */
  followEvents(jobId: string | null, options?: FollowEventsOptions): AsyncIterable<StoredEvent>;

  // ---- leases -------------------------------------------------------------------------------
  /**
   * Grants the lease if it is free or lapsed (new, higher token) or already held by `holder`
   * (same token, TTL extended); null while another holder has it. Holder ids must be unique per
   * process incarnation: a restarted process must not reuse its predecessor's id.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | null>;
  /** Extends the lease by `ttlMs` if `holder` still holds it with `token`. */
  renewLease(name: string, holder: string, token: number, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `holder` still holds it with `token`. */
  releaseLease(name: string, holder: string, token: number): Promise<boolean>;
  getLease(name: string): Promise<LeaseInfo | null>;

  /** A cluster-wide setting (JSON value), or null when never set. */
  getSetting(name: string): Promise<unknown>;
  /** Replaces a cluster-wide setting. */
  putSetting(name: string, value: unknown): Promise<void>;
  /**
   * Removes a terminal job with its agents and events; returns false when the job is unknown.
   * Fails with `MN_E_CONFLICT` for a job that is not terminal (it may still hold capacity).
   */
  deleteJob(jobId: string): Promise<boolean>;
  /** Releases connections and ends followers; every later call fails with `MN_E_STORE_UNAVAILABLE`. */
  close(): Promise<void>;

  // ---- messages (see OutgoingMessage) -------------------------------------------------------
  /**
   * Enqueues messages; idempotent by `(job_id, message_id)`. Each accepted message counts as
   * outstanding for its job until it is settled or dead-lettered. All or nothing: a conflicting
   * id (`MN_E_CONFLICT`) or exceeded limits (`MN_E_RESOURCE_EXHAUSTED`) send none of them.
   */
  sendMessages(messages: OutgoingMessage[], options?: { limits?: MessageLimits }): Promise<SendResult>;
  /**
   * Up to `count` entries of `node`'s inbox for `consumer`: entries another consumer read but did
   * not settle within `claimIdleMs` first, then new ones, waiting up to `blockMs` when none.
   */
  readInbox(node: string, consumer: string, options: { count: number; blockMs: number; claimIdleMs: number }): Promise<InboxEntry[]>;
  /** Acknowledges a handled entry and writes its outcome (see {@link SettleOptions}) in one step. */
  settleMessage(entry: InboxEntry, options: SettleOptions): Promise<SendResult>;
  /**
   * Acknowledges an entry and queues it again on its node with `attempt + 1`, due at `notBefore`.
   * The entry-settling calls below take the node's host lease as an optional fence: the daemon
   * that runs the node's agents passes it, so a host that lost its lease cannot settle entries
   * (`MN_E_FENCED` / `MN_E_LEASE_LOST`); the leader's inbox rescue settles unfenced.
   */
  retryMessage(entry: InboxEntry, notBefore: number, fence?: Fence): Promise<void>;
  /** Acknowledges an entry and records it as a dead letter of its job (no longer outstanding). */
  deadLetter(entry: InboxEntry, reason: string, fence?: Fence): Promise<void>;
  /** Acknowledges an entry and queues it unchanged on another node's inbox (its agent moved). */
  forwardMessage(entry: InboxEntry, toNode: string, fence?: Fence): Promise<void>;
  /** Acknowledges entries of jobs that ended; they stop counting as outstanding. */
  dropMessages(entries: InboxEntry[], fence?: Fence): Promise<void>;
  listDeadLetters(jobId: string, options?: { limit?: number }): Promise<DeadLetter[]>;
  messageCounts(jobId: string): Promise<MessageCounts>;
  /** Local state of every agent of a job that has one: agent id → JSON text. */
  agentStates(jobId: string): Promise<Record<string, string>>;
  /**
   * Adds `value` (JSON text) to an agent's collection under `key` unless the key is present
   * (aggregator dedupe); returns whether it was added and the collection's size.
   */
  collect(jobId: string, agentId: string, key: string, value: string): Promise<{ added: boolean; count: number }>;
  /** An agent's collection (JSON texts), in insertion order. */
  listCollected(jobId: string, agentId: string): Promise<string[]>;
  /** The job's recorded `complete_job`, or null. */
  getCompletion(jobId: string): Promise<CompletionRecord | null>;

  // ---- big jobs: agents a page at a time ----------------------------------------------------
  /** One page of the job's agents ordered by agent id, strictly after `after`; `total` counts all of them. */
  listAgentsPage(jobId: string, options: { after?: string; limit: number }): Promise<AgentPage>;
  /** Counts of the job's agents by state and by node, read in chunks (the event loop is never held long). */
  agentSummary(jobId: string): Promise<AgentSummary>;
}

/** A page of {@link Store.listAgentsPage}: `next` is the last id of this page when more follow, else null. */
export interface AgentPage {
  agents: AgentRecord[];
  next: string | null;
  total: number;
}

/** Options shared by store implementations. */
export interface StoreOptions {
  /** Wall clock in epoch ms for record timestamps (and, in the memory store, for TTLs). */
  clock?: () => number;
  /** Events kept per job stream (default `MN_EVENT_MAX_COUNT`, 10000). */
  maxEvents?: number;
  /** Events kept in the global stream (default 10000). */
  maxGlobalEvents?: number;
  /** Retention of terminal jobs in seconds (default `MN_TERMINAL_JOB_TTL_SECONDS`, 604800). */
  terminalJobTtlSeconds?: number;
}
