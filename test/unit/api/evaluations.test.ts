import { describe, expect, it } from 'vitest';
import { evaluationDetail, evaluationPage } from '../../../src/api/evaluation-handlers.js';
import { statusText } from '../../../src/cli/commands/job.js';
import { isMnError } from '../../../src/core/errors.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { rejection } from '../../helpers/records.js';

const ev = (id: string, job_id: string) => ({ id, job_id, trigger: 'submit' as const, status: 'complete' as const, placed: 1, failed: 0, explanation: { summary: null, failures: [] }, queue: null });

describe('the evaluation API', () => {
  it('pages newest first with a next_page_token, per job or overall', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) await store.evaluations.record(ev(`e${i}`, 'j'));
    await store.evaluations.record(ev('other', 'k'));
    const first = await evaluationPage(store, { job_id: 'j', page_size: 2 });
    expect(first.evaluations.map((e) => e.id)).toEqual(['e2', 'e1']);
    const second = await evaluationPage(store, { job_id: 'j', page_size: 2, page_token: first.next_page_token });
    expect(second).toMatchObject({ next_page_token: '' });
    expect(second.evaluations.map((e) => e.id)).toEqual(['e0']);
    expect((await evaluationPage(store, {})).evaluations.map((e) => e.id)).toEqual(['other', 'e2', 'e1', 'e0']);
    expect((await evaluationDetail(store, 'e1')).job_id).toBe('j');
    await store.close();
  });

  it('refuses a bad page token, a negative page size and an unknown or missing id, naming the field', async () => {
    const store = new MemoryStore();
    const token = await rejection(evaluationPage(store, { page_token: 'zz' }));
    expect(isMnError(token, 'MN_E_INVALID_ARGUMENT') && (token as Error).message.startsWith('page_token')).toBe(true);
    const size = await rejection(evaluationPage(store, { page_size: -1 }));
    expect(isMnError(size, 'MN_E_INVALID_ARGUMENT') && (size as Error).message.startsWith('page_size')).toBe(true);
    const unknown = await rejection(evaluationDetail(store, 'ev-x'));
    expect(isMnError(unknown, 'MN_E_NOT_FOUND') && (unknown as Error).message.includes('ev-x')).toBe(true);
    expect(isMnError(await rejection(evaluationDetail(store, '')), 'MN_E_INVALID_ARGUMENT')).toBe(true);
    await store.close();
  });

  it('shows a queued job as pending with its place', () => {
    expect(statusText('pending', { position: 3, total: 7, priority: 50, since: 0, evaluation_id: null })).toBe('pending (queued: position 3 of 7, priority 50)');
    expect(statusText('running', null)).toBe('running');
  });
});
