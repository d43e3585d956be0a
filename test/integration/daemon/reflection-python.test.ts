import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';

/** Debian's python3-grpcio installs for the system interpreter (.ci/run installs it when missing). */
const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(ROOT, 'test', 'fixtures', 'reflection', 'reflect_client.py');

describe('server reflection from a client that is not grpc-js (python3-grpcio)', () => {
  let dev: AgentProcess;
  beforeAll(async () => {
    dev = await startAgent('reflect@lab', { MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-reflect-')) }, 30_000, 'dev');
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('lists every service and calls SubmitJob (a map field), GetJob, ListNodes, ListEvaluations, GetSchedulerConfig and ListWarmPools with reflected descriptors only', async () => {
    expect(existsSync(PYTHON), `${PYTHON} is required (apt-get install python3-grpcio)`).toBe(true);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, [CLIENT, dev.target], { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
    });
    const result = JSON.parse(out) as {
      services: string[];
      map_entry: { name: string; full_name: string; map_entry: boolean };
      submitted: { job_id: string; status: string };
      job: { job_id: string; status: string; initial_inputs: unknown };
      nodes: string[];
      evaluations: string[];
      scheduler: { preemption: Record<string, boolean> };
      pools: unknown[];
    };
    expect(new Set(result.services)).toEqual(
      new Set([
        'mirrorneuron.job.v1.JobService',
        'mirrorneuron.cluster.v1.ClusterService',
        'mirrorneuron.observability.v1.ObservabilityService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]),
    );
    expect(result.map_entry).toEqual({ name: 'PayloadsEntry', full_name: 'mirrorneuron.job.v1.SubmitJobRequest.PayloadsEntry', map_entry: true });
    expect(result.submitted.status).toBe('scheduled');
    expect(result.job).toMatchObject({ job_id: result.submitted.job_id, initial_inputs: { w: [{ items: [1, 2] }] } });
    expect(result.nodes).toEqual(['reflect@lab']);
    // Methods added since: evaluations, the scheduler configuration and warm pools, also by reflection only.
    expect(result.evaluations).toEqual(['submit']);
    expect(result.scheduler.preemption).toMatchObject({ system: true, batch: false });
    expect(result.pools).toEqual([]);
  });
});
