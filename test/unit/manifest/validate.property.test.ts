import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { expandAgents } from '../../../src/core/manifest/expand.js';

/** A rich valid manifest touching every section, so mutations reach every parser. */
function richManifest(): Record<string, unknown> {
  return {
    manifest_version: '1.0',
    graph_id: 'rich',
    job_name: 'rich job',
    type: 'service',
    priority: 70,
    entrypoints: ['in'],
    initial_inputs: { in: [{ text: 'hello' }] },
    nodes: [
      { node_id: 'in', agent_type: 'router', type: 'map', config: { emit_type: 'work' } },
      {
        node_id: 'gpu',
        agent_type: 'executor',
        count: 3,
        config: { command: ['python', 'run.py', '${index}'], execution_profile: 'cuda' },
        resources: {
          cpu: 2000,
          memory_gb: 8,
          disk_mb: 100,
          devices: [{ type: 'nvidia/gpu', count: 1, min_memory_mb: 16000, memory_operator: '>=', capabilities: ['fp16'], ids: [] }],
          ports: [{ label: 'api', port: 8080, protocol: 'http' }],
          volumes: [{ name: 'models', source: '/mnt/models', target: '/models', mode: 'ro' }],
          runtime_driver: 'host_local',
        },
        constraints: ['cuda', { attribute: 'zone', operator: 'in', value: ['z1', 'z2'] }],
        spread: [{ attribute: 'zone', weight: 80, targets: [{ value: 'z1', percent: 50 }] }],
        services: [
          {
            name: 'gpu-api',
            port: 8080,
            tags: ['gpu'],
            checks: [
              { type: 'http', path: '/health', expected_status: '200..299' },
              { type: 'script', command: ['bin/check', '--fast'] },
            ],
          },
        ],
        requires_services: [{ name: 'vector-db', tags: ['prod'] }],
        policies: { restart: { attempts: 2, mode: 'delay' }, reschedule: { attempts: 1 } },
      },
      { node_id: 'out', agent_type: 'aggregator', type: 'reduce', config: { complete_after: 3 } },
    ],
    edges: [
      { edge_id: 'e1', from_node: 'in', to_node: 'gpu', message_type: 'work', routing_mode: 'all_match', conditions: '${payload.ok} == true' },
      { edge_id: 'e2', from_node: 'gpu', to_node: 'out', message_type: '*' },
    ],
    policies: {
      recovery_mode: 'cluster_recover',
      scheduler: { strategy: 'spread', constraints: [{ attribute: 'os', value: 'linux' }] },
      restart: { attempts: 3, delay_function: 'exponential' },
      update: { strategy: 'canary', canary: 1, auto_promote: true },
    },
    services: [{ name: 'frontend', port: 9000 }],
    required_services: [{ name: 'redis' }],
    deployment: { key: 'rich' },
    schedule: { cron: '*/5 * * * *', timezone: 'Europe/Berlin' },
    triggers: [{ name: 'on-upload', event_type: 'file.uploaded', filters: { 'payload.kind': 'pdf' } }],
    metadata: { team: 'ml' },
  };
}

type Path = Array<string | number>;

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Path, replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur: any = copy;
  for (const key of path.slice(0, -1)) cur = cur[key];
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = replacement;
  return copy;
}

const junk = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -0, 1e308, 65536, 0),
  fc.string(),
  fc.constantFrom('', '${config.missing}', '${env.NOPE}', '${index}', 'a;rm -rf /', '@', '../x', '*', '/abs'),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
);

describe('validation under random mutation', () => {
  const valid = richManifest();
  const allPaths = paths(valid);

  it('the base manifest is valid', () => {
    const r = validateManifest(valid);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('always returns structured results and never throws (thousands of cases)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: allPaths.length - 1 }), junk, fc.boolean()), { minLength: 1, maxLength: 4 }),
        (mutations) => {
          let m: unknown = valid;
          for (const [index, value, remove] of mutations) {
            const candidates = paths(m);
            const path = candidates[index % candidates.length]!;
            m = setAt(m, path, value, remove);
          }
          const r = validateManifest(m, { config: {}, env: {} });
          expect(typeof r.ok).toBe('boolean');
          expect(Array.isArray(r.errors)).toBe(true);
          for (const e of [...r.errors, ...r.warnings]) {
            expect(typeof e.path).toBe('string');
            expect(typeof e.message).toBe('string');
            expect(e.message.length).toBeGreaterThan(0);
          }
          if (r.ok) {
            expect(r.job).toBeDefined();
            expect(expandAgents(r.job!).length).toBe(r.job!.agent_count);
          } else {
            expect(r.errors.length).toBeGreaterThan(0);
            expect(r.job).toBeUndefined();
          }
        },
      ),
      { numRuns: 3000, seed: 20261122 },
    );
  });

  it('never throws on truncated JSON text', () => {
    const text = JSON.stringify(valid, null, 2);
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), (cut) => {
        const r = validateManifest(text.slice(0, cut));
        expect(r.ok).toBe(false);
        expect(r.errors[0]!.message).toMatch(/invalid JSON at line \d+, column \d+/);
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
