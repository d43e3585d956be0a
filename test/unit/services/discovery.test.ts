import { describe, expect, it } from 'vitest';
import { serviceInstance } from '../../../src/core/services/instance.js';
import { deploymentOf, discover, matchesQuery, resolveQuery, serviceRecord, type ServiceRecord } from '../../../src/core/services/registry.js';
import { parseServiceQuery } from '../../../src/core/services/query.js';
import { directChecks, preflightReport, requirementMatches } from '../../../src/core/services/preflight.js';
import type { ServiceRequirement, ServiceSpec } from '../../../src/core/manifest/types.js';

const spec = (name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({ name, id: null, address: null, port: null, tags: [], meta: {}, provider: 'mirror_neuron', origin: 'internal', required: true, checks: [], ...extra });
const rec = (name: string, node: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({ ...serviceRecord(serviceInstance(spec(name), { job_id: 'j', agent_id: node, node, env: {} }), {}, 0), ...extra });
const req = (name: string, extra: Partial<ServiceRequirement> = {}): ServiceRequirement => ({ name, tags: [], origin: null, required: true, address: null, port: null, checks: [], ...extra });

describe('discovery (spec §5.5, §6.6)', () => {
  const records = [
    rec('vllm', 'b', { tags: ['gpu', 'fp16'] }),
    rec('vllm', 'a', { tags: ['gpu'], status: 'critical' }),
    rec('vllm', 'c', { deployment_role: 'canary' }),
    rec('vllm', 'd', { deployment_role: 'candidate' }),
    rec('redis', 'a'),
  ];

  it('filters by every field; all requested tags must be present', () => {
    expect(discover(records, { name: 'vllm' }).map((r) => r.node)).toEqual(['a', 'b']);
    expect(discover(records, { name: 'vllm', passing_only: true }).map((r) => r.node)).toEqual(['b']);
    expect(discover(records, { tags: ['gpu', 'fp16'] }).map((r) => r.node)).toEqual(['b']);
    expect(discover(records, { node: 'a' }).map((r) => r.name)).toEqual(['redis', 'vllm']);
    expect(discover(records, { status: 'critical' }).map((r) => r.node)).toEqual(['a']);
    expect(discover(records, { agent_id: 'b' }).map((r) => r.node)).toEqual(['b']);
    expect(discover(records, { tags: ['none'] })).toEqual([]);
  });

  it('hides canary and candidate instances unless asked, by flag or by role', () => {
    expect(discover(records, { name: 'vllm', include_candidates: true }).map((r) => r.node)).toEqual(['a', 'b', 'c', 'd']);
    expect(discover(records, { deployment_role: 'canary' }).map((r) => r.node)).toEqual(['c']);
    expect(matchesQuery(records[3]!, { name: 'vllm' })).toBe(false);
  });

  it('resolve defaults to passing only, which the caller may lift', () => {
    expect(resolveQuery('vllm')).toEqual({ passing_only: true, name: 'vllm' });
    expect(resolveQuery('vllm', { passing_only: false })).toEqual({ passing_only: false, name: 'vllm' });
  });

  it('parses a client query, naming the field of each mistake', () => {
    expect(parseServiceQuery({ name: 'x', role: 'canary', tags: ['a'], passing_only: true })).toEqual({ ok: true, query: { name: 'x', deployment_role: 'canary', tags: ['a'], passing_only: true } });
    expect(parseServiceQuery(null)).toEqual({ ok: true, query: {} });
    expect(parseServiceQuery([])).toMatchObject({ ok: false, field: 'query_json' });
    expect(parseServiceQuery({ colour: 'red' })).toMatchObject({ ok: false, field: 'query_json.colour', message: expect.stringContaining('is not a query field') });
    expect(parseServiceQuery({ tags: 'gpu' })).toMatchObject({ ok: false, field: 'query_json.tags', message: 'query_json.tags must be a list of strings' });
    expect(parseServiceQuery({ deployment_role: 'boss' })).toMatchObject({ ok: false, field: 'query_json.deployment_role' });
    expect(parseServiceQuery({ passing_only: 'yes' })).toMatchObject({ ok: false, field: 'query_json.passing_only' });
    expect(parseServiceQuery({ name: '' })).toMatchObject({ ok: false, field: 'query_json.name' });
  });

  it('reads deployment metadata from a job record, leaving out what is malformed', () => {
    expect(deploymentOf({ deployment_key: 'k', deployment_id: 'd1', deployment_version: 2, deployment_role: 'canary' })).toEqual({ deployment_key: 'k', deployment_id: 'd1', deployment_version: 2, deployment_role: 'canary' });
    expect(deploymentOf({ deployment_key: 3, deployment_role: 'boss' })).toEqual({});
    expect(deploymentOf(undefined)).toEqual({});
  });
});

describe('preflight (spec §5.6)', () => {
  it('checks a requirement with checks or a port directly, the others in the registry', () => {
    expect(directChecks(req('x'))).toBeNull();
    expect(directChecks(req('x', { address: 'db', port: 5432 }))).toMatchObject([{ type: 'tcp', address: 'db', port: 5432 }]);
  });

  it('matches name, every tag and the origin when asked for', () => {
    const r = rec('vllm', 'a', { tags: ['gpu'], origin: 'external' });
    expect(requirementMatches(r, req('vllm', { tags: ['gpu'] }))).toBe(true);
    expect(requirementMatches(r, req('vllm', { tags: ['gpu', 'fp8'] }))).toBe(false);
    expect(requirementMatches(r, req('vllm', { origin: 'internal' }))).toBe(false);
    expect(requirementMatches(r, req('vllm', { origin: 'external' }))).toBe(true);
  });

  it('reports missing, failing and unreadable requirements with their codes; optional ones never refuse', () => {
    const reqs = [req('vllm'), req('db', { port: 5432 }), req('vector'), req('cache', { required: false }), req('kv')];
    const report = preflightReport(reqs, [
      { source: 'registry', instances: [rec('vllm', 'a', { status: 'critical' })] },
      { source: 'direct', status: 'critical', output: ['tcp: ECONNREFUSED'] },
      { source: 'registry', instances: [] },
      { source: 'registry', instances: [] },
      { source: 'registry', unavailable: 'redis down' },
    ]);
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => [i.code, i.service, i.path])).toEqual([
      ['service.health_failed', 'vllm', 'required_services[0]'],
      ['service.health_failed', 'db', 'required_services[1]'],
      ['service.required_missing', 'vector', 'required_services[2]'],
      ['service.registry_unavailable', 'kv', 'required_services[4]'],
    ]);
    expect(report.checked.find((c) => c.service === 'cache')).toMatchObject({ required: false, status: 'missing' });
    const ok = preflightReport([req('vllm'), req('db', { port: 1 })], [{ source: 'registry', instances: [rec('vllm', 'a')] }, { source: 'direct', status: 'warning', output: [] }]);
    expect(ok).toMatchObject({ ok: true, issues: [], checked: [{ status: 'passing', instances: ['j:a:vllm'] }, { source: 'direct', status: 'warning' }] });
  });
});
