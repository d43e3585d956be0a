import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { bindWarmPoolConsumers, effectiveWarmPoolSize, warmPoolSizeVariable } from '../../../src/core/manifest/warm-pool.js';

const poolNode = (warm: unknown, extra: Record<string, unknown> = {}) => ({ node_id: 'pool', agent_type: 'executor', warm_pool: warm, config: { command: ['worker'] }, ...extra });
const manifest = (nodes: unknown[], extra: Record<string, unknown> = {}) => ({ manifest_version: '1', graph_id: 'g', type: 'service', entrypoints: ['pool'], nodes, ...extra });
const consumerJob = (config: Record<string, unknown>, agentType = 'executor') => ({ manifest_version: '1', graph_id: 'c', entrypoints: ['run'], nodes: [{ node_id: 'run', agent_type: agentType, config }] });

describe('warm_pool on an executor node', () => {
  it('normalises a declaration; the job yields to ordinary work (priority 40) unless it sets one', () => {
    const r = validateManifest(manifest([poolNode({ name: 'openai-pool', size: 10, provider: 'openai' })]));
    expect(r.errors).toEqual([]);
    expect(r.job!.nodes[0]!.warm_pool).toEqual({ name: 'openai-pool', size: 10, provider: 'openai' });
    expect(r.job!.priority).toBe(40);
    expect(validateManifest(manifest([poolNode({ name: 'p', size: 1, provider: 'x' })], { priority: 60 })).job!.priority).toBe(60);
    // A node without one has none, and its job keeps the default 50.
    const plain = validateManifest(manifest([{ node_id: 'pool', agent_type: 'executor', config: {} }]));
    expect(plain.job!.nodes[0]!.warm_pool).toBeUndefined();
    expect(plain.job!.priority).toBe(50);
  });

  it('names the field of every bad declaration', () => {
    const errors = (warm: unknown, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => validateManifest(manifest([poolNode(warm, extra)], top)).errors;
    expect(errors({ name: 'p', size: 1001, provider: 'x' })).toEqual([{ path: 'nodes[0].warm_pool.size', message: 'nodes[0].warm_pool.size must be an integer between 0 and 1000 (idle processes per machine), got 1001' }]);
    expect(errors({ name: 'p', size: 1.5, provider: 'x' })[0]!.path).toBe('nodes[0].warm_pool.size');
    expect(errors({ name: 'p', provider: 'x' })).toEqual([{ path: 'nodes[0].warm_pool.size', message: 'nodes[0].warm_pool.size is required (idle processes per machine, 0..1000)' }]);
    expect(errors({ name: '9 lives', size: 1, provider: 'x' })[0]!.path).toBe('nodes[0].warm_pool.name');
    expect(errors({ name: 'p', size: 1, provider: '' })[0]!.path).toBe('nodes[0].warm_pool.provider');
    expect(errors('p')[0]).toEqual({ path: 'nodes[0].warm_pool', message: 'nodes[0].warm_pool must be an object {name, size, provider}, got a string' });
    expect(errors({ name: 'p', size: 1, provider: 'x' }, { agent_type: 'router' })[0]!.message).toContain('agent_type must be executor');
    // A pool lives as long as its job: a batch job would end and take it along.
    expect(errors({ name: 'p', size: 1, provider: 'x' }, {}, { type: 'batch' })[0]!.message).toContain('the job must be long-running');
    expect(validateManifest(manifest([poolNode({ name: 'p', size: 1, provider: 'x' })], { type: 'batch', policies: { job_type: 'system' } })).errors).toEqual([]);
  });

  it('refuses a pool declared twice in one manifest', () => {
    const r = validateManifest(manifest([poolNode({ name: 'p', size: 1, provider: 'x' }), { ...poolNode({ name: 'p', size: 2, provider: 'y' }), node_id: 'pool2' }]));
    expect(r.errors).toEqual([{ path: 'nodes[1].warm_pool.name', message: 'warm pool p is declared twice (nodes pool and pool2)' }]);
  });

  it('checks a consumer’s config.warm_pool', () => {
    expect(validateManifest(consumerJob({ warm_pool: 'openai-pool' })).errors).toEqual([]);
    expect(validateManifest(consumerJob({ warm_pool: 'bad name' })).errors[0]!.path).toBe('nodes[0].config.warm_pool');
    expect(validateManifest(consumerJob({ warm_pool: 'p' }, 'router')).errors[0]!.message).toContain('only executor agents take warm pool members');
    const both = validateManifest(manifest([poolNode({ name: 'p', size: 1, provider: 'x' }, { config: { command: ['w'], warm_pool: 'q' } })]));
    expect(both.errors[0]!.message).toContain('cannot also take members of one');
  });
});

describe('MN_WARM_POOL_<NAME>_SIZE', () => {
  const spec = { name: 'openai-pool', size: 10, provider: 'openai' };
  it('is the name upper-cased, "-" as "_", and overrides the manifest size when valid', () => {
    expect(warmPoolSizeVariable('openai-pool')).toBe('MN_WARM_POOL_OPENAI_POOL_SIZE');
    expect(effectiveWarmPoolSize(spec, {})).toEqual({ size: 10, problem: null });
    expect(effectiveWarmPoolSize(spec, { MN_WARM_POOL_OPENAI_POOL_SIZE: '3' })).toEqual({ size: 3, problem: null });
    expect(effectiveWarmPoolSize(spec, { MN_WARM_POOL_OPENAI_POOL_SIZE: '0' })).toEqual({ size: 0, problem: null });
  });
  it('keeps the manifest size and says why for a bad value', () => {
    const r = effectiveWarmPoolSize(spec, { MN_WARM_POOL_OPENAI_POOL_SIZE: 'lots' });
    expect(r.size).toBe(10);
    expect(r.problem).toBe('MN_WARM_POOL_OPENAI_POOL_SIZE must be an integer between 0 and 1000, got "lots"; keeping the manifest\'s size 10');
    expect(effectiveWarmPoolSize(spec, { MN_WARM_POOL_OPENAI_POOL_SIZE: '5000' }).size).toBe(10);
  });
});

describe('placement rule of consumers', () => {
  const jobOf = (nodes: unknown[]) => validateManifest({ manifest_version: '1', graph_id: 'g', type: 'service', entrypoints: ['run'], nodes }).job!;

  it('constrains a consumer to the machines that keep its pool', () => {
    const job = jobOf([{ node_id: 'run', agent_type: 'executor', config: { warm_pool: 'p' }, constraints: [{ attribute: 'zone', operator: '==', value: 'z1' }] }]);
    const bound = bindWarmPoolConsumers(Object.freeze(job.nodes), new Map([['p', ['n2', 'n1']]]));
    expect(bound.problems).toEqual([]);
    // A copy: the job read from a store may be frozen.
    expect(job.nodes[0]!.constraints).toHaveLength(1);
    expect(bound.nodes[0]!.constraints).toEqual([
      { attribute: 'zone', operator: '==', value: 'z1' },
      { attribute: 'node', operator: 'in', value: ['n1', 'n2'] },
    ]);
  });

  it('places a consumer of a pool its own job declares freely', () => {
    const job = jobOf([
      { node_id: 'pool', agent_type: 'executor', warm_pool: { name: 'p', size: 1, provider: 'x' }, config: { command: ['w'] } },
      { node_id: 'run', agent_type: 'executor', config: { warm_pool: 'p' } },
    ]);
    const bound = bindWarmPoolConsumers(job.nodes, new Map());
    expect(bound.problems).toEqual([]);
    expect(bound.nodes[1]!.constraints).toEqual([]);
  });

  it('refuses a consumer of a pool nobody declared, naming nodes[i].config.warm_pool and the pool', () => {
    const job = jobOf([{ node_id: 'a', agent_type: 'router', config: {} }, { node_id: 'run', agent_type: 'executor', config: { warm_pool: 'nope' } }]);
    expect(bindWarmPoolConsumers(job.nodes, new Map([['p', ['n1']]])).problems).toEqual([
      { path: 'nodes[1].config.warm_pool', message: 'nodes[1].config.warm_pool: no warm pool named nope is declared in the cluster (pools: p); run the job that declares it (warm_pool: {name: "nope", ...}) first' },
    ]);
  });
});
