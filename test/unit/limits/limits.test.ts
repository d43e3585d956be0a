import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, checkJsonTextDepth, checkValueDepth, jsonTextDepthExceeded, limitsFromEnv, valueDepthExceeded } from '../../../src/core/limits.js';
import { issueText } from '../../../src/core/manifest/context.js';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { bundleConfig } from '../../../src/runtime/submission.js';

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
};
const manifestWith = (config: unknown) => ({
  manifest_version: '1',
  graph_id: 'g',
  entrypoints: ['w'],
  nodes: [{ node_id: 'w', agent_type: 'executor', config }],
});

describe('request limits', () => {
  it('has the documented defaults and reads each from its variable, naming a bad one', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxJsonDepth: 64, maxManifestBytes: 16 * 1024 * 1024, maxPayloadBytes: 32 * 1024 * 1024, maxAgentsPerJob: 100_000, maxEventsPerJob: 10_000 });
    const ok = limitsFromEnv({ MN_MAX_JSON_DEPTH: '10', MN_MAX_AGENTS_PER_JOB: '500', MN_EVENT_MAX_COUNT: '20', MN_MAX_MANIFEST_BYTES: '4096', MN_MAX_PAYLOAD_BYTES: '0' });
    expect(ok.problems).toEqual([]);
    expect(ok.limits).toEqual({ maxJsonDepth: 10, maxManifestBytes: 4096, maxPayloadBytes: 0, maxAgentsPerJob: 500, maxEventsPerJob: 20 });
    const bad = limitsFromEnv({ MN_MAX_JSON_DEPTH: 'deep', MN_MAX_AGENTS_PER_JOB: '0' });
    expect(bad.problems.map((p) => p.variable)).toEqual(['MN_MAX_JSON_DEPTH', 'MN_MAX_AGENTS_PER_JOB']);
    expect(bad.problems[0]!.message).toContain('"deep"');
    expect(bad.limits.maxJsonDepth).toBe(64);
  });

  it('scans JSON text for depth without parsing, ignoring brackets inside strings and escapes', () => {
    expect(jsonTextDepthExceeded('{"a":[[1]]}', 3)).toBeNull();
    expect(jsonTextDepthExceeded('{"a":[[1]]}', 2)).toMatchObject({ depth: 3, offset: 6, line: 1, column: 7 });
    expect(jsonTextDepthExceeded('{"a":"[[[[[[\\"[[[["}', 1)).toBeNull();
    expect(jsonTextDepthExceeded('[\n[\n[', 2)).toMatchObject({ depth: 3, line: 3, column: 1 });
    // A million levels: one pass, no stack.
    expect(jsonTextDepthExceeded('['.repeat(1_000_000), 64)).toMatchObject({ depth: 65, offset: 64 });
  });

  it('measures parsed values iteratively, with the path of the first place too deep', () => {
    expect(valueDepthExceeded({ a: [1, { b: 2 }] }, 3)).toBeNull();
    expect(valueDepthExceeded({ a: [1, { b: [3] }] }, 3)).toEqual({ depth: 4, path: 'a[1].b' });
    expect(valueDepthExceeded(nested(200_000), 64)).toMatchObject({ depth: 65 });
    expect(() => checkValueDepth(nested(100), 'x', 64)).toThrow(/x: nesting depth 65 exceeds the limit MN_MAX_JSON_DEPTH \(64\)/);
    expect(() => checkJsonTextDepth('[[[', 'query_json', 2)).toThrow(/query_json: nesting depth 3 exceeds the limit MN_MAX_JSON_DEPTH \(2\) at line 1, column 3/);
  });

  it('refuses a manifest nested too deep before anything walks it, as text or as a value, and never throws', () => {
    for (const depth of [100, 5_000, 100_000]) {
      const value = manifestWith(nested(depth));
      const fromValue = validateManifest(value);
      expect(fromValue.ok).toBe(false);
      expect(fromValue.errors[0]!.message).toMatch(/nesting depth 65 exceeds the limit MN_MAX_JSON_DEPTH \(64\) at nodes\[0\]\.config/);
      const text = `{"manifest_version":"1","graph_id":"g","nodes":[{"node_id":"w","agent_type":"executor","config":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]}`;
      const fromText = validateManifest(text);
      expect(fromText.ok).toBe(false);
      expect(fromText.errors).toHaveLength(1);
      expect(fromText.errors[0]!.message).toMatch(/nesting depth 65 exceeds the limit MN_MAX_JSON_DEPTH \(64\) at line 1, column \d+/);
    }
    // Within the limit it validates; the limit can be raised or lowered.
    expect(validateManifest(manifestWith(nested(51))).ok).toBe(true);
    expect(validateManifest(manifestWith(nested(51)), { maxJsonDepth: 10 }).ok).toBe(false);
    // A bundle config nested too deep is refused too.
    const deepConfig = validateManifest(manifestWith({}), { config: { x: nested(100) as Record<string, unknown> } });
    expect(deepConfig.errors[0]).toMatchObject({ path: 'config' });
  });

  it('reads a bundle config from the payloads: default.json deep-merged with overwrite.json, bad files named', () => {
    expect(bundleConfig({})).toBeUndefined();
    expect(bundleConfig({ 'config/default.json': Buffer.from('{"a":{"b":1,"c":2},"items":[1]}'), 'config/overwrite.json': '{"a":{"c":3}}' })).toEqual({ a: { b: 1, c: 3 }, items: [1] });
    expect(() => bundleConfig({ 'config/default.json': '[1]' })).toThrow(/payloads\["config\/default.json"\] must hold a JSON object/);
    expect(() => bundleConfig({ 'config/default.json': '{"a":' })).toThrow(/payloads\["config\/default.json"\]: invalid JSON at line 1/);
    expect(() => bundleConfig({ 'config/default.json': `{"a":${'['.repeat(70)}${']'.repeat(70)}}` })).toThrow(/MN_MAX_JSON_DEPTH \(64\)/);
  });

  it('prints a finding with its path once', () => {
    expect(issueText({ path: 'nodes[0].config.x', message: 'nodes[0].config.x: unresolved template ${config.x}' })).toBe('nodes[0].config.x: unresolved template ${config.x}');
    expect(issueText({ path: 'nodes[0].count', message: 'nodes[0].count must be an integer' })).toBe('nodes[0].count must be an integer');
    expect(issueText({ path: 'nodes[1].node_id', message: 'duplicate node_id w' })).toBe('nodes[1].node_id: duplicate node_id w');
    expect(issueText({ path: '', message: 'graph_id is required' })).toBe('graph_id is required');
  });
});
