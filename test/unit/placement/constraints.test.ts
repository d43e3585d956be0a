/** Constraint operators (spec §3.3, DESIGN §4.4), evaluated against cluster nodes. */
import { describe, expect, it } from 'vitest';
import { compileConstraint, canonicalAttribute } from '../../../src/core/placement/constraints.js';
import { parseClusterFile } from '../../../src/core/cluster/parse.js';
import type { Constraint } from '../../../src/core/manifest/types.js';
import { resolveAttribute } from '../../../src/core/placement/constraints.js';
import { manifest, node, plan, where } from './fixtures.js';

const [n] = parseClusterFile({
  nodes: [
    node('n1@lab', 4, 4096, {
      attributes: { zone: 'z1', kernel: '5.15.0', driver_version: '535.104', cuda: '12.4', tier: '10', rev: '1.3.0-beta1+ent', os: 'linux' },
      capabilities: ['cuda', 'ffmpeg', 'Fast_IO'],
      profiles: ['gpu-large'],
    }),
  ],
}).nodes;

function holds(attribute: string, operator: Constraint['operator'], value: Constraint['value']): boolean {
  const c = compileConstraint({ attribute, operator, value });
  return c.test(resolveAttribute(n!, c.attribute));
}

describe('constraint operators', () => {
  it('== and != (missing attribute: == false, != true)', () => {
    expect(holds('zone', '==', 'z1')).toBe(true);
    expect(holds('zone', '==', 'z2')).toBe(false);
    expect(holds('missing', '==', 'x')).toBe(false);
    expect(holds('zone', '!=', 'z2')).toBe(true);
    expect(holds('missing', '!=', 'x')).toBe(true);
    expect(holds('node', '==', 'n1@lab')).toBe(true);
    expect(holds('status', '==', 'healthy')).toBe(true);
  });

  it('contains / contains_all / contains_any / in on list attributes', () => {
    expect(holds('capabilities', 'contains', 'cuda')).toBe(true);
    expect(holds('capabilities', 'contains', 'fast-io')).toBe(true);
    expect(holds('capabilities', 'contains_all', ['cuda', 'ffmpeg'])).toBe(true);
    expect(holds('capabilities', 'contains_all', ['cuda', 'metal'])).toBe(false);
    expect(holds('capabilities', 'contains_any', ['metal', 'ffmpeg'])).toBe(true);
    expect(holds('capabilities', 'contains_any', ['metal', 'rocm'])).toBe(false);
    expect(holds('zone', 'in', ['z1', 'z3'])).toBe(true);
    expect(holds('zone', 'in', 'z2, z3')).toBe(false);
    expect(holds('profiles', 'in', ['gpu-large'])).toBe(true);
  });

  it('exists / not_exists', () => {
    expect(holds('zone', 'exists', null)).toBe(true);
    expect(holds('rack', 'exists', null)).toBe(false);
    expect(holds('rack', 'not_exists', null)).toBe(true);
    expect(holds('capabilities', 'not_exists', null)).toBe(false);
  });

  it('ordering is numeric when both sides are numbers, else lexical', () => {
    expect(holds('tier', '>', '9')).toBe(true); // numeric: 10 > 9 (lexically "10" < "9")
    expect(holds('tier', '<', '9')).toBe(false);
    expect(holds('tier', '>=', 10)).toBe(true);
    expect(holds('tier', '<=', '10.5')).toBe(true);
    expect(holds('zone', '<', 'z2')).toBe(true); // lexical
    expect(holds('zone', '>', 'z2')).toBe(false);
    expect(holds('missing', '<', '1')).toBe(false);
  });

  it('regexp', () => {
    expect(holds('kernel', 'regexp', '^5\\.')).toBe(true);
    expect(holds('kernel', 'regexp', '^6\\.')).toBe(false);
    expect(holds('missing', 'regexp', '.*')).toBe(false);
  });

  it('version ranges with comma as AND, dotted numeric parts', () => {
    expect(holds('driver_version', 'version', '>= 535, < 600')).toBe(true);
    expect(holds('driver_version', 'version', '>= 536')).toBe(false);
    expect(holds('cuda', 'version', '>= 12.1')).toBe(true);
    expect(holds('cuda', 'version', '~> 12.0')).toBe(true);
    // go-version: a pre-release only satisfies a bound with a pre-release on the same base.
    expect(holds('rev', 'version', '>= 0.6.1')).toBe(false);
    expect(holds('rev', 'version', '= 1.3.0-beta1')).toBe(true);
  });

  it('semver orders pre-releases and rejects ~>', () => {
    expect(holds('rev', 'semver', '>= 0.6.1')).toBe(true);
    expect(holds('rev', 'semver', '>= 1.3.0')).toBe(false);
    expect(holds('rev', 'semver', '= 1.3.0-beta1')).toBe(true);
    expect(holds('kernel', 'semver', '~> 5.0')).toBe(false);
  });

  it('attribute wrappers are stripped', () => {
    expect(canonicalAttribute('${attr.zone}')).toBe('zone');
    expect(canonicalAttribute('${meta.rack}')).toBe('rack');
    expect(canonicalAttribute('attributes.zone')).toBe('zone');
    expect(canonicalAttribute('${node.unique.name}')).toBe('node');
    expect(holds('${attr.zone}', '==', 'z1')).toBe(true);
  });
});

describe('distinct_hosts and distinct_property', () => {
  const nodes = Array.from({ length: 10 }, (_, i) =>
    node(`n${i}@lab`, 16, 65536, { attributes: { rack: i < 5 ? 'r1' : 'r2' } }),
  );

  it('distinct_hosts: 11 agents on 10 nodes place 10 on distinct nodes, 1 fails', () => {
    const m = manifest('g', [
      { node_id: 'w', count: 11, resources: { cpu_cores: 1 }, constraints: [{ operator: 'distinct_hosts' }] },
    ]);
    const p = plan({ nodes }, [m]);
    expect(p.placements).toHaveLength(10);
    expect(new Set(p.placements.map((x) => x.node)).size).toBe(10);
    expect(p.jobs[0]).toMatchObject({ placed: 10, failed: 1 });
    expect(p.failures[0]).toMatchObject({ agent_id: 'w-10', count: 1 });
    expect(p.failures[0]!.filtered).toEqual({ constraints: 10 });
    expect(p.failures[0]!.reason).toContain('constraints not matched');
  });

  it('distinct_hosts holds across the job groups that carry it', () => {
    const m = manifest(
      'g',
      [
        { node_id: 'a', count: 2, resources: { cpu_cores: 1 } },
        { node_id: 'b', count: 2, resources: { cpu_cores: 1 } },
      ],
      { policies: { constraints: [{ operator: 'distinct_hosts' }] } },
    );
    const p = plan({ nodes: nodes.slice(0, 4) }, [m]);
    expect(new Set(p.placements.map((x) => x.node)).size).toBe(4);
  });

  it('distinct_property: at most 2 per rack, 8 asked, 4 placed', () => {
    const m = manifest('g', [
      {
        node_id: 'w',
        count: 8,
        resources: { cpu_cores: 1 },
        constraints: [{ attribute: '${meta.rack}', operator: 'distinct_property', value: 2 }],
      },
    ]);
    const p = plan({ nodes }, [m]);
    expect(p.placements).toHaveLength(4);
    const perRack = { r1: 0, r2: 0 };
    for (const x of p.placements) perRack[Number(x.node.slice(1, -4)) < 5 ? 'r1' : 'r2']++;
    expect(perRack).toEqual({ r1: 2, r2: 2 });
    expect(p.failures[0]!.count).toBe(4);
  });

  it('two distinct_property limits are both enforced', () => {
    const zoned = nodes.map((x, i) => ({ ...x, attributes: { rack: i < 5 ? 'r1' : 'r2', zone: `z${i % 2}` } }));
    const m = manifest('g', [
      {
        node_id: 'w',
        count: 6,
        resources: { cpu_cores: 1 },
        constraints: [
          { attribute: 'rack', operator: 'distinct_property', value: 2 },
          { attribute: 'zone', operator: 'distinct_property', value: 1 },
        ],
      },
    ]);
    const p = plan({ nodes: zoned }, [m]);
    expect(p.placements).toHaveLength(2);
    const zones = p.placements.map((x) => zoned[nodes.findIndex((z) => z.name === x.node)]?.attributes.zone);
    expect(new Set(zones).size).toBe(2);
  });

  it('string constraints in a manifest filter nodes', () => {
    const mixed = [
      node('old@lab', 8, 8192, { attributes: { driver: '470.1' } }),
      node('new@lab', 4, 8192, { attributes: { driver: '550.54' } }),
    ];
    const m = manifest('g', [
      { node_id: 'w', resources: { cpu_cores: 1 }, constraints: [{ attribute: 'driver', operator: 'version', value: '>= 535, < 600' }] },
    ]);
    expect(where(plan({ nodes: mixed }, [m]))).toEqual({ w: 'new@lab' });
  });
});
