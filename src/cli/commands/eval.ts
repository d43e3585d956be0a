/**
 * `mn eval list|status`: the runtime's placement decisions ("why is my job pending"). Every
 * submit, node loss, drain, blocked retry, start from the queue and preemption is one evaluation
 * with its trigger, status, counts, the engine's explanation and the job's queue place.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../client.js';
import { CliError } from '../client.js';
import { EXIT, colorEnabled, printJson, say } from '../output.js';
import { ageOf, renderTable } from '../table.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean }

/** An evaluation as GetEvaluation answers it. */
interface EvaluationDoc {
  id: string;
  job_id: string;
  trigger: string;
  status: string;
  placed: number;
  failed: number;
  explanation: {
    summary: string | null;
    failures: Array<{ agent_id: string; source_node_id: string; count: number; reason: string; filtered: Record<string, number>; nearest: Array<{ node: string; shortfall: Record<string, string> }>; suggestion: string }>;
  };
  queue: { position: number; total: number; priority: number } | null;
  agents?: string[];
  created_at: number;
  updated_at: number;
}

async function call<T>(c: ApiClient, method: string, request: object): Promise<T> {
  return JSON.parse((await c.call<{ result_json: string }>('job', method, request)).result_json) as T;
}

export function registerEvalCommands(program: Command): void {
  const evals = program.command('eval').description('placement decisions (evaluations): why a job is pending, queued or placed where it is');
  const withTarget = (c: Command): Command => c.option('--target <host:port>', 'daemon address (default MN_GRPC_TARGET or MN_CORE_HOST:MN_GRPC_PORT)').option('--json', 'print one JSON document');

  withTarget(evals.command('list').description('evaluations, newest first'))
    .option('--job <job_id>', "only this job's evaluations (the newest 50 are kept per job)")
    .option('--limit <n>', 'at most n evaluations', '50')
    .addHelpText('after', '\n--json prints {evaluations: [{id, job_id, trigger, status, placed, failed, explanation, queue, created_at, updated_at}], next_page_token}.')
    .action(async (opts: Opts & { job?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive integer, got ${JSON.stringify(opts.limit)}`, EXIT.usage);
      const page = await withClient(opts, (c) => call<{ evaluations: EvaluationDoc[]; next_page_token: string }>(c, 'ListEvaluations', { job_id: opts.job ?? '', page_size: Math.min(limit, 1000) }));
      if (opts.json) return printJson(page);
      if (page.evaluations.length === 0) return say(opts.job ? `job ${opts.job} has no evaluations` : 'no evaluations');
      const now = Date.now();
      say(renderTable(
        ['ID', 'JOB', 'TRIGGER', 'STATUS', 'PLACED', 'FAILED', 'QUEUE', 'AGE'],
        page.evaluations.map((e) => [e.id, e.job_id, e.trigger, e.status, e.placed, e.failed, e.queue ? `${e.queue.position}/${e.queue.total} (p${e.queue.priority})` : '-', ageOf(e.created_at, now)]),
        { color: colorEnabled(process.stdout), statusColumn: 'STATUS' },
      ));
    });

  withTarget(evals.command('status').description('one evaluation: its outcome and the explanation of what could not be placed').argument('<evaluation_id>'))
    .action(async (id: string, opts: Opts) => {
      const e = await withClient(opts, (c) => call<EvaluationDoc>(c, 'GetEvaluation', { evaluation_id: id }));
      if (opts.json) return printJson(e);
      say(`evaluation ${e.id}: ${e.status} (trigger ${e.trigger}, job ${e.job_id})`);
      say(`placed ${e.placed}, failed ${e.failed}; created ${new Date(e.created_at).toISOString()}, updated ${new Date(e.updated_at).toISOString()}`);
      if (e.queue) say(`queued: position ${e.queue.position} of ${e.queue.total}, priority ${e.queue.priority}`);
      if (e.agents && e.agents.length > 0) say(`agents: ${e.agents.slice(0, 10).join(', ')}${e.agents.length > 10 ? ` and ${e.agents.length - 10} more` : ''}`);
      if (e.explanation.summary) say(`why: ${e.explanation.summary}`);
      for (const f of e.explanation.failures) {
        say(`  ${f.source_node_id} (${f.count} agent${f.count === 1 ? '' : 's'}): ${f.reason}`);
        const filtered = Object.entries(f.filtered).map(([stage, n]) => `${stage} ${n}`).join(', ');
        if (filtered) say(`    nodes filtered: ${filtered}`);
        for (const n of f.nearest.slice(0, 3)) say(`    nearest ${n.node}: ${Object.values(n.shortfall).join('; ')}`);
        if (f.suggestion) say(`    suggestion: ${f.suggestion}`);
      }
    });
}
