import { describe, expect, it } from 'vitest';
import { checkVariables, redactSecrets, redactedVariables, substituteVariables } from '../../../src/core/manifest/parameters.js';
import { validateManifest } from '../../../src/core/manifest/validate.js';

const template = (extra: Record<string, unknown> = {}) => ({
  manifest_version: '1',
  graph_id: 'runtime',
  job_name: 'runtime-${var.PROVIDER}-${var.USER_ID}',
  entrypoints: ['w'],
  parameters: {
    PROVIDER: { required: true, pattern: 'openai|anthropic', description: 'model provider' },
    USER_ID: { required: true, pattern: '[0-9]+' },
    REGION: { default: 'eu' },
    API_KEY: { secret: true, required: true },
  },
  nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['run', '--user', '${var.USER_ID}'], region: '${var.REGION}' } }],
  ...extra,
});

describe('template parameters', () => {
  it('validates a template, keeping ${var.*} for the dispatch and the declarations on the job', () => {
    const r = validateManifest(template());
    expect(r.errors).toEqual([]);
    expect(r.job!.job_name).toBe('runtime-${var.PROVIDER}-${var.USER_ID}');
    expect(r.job!.parameters.API_KEY).toEqual({ name: 'API_KEY', required: true, default: null, pattern: null, secret: true, description: null });
    expect(r.job!.parameters.REGION!.default).toBe('eu');
  });

  it('names the field of every bad declaration and every bad use', () => {
    const r = validateManifest(
      template({
        parameters: {
          'bad-name': {},
          P: { pattern: '(' },
          S: { secret: true, default: 'x' },
          R: { required: true, default: 'x' },
          D: { pattern: '[0-9]+', default: 'abc' },
          T: { required: 'yes' },
          API_KEY: { secret: true },
        },
        job_name: 'x-${var.NOPE}',
        nodes: [{ node_id: 'w', agent_type: 'executor', config: { command: ['run', '${var.API_KEY}'] } }],
      }),
    );
    const paths = r.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['parameters["bad-name"]', 'parameters.P.pattern', 'parameters.S.default', 'parameters.R.default', 'parameters.D.default', 'parameters.T.required', 'job_name', 'nodes[0].config.command[1]']));
    expect(r.errors.find((e) => e.path === 'job_name')!.message).toContain('declares no parameter NOPE');
    expect(r.errors.find((e) => e.path === 'nodes[0].config.command[1]')!.message).toContain('MN_VAR_API_KEY');
    expect(validateManifest(template({ parameters: 'x' })).errors[0]!.path).toBe('parameters');
  });

  it('checks variables: unknown, missing required and failing pattern are named; a secret value is never quoted', () => {
    const params = validateManifest(template()).job!.parameters;
    const bad = checkVariables(params, { PROVIDER: 'other', EXTRA: '1', API_KEY: 'sk-1' });
    expect(bad.ok).toBe(false);
    const issues = bad.ok ? [] : bad.issues;
    expect(issues.map((i) => i.variable).sort()).toEqual(['EXTRA', 'PROVIDER', 'USER_ID']);
    expect(issues.find((i) => i.variable === 'PROVIDER')!.message).toContain('does not match the pattern "openai|anthropic"');
    expect(issues.find((i) => i.variable === 'EXTRA')!.message).toContain('unknown variable EXTRA');
    const secretPattern = checkVariables({ K: { name: 'K', required: true, default: null, pattern: 'sk-[a-z]+', secret: true, description: null } }, { K: 'hunter2' });
    expect(JSON.stringify(secretPattern)).not.toContain('hunter2');
    expect(checkVariables(params, { PROVIDER: 'openai', USER_ID: '${env.HOME}', API_KEY: 'k' }).ok).toBe(false);
  });

  it('splits plain and secret values, fills defaults, redacts and substitutes only plain ones', () => {
    const params = validateManifest(template()).job!.parameters;
    const ok = checkVariables(params, { PROVIDER: 'openai', USER_ID: '42', API_KEY: 'sk-live-1' });
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.values).toEqual({ plain: { PROVIDER: 'openai', USER_ID: '42', REGION: 'eu' }, secret: { API_KEY: 'sk-live-1' } });
    expect(redactedVariables(ok.values)).toEqual({ PROVIDER: 'openai', USER_ID: '42', REGION: 'eu', API_KEY: '***' });
    const resolved = substituteVariables(template(), ok.values.plain);
    expect(resolved.job_name).toBe('runtime-openai-42');
    expect(JSON.stringify(resolved)).not.toContain('${var.');
    expect(JSON.stringify(resolved)).not.toContain('sk-live-1');
    expect(validateManifest(resolved).errors).toEqual([]);
    expect(redactSecrets('key=sk-live-1 again sk-live-1', ['sk-live-1'])).toBe('key=*** again ***');
  });
});
