import { afterEach, describe, expect, it } from 'vitest';
import { MnError } from '../../../src/core/errors.js';
import { DEFAULT_LIMITS } from '../../../src/core/limits.js';
import type { Job } from '../../../src/core/manifest/types.js';
import { Coordinators } from '../../../src/runtime/coordinators.js';
import { Jobs, type PlanService } from '../../../src/runtime/jobs.js';
import { localPlanner } from '../../../src/runtime/local-planner.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { machine } from '../../helpers/jobs.js';

const manifest = (id: string, extra: Record<string, unknown> = {}, count = 1) =>
  JSON.stringify({
    manifest_version: '1',
    graph_id: id,
    entrypoints: ['w'],
    nodes: [{ node_id: 'w', agent_type: 'executor', count, resources: { cpu_cores: 0 }, config: { ...extra } }],
  });

describe('submission limits and isolation', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });
  const setup = async (planner: PlanService = localPlanner(), limits = DEFAULT_LIMITS) => {
    const store = new MemoryStore();
    await store.upsertNode({ name: 'a@lab', status: 'healthy', inventory: machine('a@lab', { cpu_cores: 64, memory_mb: 65_536, disk_mb: 100_000 }) });
    await store.heartbeat('a@lab', 60_000);
    const coordinators = new Coordinators({ store, holder: 'test', leaseMs: 60_000, renewMs: 10_000 });
    cleanup.push(() => coordinators.stop(), () => store.close());
    return { store, jobs: new Jobs({ store, planner, coordinators, limits }) };
  };

  it('refuses a manifest, payloads or an agent count over the limit at once, naming limit and value', async () => {
    const { jobs, store } = await setup(localPlanner(), { ...DEFAULT_LIMITS, maxManifestBytes: 2048, maxPayloadBytes: 100, maxAgentsPerJob: 1000 });
    await expect(jobs.submit(manifest('big', { blob: 'x'.repeat(3000) }))).rejects.toMatchObject({
      code: 'MN_E_INVALID_ARGUMENT',
      message: expect.stringMatching(/^manifest_json: size in bytes \d+ exceeds the limit MN_MAX_MANIFEST_BYTES \(2048\)$/),
      details: { limit: 'MN_MAX_MANIFEST_BYTES', max: 2048 },
    });
    await expect(jobs.submit(manifest('p'), { 'payloads/a.bin': Buffer.alloc(101) })).rejects.toMatchObject({
      message: 'payloads: total size in bytes 101 exceeds the limit MN_MAX_PAYLOAD_BYTES (100)',
    });
    await expect(jobs.submit(manifest('many', {}, 1001))).rejects.toMatchObject({
      code: 'MN_E_INVALID_ARGUMENT',
      message: 'manifest_json: agent count 1001 exceeds the limit MN_MAX_AGENTS_PER_JOB (1000)',
      details: { limit: 'MN_MAX_AGENTS_PER_JOB', value: 1001 },
    });
    // Nothing of a refused submission was written.
    expect(await store.listJobs()).toEqual([]);
    const ok = await jobs.submit(manifest('at-limit', {}, 1000));
    expect(ok.plan.stats.placed).toBe(1000);
  });

  it('resolves ${config.*} from config/default.json and config/overwrite.json among the payloads', async () => {
    const { jobs, store } = await setup();
    const raw = JSON.stringify({
      manifest_version: '1',
      graph_id: 'cfg',
      entrypoints: ['w'],
      initial_inputs: { w: [{ items: '${config.items}', label: '${config.label}' }] },
      nodes: [{ node_id: 'w', agent_type: 'executor', count: '${config.workers}', resources: { cpu_cores: 0 } }],
    });
    const files = { 'config/default.json': Buffer.from('{"items":[1,2,3],"workers":2,"label":"a"}'), 'config/overwrite.json': Buffer.from('{"label":"b"}') };
    const { job_id } = await jobs.submit(raw, files);
    const record = (await store.getJob(job_id))!;
    expect(record.job.agent_count).toBe(2);
    expect(record.job.initial_inputs).toEqual({ w: [{ items: [1, 2, 3], label: 'b' }] });
    // Without the config the error names the field once.
    await expect(jobs.submit(raw)).rejects.toThrow(/invalid manifest: (?!.*initial_inputs\.w\[0\]\.items: initial_inputs)/);
    const err = (await jobs.submit(raw).then(() => null, (e: unknown) => e)) as MnError;
    expect(String(err.message)).toContain('initial_inputs.w[0].items: unresolved template ${config.items}');
    expect(String(err.message).split('initial_inputs.w[0].items').length).toBe(2);
  });

  it('a submission that breaks the placement worker fails alone; the rest of its batch is planned again and succeeds', async () => {
    const real = localPlanner();
    let tasks = 0;
    const planner: PlanService = {
      async plan(cluster, list: Job[], fingerprint, options) {
        tasks++;
        await new Promise((r) => setTimeout(r, 5));
        if (list.some((j) => j.graph_id.startsWith('poison'))) {
          throw new MnError('MN_E_SOLVER_UNAVAILABLE', 'placement worker failed (MN_E_WORKER_EXITED): Maximum call stack size exceeded', { retryable: true, details: { cause: 'MN_E_WORKER_EXITED' } });
        }
        return real.plan(cluster, list, fingerprint, options);
      },
    };
    const { jobs } = await setup(planner);
    const submits = Array.from({ length: 30 }, (_, i) => jobs.submit(manifest(`ok-${i}`)));
    const poison = jobs.submit(manifest('poison'));
    const results = await Promise.allSettled(submits);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    await expect(poison).rejects.toMatchObject({ code: 'MN_E_TASK_FAILED', message: expect.stringMatching(/^planning job poison-[0-9a-f]+ failed in its placement worker/) });
    expect(tasks).toBeGreaterThan(2);
  });
});
