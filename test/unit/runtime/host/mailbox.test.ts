import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../../../src/runtime/host/mailbox.js';
import type { InboxEntry } from '../../../../src/store/store.js';

const entry = (id: string): InboxEntry => ({ id, node: 'n1', job_id: 'j', agent_id: 'a', message_id: id, attempt: 1, not_before: 0, message: '{}' });
const tick = () => new Promise((r) => setImmediate(r));

describe('an agent mailbox', () => {
  it('handles one entry at a time, in arrival order, and reports each when done', async () => {
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const box = new Mailbox({
      run: (e) => new Promise<void>((resolve) => {
        log.push(`start ${e.id}`);
        gates.set(e.id, () => {
          log.push(`end ${e.id}`);
          resolve();
        });
      }),
      canRun: () => true,
      onDone: (e) => log.push(`done ${e.id}`),
      onError: () => undefined,
    });
    box.push(entry('1'));
    box.push(entry('2'));
    box.push(entry('3'));
    await tick();
    expect(log).toEqual(['start 1']);
    expect(box.waiting).toBe(2);
    gates.get('1')!();
    await tick();
    expect(log).toEqual(['start 1', 'end 1', 'done 1', 'start 2']);
    gates.get('2')!();
    await tick();
    gates.get('3')!();
    await tick();
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start 1', 'start 2', 'start 3']);
  });

  it('starts nothing while it may not run, and resumes on pump', async () => {
    let open = false;
    const ran: string[] = [];
    const box = new Mailbox({ run: async (e) => void ran.push(e.id), canRun: () => open, onDone: () => undefined, onError: () => undefined });
    box.push(entry('1'));
    await tick();
    expect(ran).toEqual([]);
    open = true;
    box.pump();
    await tick();
    expect(ran).toEqual(['1']);
  });

  it('a failing run is reported and the next entry still runs; takeAll empties the queue', async () => {
    const errors: unknown[] = [];
    const done: string[] = [];
    let open = true;
    const box = new Mailbox({
      run: async (e) => {
        if (e.id === '1') throw new Error('boom');
      },
      canRun: () => open,
      onDone: (e) => done.push(e.id),
      onError: (error) => errors.push(error),
    });
    box.push(entry('1'));
    box.push(entry('2'));
    await tick();
    await tick();
    expect(done).toEqual(['1', '2']);
    expect(errors).toHaveLength(1);
    open = false;
    box.push(entry('3'));
    box.push(entry('4'));
    expect(box.takeAll().map((e) => e.id)).toEqual(['3', '4']);
    expect(box.waiting).toBe(0);
  });
});
