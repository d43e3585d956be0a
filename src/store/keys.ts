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
}
