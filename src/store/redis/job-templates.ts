import type { JobTemplateRecord, JobTemplateStore, NewJobTemplate } from '../job-templates.js';
import { checkName } from '../validate.js';
import type { RedisCore } from './core.js';

/**
 * The durable job templates (keys: docs/redis-keys.md, "Job templates"): one hash per template
 * (`record` JSON, `version` counter, `created_at`) and a set of names. A registration is one
 * MULTI, so concurrent registrations of a name each get their own version.
 */
export class RedisJobTemplates implements JobTemplateStore {
  constructor(private readonly core: RedisCore) {}

  async put(template: NewJobTemplate): Promise<JobTemplateRecord> {
    checkName(template.name, 'name');
    const { client, keys } = this.core;
    const key = keys.jobTemplate(template.name);
    const now = new Date(this.core.clock()).toISOString();
    const replies = await this.core.call(() =>
      client.multi().hincrby(key, 'version', 1).hsetnx(key, 'created_at', now).hset(key, 'record', JSON.stringify(template), 'updated_at', now).sadd(keys.jobTemplates(), template.name).hget(key, 'created_at').exec(),
    );
    for (const [error] of replies ?? []) if (error) throw error;
    const version = Number(replies?.[0]?.[1]);
    const createdAt = String(replies?.[4]?.[1] ?? now);
    return { ...(JSON.parse(JSON.stringify(template)) as NewJobTemplate), version, created_at: createdAt, updated_at: now };
  }

  async get(name: string): Promise<JobTemplateRecord | null> {
    const hash = await this.core.call(() => this.core.client.hgetall(this.core.keys.jobTemplate(name)));
    return decode(hash);
  }

  async list(): Promise<JobTemplateRecord[]> {
    const { client, keys } = this.core;
    const names = await this.core.call(() => client.smembers(keys.jobTemplates()));
    if (names.length === 0) return [];
    const pipeline = client.pipeline();
    for (const name of names) pipeline.hgetall(keys.jobTemplate(name));
    const replies = (await this.core.call(() => pipeline.exec())) ?? [];
    const out: JobTemplateRecord[] = [];
    for (const [error, hash] of replies) {
      if (error) throw error;
      const record = decode(hash as Record<string, string>);
      if (record) out.push(record);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<boolean> {
    const { client, keys } = this.core;
    const replies = await this.core.call(() => client.multi().del(keys.jobTemplate(name)).srem(keys.jobTemplates(), name).exec());
    for (const [error] of replies ?? []) if (error) throw error;
    return Number(replies?.[0]?.[1]) > 0;
  }
}

function decode(hash: Record<string, string>): JobTemplateRecord | null {
  if (hash.record === undefined) return null;
  const t = JSON.parse(hash.record) as NewJobTemplate;
  return { ...t, version: Number(hash.version ?? 1), created_at: hash.created_at ?? '', updated_at: hash.updated_at ?? '' };
}
