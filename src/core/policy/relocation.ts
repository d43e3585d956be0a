import type { JobType, RecoveryMode } from '../manifest/types.js';

/**
 * Which agents of a job must leave their node (spec §4.7, §4.10). Pure: the caller passes the
 * job's agents, the status and drain settings of their nodes, and the time.
 */

/** Drain settings recorded on a draining node. */
export interface DrainSettings {
  reason: string;
  /** Epoch ms after which batch agents are moved too. */
  deadline_at: number;
  /** System and sysbatch copies stay (and do not hold up completion) unless false. */
  ignore_system_jobs: boolean;
}

/** Reads the drain settings recorded on a node, if it is draining. */
export function drainOf(details: Record<string, unknown>): DrainSettings | null {
  const d = details.drain as Partial<DrainSettings> & { status?: string } | undefined;
  if (!d || typeof d.deadline_at !== 'number' || d.status === 'complete' || d.status === 'cancelled') return null;
  return { reason: String(d.reason ?? ''), deadline_at: d.deadline_at, ignore_system_jobs: d.ignore_system_jobs !== false };
}

export interface NodeState {
  status: string;
  drain: DrainSettings | null;
}

export interface RelocationInput {
  job_type: JobType;
  requested_recovery: RecoveryMode;
  agents: ReadonlyArray<{ agent_id: string; node: string; state: string }>;
  nodes: ReadonlyMap<string, NodeState>;
  now: number;
}

export interface RelocationDecision {
  /** Agents to place elsewhere, with the node each leaves. */
  move: Array<{ agent_id: string; from: string; cause: 'drain' | 'node_lost' | 'preempted' }>;
  /** Agents on lost nodes that the job's recovery mode does not let the runtime move. */
  held: Array<{ agent_id: string; from: string; reason: string }>;
}

const FINISHED = new Set(['completed', 'failed', 'stopped']);

/** True for job types whose copies belong to one node and never move (spec §1.7). */
export function isNodeScoped(type: JobType): boolean {
  return type === 'system' || type === 'sysbatch';
}

/**
 * Decides the moves: on a draining node, service agents move at once and batch agents once the
 * deadline has passed; on an offline node, agents move when the job may recover on another node
 * (`auto` or `cluster_recover`). System and sysbatch copies never move; finished agents stay.
 */
export function decideRelocation(input: RelocationInput): RelocationDecision {
  const move: RelocationDecision['move'] = [];
  const held: RelocationDecision['held'] = [];
  if (isNodeScoped(input.job_type)) return { move, held };
  for (const agent of input.agents) {
    if (FINISHED.has(agent.state)) continue;
    // Evicted by a higher-priority job: placed again like any other move (through the reschedule policy).
    if (agent.state === 'preempted') {
      move.push({ agent_id: agent.agent_id, from: agent.node, cause: 'preempted' });
      continue;
    }
    const node = input.nodes.get(agent.node);
    if (!node) continue;
    if (node.status === 'offline') {
      if (input.requested_recovery === 'auto' || input.requested_recovery === 'cluster_recover') {
        move.push({ agent_id: agent.agent_id, from: agent.node, cause: 'node_lost' });
      } else {
        held.push({ agent_id: agent.agent_id, from: agent.node, reason: `recovery_mode ${input.requested_recovery} does not move agents off a lost node` });
      }
    } else if (node.status === 'draining' && node.drain) {
      if (input.requested_recovery === 'manual_recover') {
        held.push({ agent_id: agent.agent_id, from: agent.node, reason: 'recovery_mode manual_recover: paused for review' });
      } else if (input.job_type === 'service' || input.now >= node.drain.deadline_at) {
        move.push({ agent_id: agent.agent_id, from: agent.node, cause: 'drain' });
      }
    }
  }
  return { move, held };
}

/** Agents a drain still waits for on `node` (system copies excluded when ignored). */
export function remainingOnDrainingNode(
  node: string,
  drain: DrainSettings,
  jobs: ReadonlyArray<{ job_type: JobType; agents: ReadonlyArray<{ agent_id: string; node: string; state: string }> }>,
): number {
  let remaining = 0;
  for (const job of jobs) {
    if (isNodeScoped(job.job_type) && drain.ignore_system_jobs) continue;
    for (const a of job.agents) if (a.node === node && !FINISHED.has(a.state)) remaining++;
  }
  return remaining;
}

/** Exponential backoff for a blocked evaluation (spec §4.7): base × 2^(n−1), capped. */
export function blockedRetryDelay(attempt: number, baseMs = 5000, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** One job's part in a drain (spec §4.10). */
export type DrainAction = 'skipped' | 'ignored' | 'waiting' | 'migrating' | 'blocked' | 'paused_for_review';
export type DrainStatus = 'draining' | 'blocked_no_placement' | 'paused_for_review' | 'complete';

export interface DrainJobView {
  job_id: string;
  job_type: JobType;
  requested_recovery: RecoveryMode;
  agents: ReadonlyArray<{ agent_id: string; node: string; state: string }>;
  /** Agents of the job whose last relocation found no node. */
  blocked: readonly string[];
}

/**
 * The drain's actions per job and its overall status (spec §4.10): any blocked job makes the
 * drain `blocked_no_placement`; else any job needing review makes it `paused_for_review`; else it
 * is `draining` while work remains, and `complete` when none does.
 */
export function drainProgress(
  node: string,
  drain: DrainSettings,
  jobs: readonly DrainJobView[],
  now: number,
): { status: DrainStatus; actions: Array<{ job_id: string; status: DrainAction; agents: number }> } {
  const actions: Array<{ job_id: string; status: DrainAction; agents: number }> = [];
  for (const job of jobs) {
    const here = job.agents.filter((a) => a.node === node && !FINISHED.has(a.state));
    let status: DrainAction;
    if (here.length === 0) status = 'skipped';
    else if (isNodeScoped(job.job_type)) status = drain.ignore_system_jobs ? 'ignored' : 'paused_for_review';
    else if (job.requested_recovery === 'manual_recover') status = 'paused_for_review';
    else if (here.some((a) => job.blocked.includes(a.agent_id))) status = 'blocked';
    else if (job.job_type === 'batch' && now < drain.deadline_at) status = 'waiting';
    else status = 'migrating';
    actions.push({ job_id: job.job_id, status, agents: here.length });
  }
  const has = (s: DrainAction): boolean => actions.some((a) => a.status === s);
  const status: DrainStatus = has('blocked')
    ? 'blocked_no_placement'
    : has('paused_for_review')
      ? 'paused_for_review'
      : has('waiting') || has('migrating')
        ? 'draining'
        : 'complete';
  return { status, actions };
}
