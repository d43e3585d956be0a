/**
 * Live progress of a job for `mn job status --watch` and `mn job run`: counts from a GetJob
 * document, one plain line for pipes and logs, the bar ({@link renderProgress}) on a terminal.
 */
import type { ProgressCounts } from './output.js';

/** Agent counts of a GetJob document (`job.agent_count` is the total after fan-out). */
export function countsOf(record: { job?: { agent_count?: unknown }; agents?: Array<{ state?: unknown }>; agent_summary?: { total: number; by_state: Record<string, number> } }): ProgressCounts {
  const summary = record.agent_summary;
  if (summary && typeof summary.total === 'number') {
    // GetJob lists the first agents only; the summary counts them all.
    const by = summary.by_state ?? {};
    const total = typeof record.job?.agent_count === 'number' ? record.job.agent_count : summary.total;
    return { total, placed: summary.total, running: (by.running ?? 0) + (by.starting ?? 0) + (by.restarting ?? 0), completed: by.completed ?? 0, failed: by.failed ?? 0 };
  }
  const agents = Array.isArray(record.agents) ? record.agents : [];
  const total = typeof record.job?.agent_count === 'number' ? record.job.agent_count : agents.length;
  const counts: ProgressCounts = { total, placed: agents.length, running: 0, completed: 0, failed: 0 };
  for (const a of agents) {
    if (a.state === 'running' || a.state === 'starting' || a.state === 'restarting') counts.running++;
    else if (a.state === 'completed') counts.completed++;
    else if (a.state === 'failed') counts.failed++;
  }
  return counts;
}

/** `job-1 running: placed 10/10, running 3, completed 5, failed 0`, one line for pipes. */
export function progressLine(jobId: string, status: string, c: ProgressCounts): string {
  return `${jobId} ${status}: placed ${c.placed}/${c.total}, running ${c.running}, completed ${c.completed}, failed ${c.failed}`;
}
