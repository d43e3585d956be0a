import { describe, expect, it } from 'vitest';
import { VIEW_RECHECK_MS, decideEntry, needsFreshView, type HostedJobView } from '../../../src/core/runtime/inbox-decision.js';

const view = (nodes: Record<string, string>, hosted: string[], loadedAt = 1000): HostedJobView => ({
  nodeOf: (id) => nodes[id],
  hosts: (id) => hosted.includes(id),
  loadedAt,
});
const entry = (agent_id: string, not_before = 0) => ({ job_id: 'j', agent_id, not_before });

describe('what a host does with an inbox entry', () => {
  const v = view({ a: 'n1', b: 'n2', c: 'n1' }, ['a']);

  it('enqueues an entry for an agent it runs, or waits until its not-before time', () => {
    expect(decideEntry(entry('a'), v, 'n1', 2000)).toEqual({ action: 'enqueue' });
    expect(decideEntry(entry('a', 2000), v, 'n1', 2000)).toEqual({ action: 'enqueue' });
    expect(decideEntry(entry('a', 2500), v, 'n1', 2000)).toEqual({ action: 'wait', until: 2500 });
  });

  it('forwards to where the agent runs, dead-letters an id that is no agent, drops entries of jobs it does not host', () => {
    expect(decideEntry(entry('b'), v, 'n1', 2000)).toEqual({ action: 'forward', node: 'n2' });
    expect(decideEntry(entry('zz'), v, 'n1', 2000)).toEqual({ action: 'dead_letter', reason: 'agent zz is not an agent of job j' });
    expect(decideEntry(entry('a'), null, 'n1', 2000)).toEqual({ action: 'drop' });
  });

  it('holds an entry for an agent placed here but not hosted yet (read again after the ack timeout)', () => {
    expect(decideEntry(entry('c'), v, 'n1', 2000)).toEqual({ action: 'hold' });
  });

  it('reads the job again without a view, or when a view older than the recheck time places the agent elsewhere', () => {
    expect(needsFreshView(entry('a'), null, 'n1', 0)).toBe(true);
    expect(needsFreshView(entry('a'), v, 'n1', 1000 + 10 * VIEW_RECHECK_MS)).toBe(false); // placed here: the view is enough
    expect(needsFreshView(entry('b'), v, 'n1', 1000 + VIEW_RECHECK_MS)).toBe(false); // fresh: forward without a read
    expect(needsFreshView(entry('b'), v, 'n1', 1001 + VIEW_RECHECK_MS)).toBe(true); // the agent may have just moved here
    expect(needsFreshView(entry('zz'), v, 'n1', 1001 + VIEW_RECHECK_MS)).toBe(true);
  });
});
