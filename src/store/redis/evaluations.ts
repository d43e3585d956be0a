import type { EvaluationPatch, EvaluationRecord, NewEvaluation } from '../../core/queue/evaluation.js';
import { EVALUATIONS_KEPT, EVALUATIONS_PER_JOB, type EvaluationPage, type EvaluationStore } from '../evaluations.js';
import { checkEvaluationPatch, checkNewEvaluation, cursorSeq, pageLimit } from '../queue-validate.js';
import { ScriptCode, scriptError } from '../script-codes.js';
import { checkName } from '../validate.js';
import type { RedisCore } from './core.js';

/**
 * The durable evaluations (keys: docs/redis-keys.md, "Evaluations"): one hash per evaluation,
 * a sorted set per job and one for the cluster, both scored by a sequence number, so a page is
 * a range below the previous page's last number. Recording and trimming are one script.
 */
export class RedisEvaluations implements EvaluationStore {
  /** `retentionSeconds`: an evaluation (and its job's list) expires this long after its last write. */
  constructor(private readonly core: RedisCore, private readonly retentionSeconds: number) {}

  async record(input: NewEvaluation): Promise<EvaluationRecord> {
    checkNewEvaluation(input);
    const { keys } = this.core;
    const now = this.core.clock();
    const record: EvaluationRecord = { ...(JSON.parse(JSON.stringify(input)) as NewEvaluation), created_at: now, updated_at: now };
    await this.core.script(
      'recordEvaluation',
      [keys.evaluation(input.id), keys.jobEvaluations(input.job_id), keys.evaluations(), keys.evaluationSeq()],
      [input.id, JSON.stringify(record), String(EVALUATIONS_PER_JOB), String(EVALUATIONS_KEPT), keys.evaluation(''), String(this.retentionSeconds)],
      { object: `evaluation "${input.id}"` },
    );
    return record;
  }

  async update(id: string, patch: EvaluationPatch): Promise<EvaluationRecord> {
    checkName(id, 'evaluation id');
    checkEvaluationPatch(patch);
    const current = await this.get(id);
    const object = `evaluation "${id}"`;
    if (!current) throw scriptError(ScriptCode.NotFound, { object });
    const clean = Object.fromEntries(Object.entries(JSON.parse(JSON.stringify(patch)) as Record<string, unknown>).filter(([, v]) => v !== undefined));
    const record: EvaluationRecord = { ...current, ...clean, updated_at: this.core.clock() };
    await this.core.script('updateEvaluation', [this.core.keys.evaluation(id)], [JSON.stringify(record), String(this.retentionSeconds)], { object });
    return record;
  }

  async get(id: string): Promise<EvaluationRecord | null> {
    checkName(id, 'evaluation id');
    const text = await this.core.call(() => this.core.client.hget(this.core.keys.evaluation(id), 'record'));
    return text === null ? null : (JSON.parse(text) as EvaluationRecord);
  }

  async list(options: { job_id?: string; limit?: number; after?: string } = {}): Promise<EvaluationPage> {
    if (options.job_id !== undefined) checkName(options.job_id, 'job id');
    const limit = pageLimit(options.limit);
    const before = cursorSeq(options.after);
    const { client, keys } = this.core;
    const set = options.job_id !== undefined ? keys.jobEvaluations(options.job_id) : keys.evaluations();
    const max = before === Number.POSITIVE_INFINITY ? '+inf' : `(${before}`;
    const out: Array<{ record: EvaluationRecord; seq: number }> = [];
    let upper = max;
    // Ids whose hash was dropped are skipped, so a raw page may yield fewer records: read on.
    for (;;) {
      const raw = await this.core.call(() => client.zrevrangebyscore(set, upper, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1));
      if (raw.length === 0) break;
      const ids: string[] = [];
      const seqs: number[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        ids.push(raw[i]!);
        seqs.push(Number(raw[i + 1]));
      }
      const pipeline = client.pipeline();
      for (const id of ids) pipeline.hget(keys.evaluation(id), 'record');
      const replies = (await this.core.call(() => pipeline.exec())) ?? [];
      replies.forEach(([error, text], i) => {
        if (error) throw error;
        if (typeof text === 'string') out.push({ record: JSON.parse(text) as EvaluationRecord, seq: seqs[i]! });
      });
      if (out.length > limit || ids.length < limit + 1) break;
      upper = `(${seqs.at(-1)!}`;
    }
    const page = out.slice(0, limit);
    return { evaluations: page.map((e) => e.record), next: out.length > limit ? String(page.at(-1)!.seq) : null };
  }
}
