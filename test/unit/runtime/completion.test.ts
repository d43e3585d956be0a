import { describe, expect, it } from 'vitest';
import { decideCompletion, initDeliveries, type CompletionInput } from '../../../src/core/runtime/completion.js';

const agents = (...states: string[]) => states.map((state, i) => ({ agent_id: `a-${i}`, node: i % 2 ? 'n2' : 'n1', state }));
const base: CompletionInput = { job_type: 'batch', seeded: true, completion: null, outstanding: 0, agents: agents('running', 'running'), dead_letters: 0 };

describe('decideCompletion', () => {
  it('completes a batch job on its first complete_job, even with messages outstanding', () => {
    expect(decideCompletion({ ...base, outstanding: 5, completion: { agent_id: 'a-1', result: { n: 2 } } })).toEqual({ action: 'complete', completed_by: 'complete_job', result: { n: 2 } });
  });

  it('completes a seeded batch job once nothing is outstanding, and waits before seeding or while messages are in flight', () => {
    expect(decideCompletion(base)).toMatchObject({ action: 'complete', completed_by: 'quiescence', result: { agents: 2, dead_letters: 0 } });
    expect(decideCompletion({ ...base, seeded: false })).toEqual({ action: 'none' });
    expect(decideCompletion({ ...base, outstanding: 1 })).toEqual({ action: 'none' });
  });

  it('reports a sysbatch job per target machine', () => {
    expect(decideCompletion({ ...base, job_type: 'sysbatch' })).toMatchObject({ result: { completed_agents: ['a-0', 'a-1'], completed_targets: ['n1', 'n2'] } });
  });

  it('fails a batch job and pauses a service job when an agent failed or was lost for good', () => {
    expect(decideCompletion({ ...base, outstanding: 3, agents: agents('running', 'failed') })).toMatchObject({ action: 'fail', agent_id: 'a-1' });
    expect(decideCompletion({ ...base, agents: agents('lost') })).toMatchObject({ action: 'fail', reason: expect.stringMatching(/lost/) });
    expect(decideCompletion({ ...base, job_type: 'service', agents: agents('failed') })).toMatchObject({ action: 'pause', agent_id: 'a-0' });
  });

  it('keeps service and system jobs running: neither quiescence nor complete_job ends them', () => {
    for (const job_type of ['service', 'system'] as const) {
      expect(decideCompletion({ ...base, job_type })).toEqual({ action: 'none' });
      expect(decideCompletion({ ...base, job_type, completion: { agent_id: 'a-0', result: 1 } })).toEqual({ action: 'none' });
    }
  });
});

describe('initDeliveries', () => {
  const group = new Map([
    ['split', [{ agent_id: 'split', node: 'n1' }]],
    ['w', [{ agent_id: 'w-0', node: 'n1' }, { agent_id: 'w-1', node: 'n2' }]],
  ]);

  it('sends one init per payload to every agent of every entrypoint, with stable ids', () => {
    const out = initDeliveries({ jobId: 'j', entrypoints: ['w'], initialInputs: { w: [{ a: 1 }, { a: 2 }] }, agents: group, now: 0 });
    expect(out.map((d) => [d.agent_id, d.node, d.message.envelope.type, d.message.envelope.message_id, d.message.body])).toEqual([
      ['w-0', 'n1', 'init', 'init-w-0-0', { a: 1 }],
      ['w-0', 'n1', 'init', 'init-w-0-1', { a: 2 }],
      ['w-1', 'n2', 'init', 'init-w-1-0', { a: 1 }],
      ['w-1', 'n2', 'init', 'init-w-1-1', { a: 2 }],
    ]);
    expect(initDeliveries({ jobId: 'j', entrypoints: ['w'], initialInputs: { w: [{ a: 1 }, { a: 2 }] }, agents: group, now: 99 }).map((d) => d.message.envelope.message_id)).toEqual(out.map((d) => d.message.envelope.message_id));
  });

  it('falls back to __entrypoints__ and then to one empty init', () => {
    expect(initDeliveries({ jobId: 'j', entrypoints: ['split'], initialInputs: { __entrypoints__: [{ x: 1 }] }, agents: group, now: 0 }).map((d) => d.message.body)).toEqual([{ x: 1 }]);
    expect(initDeliveries({ jobId: 'j', entrypoints: ['split'], initialInputs: {}, agents: group, now: 0 }).map((d) => d.message.body)).toEqual([{}]);
  });
});
