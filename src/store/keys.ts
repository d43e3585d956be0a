/**
 * The one builder of Redis key names (docs/redis-keys.md). Every key lives under
 * `<namespace>:` (`MN_REDIS_NAMESPACE`, default `mirror_neuron`); keys are never assembled
 * anywhere else, and Lua scripts receive every key they touch through KEYS.
 */

/** Default namespace (spec §8.1). */
export const DEFAULT_NAMESPACE = 'mirror_neuron';

/** Key names of one namespace. */
export class StoreKeys {
  constructor(readonly namespace: string = DEFAULT_NAMESPACE) {
    if (namespace === '' || /\s/.test(namespace)) {
      throw new TypeError(`invalid Redis namespace ${JSON.stringify(namespace)}`);
    }
  }

  /** Set of every job id. */
  jobs(): string {
    return `${this.namespace}:jobs`;
  }

  /** Hash: the job record, one JSON-encoded field per record field. */
  job(jobId: string): string {
    return `${this.namespace}:job:${jobId}`;
  }

  /** Hash: agent id → agent record JSON. */
  jobAgents(jobId: string): string {
    return `${this.namespace}:job:${jobId}:agents`;
  }

  /** List, short TTL: the placement groups of one big commit, sent in chunks before its script runs. */
  stagedPlacements(jobId: string, id: string): string {
    return `${this.namespace}:job:${jobId}:staged:${id}`;
  }

  /** Stream: the job's events (bounded). */
  jobEvents(jobId: string): string {
    return `${this.namespace}:job:${jobId}:events`;
  }

  /** Stream: every job's events (bounded). */
  events(): string {
    return `${this.namespace}:events`;
  }

  /** Set of every node name. */
  nodes(): string {
    return `${this.namespace}:nodes`;
  }

  /** Hash: the node record, one JSON-encoded field per record field. */
  node(name: string): string {
    return `${this.namespace}:node:${name}`;
  }

  /** String with a PX TTL: epoch ms of the node's last heartbeat; absent once expired. */
  nodeHeartbeat(name: string): string {
    return `${this.namespace}:node:${name}:heartbeat`;
  }

  /** Hash of integer counters: resources held on the node by committed placements. */
  /** Exclusive resources held on a node: hash of `port:tcp:8080` / `device:GPU-0` → owning agent. */
  nodeHolds(name: string): string {
    return `${this.namespace}:node:${name}:holds`;
  }

  nodeUsage(name: string): string {
    return `${this.namespace}:node:${name}:usage`;
  }

  /** String `<holder>|<token>` with a PX TTL. */
  /** A cluster-wide setting stored as JSON (e.g. `resource:limits`, spec §3.2). */
  setting(name: string): string {
    return `${this.namespace}:${name}`;
  }

  lease(name: string): string {
    return `${this.namespace}:lease:${name}`;
  }

  /** Integer counter: the last fencing token granted for the lease. */
  leaseEpoch(name: string): string {
    return `${this.namespace}:lease:${name}:epoch`;
  }

  /** Stream: the inbox of a node, read by its daemon through the `mn_agents` consumer group. */
  inbox(node: string): string {
    return `${this.namespace}:node:${node}:inbox`;
  }

  /** Hash: message id → sha1 of the message text, for idempotent sends. */
  jobMessageIds(jobId: string): string {
    return `${this.namespace}:job:${jobId}:message_ids`;
  }

  /** Hash of counters: `outstanding` (sent, not settled) and `dead_letters`. */
  jobMessageCounts(jobId: string): string {
    return `${this.namespace}:job:${jobId}:message_counts`;
  }

  /** Hash: agent id → messages sent to it and not yet settled (back-pressure). */
  jobPendingByAgent(jobId: string): string {
    return `${this.namespace}:job:${jobId}:pending`;
  }

  /** Hash: agent id → the agent's local state (JSON). */
  jobAgentStates(jobId: string): string {
    return `${this.namespace}:job:${jobId}:agent_states`;
  }

  /** String: the job's first `complete_job` (JSON `{agent_id, result, at}`). */
  jobCompletion(jobId: string): string {
    return `${this.namespace}:job:${jobId}:completion`;
  }

  /** List: the job's dead letters (JSON). */
  jobDeadLetters(jobId: string): string {
    return `${this.namespace}:job:${jobId}:dead_letters`;
  }

  /** Hash: keys present in an agent's collection (aggregator dedupe). */
  agentCollectedKeys(jobId: string, agentId: string): string {
    return `${this.namespace}:job:${jobId}:agent:${agentId}:collected_keys`;
  }

  /** List: the values of an agent's collection, in arrival order. */
  agentCollected(jobId: string, agentId: string): string {
    return `${this.namespace}:job:${jobId}:agent:${agentId}:collected`;
  }

  /** Set of the collection keys of a job's agents (removed with the job). */
  jobCollections(jobId: string): string {
    return `${this.namespace}:job:${jobId}:collections`;
  }

  /** Set: every service instance id. */
  services(): string {
    return `${this.namespace}:services`;
  }

  /** Hash: one service instance, a JSON value per field. */
  service(id: string): string {
    return `${this.namespace}:service:${id}`;
  }

  /** Prefix of the service index sets (`name:<v>`, `job:<v>`, `node:<v>` follow; Lua builds old index keys from it). */
  serviceIndexPrefix(): string {
    return `${this.namespace}:services:`;
  }

  /** Set: ids of the service instances with this name, job or node. */
  serviceIndex(kind: 'name' | 'job' | 'node', value: string): string {
    return `${this.serviceIndexPrefix()}${kind}:${value}`;
  }

  /** Set: every deployment id. */
  deployments(): string {
    return `${this.namespace}:deployments`;
  }

  /** Hash: one deployment record, a JSON value per field. */
  deployment(id: string): string {
    return `${this.namespace}:deployment:${id}`;
  }

  /** Set: every deployment key. */
  deploymentKeys(): string {
    return `${this.namespace}:deployment_keys`;
  }

  /** String: the id of a key's current deployment. */
  deploymentCurrent(key: string): string {
    return `${this.namespace}:deployment_key:${key}:current`;
  }

  /** Set: the deployment ids of a key. */
  deploymentIdsOfKey(key: string): string {
    return `${this.namespace}:deployment_key:${key}:deployments`;
  }

  /** Hash: a key's versions (number → record JSON). */
  deploymentVersions(key: string): string {
    return `${this.namespace}:deployment_key:${key}:versions`;
  }

  /** Integer: a key's last version number. */
  deploymentVersionCounter(key: string): string {
    return `${this.namespace}:deployment_key:${key}:version_counter`;
  }

  /** Set: a key's stable version numbers. */
  deploymentStableVersions(key: string): string {
    return `${this.namespace}:deployment_key:${key}:stable`;
  }
  /** Set: every schedule id. */
  schedules(): string {
    return `${this.namespace}:schedules`;
  }

  /** Hash: one schedule record, a JSON value per field (plus `next_run_ms` for the index). */
  schedule(id: string): string {
    return `${this.namespace}:schedule:${id}`;
  }

  /** String (JSON): the schedule's archived bundle (manifest and module sources). */
  scheduleBundle(id: string): string {
    return `${this.namespace}:schedule:${id}:bundle`;
  }

  /** List: the schedule's 50 newest dispatches (JSON), newest first. */
  scheduleDispatches(id: string): string {
    return `${this.namespace}:schedule:${id}:dispatches`;
  }

  /** Set: the schedule's active child job ids. */
  scheduleActiveJobs(id: string): string {
    return `${this.namespace}:schedule:${id}:active_jobs`;
  }

  /** Hash: the schedule's counters (dispatched, missed, failed, blocked). */
  scheduleCounters(id: string): string {
    return `${this.namespace}:schedule:${id}:counters`;
  }

  /** Sorted set: active schedules with a next run, scored by it (epoch ms). */
  scheduleDue(): string {
    return `${this.namespace}:schedule:due`;
  }

  /** String (JSON, PX TTL): the dispatch committed under a dispatch token. */
  scheduleToken(token: string): string {
    return `${this.namespace}:schedule_token:${token}`;
  }

  /** Set: every job template name. */
  jobTemplates(): string {
    return `${this.namespace}:job_templates`;
  }

  /** Hash: one job template (`record` JSON, `version`, `created_at`, `updated_at`). */
  jobTemplate(name: string): string {
    return `${this.namespace}:job_template:${name}`;
  }

  /** Hash: `<pool>@<node>` → warm pool record JSON (what each machine's daemon reports of its pools). */
  warmPools(): string {
    return `${this.namespace}:warm_pools`;
  }

  /** List: emitted trigger events (JSON), newest first, the 1,000 newest kept. */
  triggerEvents(): string {
    return `${this.namespace}:trigger:events`;
  }

  /** Sorted set: queued job ids, scored by `queueScore(priority, since)` (priority, then age). */
  jobQueue(): string {
    return `${this.namespace}:queue`;
  }

  /** Hash: queued job id → its queue entry (JSON). */
  jobQueueEntries(): string {
    return `${this.namespace}:queue:entries`;
  }

  /** Hash: one evaluation (`record` JSON, `seq` its sequence number). */
  evaluation(id: string): string {
    return `${this.namespace}:evaluation:${id}`;
  }

  /** Sorted set: every kept evaluation id, scored by its sequence number (the newest 1,000). */
  evaluations(): string {
    return `${this.namespace}:evaluations`;
  }

  /** Sorted set: one job's evaluation ids, scored by sequence number (the newest 50). */
  jobEvaluations(jobId: string): string {
    return `${this.namespace}:job:${jobId}:evaluations`;
  }

  /** Counter: the last evaluation sequence number. */
  evaluationSeq(): string {
    return `${this.namespace}:evaluation_seq`;
  }
}
