/**
 * Job templates and dispatch on a real daemon and Redis: variables are checked and filled in,
 * the child job runs, and a secret variable reaches the executor's process only through its
 * environment. Nothing stored in Redis, no CLI output and no gRPC answer contains the secret.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SERVICE } from '../../../src/api/protos.js';
import { runCli } from '../../helpers/cli.js';
import { type AgentProcess, startAgent } from '../../helpers/daemon.js';
import { rawCall } from '../../helpers/grpc.js';
import { finished } from '../../helpers/jobs.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';

const TOKEN = 'templates-token';
const NAMESPACE = 'tmpl';
const SECRET = `sk-live-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
const SECRET_HASH = createHash('sha256').update(SECRET).digest('hex');

/** Says whether MN_VAR_API_KEY is the expected secret (by its hash), then prints the secret itself, which must come out redacted. */
const SCRIPT = [
  "const h=require('crypto').createHash('sha256').update(process.env.MN_VAR_API_KEY||'').digest('hex');",
  "console.log('match='+(h===process.argv[2])+' provider='+process.argv[1]+' user='+process.env.MN_VAR_USER_ID);",
  "console.log('echo:'+process.env.MN_VAR_API_KEY);",
  "console.error('stderr:'+process.env.MN_VAR_API_KEY);",
].join('');

const TEMPLATE = {
  manifest_version: '1',
  graph_id: 'runtime',
  job_name: 'runtime-${var.PROVIDER}-${var.USER_ID}',
  entrypoints: ['w'],
  initial_inputs: { w: [{ go: 1 }] },
  parameters: {
    PROVIDER: { required: true, pattern: 'openai|anthropic', description: 'model provider' },
    USER_ID: { required: true, pattern: '[0-9]+' },
    REGION: { default: 'eu' },
    API_KEY: { required: true, secret: true, description: 'provider API key' },
  },
  nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['node', '-e', SCRIPT, '${var.PROVIDER}', SECRET_HASH], complete_job: true, region: '${var.REGION}' }, resources: { cpu_cores: 0.01, memory_mb: 1 } }],
};

/** Every value of every key of the namespace, as one text. */
async function dumpNamespace(url: string): Promise<{ keys: string[]; text: string }> {
  const client = new Redis(url);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${NAMESPACE}:*`, 'COUNT', '1000');
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const parts: string[] = [];
    for (const key of keys) {
      const type = await client.type(key);
      parts.push(key);
      if (type === 'string') parts.push(String(await client.get(key)));
      else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await client.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await client.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await client.zrange(key, '0', '-1', 'WITHSCORES')));
      else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
      else parts.push(`unread type ${type}`);
    }
    return { keys, text: parts.join('\n') };
  } finally {
    client.disconnect();
  }
}

describe('job templates: register, dispatch with variables, secrets that never leave the process environment', () => {
  let redis: RedisServer;
  let agent: AgentProcess;
  let cliEnv: Record<string, string>;
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'mn-template-'));

  beforeAll(async () => {
    redis = await startRedis();
    agent = await startAgent('tmpl@lab', { MN_REDIS_URL: redis.url, MN_REDIS_NAMESPACE: NAMESPACE, MN_HOME: mkdtempSync(path.join(os.tmpdir(), 'mn-home-')), MN_GRPC_AUTH_TOKEN: TOKEN });
    cliEnv = { MN_GRPC_TARGET: agent.target, MN_GRPC_AUTH_TOKEN: TOKEN };
    mkdirSync(bundle, { recursive: true });
    writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(TEMPLATE));
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await redis?.stop();
  });

  it('registers a template and refuses to run it as a plain job', async () => {
    const reg = await runCli(['job', 'register', bundle], { env: cliEnv });
    expect(reg.stderr).toBe('');
    expect(reg.stdout).toContain('template runtime registered (version 1; parameters: PROVIDER, USER_ID, REGION, API_KEY)');
    const shown = await runCli(['job', 'template', 'runtime', '--json'], { env: cliEnv });
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'runtime', version: 1, parameters: { API_KEY: { secret: true, required: true } } });
    const list = await runCli(['job', 'templates'], { env: cliEnv });
    expect(list.stdout).toMatch(/runtime\s+1\s+PROVIDER,USER_ID,REGION,API_KEY/);
    const plain = await rawCall(agent.target, JOB_SERVICE, 'SubmitJob', { manifest_json: JSON.stringify(TEMPLATE) }, TOKEN);
    expect(plain.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(plain.details).toContain('it is a job template: register it with `mn job register`');
    const scheduled = await rawCall(agent.target, JOB_SERVICE, 'CreateSchedule', { manifest_json: JSON.stringify(TEMPLATE), schedule_json: JSON.stringify({ cron: '*/5 * * * *' }) }, TOKEN);
    expect(scheduled.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(scheduled.details).toContain('so it is a job template and cannot be scheduled');
  });

  it('refuses bad dispatches with errors naming the variable, and mutations without the token', async () => {
    const call = (name: string, variables: Record<string, string>) => rawCall(agent.target, JOB_SERVICE, 'DispatchJob', { name, variables }, TOKEN);
    const unknownTemplate = await call('nope', {});
    expect([unknownTemplate.code, unknownTemplate.details]).toEqual([grpc.status.NOT_FOUND, 'MN_E_NOT_FOUND: job template nope not found (register it with mn job register)']);
    const missing = await call('runtime', { PROVIDER: 'openai', API_KEY: SECRET });
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toContain('variable USER_ID is required');
    const pattern = await call('runtime', { PROVIDER: 'other', USER_ID: '42', API_KEY: SECRET });
    expect(pattern.details).toContain('variable PROVIDER: value "other" does not match the pattern "openai|anthropic"');
    const unknown = await call('runtime', { PROVIDER: 'openai', USER_ID: '42', API_KEY: SECRET, COLOR: 'red' });
    expect(unknown.details).toContain('unknown variable COLOR');
    for (const r of [missing, pattern, unknown]) expect(r.details).not.toContain(SECRET);
    const noToken = await rawCall(agent.target, JOB_SERVICE, 'DispatchJob', { name: 'runtime', variables: { PROVIDER: 'openai', USER_ID: '42', API_KEY: SECRET } });
    expect(noToken.code).toBe(grpc.status.UNAUTHENTICATED);
    const register = await rawCall(agent.target, JOB_SERVICE, 'RegisterJobTemplate', { manifest_json: JSON.stringify(TEMPLATE) });
    expect(register.code).toBe(grpc.status.UNAUTHENTICATED);
    const cli = await runCli(['job', 'dispatch', 'runtime', '--var', 'PROVIDER=openai', '--var', 'USER_ID=x1', '--var', 'API_KEY'], { env: { ...cliEnv, MN_VAR_API_KEY: SECRET } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('variable USER_ID: value "x1" does not match the pattern "[0-9]+"');
    expect(cli.stderr + cli.stdout).not.toContain(SECRET);
  });

  it('dispatches a child job whose executor gets the secret only in its environment; the secret is nowhere else', async () => {
    // The secret comes from the CLI's environment (`--var API_KEY` alone), not the command line.
    const d = await runCli(['job', 'dispatch', 'runtime', '--var', 'PROVIDER=openai', '--var', 'USER_ID=42', '--var', 'API_KEY', '--json'], { env: { ...cliEnv, MN_VAR_API_KEY: SECRET } });
    expect(d.stderr).toBe('');
    const dispatched = JSON.parse(d.stdout) as { job_id: string; name: string; job_name: string; variables: Record<string, string>; dispatch_id: string };
    expect(dispatched.name).toBe(`runtime/dispatch-${dispatched.dispatch_id}`);
    expect(dispatched.job_name).toBe('runtime-openai-42');
    expect(dispatched.variables).toEqual({ PROVIDER: 'openai', USER_ID: '42', REGION: 'eu', API_KEY: '***' });
    const jobId = dispatched.job_id;
    const done = await finished(agent.target, jobId);
    expect(done.status).toBe('completed');

    // The agent really received it: its process compared MN_VAR_API_KEY with the expected hash.
    const result = await rawCall<{ result_json: string }>(agent.target, JOB_SERVICE, 'GetJobResult', { job_id: jobId });
    const sandbox = (JSON.parse(result.res!.result_json) as { sandbox: { stdout: string; stderr: string } }).sandbox;
    expect(sandbox.stdout).toContain('match=true provider=openai user=42');
    expect(sandbox.stdout).toContain('echo:***');
    expect(sandbox.stderr).toContain('stderr:***');

    // The resolved manifest is stored, with the plain variables filled in and the record naming its template.
    const job = await rawCall<{ job_json: string }>(agent.target, JOB_SERVICE, 'GetJob', { job_id: jobId, include_manifest: true });
    const doc = JSON.parse(job.res!.job_json) as { manifest: Record<string, unknown>; job: { job_name: string }; details: { dispatch: Record<string, unknown> } };
    expect(doc.manifest.job_name).toBe(dispatched.name);
    expect(JSON.stringify(doc.manifest.nodes)).toContain('"openai"');
    expect(JSON.stringify(doc.manifest)).not.toContain('${var.');
    expect(doc.details.dispatch).toMatchObject({ template: 'runtime', template_version: 1, dispatch_id: dispatched.dispatch_id, job_name: 'runtime-openai-42', variables: { API_KEY: '***' }, secret_variables: ['API_KEY'] });
    expect(doc.details.dispatch.sealed).toBeUndefined();

    // Every gRPC answer about the job.
    const answers = [
      job.res!.job_json,
      result.res!.result_json,
      JSON.stringify((await rawCall(agent.target, JOB_SERVICE, 'ListJobEvents', { job_id: jobId, limit: 10_000 })).res),
      JSON.stringify((await rawCall(agent.target, JOB_SERVICE, 'ListJobs', { limit: 0, include_terminal: true })).res),
      JSON.stringify((await rawCall(agent.target, JOB_SERVICE, 'ListAgents', { job_id: jobId })).res),
      JSON.stringify((await rawCall(agent.target, JOB_SERVICE, 'ListJobTemplates', {})).res),
    ];
    const events = answers[2]!;
    expect(events).toContain('job_dispatched');
    expect(events).toContain('echo:***');
    for (const text of answers) expect(text).not.toContain(SECRET);

    // Every CLI output about the job.
    const outputs = await Promise.all([
      runCli(['job', 'status', jobId], { env: cliEnv }),
      runCli(['job', 'status', jobId, '--json'], { env: cliEnv }),
      runCli(['job', 'events', jobId, '--json'], { env: cliEnv }),
      runCli(['job', 'logs', jobId], { env: cliEnv }),
      runCli(['job', 'result', jobId], { env: cliEnv }),
      runCli(['job', 'list', '--all', '--json'], { env: cliEnv }),
    ]);
    expect(outputs[3]!.stdout).toContain('w stdout: echo:***');
    for (const o of outputs) expect(o.stdout + o.stderr).not.toContain(SECRET);

    // Every key of the namespace in Redis, every value of every type.
    const dump = await dumpNamespace(redis.url);
    expect(dump.keys.some((k) => k.includes(jobId))).toBe(true);
    expect(dump.text).toContain(dispatched.name);
    expect(dump.text).toContain('echo:***');
    expect(dump.text).not.toContain(SECRET);
  }, 120_000);

  it('removes a template; dispatching it afterwards is NOT_FOUND', async () => {
    const r = await runCli(['job', 'deregister', 'runtime'], { env: cliEnv });
    expect(r.stdout).toContain('template runtime removed');
    const d = await runCli(['job', 'dispatch', 'runtime', '--var', 'PROVIDER=openai'], { env: cliEnv });
    expect(d.code).not.toBe(0);
    expect(d.stderr).toContain('job template runtime not found');
  });
});
