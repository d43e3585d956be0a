/**
 * What a host knows of a job with agents on its machine: where every agent of the job runs (to
 * route and forward), and the state of the agents it runs itself.
 */
import { agentConfig } from '../../core/manifest/expand.js';
import type { Job, NodeSpec } from '../../core/manifest/types.js';
import type { Plan } from '../../core/placement/plan-types.js';
import type { AttemptRecord, EffectiveRecoveryMode } from '../../core/policy/lifecycle.js';
import type { JobRollout } from '../../core/deploy/records.js';
import { deploymentOf, type ServiceDeployment } from '../../core/services/registry.js';
import { agentIndexOf } from '../../core/runtime/agent-index.js';
import type { HostedJobView } from '../../core/runtime/inbox-decision.js';
import type { Message } from '../../core/runtime/message.js';
import type { RoutedAgent } from '../../core/runtime/routing.js';
import type { AgentRecord, JobRecord, JobStatus, OutgoingMessage } from '../../store/store.js';
import type { JobDispatch } from '../../store/job-templates.js';
import type { Mailbox } from './mailbox.js';
import { LOOP_CHUNK, yieldToLoop } from '../../yield.js';

/** One agent of a hosted job that runs on this machine. */
export interface LocalAgent {
  agentId: string;
  spec: NodeSpec;
  /** The node's config with this copy's `${index}`/`${count}` resolved. */
  config: Record<string, unknown>;
  /** The deployment version the agent runs (a rollout that replaces it changes this). */
  version: number;
  mailbox: Mailbox;
  /** Aborts the current run (the agent moved, or its job ended). */
  abort: AbortController;
  /** The run in progress, which a health check's `check_restart` may stop; null between runs. */
  run: AbortController | null;
  /** Restart attempts of this incarnation (spec §4.1 sliding window). */
  history: AttemptRecord[];
  restarts: number;
  state: unknown;
  logLines: number;
}

/** What else happens when a hosted agent restarts or fails for good (its services follow it). */
export interface AgentLifecycle {
  restarted(job: HostedJob, agent: LocalAgent): Promise<void>;
  failed(job: HostedJob, agent: LocalAgent): Promise<void>;
}

/** A job with agents anywhere, as this daemon last read it. */
export interface HostedJob extends HostedJobView {
  jobId: string;
  version: number;
  status: JobStatus;
  job: Job;
  /** Current node of every agent. */
  nodes: Map<string, string>;
  bySource: Map<string, RoutedAgent[]>;
  sourceOf: Map<string, string>;
  placements: Map<string, Plan['placements'][number]>;
  /** The agents this machine runs (kept across re-reads of the job). */
  local: Map<string, LocalAgent>;
  /** Where the job's module sources were written, once written. */
  modulesDir: string | null;
  /** The job's effective recovery mode, as its coordinator last recorded it. */
  recoveryMode: EffectiveRecoveryMode;
  /** The deployment the job belongs to (metadata of its service instances). */
  deployment: Partial<ServiceDeployment>;
  /** An agent-level rollout in progress: its replaced agents run its target spec. */
  rollout: JobRollout | null;
  /** Variables of a template dispatch: plain values, and the sealed secret ones; null for other jobs. */
  variables: { plain: Record<string, string>; sealed: string | null } | null;
  loadedAt: number;
}

/** What one agent runs: its node's spec (of the job or of the rollout's target), the version and the discovery role. */
export interface AgentRelease {
  spec: NodeSpec;
  version: number;
  deployment: Partial<ServiceDeployment>;
}

/**
 * The release an agent runs. An agent a rollout replaced runs the target's spec of its node, as
 * the target version and with the role the rollout gave it; the others run the job's own spec.
 * Null for an id the job does not place.
 */
export function agentRelease(job: HostedJob, agentId: string): AgentRelease | null {
  const source = job.sourceOf.get(agentId) ?? agentId;
  const r = job.rollout;
  if (r && r.applied.includes(agentId)) {
    const spec = r.target.nodes.find((n) => n.node_id === source);
    if (spec) return { spec, version: r.version, deployment: { ...job.deployment, deployment_id: r.deployment_id, deployment_version: r.version, deployment_role: r.roles[agentId] ?? 'primary' } };
  }
  const spec = job.job.nodes.find((n) => n.node_id === source);
  return spec ? { spec, version: job.deployment.deployment_version ?? 0, deployment: job.deployment } : null;
}

/** The view of a job read at `now`; a previous view's local agents and staged modules carry over. */
export async function hostedJob(record: JobRecord & { plan: Plan }, agents: readonly AgentRecord[], previous: HostedJob | undefined, now: number): Promise<HostedJob> {
  // One pass over the agents and one over the placements, a chunk per turn of the event loop:
  // a 100,000-agent job's maps must not hold the loop.
  const big = agents.length > LOOP_CHUNK || record.plan.placements.length > LOOP_CHUNK;
  const nodes = new Map<string, string>();
  for (let i = 0; i < agents.length; i++) {
    nodes.set(agents[i]!.agent_id, agents[i]!.node);
    if (big && i % LOOP_CHUNK === LOOP_CHUNK - 1) await yieldToLoop();
  }
  const bySource = new Map<string, RoutedAgent[]>();
  const sourceOf = new Map<string, string>();
  const placements = new Map<string, Plan['placements'][number]>();
  const rows = record.plan.placements;
  for (let i = 0; i < rows.length; i++) {
    const p = rows[i]!;
    let group = bySource.get(p.source_node_id);
    if (!group) bySource.set(p.source_node_id, (group = []));
    group.push({ agent_id: p.agent_id, node: nodes.get(p.agent_id) ?? p.node });
    sourceOf.set(p.agent_id, p.source_node_id);
    placements.set(p.agent_id, p);
    if (big && i % LOOP_CHUNK === LOOP_CHUNK - 1) await yieldToLoop();
  }
  const local = previous?.local ?? new Map<string, LocalAgent>();
  return {
    jobId: record.job_id,
    version: record.version,
    status: record.status,
    job: record.job,
    nodes,
    bySource,
    sourceOf,
    placements,
    local,
    modulesDir: previous?.modulesDir ?? null,
    recoveryMode: record.effective_policies.recovery_mode ?? 'local_restart',
    deployment: deploymentOf(record.details.deployment),
    rollout: record.details.rollout ?? null,
    variables: dispatchVariables(record.details.dispatch),
    loadedAt: now,
    nodeOf: (agentId) => nodes.get(agentId),
    hosts: (agentId) => local.has(agentId),
  };
}

/** The variables a dispatched job's processes get (the secret ones still sealed). */
function dispatchVariables(dispatch: JobDispatch | undefined): HostedJob['variables'] {
  if (!dispatch || typeof dispatch !== 'object') return null;
  const secret = new Set(dispatch.secret_variables ?? []);
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(dispatch.variables ?? {})) if (!secret.has(name)) plain[name] = value;
  return { plain, sealed: typeof dispatch.sealed === 'string' ? dispatch.sealed : null };
}

/** A local agent's starting record: its config for its copy index, and its last persisted state. */
export function localAgent(agent: AgentRecord, release: AgentRelease, rawState: string | undefined, mailbox: Mailbox): LocalAgent {
  const { spec } = release;
  return {
    agentId: agent.agent_id,
    spec,
    version: release.version,
    config: agentConfig(spec, agentIndexOf(agent.agent_id, spec)),
    mailbox,
    abort: new AbortController(),
    run: null,
    history: [],
    restarts: agent.restarts,
    state: rawState === undefined ? null : (JSON.parse(rawState) as unknown),
    logLines: 0,
  };
}

/** A message of the job to one of its agents, addressed to the node that agent runs on. */
export function outgoing(hosted: HostedJob, agentId: string, message: Message, notBefore: number, here: string): OutgoingMessage {
  return {
    job_id: hosted.jobId,
    agent_id: agentId,
    node: hosted.nodes.get(agentId) ?? here,
    message_id: message.envelope.message_id,
    message: JSON.stringify(message, bytesAsBase64),
    ...(notBefore > 0 ? { not_before: notBefore } : {}),
  };
}

/** Byte bodies (`body_base64`, `application/octet-stream`) travel in the JSON envelope as base64 text. */
function bytesAsBase64(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value;
}
