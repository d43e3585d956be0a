import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { expandAgents } from '../../../src/core/manifest/expand.js';
import type { ValidationIssue } from '../../../src/core/manifest/types.js';

type Manifest = Record<string, any>;

function base(): Manifest {
  return {
    manifest_version: '1.0',
    graph_id: 'g',
    entrypoints: ['a'],
    nodes: [
      { node_id: 'a', agent_type: 'router', config: { emit_type: 'x' } },
      { node_id: 'w', agent_type: 'executor', resources: { cpu_cores: 1, memory_mb: 512 } },
    ],
    edges: [{ edge_id: 'e0', from_node: 'a', to_node: 'w', message_type: 'x' }],
  };
}

function errors(m: unknown): ValidationIssue[] {
  const r = validateManifest(m);
  expect(r.ok).toBe(false);
  return r.errors;
}

function messages(m: unknown): string[] {
  return errors(m).map((e) => e.message);
}

function job(m: unknown) {
  const r = validateManifest(m);
  expect(r.errors).toEqual([]);
  expect(r.ok).toBe(true);
  return r.job!;
}

describe('spec §11.1 manifest validation', () => {
  it('1: edge to a missing node', () => {
    const m = base();
    m.edges = [{ edge_id: 'e1', from_node: 'a', to_node: 'ghost', message_type: 'x' }];
    const errs = errors(m);
    expect(errs).toContainEqual({ path: 'edges[0].to_node', message: 'edge e1 references missing to_node ghost' });
  });

  it('2: edge without message_type', () => {
    const m = base();
    delete m.edges[0].message_type;
    expect(messages(m)).toContain('edge e0 must define message_type');
  });

  it('3: duplicate node ids', () => {
    const m = base();
    m.nodes.push({ node_id: 'w', agent_type: 'executor' });
    const errs = errors(m);
    expect(errs).toContainEqual({ path: 'nodes[2].node_id', message: 'duplicate node_id w' });
  });

  it('4: entrypoint naming an unknown node', () => {
    const m = base();
    m.entrypoints = ['nope'];
    expect(messages(m)).toContain('entrypoint nope does not reference a known node');
  });

  it('5: no entrypoints and no root role', () => {
    const m = base();
    delete m.entrypoints;
    expect(messages(m)).toContain('manifest must define at least one entrypoint or one node with role root/root_coordinator');
    m.nodes[0].role = 'root';
    expect(job(m).entrypoints).toEqual(['a']);
  });

  it('6: unknown agent_type', () => {
    const m = base();
    m.nodes[1] = { node_id: 'n', agent_type: 'wizard' };
    m.edges = [];
    const errs = errors(m);
    expect(errs).toContainEqual({ path: 'nodes[1].agent_type', message: 'unsupported agent_type "wizard" for node n' });
  });

  it('7: template type not supported for the agent type', () => {
    const m = base();
    m.nodes[0].type = 'reduce';
    const msg = messages(m).join('\n');
    expect(msg).toMatch(/reduce/);
    expect(msg).toMatch(/router/);
    expect(msg).toMatch(/node a/);
  });

  it('8: legacy and unknown manifest types', () => {
    const m = base();
    m.type = 'daemon';
    expect(messages(m)).toContain('daemon is no longer supported; use type service');
    m.type = 'cron';
    expect(messages(m).some((s) => s.startsWith('type must be service or omitted for batch'))).toBe(true);
    m.type = 'SERVICE';
    expect(job(m).policies.job_type).toBe('service');
  });

  it('9: unknown recovery_mode', () => {
    const m = base();
    m.policies = { recovery_mode: 'yolo' };
    expect(messages(m).some((s) => s.startsWith('unsupported recovery_mode "yolo"'))).toBe(true);
  });

  it('10: unknown routing_mode', () => {
    const m = base();
    m.edges[0].routing_mode = 'random';
    expect(messages(m).some((s) => s.startsWith('edge e0 has unsupported routing_mode'))).toBe(true);
  });

  it('11: missing graph_id and manifest_version', () => {
    const m = base();
    delete m.graph_id;
    delete m.manifest_version;
    const msgs = messages(m);
    expect(msgs).toContain('graph_id is required');
    expect(msgs).toContain('manifest_version is required');
  });

  it('12: bad update policy reports every field', () => {
    const m = base();
    m.policies = { update: { strategy: 'teleport', max_parallel: -1, auto_promote: 'yes' } };
    const paths = errors(m).map((e) => e.path);
    expect(paths).toContain('policies.update.strategy');
    expect(paths).toContain('policies.update.max_parallel');
    expect(paths).toContain('policies.update.auto_promote');
  });

  it('13: duplicate port label and out-of-range port', () => {
    const m = base();
    m.nodes[1].resources.ports = [
      { label: 'api', port: 8080 },
      { label: 'api', port: 9090 },
    ];
    expect(messages(m)).toContain('duplicate port label "api" for node w');
    m.nodes[1].resources.ports = [{ label: 'api', port: 70000 }];
    const errs = errors(m);
    expect(errs[0]!.path).toBe('nodes[1].resources.ports[0].port');
    expect(errs[0]!.message).toMatch(/\.port must be between 1 and 65535/);
  });

  it('14: relative volume source and bad mode', () => {
    const m = base();
    m.nodes[1].resources.volumes = [{ name: 'models', source: 'models', target: '/models', mode: 'wx' }];
    const errs = errors(m);
    expect(errs.find((e) => e.path === 'nodes[1].resources.volumes[0].source')?.message).toMatch(/source must be an absolute host path/);
    expect(errs.find((e) => e.path === 'nodes[1].resources.volumes[0].mode')?.message).toMatch(/mode must be ro or rw/);
  });

  it('15: device count of zero', () => {
    const m = base();
    m.nodes[1].resources.devices = [{ kind: 'gpu', count: 0 }];
    const errs = errors(m);
    expect(errs).toContainEqual({
      path: 'nodes[1].resources.devices[0].count',
      message: 'resources.devices[0] for node w.count must be greater than zero',
    });
  });

  it('16: periodic schedule without cron', () => {
    const m = base();
    m.schedule = { kind: 'periodic' };
    expect(messages(m).some((s) => s.includes('schedule: periodic schedules require cron or crons'))).toBe(true);
  });
});

describe('spec §11.2 resources', () => {
  it('17: cpu milli-cores, memory_gb and vendor-qualified GPU devices', () => {
    const m = base();
    m.nodes[1].resources = { cpu: 1500 };
    expect(job(m).nodes[1]!.resources.cpu_cores).toBe(1.5);
    m.nodes[1].resources = { cpu: 1000, memory_gb: 4, devices: [{ type: 'nvidia/gpu', count: 2 }] };
    const r = job(m).nodes[1]!.resources;
    expect(r).toMatchObject({ cpu_cores: 1, memory_mb: 4096, gpu_count: 2 });
    expect(r.devices[0]).toMatchObject({ kind: 'gpu', vendor: 'nvidia', count: 2 });
  });

  it('accepts every alias and converts units', () => {
    const m = base();
    m.nodes[1].resources = { cores: 2, memory: 100, disk_gb: 2, gpus: 1 };
    expect(job(m).nodes[1]!.resources).toMatchObject({ cpu_cores: 2, memory_mb: 100, disk_mb: 2048, gpu_count: 1 });
    m.nodes[1].resources = { cpu_millis: 250 };
    expect(job(m).nodes[1]!.resources.cpu_cores).toBe(0.25);
  });

  it('rejects negative, non-numeric and doubly given scalars', () => {
    const m = base();
    m.nodes[1].resources = { cpu_cores: -1, memory_mb: 'lots', disk_mb: 1, disk: 2 };
    const errs = errors(m);
    expect(errs.map((e) => e.path)).toEqual(
      expect.arrayContaining(['nodes[1].resources.cpu_cores', 'nodes[1].resources.memory_mb', 'nodes[1].resources.disk']),
    );
  });

  it('infers the runtime driver from runner_module and validates an explicit one', () => {
    const m = base();
    m.nodes[1].config = { runner_module: 'MirrorNeuron.Runner.OpenShell' };
    expect(job(m).nodes[1]!.resources.runtime_driver).toBe('openshell');
    m.nodes[1].resources.runtime_driver = '';
    expect(messages(m)).toContain('runtime_driver for node w must not be empty');
  });

  it('reads resources and constraints from config when not given at node level', () => {
    const m = base();
    m.nodes[1] = { node_id: 'w', agent_type: 'executor', config: { resources: { cpu_cores: 3 }, constraints: ['cuda'] } };
    const n = job(m).nodes[1]!;
    expect(n.resources.cpu_cores).toBe(3);
    expect(n.constraints).toEqual([{ attribute: 'capabilities', operator: 'contains', value: 'cuda' }]);
  });

  it('validates device memory and API operators', () => {
    const m = base();
    m.nodes[1].resources.devices = [{ kind: 'gpu', min_memory_mb: -5, memory_operator: '<', api_version_operator: '~' }];
    const paths = errors(m).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'nodes[1].resources.devices[0].min_memory_mb',
        'nodes[1].resources.devices[0].memory_operator',
        'nodes[1].resources.devices[0].api_version_operator',
      ]),
    );
    m.nodes[1].resources.devices = [{ kind: 'gpu', min_memory_mb: 16000, memory_operator: '=', min_api_version: '12.1' }];
    expect(job(m).nodes[1]!.resources.devices[0]).toMatchObject({ memory_operator: '==', min_api_version: '12.1' });
  });
});

describe('constraints and spread', () => {
  it('normalises forms, aliases and attribute names', () => {
    const m = base();
    m.policies = { constraints: [{ attribute: '${attr.zone}', operator: '=', value: 'z1' }] };
    m.nodes[1].constraints = [
      'cuda',
      { target: 'node.unique.name', operand: 'regexp', r_target: '^gpu-' },
      { attribute: 'driver_version', operator: 'version', value: '>= 535, < 600' },
      { operator: 'distinct_hosts' },
      { attribute: 'rack', operator: 'distinct_property', value: 2 },
      { attribute: 'capabilities', operator: 'set_contains_any', value: 'fp16, fp8' },
    ];
    const c = job(m).nodes[1]!.constraints;
    expect(c).toEqual([
      { attribute: 'zone', operator: '==', value: 'z1' },
      { attribute: 'capabilities', operator: 'contains', value: 'cuda' },
      { attribute: 'node', operator: 'regexp', value: '^gpu-' },
      { attribute: 'driver_version', operator: 'version', value: '>= 535, < 600' },
      { attribute: 'node', operator: 'distinct_hosts', value: null },
      { attribute: 'rack', operator: 'distinct_property', value: 2 },
      { attribute: 'capabilities', operator: 'contains_any', value: ['fp16', 'fp8'] },
    ]);
  });

  it('converts an object map to a list', () => {
    const m = base();
    m.nodes[1].constraints = { zone: 'z1', arch: { operator: '!=', value: 'arm64' } };
    expect(job(m).nodes[1]!.constraints).toEqual([
      { attribute: 'zone', operator: '==', value: 'z1' },
      { attribute: 'arch', operator: '!=', value: 'arm64' },
    ]);
  });

  it('rejects unknown operators, bad regexps, bad version ranges and wrong container types', () => {
    const m = base();
    m.nodes[1].constraints = [
      { attribute: 'zone', operator: 'like', value: 'z' },
      { attribute: 'name', operator: 'regexp', value: '(' },
      { attribute: 'v', operator: 'semver', value: 'newest' },
      { attribute: 'rack', operator: 'distinct_property', value: 0 },
    ];
    const paths = errors(m).map((e) => e.path);
    expect(paths).toEqual([
      'nodes[1].constraints[0].operator',
      'nodes[1].constraints[1].value',
      'nodes[1].constraints[2].value',
      'nodes[1].constraints[3].value',
    ]);
    m.nodes[1].constraints = 42;
    expect(messages(m)).toContain('constraints for node w must be a list or object, got a number');
  });

  it('parses spread blocks at job and node level', () => {
    const m = base();
    m.policies = { scheduler: { spread: [{ attribute: 'zone' }] } };
    m.nodes[1].spread = [{ attribute: 'rack', weight: 50, targets: [{ value: 'r1', percent: 60 }, { value: 'r2', percent: 40 }] }];
    expect(job(m).nodes[1]!.spread).toEqual([
      { attribute: 'zone', weight: 100, targets: [] },
      { attribute: 'rack', weight: 50, targets: [{ value: 'r1', percent: 60 }, { value: 'r2', percent: 40 }] },
    ]);
    m.nodes[1].spread = [{ attribute: 'rack', targets: [{ value: 'r1', percent: 70 }, { value: 'r2', percent: 40 }] }];
    expect(messages(m).some((s) => s.includes('add up to 110'))).toBe(true);
  });
});

describe('policies', () => {
  it('resolves job type, strategy and restart overrides', () => {
    const m = base();
    m.policies = {
      scheduler: { job_type: 'sysbatch', strategy: 'spread' },
      restart: { attempts: 5, delay_function: 'fibonacci' },
      reschedule: { unlimited: true },
    };
    const j = job(m);
    expect(j.policies).toMatchObject({
      job_type: 'sysbatch',
      strategy: 'spread',
      restart: { attempts: 5, delay_function: 'fibonacci' },
      reschedule: { unlimited: true },
      recovery_mode: 'auto',
    });
    expect(j.policies.update).toMatchObject({ strategy: 'rolling', max_parallel: 1, healthy_deadline_ms: 300000 });
  });

  it('rejects bad restart values with their path', () => {
    const m = base();
    m.policies = { restart: { attempts: -2, delay_function: 'random', mode: 'explode', enabled: 'yes' } };
    m.nodes[1].policies = { restart: 'always' };
    const paths = errors(m).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'policies.restart.attempts',
        'policies.restart.delay_function',
        'policies.restart.mode',
        'policies.restart.enabled',
        'nodes[1].policies.restart',
      ]),
    );
  });

  it('rejects auto_promote on a canary deployment without canaries', () => {
    const m = base();
    m.policies = { update: { strategy: 'canary', auto_promote: true } };
    expect(messages(m)).toContain('policies.update.auto_promote requires canary > 0 for canary deployments');
  });

  it('validates priority', () => {
    const m = base();
    expect(job(m).priority).toBe(50);
    m.priority = 101;
    expect(errors(m)[0]!.path).toBe('priority');
  });
});

describe('edges and conditions', () => {
  it('parses condition trees and expressions', () => {
    const m = base();
    m.edges[0].routing_mode = 'first_match';
    m.edges[0].conditions = { all: ['${payload.score} >= 0.5', { not: { path: 'payload.kind', op: '==', value: 'spam' } }] };
    const e = job(m).edges[0]!;
    expect(e.routing_mode).toBe('first_match');
    expect(e.conditions).toEqual({
      all: [{ path: 'payload.score', op: '>=', value: 0.5 }, { not: { path: 'payload.kind', op: '==', value: 'spam' } }],
    });
  });

  it('reports invalid conditions naming the edge', () => {
    const m = base();
    m.edges[0].conditions = { any: ['score is high'] };
    expect(messages(m).some((s) => s.startsWith('edge e0 has invalid conditions'))).toBe(true);
  });
});

describe('fan-out', () => {
  it('expands count into agents with ${index} and ${count}', () => {
    const m = base();
    m.nodes[1].count = 3;
    m.nodes[1].config = { shard: '${index}', label: 'shard ${index} of ${count}', fixed: 'x' };
    const j = job(m);
    expect(j.agent_count).toBe(4);
    const agents = expandAgents(j);
    expect(agents.map((a) => a.agent_id)).toEqual(['a', 'w-0', 'w-1', 'w-2']);
    expect(agents[2]).toMatchObject({ source_node_id: 'w', index: 1, config: { shard: 1, label: 'shard 1 of 3', fixed: 'x' } });
    expect(agents[1]!.node).toBe(agents[3]!.node);
  });

  it('shares the config object when it has no fan-out template', () => {
    const m = base();
    m.nodes[1].count = 2;
    m.nodes[1].config = { fixed: 1 };
    const agents = expandAgents(job(m));
    expect(agents[1]!.config).toBe(agents[2]!.config);
  });

  it('rejects a count that is not a positive integer and colliding agent ids', () => {
    const m = base();
    m.nodes[1].count = 0;
    expect(errors(m)[0]!.path).toBe('nodes[1].count');
    m.nodes[1].count = 2.5;
    expect(errors(m)[0]!.path).toBe('nodes[1].count');
    m.nodes[1].count = 3;
    m.nodes.push({ node_id: 'w-1', agent_type: 'executor' });
    expect(messages(m)).toContain('agent w-1 of node w (count 3) collides with node w-1');
  });

  it('validates 10,000 explicit nodes and a count of 100,000', () => {
    const many = base();
    for (let i = 0; i < 10_000; i++) many.nodes.push({ node_id: `n${i}`, agent_type: 'executor', resources: { cpu_cores: 1 } });
    expect(expandAgents(job(many))).toHaveLength(10_002);
    const wide = base();
    wide.nodes[1].count = 100_000;
    const agents = expandAgents(job(wide));
    expect(agents).toHaveLength(100_001);
    expect(agents[100_000]!.agent_id).toBe('w-99999');
  });
});

describe('bad input never throws', () => {
  it('reports malformed JSON text with line and column', () => {
    const r = validateManifest('{\n  "graph_id": "g",\n  "nodes": [,]\n}');
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.message).toMatch(/line 3, column 13/);
  });

  it('rejects non-object manifests', () => {
    for (const input of [null, 42, [], 'null', '[1]', true]) {
      const r = validateManifest(input);
      expect(r.ok).toBe(false);
      expect(r.errors[0]!.message).toMatch(/manifest must be a JSON object/);
    }
  });

  it('reports wrong types everywhere with their paths, all in one run', () => {
    const r = validateManifest({
      manifest_version: 1,
      graph_id: '',
      nodes: [{ node_id: 7, agent_type: 'executor', config: [], resources: 'big', services: 'web' }, 'x'],
      edges: {},
      policies: [],
      metadata: 'm',
    });
    const paths = r.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'manifest_version',
        'graph_id',
        'nodes[0].node_id',
        'nodes[0].config',
        'nodes[0].resources',
        'nodes[1]',
        'edges',
        'policies',
        'metadata',
      ]),
    );
  });

  it('keeps unknown top-level keys as extensions and warns about unknown node fields', () => {
    const m = base();
    m.contract = { version: 2 };
    m.nodes[1].resoruces = {};
    const r = validateManifest(m);
    expect(r.ok).toBe(true);
    expect(r.job!.extensions).toEqual({ contract: { version: 2 } });
    expect(r.warnings).toContainEqual({ path: 'nodes[1].resoruces', message: 'unknown field "resoruces" on node w is ignored' });
  });
});

describe('templates', () => {
  it('resolves config and env templates, keeping value types for whole-string config templates', () => {
    const m = base();
    m.nodes[1].count = '${config.workers}';
    m.nodes[1].config = { model: '${config.model.name}', home: '${env.MODEL_HOME}/x' };
    const r = validateManifest(m, { config: { workers: 4, model: { name: 'llama' } }, env: { MODEL_HOME: '/srv' } });
    expect(r.errors).toEqual([]);
    expect(r.job!.nodes[1]).toMatchObject({ count: 4, config: { model: 'llama', home: '/srv/x' } });
  });

  it('reports an unresolvable template naming its field', () => {
    const m = base();
    m.nodes[1].config = { model: '${config.model.name}', token: '${env.NOPE_TOKEN}' };
    const errs = validateManifest(m, { config: {}, env: {} }).errors;
    expect(errs).toContainEqual({
      path: 'nodes[1].config.model',
      message: 'nodes[1].config.model: unresolved template ${config.model.name}: config has no value at model.name',
    });
    expect(errs.map((e) => e.path)).toContain('nodes[1].config.token');
  });

  it('defers env templates inside services to run time', () => {
    const m = base();
    m.nodes[1].services = [{ name: 'api', port: '${env.MN_PORT_API}' }];
    const r = validateManifest(m, { env: {} });
    expect(r.errors).toEqual([]);
    expect(r.job!.nodes[1]!.services[0]!.port).toBe('${env.MN_PORT_API}');
  });
});

describe('kill_timeout_ms', () => {
  it('defaults to 30 s for batch jobs and 60 s for service jobs, and keeps a valid value', () => {
    expect(validateManifest(base()).job!.nodes.map((n) => n.kill_timeout_ms)).toEqual([30_000, 30_000]);
    expect(validateManifest({ ...base(), type: 'service' }).job!.nodes[1]!.kill_timeout_ms).toBe(60_000);
    const m = base();
    m.nodes[1].kill_timeout_ms = 0;
    expect(validateManifest(m).job!.nodes[1]!.kill_timeout_ms).toBe(0);
    m.nodes[1].kill_timeout_ms = 1500;
    expect(validateManifest(m).job!.nodes[1]!.kill_timeout_ms).toBe(1500);
  });

  it('refuses a negative, fractional, too large or non-numeric value, naming the field', () => {
    for (const bad of [-1, 1.5, 3_600_001, '10s']) {
      const m = base();
      m.nodes[1].kill_timeout_ms = bad;
      expect(errors(m)).toEqual([{ path: 'nodes[1].kill_timeout_ms', message: `nodes[1].kill_timeout_ms must be an integer between 0 and 3600000 (milliseconds between SIGTERM and SIGKILL), got ${JSON.stringify(bad)}` }]);
    }
  });
});

describe('large manifests: the per-node checks give the same findings', () => {
  it('reports every fan-out collision, in node order and then id order, and only real ones', () => {
    const m = base();
    m.nodes.push(
      { node_id: 'a-b', agent_type: 'executor', count: 3 },
      { node_id: 'a-b-2', agent_type: 'executor' },
      { node_id: 'a-b-3', agent_type: 'executor' }, // beyond count 3
      { node_id: 'a-b-01', agent_type: 'executor' }, // a leading zero is not a fan-out index
      { node_id: 'x', agent_type: 'executor', count: 5 },
      { node_id: 'x-4', agent_type: 'executor' },
      { node_id: 'a-b-0', agent_type: 'executor' },
      { node_id: 'x-0', agent_type: 'executor' },
      { node_id: 'x-b-1', agent_type: 'executor' }, // belongs to no fanned-out node
    );
    expect(errors(m)).toEqual([
      { path: 'nodes[2].count', message: 'agent a-b-2 of node a-b (count 3) collides with node a-b-2' },
      { path: 'nodes[2].count', message: 'agent a-b-0 of node a-b (count 3) collides with node a-b-0' },
      { path: 'nodes[6].count', message: 'agent x-4 of node x (count 5) collides with node x-4' },
      { path: 'nodes[6].count', message: 'agent x-0 of node x (count 5) collides with node x-0' },
    ]);
  });

  it('finds a collision among 20,000 fanned-out nodes', () => {
    const m = base();
    for (let i = 0; i < 20_000; i++) m.nodes.push({ node_id: `n${i}`, agent_type: 'executor', count: 2 });
    m.nodes.push({ node_id: 'n19999-1', agent_type: 'executor' });
    expect(errors(m)).toEqual([{ path: 'nodes[20001].count', message: 'agent n19999-1 of node n19999 (count 2) collides with node n19999-1' }]);
  });

  it('refuses a node id with any whitespace or "@"', () => {
    for (const id of ['a b', 'a\tb', 'a\nb', 'a\u00a0b', 'a\u2003b', 'a\ufeffb', 'a@b']) {
      const m = base();
      m.nodes[1].node_id = id;
      m.edges = [];
      m.entrypoints = ['a'];
      expect(errors(m)).toContainEqual({ path: 'nodes[1].node_id', message: `node_id ${JSON.stringify(id)} must not contain "@" or whitespace` });
    }
  });

  it('names the field of a bad count, profile, role and resources alias on a node', () => {
    const m = base();
    m.nodes[1].count = 'many';
    m.nodes[1].config = { execution_profile: 7 };
    m.nodes[1].role = ' ';
    m.nodes[1].resources = { cpu_cores: 1, cores: 2, memory_mb: -1 };
    expect(errors(m)).toEqual([
      { path: 'nodes[1].count', message: 'nodes[1].count must be an integer between 1 and 1000000, got "many"' },
      { path: 'nodes[1].resources.cores', message: 'resources for node w give both cpu_cores and cores; use one' },
      { path: 'nodes[1].resources.memory_mb', message: 'nodes[1].resources.memory_mb for node w must be zero or greater, got -1' },
      { path: 'nodes[1].config.execution_profile', message: 'nodes[1].config.execution_profile must be a string, got a number' },
      { path: 'nodes[1].role', message: 'nodes[1].role must not be empty' },
    ]);
  });
});
