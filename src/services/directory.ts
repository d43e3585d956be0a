/**
 * The service layer over the store's registry: registration and deregistration with their
 * events (spec §5.7), discovery, and a watch that pushes a service's instances when they change.
 *
 * Every change is an event on the instance's job stream (`service_registered`,
 * `service_deregistered`, `service_health_changed`) and a `service_changed` event on the
 * {@link SERVICE_EVENTS} stream, which watchers follow.
 */
import { discover, resolveQuery, type ServiceQuery, type ServiceRecord } from '../core/services/registry.js';
import type { ServiceHealthUpdate } from '../store/service-registry.js';
import type { Fence, Store } from '../store/store.js';

/** Pseudo job id of the stream of registry changes. */
export const SERVICE_EVENTS = '__services__';

export interface ServiceDirectoryOptions {
  store: Store;
  onError?: (error: unknown) => void;
}

export class ServiceDirectory {
  private readonly store: Store;
  private readonly onError: (error: unknown) => void;

  constructor(options: ServiceDirectoryOptions) {
    this.store = options.store;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Registers instances (a fresh registration each: status and health start over). */
  async register(records: readonly ServiceRecord[], fence?: Fence): Promise<void> {
    for (const r of records) {
      await this.store.services.register(r, fence);
      await this.changed(r, 'service_registered', { status: r.status, address: r.address, port: r.port, tags: r.tags, deployment_role: r.deployment_role });
    }
  }

  /** Removes the instances of one agent; with `node`, only those registered there. */
  async deregisterAgent(jobId: string, agentId: string, node?: string): Promise<number> {
    return this.remove(await this.store.services.list({ job_id: jobId, agent_id: agentId, include_candidates: true }), node, 'agent stopped or moved');
  }

  /** Removes every instance of a job (it ended). */
  async deregisterJob(jobId: string): Promise<number> {
    return this.remove(await this.store.services.list({ job_id: jobId, include_candidates: true }), undefined, 'job ended');
  }

  /** Removes every instance registered on a node (it was lost). */
  async deregisterNode(node: string): Promise<number> {
    return this.remove(await this.store.services.list({ node, include_candidates: true }), node, `node ${node} lost`);
  }

  /** Removes the given instances (only while still on `node`, when given). */
  async remove(records: readonly ServiceRecord[], node: string | undefined, reason: string): Promise<number> {
    if (records.length === 0) return 0;
    const removed = await this.store.services.deregister(records.map((r) => r.id), node === undefined ? {} : { node });
    for (const r of removed) await this.changed(r, 'service_deregistered', { reason });
    return removed.length;
  }

  /** Writes a round of check results; a status change is an event. False when the instance is gone or moved. */
  async recordHealth(record: ServiceRecord, update: ServiceHealthUpdate): Promise<boolean> {
    const written = await this.store.services.setHealth(record.id, record.node, update);
    if (written === null) return false;
    if (written.previous !== update.status) {
      await this.changed(record, 'service_health_changed', { from: written.previous, to: update.status, checks: update.health.checks.map((c) => ({ name: c.name, status: c.status, output: c.output })) });
    }
    return true;
  }

  list(query: ServiceQuery = {}): Promise<ServiceRecord[]> {
    return this.store.services.list(query);
  }

  /** `resolve(name)`: passing instances unless the query says otherwise. */
  resolve(name: string, query: Omit<ServiceQuery, 'name'> = {}): Promise<ServiceRecord[]> {
    return this.store.services.list(resolveQuery(name, query));
  }

  /**
   * The instances answering `query` now, then again each time a change of the queried service
   * changes the answer, until `signal` aborts.
   */
  async *watch(query: ServiceQuery, signal: AbortSignal): AsyncGenerator<ServiceRecord[]> {
    // Followed from the newest change before the first answer is read, so none between the two is missed.
    const after = await this.store.latestEventId(SERVICE_EVENTS);
    const events = this.store.followEvents(SERVICE_EVENTS, { afterId: after ?? '0-0', signal })[Symbol.asyncIterator]();
    let next = events.next();
    try {
      let answer = await this.list(query);
      let shown = fingerprint(answer);
      yield answer;
      for (;;) {
        const event = await next;
        if (event.done) return;
        next = events.next();
        if (query.name !== undefined && event.value.payload.name !== query.name) continue;
        answer = discover(await this.list(query), query);
        const now = fingerprint(answer);
        if (now === shown) continue;
        shown = now;
        yield answer;
      }
    } finally {
      await events.return?.();
    }
  }

  private async changed(r: ServiceRecord, type: string, payload: Record<string, unknown>): Promise<void> {
    const body = { service_id: r.id, name: r.name, node: r.node, ...payload };
    try {
      await this.store.appendEvent(r.job_id, { type, ...(r.agent_id ? { agent_id: r.agent_id } : {}), payload: body });
      await this.store.appendEvent(SERVICE_EVENTS, { type: 'service_changed', payload: { change: type, ...body } });
    } catch (error) {
      this.onError(error);
    }
  }
}

/** What a watcher has seen of an answer: instances with their status, place and role. */
function fingerprint(records: readonly ServiceRecord[]): string {
  return records.map((r) => `${r.id}|${r.node}|${r.status}|${r.address}|${r.port}|${r.deployment_role}|${r.tags.join(',')}`).join('\n');
}
