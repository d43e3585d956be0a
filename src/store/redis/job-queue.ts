import { type QueueEntry, type QueuePlace, queueScore, sortQueue } from '../../core/queue/order.js';
import type { JobQueueStore } from '../job-queue.js';
import { checkQueueEntry } from '../queue-validate.js';
import { checkName } from '../validate.js';
import type { RedisCore } from './core.js';

/**
 * The durable job queue (keys: docs/redis-keys.md, "Job queue"): a sorted set of job ids scored
 * so that its order is the queue's (priority, then age, then id), and a hash of the entries.
 * Both change in one MULTI; removal is the claim a starter makes (ZREM answers 1 to one caller).
 */
export class RedisJobQueue implements JobQueueStore {
  constructor(private readonly core: RedisCore) {}

  async enqueue(entry: QueueEntry): Promise<void> {
    checkQueueEntry(entry);
    const { client, keys } = this.core;
    const replies = await this.core.call(() =>
      client.multi().zadd(keys.jobQueue(), queueScore(entry.priority, entry.since), entry.job_id).hset(keys.jobQueueEntries(), entry.job_id, JSON.stringify(entry)).exec(),
    );
    for (const [error] of replies ?? []) if (error) throw error;
  }

  async remove(jobId: string): Promise<boolean> {
    checkName(jobId, 'job id');
    const { client, keys } = this.core;
    const replies = await this.core.call(() => client.multi().zrem(keys.jobQueue(), jobId).hdel(keys.jobQueueEntries(), jobId).exec());
    for (const [error] of replies ?? []) if (error) throw error;
    return Number(replies?.[0]?.[1]) > 0;
  }

  async list(): Promise<QueueEntry[]> {
    const { client, keys } = this.core;
    const ids = await this.core.call(() => client.zrange(keys.jobQueue(), '0', '-1'));
    if (ids.length === 0) return [];
    const raw = await this.core.call(() => client.hmget(keys.jobQueueEntries(), ...ids));
    const out: QueueEntry[] = [];
    for (const text of raw) if (text !== null) out.push(JSON.parse(text) as QueueEntry);
    return sortQueue(out);
  }

  async place(jobId: string): Promise<QueuePlace | null> {
    checkName(jobId, 'job id');
    const { client, keys } = this.core;
    const replies = await this.core.call(() => client.multi().zrank(keys.jobQueue(), jobId).zcard(keys.jobQueue()).hget(keys.jobQueueEntries(), jobId).exec());
    for (const [error] of replies ?? []) if (error) throw error;
    const rank = replies?.[0]?.[1];
    const text = replies?.[2]?.[1];
    if (rank === null || rank === undefined || typeof text !== 'string') return null;
    const e = JSON.parse(text) as QueueEntry;
    return { position: Number(rank) + 1, total: Number(replies?.[1]?.[1]), priority: e.priority, since: e.since, evaluation_id: e.evaluation_id };
  }
}
