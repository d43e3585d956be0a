import { describe, expect, it } from 'vitest';
import { type QueueEntry, compareQueueEntries, placeOf, queueHeads, queueScore, sortQueue, waitsBehind } from '../../../src/core/queue/order.js';
import { explainFailures, failedCount } from '../../../src/core/queue/evaluation.js';
import type { PlacementFailure } from '../../../src/core/placement/plan-types.js';

const e = (job_id: string, priority: number, since: number): QueueEntry => ({ job_id, priority, since, evaluation_id: null });

describe('queue order', () => {
  it('starts higher priorities first, then older jobs, then by job id', () => {
    const sorted = sortQueue([e('p30', 30, 1), e('p80-new', 80, 5), e('p50', 50, 2), e('p80-old', 80, 3), e('p80-b', 80, 5)]);
    expect(sorted.map((x) => x.job_id)).toEqual(['p80-old', 'p80-b', 'p80-new', 'p50', 'p30']);
  });

  it('the Redis score sorts like the comparator for every priority and time', () => {
    const entries: QueueEntry[] = [];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 300; i++) entries.push(e(`j${i}`, 1 + rand(100), 1_700_000_000_000 + rand(1_000_000)));
    entries.push(e('max', 100, 9_000_000_000_000), e('min', 1, 0));
    const byScore = [...entries].sort((a, b) => queueScore(a.priority, a.since) - queueScore(b.priority, b.since) || (a.job_id < b.job_id ? -1 : 1));
    expect(byScore.map((x) => x.job_id)).toEqual(sortQueue(entries).map((x) => x.job_id));
    expect(compareQueueEntries(e('a', 50, 1), e('a', 50, 1))).toBe(0);
  });

  it('a job waits behind a queued job of higher or equal priority, never behind a lower one', () => {
    const queue = [e('low', 30, 1), e('mid-new', 50, 9), e('mid-old', 50, 4)];
    expect(waitsBehind(queue, 50)?.job_id).toBe('mid-old');
    expect(waitsBehind(queue, 40)?.job_id).toBe('mid-old');
    expect(waitsBehind(queue, 51)).toBeNull();
    expect(waitsBehind([], 1)).toBeNull();
    // A queued job does not wait behind itself.
    expect(waitsBehind([e('only', 50, 1)], 50, 'only')).toBeNull();
  });

  it('places are 1-based among all waiting jobs; heads come in start order', () => {
    const queue = [e('a', 50, 1), e('b', 80, 2), e('c', 50, 0)];
    expect(placeOf(queue, 'a')).toEqual({ position: 3, total: 3, priority: 50, since: 1, evaluation_id: null });
    expect(placeOf(queue, 'b')?.position).toBe(1);
    expect(placeOf(queue, 'x')).toBeNull();
    expect(queueHeads(queue, 2).map((x) => x.job_id)).toEqual(['b', 'c']);
    expect(queueHeads(queue, 0)).toEqual([]);
  });
});

describe('evaluation explanations', () => {
  const failure = (agent: string, count: number): PlacementFailure => ({ job: 'j', agent_id: agent, source_node_id: agent, count, reason: `placement_failed: ${agent} needs 4 cpu`, filtered: { cpu: 2 }, nearest: [], suggestion: 'add a node with >= 4 free cpu cores' });

  it('summarises the first failure with its suggestion and counts the rest', () => {
    const x = explainFailures([failure('a', 3), failure('b', 1)]);
    expect(x.summary).toBe('placement_failed: a needs 4 cpu; add a node with >= 4 free cpu cores (and 1 more groups)');
    expect(x.failures[0]).not.toHaveProperty('job');
    expect(x.failures).toHaveLength(2);
    expect(failedCount([failure('a', 3), failure('b', 1)])).toBe(4);
  });

  it('explains a job that would fit but waits behind the queue', () => {
    const x = explainFailures([], { job_id: 'big', priority: 80 });
    expect(x.summary).toContain('queued behind job big (priority 80)');
    expect(x.failures).toEqual([]);
    expect(explainFailures([]).summary).toBeNull();
  });
});
