import { MnError } from '../../core/errors.js';
import type { EvaluationPatch, EvaluationRecord, NewEvaluation } from '../../core/queue/evaluation.js';
import { EVALUATIONS_KEPT, EVALUATIONS_PER_JOB, type EvaluationPage, type EvaluationStore } from '../evaluations.js';
import { checkEvaluationPatch, checkNewEvaluation, cursorSeq, pageLimit } from '../queue-validate.js';
import { ScriptCode, scriptError } from '../script-codes.js';
import { checkName } from '../validate.js';
import { copy, type MemoryCore } from './core.js';

/** The embedded store's evaluations: the newest per job and overall, by sequence number. */
export class MemoryEvaluations implements EvaluationStore {
  private readonly records = new Map<string, { record: EvaluationRecord; seq: number }>();
  /** Ids in sequence order, oldest first. */
  private readonly all: string[] = [];
  private readonly byJob = new Map<string, string[]>();
  private seq = 0;

  constructor(private readonly core: MemoryCore) {}

  async record(input: NewEvaluation): Promise<EvaluationRecord> {
    this.core.open();
    checkNewEvaluation(input);
    if (this.records.has(input.id)) throw scriptError(ScriptCode.AlreadyExists, { object: `evaluation "${input.id}"` });
    const now = this.core.clock();
    const record: EvaluationRecord = { ...copy(input), created_at: now, updated_at: now };
    this.records.set(record.id, { record, seq: ++this.seq });
    this.all.push(record.id);
    const own = this.byJob.get(record.job_id) ?? [];
    own.push(record.id);
    this.byJob.set(record.job_id, own);
    while (own.length > EVALUATIONS_PER_JOB) this.drop(own.shift()!);
    while (this.all.length > EVALUATIONS_KEPT) this.drop(this.all[0]!);
    return copy(record);
  }

  private drop(id: string): void {
    const entry = this.records.get(id);
    if (!entry) return;
    this.records.delete(id);
    const at = this.all.indexOf(id);
    if (at >= 0) this.all.splice(at, 1);
    const own = this.byJob.get(entry.record.job_id);
    const i = own?.indexOf(id) ?? -1;
    if (own && i >= 0) own.splice(i, 1);
    if (own?.length === 0) this.byJob.delete(entry.record.job_id);
  }

  async update(id: string, patch: EvaluationPatch): Promise<EvaluationRecord> {
    this.core.open();
    checkName(id, 'evaluation id');
    checkEvaluationPatch(patch);
    const entry = this.records.get(id);
    if (!entry) throw new MnError('MN_E_NOT_FOUND', `evaluation ${id} not found`, { details: { evaluation_id: id } });
    const clean = Object.fromEntries(Object.entries(copy(patch)).filter(([, v]) => v !== undefined));
    entry.record = { ...entry.record, ...clean, updated_at: this.core.clock() };
    return copy(entry.record);
  }

  async get(id: string): Promise<EvaluationRecord | null> {
    this.core.open();
    checkName(id, 'evaluation id');
    return copy(this.records.get(id)?.record ?? null);
  }

  async list(options: { job_id?: string; limit?: number; after?: string } = {}): Promise<EvaluationPage> {
    this.core.open();
    if (options.job_id !== undefined) checkName(options.job_id, 'job id');
    const limit = pageLimit(options.limit);
    const before = cursorSeq(options.after);
    const ids = options.job_id !== undefined ? (this.byJob.get(options.job_id) ?? []) : this.all;
    const out: Array<{ record: EvaluationRecord; seq: number }> = [];
    for (let i = ids.length - 1; i >= 0 && out.length < limit + 1; i--) {
      const entry = this.records.get(ids[i]!);
      if (entry && entry.seq < before) out.push(entry);
    }
    const more = out.length > limit;
    const page = out.slice(0, limit);
    return { evaluations: copy(page.map((e) => e.record)), next: more ? String(page.at(-1)!.seq) : null };
  }
}
