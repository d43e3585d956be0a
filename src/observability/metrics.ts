/**
 * The daemon's Prometheus metrics (prom-client), in one registry. Counters and histograms are
 * process-wide and incremented where the thing happens (placement, delivery, the store); gauges
 * that describe cluster state (jobs by status, agents by state, heartbeat age, inbox backlog) are
 * read from the store at scrape time by {@link scrapeMetrics}, so they never drift from the
 * records. Names follow the Prometheus conventions: `mn_` prefix, `_total` for counters,
 * `_seconds` for durations.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process-wide registry of event counters and latency histograms. */
export const registry = new Registry();
// Process metrics (CPU, memory, event-loop lag, GC) as mn_process_*, mn_nodejs_*.
collectDefaultMetrics({ register: registry, prefix: 'mn_' });

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Placement runs (one solver call for a batch of jobs) by engine and outcome. */
export const placementRuns = new Counter({
  name: 'mn_placement_runs_total',
  help: 'Placement runs (one solver call over a batch of jobs), by engine',
  labelNames: ['engine'] as const,
  registers: [registry],
});

/** Agents placed or not placed, by engine. */
export const placements = new Counter({
  name: 'mn_placements_total',
  help: 'Agents considered by placement, by engine and outcome (placed or failed)',
  labelNames: ['engine', 'outcome'] as const,
  registers: [registry],
});

/** Placement latency by engine. */
export const placementSeconds = new Histogram({
  name: 'mn_placement_duration_seconds',
  help: 'Time of one placement run, by engine',
  labelNames: ['engine'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Placement runs in flight or waiting: the evaluation queue. */
export const evaluationQueue = new Gauge({
  name: 'mn_evaluation_queue_depth',
  help: 'Placement evaluations running or waiting on this daemon',
  registers: [registry],
});

/** Messages handled and settled by an agent on this daemon. */
export const messagesDelivered = new Counter({
  name: 'mn_messages_delivered_total',
  help: 'Messages handled by an agent and settled on this daemon',
  registers: [registry],
});

/** Messages scheduled for another delivery attempt after a failed handling. */
export const messageRedeliveries = new Counter({
  name: 'mn_message_redeliveries_total',
  help: 'Messages scheduled for another delivery attempt after a failed handling',
  registers: [registry],
});

/** Messages dead-lettered on this daemon. */
export const deadLetters = new Counter({
  name: 'mn_dead_letters_total',
  help: 'Messages that exhausted their delivery attempts or could never be handled',
  registers: [registry],
});

/** Executor slots in use, by pool. */
export const executorSlotsInUse = new Gauge({
  name: 'mn_executor_slots_in_use',
  help: 'Executor slots held by running executor agents on this daemon, by pool',
  labelNames: ['pool'] as const,
  registers: [registry],
});

/** Executor slot capacity, by pool (pools appear on first use). */
export const executorSlots = new Gauge({
  name: 'mn_executor_slots',
  help: 'Executor slots of each pool on this daemon',
  labelNames: ['pool'] as const,
  registers: [registry],
});

/** Leader lease gained or lost by this daemon. */
export const leaderChanges = new Counter({
  name: 'mn_leader_changes_total',
  help: 'Times this daemon became or stopped being the leader',
  labelNames: ['change'] as const,
  registers: [registry],
});

/** Whether this daemon holds the leader lease now. */
export const isLeader = new Gauge({
  name: 'mn_leader',
  help: '1 while this daemon holds the leader lease, else 0',
  registers: [registry],
});

/** Writes refused by a lease fence (a stale holder, MN_E_FENCED or MN_E_LEASE_LOST). */
export const fencingRejections = new Counter({
  name: 'mn_lease_fencing_rejections_total',
  help: 'Writes refused because their lease was lost or taken over (MN_E_FENCED, MN_E_LEASE_LOST)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

/** Latency of Redis commands, scripts and pipelines. */
export const redisCommandSeconds = new Histogram({
  name: 'mn_redis_command_duration_seconds',
  help: 'Time of one Redis round trip (command, script or pipeline), by outcome',
  labelNames: ['outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** Service check results, by service and status. */
export const serviceChecks = new Counter({
  name: 'mn_service_check_results_total',
  help: 'Service health check results reported by this daemon, by service and status',
  labelNames: ['service', 'status'] as const,
  registers: [registry],
});

/** Requests to the HTTP port (dashboard, API, metrics). */
export const httpRequests = new Counter({
  name: 'mn_http_requests_total',
  help: 'Requests to the dashboard port, by route group and status code',
  labelNames: ['route', 'code'] as const,
  registers: [registry],
});

/** Open server-sent event streams. */
export const sseStreams = new Gauge({
  name: 'mn_http_event_streams',
  help: 'Open server-sent event streams of the dashboard',
  registers: [registry],
});

/** Event streams closed because the browser did not read fast enough. */
export const sseDropped = new Counter({
  name: 'mn_http_event_streams_dropped_total',
  help: 'Dashboard event streams closed because the client fell too far behind',
  registers: [registry],
});

/** Counts a fencing rejection when `error` is one. */
export function countFencing(error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'MN_E_FENCED') fencingRejections.inc({ reason: 'fenced' });
  else if (code === 'MN_E_LEASE_LOST') fencingRejections.inc({ reason: 'lease_lost' });
}

/** Times `fn` into `histogram` (labelled `outcome` ok or error). */
export async function timed<T>(histogram: Histogram<'outcome'>, fn: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer();
  try {
    const value = await fn();
    end({ outcome: 'ok' });
    return value;
  } catch (error) {
    end({ outcome: 'error' });
    throw error;
  }
}

/** Cluster state as read from the store at scrape time. */
export interface ClusterGauges {
  jobsByStatus: Record<string, number>;
  agentsByState: Record<string, number>;
  /** Seconds since each node's last heartbeat (null: none recorded). */
  heartbeatAge: Array<{ node: string; seconds: number | null }>;
  nodesByStatus: Record<string, number>;
  /** Messages sent and not yet settled, over the active jobs. */
  inboxBacklog: number;
  deadLetters: number;
  /** Jobs waiting in the cluster queue (pending, for capacity). */
  queuedJobs?: number;
}

/**
 * The exposition text: the process-wide counters followed by the cluster gauges of `state`,
 * written into a registry of their own (so that several daemons in one process never share them).
 */
export async function scrapeMetrics(state: ClusterGauges, node: string): Promise<{ contentType: string; text: string }> {
  const local = new Registry();
  const jobs = new Gauge({ name: 'mn_jobs', help: 'Jobs by status', labelNames: ['status'], registers: [local] });
  for (const [status, n] of Object.entries(state.jobsByStatus)) jobs.set({ status }, n);
  const agents = new Gauge({ name: 'mn_agents', help: 'Agents of active jobs by state', labelNames: ['state'], registers: [local] });
  for (const [s, n] of Object.entries(state.agentsByState)) agents.set({ state: s }, n);
  const nodes = new Gauge({ name: 'mn_nodes', help: 'Nodes by effective status', labelNames: ['status'], registers: [local] });
  for (const [status, n] of Object.entries(state.nodesByStatus)) nodes.set({ status }, n);
  const lag = new Gauge({ name: 'mn_node_heartbeat_age_seconds', help: "Seconds since each node's last heartbeat", labelNames: ['node'], registers: [local] });
  for (const h of state.heartbeatAge) if (h.seconds !== null) lag.set({ node: h.node }, h.seconds);
  new Gauge({ name: 'mn_inbox_backlog', help: 'Messages sent and not yet settled, over the active jobs', registers: [local] }).set(state.inboxBacklog);
  new Gauge({ name: 'mn_job_dead_letters', help: 'Dead letters held by the active jobs', registers: [local] }).set(state.deadLetters);
  new Gauge({ name: 'mn_jobs_queued', help: 'Jobs waiting in the cluster queue for capacity (status pending)', registers: [local] }).set(state.queuedJobs ?? 0);
  new Gauge({ name: 'mn_daemon_info', help: 'This daemon (value 1)', labelNames: ['node'], registers: [local] }).set({ node }, 1);
  const merged = Registry.merge([registry, local]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
