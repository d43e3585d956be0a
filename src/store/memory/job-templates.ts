import type { JobTemplateRecord, JobTemplateStore, NewJobTemplate } from '../job-templates.js';
import { checkName } from '../validate.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's job templates. */
export class MemoryJobTemplates implements JobTemplateStore {
  private readonly records = new Map<string, JobTemplateRecord>();

  constructor(private readonly core: MemoryCore) {}

  async put(template: NewJobTemplate): Promise<JobTemplateRecord> {
    this.core.open();
    checkName(template.name, 'name');
    const now = new Date(this.core.clock()).toISOString();
    const previous = this.records.get(template.name);
    const record: JobTemplateRecord = { ...copy(template), version: (previous?.version ?? 0) + 1, created_at: previous?.created_at ?? now, updated_at: now };
    this.records.set(template.name, record);
    return copy(record);
  }

  async get(name: string): Promise<JobTemplateRecord | null> {
    this.core.open();
    return copy(this.records.get(name) ?? null);
  }

  async list(): Promise<JobTemplateRecord[]> {
    this.core.open();
    return copy([...this.records.values()].sort((a, b) => a.name.localeCompare(b.name)));
  }

  async delete(name: string): Promise<boolean> {
    this.core.open();
    return this.records.delete(name);
  }
}
