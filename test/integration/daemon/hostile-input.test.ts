import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE, OBSERVABILITY_SERVICE } from '../../../src/api/protos.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';

const ordinary = (id: string) =>
  JSON.stringify({ manifest_version: '1', graph_id: id, entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', resources: { cpu_cores: 0 }, config: { command: ['node', '-e', ''] } }] });
const nestedJson = (depth: number) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;

/** A unary call whose request bytes are given as is (no serializer), as a broken client would send them. */
function rawBytesCall(target: string, method: string, bytes: Buffer): Promise<{ code: grpc.status; details: string; code_md: string | undefined }> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
      client.close();
      resolve({ code: err ? err.code : grpc.status.OK, details: err?.details ?? '', code_md: err?.metadata.get('mn-error-code')[0]?.toString() });
    });
  });
}

describe('hostile input against mn dev (real placement workers)', () => {
  let dev: AgentProcess;
  beforeAll(async () => {
    dev = await startAgent('hostile@lab', { MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-hostile-')), MN_EXECUTOR_MAX_CONCURRENCY: '64' }, 30_000, 'dev');
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('the nesting attack gets INVALID_ARGUMENT naming the depth limit while 30 ordinary submits beside it all succeed', async () => {
    const attacks = [
      // A node config and initial inputs nested 5,000 and 20,000 levels deep.
      `{"manifest_version":"1","graph_id":"deep","entrypoints":["w"],"nodes":[{"node_id":"w","agent_type":"executor","config":${nestedJson(5_000)}}]}`,
      `{"manifest_version":"1","graph_id":"deep2","entrypoints":["w"],"initial_inputs":{"w":[${nestedJson(20_000)}]},"nodes":[{"node_id":"w","agent_type":"executor"}]}`,
    ];
    const started = Date.now();
    const calls = [
      ...attacks.map((m) => rawCall(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: m, payloads: {} })),
      ...Array.from({ length: 30 }, (_, i) => rawCall(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: ordinary(`ok-${i}`), payloads: {} })),
    ];
    const results = await Promise.all(calls);
    for (const attack of results.slice(0, 2)) {
      expect(attack.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(attack.details).toMatch(/nesting depth 65 exceeds the limit MN_MAX_JSON_DEPTH \(64\) at line 1, column \d+/);
    }
    expect(results.slice(2).map((r) => [r.code, r.details])).toEqual(Array.from({ length: 30 }, () => [grpc.status.OK, '']));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(dev.output()).not.toMatch(/RangeError|Maximum call stack/);
  });

  it('refuses one agent over MN_MAX_AGENTS_PER_JOB at once', async () => {
    const over = JSON.stringify({ manifest_version: '1', graph_id: 'over', entrypoints: ['w'], nodes: [{ node_id: 'w', agent_type: 'executor', count: 100_001, resources: { cpu_cores: 0 } }] });
    const r = await rawCall(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: over, payloads: {} });
    expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.details).toBe('MN_E_INVALID_ARGUMENT: manifest_json: agent count 100001 exceeds the limit MN_MAX_AGENTS_PER_JOB (100000)');
  });

  it('answers request bytes that do not parse with INVALID_ARGUMENT naming the message type, on unary and streaming methods', async () => {
    // Field 2, length-delimited, claiming 5 bytes of which one comes.
    const broken = Buffer.from([0x12, 0x05, 0x0a]);
    for (const [method, type] of [
      [`/${JOB_SERVICE}/SubmitJob`, 'SubmitJobRequest'],
      [`/${JOB_SERVICE}/GetJob`, 'GetJobRequest'],
      [`/${OBSERVABILITY_SERVICE}/GetMetrics`, 'MetricsRequest'],
    ] as const) {
      const r = await rawBytesCall(dev.target, method, broken);
      expect(r.code, method).toBe(grpc.status.INVALID_ARGUMENT);
      expect(r.details).toContain(`request bytes do not parse as ${type}`);
      expect(r.code_md).toBe('MN_E_INVALID_ARGUMENT');
    }
    const client = new grpc.Client(dev.target, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const stream = client.makeServerStreamRequest(`/${OBSERVABILITY_SERVICE}/StreamEvents`, (b: Buffer) => b, (b: Buffer) => b, broken, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
      stream.on('data', () => undefined);
      stream.on('error', () => undefined);
      stream.on('status', resolve);
    });
    client.close();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toContain('request bytes do not parse as StreamEventsRequest');
    // The daemon still serves well-formed calls.
    expect((await rawCall(dev.target, JOB_SERVICE, 'ListJobs', { limit: 1, include_terminal: true })).code).toBe(grpc.status.OK);
  });

  it('resolves ${config.*} from a config/default.json sent among the payloads of a raw manifest', async () => {
    const raw = JSON.stringify({
      manifest_version: '1',
      graph_id: 'cfg',
      entrypoints: ['w'],
      initial_inputs: { w: [{ items: '${config.items}' }] },
      nodes: [{ node_id: 'w', agent_type: 'executor', resources: { cpu_cores: 0 }, config: { command: ['node', '-e', ''] } }],
    });
    const without = await rawCall(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: raw, payloads: {} });
    expect(without.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(without.details).toBe('MN_E_INVALID_ARGUMENT: invalid manifest: initial_inputs.w[0].items: unresolved template ${config.items}: config has no value at items');
    const r = await rawCall<{ job_id: string }>(dev.target, JOB_SERVICE, 'SubmitJob', { manifest_json: raw, payloads: { 'config/default.json': Buffer.from('{"items":[1,2]}') } });
    expect(r.details).toBe('');
    const job = JSON.parse((await rawCall<{ job_json: string }>(dev.target, JOB_SERVICE, 'GetJob', { job_id: r.res!.job_id })).res!.job_json);
    expect(job.job.initial_inputs).toEqual({ w: [{ items: [1, 2] }] });
  });
});
