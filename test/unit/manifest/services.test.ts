import { describe, expect, it } from 'vitest';
import { ValidationContext } from '../../../src/core/manifest/context.js';
import { parseChecks, parseServiceRequirements, parseServices } from '../../../src/core/manifest/services.js';
import type { CheckSpec } from '../../../src/core/manifest/types.js';

function services(value: unknown, path = 'services') {
  const ctx = new ValidationContext();
  const list = parseServices(ctx, value, path);
  return { list, ctx, errors: ctx.errors, messages: ctx.errors.map((e) => e.message) };
}

function checks(value: unknown, defaults: { address?: string | null; port?: number | string | null } = {}) {
  const ctx = new ValidationContext();
  const list = parseChecks(ctx, value, 'services[0].checks', defaults);
  return { list, errors: ctx.errors, messages: ctx.errors.map((e) => e.message) };
}

function requirements(value: unknown, path = 'required_services') {
  const ctx = new ValidationContext();
  const list = parseServiceRequirements(ctx, value, path);
  return { list, errors: ctx.errors };
}

const TCP_DEFAULTS: CheckSpec = {
  type: 'tcp',
  name: 'tcp',
  timeout_ms: 2000,
  interval_ms: 10000,
  required: true,
  failures_before_critical: 1,
  address: null,
  port: 8080,
  url: null,
  scheme: 'http',
  path: null,
  method: 'GET',
  expected_status: [],
  contains: null,
  service: null,
  command: null,
};

describe('parseServices', () => {
  it('applies defaults', () => {
    const { list, errors } = services([{ name: 'api' }]);
    expect(errors).toEqual([]);
    expect(list).toEqual([
      { name: 'api', id: null, address: null, port: null, tags: [], meta: {}, provider: 'mirror_neuron', origin: 'internal', required: true, checks: [] },
    ]);
  });

  it('keeps given fields and templates', () => {
    const { list, errors } = services([
      {
        name: 'mcp.collab-1',
        id: 'fixed-id',
        address: '${node}',
        port: '${env.MN_PORT_MCP_COLLABORATION}',
        tags: ['mcp', 'v1'],
        meta: { job_id: '${env.MN_JOB_ID}' },
        provider: 'mirror_neuron',
        origin: 'external',
        required: false,
        checks: [{ type: 'http', path: '/health' }],
      },
    ]);
    expect(errors).toEqual([]);
    expect(list[0]).toMatchObject({
      name: 'mcp.collab-1',
      id: 'fixed-id',
      address: '${node}',
      port: '${env.MN_PORT_MCP_COLLABORATION}',
      tags: ['mcp', 'v1'],
      meta: { job_id: '${env.MN_JOB_ID}' },
      origin: 'external',
      required: false,
    });
    // The check inherits the service's address and port.
    expect(list[0]!.checks[0]).toMatchObject({ type: 'http', name: 'http', address: '${node}', port: '${env.MN_PORT_MCP_COLLABORATION}', path: '/health' });
  });

  it.each(['a', '9', 'A1_b.c-d', 'x'.repeat(128)])('accepts service name %j', (name) => {
    expect(services([{ name }]).errors).toEqual([]);
  });

  it.each([['-a'], ['_a'], ['.a'], ['a b'], ['a/b'], ['x'.repeat(129)], [42], ['ünï']])('rejects service name %j', (name) => {
    const { errors, list } = services([{ name }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('services[0].name');
    expect(errors[0]!.message).toMatch(/^services\[0\]\.name must be a service name/);
    expect(list).toEqual([]);
  });

  it('requires a name', () => {
    expect(services([{}]).errors).toEqual([{ path: 'services[0].name', message: 'services[0].name is required' }]);
    expect(services([{ name: '' }]).errors).toHaveLength(1);
  });

  it.each([[1], [65535], ['${service.port}'], ['${env.PORT}']])('accepts port %j', (port) => {
    expect(services([{ name: 'a', port }]).list[0]!.port).toBe(port);
  });

  it.each([[0], [65536], [-1], [80.5], ['8080'], ['auto'], [true]])('rejects port %j', (port) => {
    const { errors } = services([{ name: 'a', port }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('services[0].port');
    expect(errors[0]!.message).toMatch(/^services\[0\]\.port must be 1\.\.65535 or a template/);
  });

  it('reports each bad field with its path and reason', () => {
    const { errors } = services([
      { name: 'a', tags: 'x', meta: [], provider: 'consul', origin: 'public', required: 'yes', checks: {} },
    ]);
    expect(errors.map((e) => [e.path, e.message.split(',')[0]])).toEqual([
      ['services[0].tags', 'services[0].tags must be a list'],
      ['services[0].meta', 'services[0].meta must be an object'],
      ['services[0].provider', 'services[0].provider must be mirror_neuron'],
      ['services[0].origin', 'services[0].origin must be internal or external'],
      ['services[0].required', 'services[0].required must be a boolean'],
      ['services[0].checks', 'services[0].checks must be a list'],
    ]);
  });

  it('rejects non-string tags by index', () => {
    expect(services([{ name: 'a', tags: ['ok', 3] }]).errors.map((e) => e.path)).toEqual(['services[0].tags[1]']);
  });

  it('rejects a non-list and non-object entries', () => {
    expect(services({ name: 'a' }).messages).toEqual(['services must be a list, got an object']);
    expect(services(['api']).messages).toEqual(['services[0] must be an object, got a string']);
    expect(services(undefined)).toMatchObject({ list: [], errors: [] });
  });

  it('rejects two services that would share an instance id', () => {
    const { errors, list } = services([{ name: 'api' }, { name: 'api' }, { name: 'api', id: 'api-2' }]);
    expect(errors).toEqual([
      { path: 'services[1].name', message: 'services[1] duplicates services[0]: service "api" without a distinct id' },
    ]);
    expect(list.map((s) => s.id)).toEqual([null, 'api-2']);
  });

  it('addresses agent-level services and their checks by node index', () => {
    const ctx = new ValidationContext();
    parseServices(ctx, [{ name: 'a', port: 80, checks: [{ type: 'tcp' }, { type: 'script', command: 'x; y' }] }], 'nodes[3].services');
    expect(ctx.errors).toEqual([
      { path: 'nodes[3].services[0].checks[1].command', message: 'nodes[3].services[0].checks[1].command must be a safe command string or list' },
    ]);
  });

  it('warns about unknown fields', () => {
    const { ctx, errors } = services([{ name: 'a', prot: 80 }]);
    expect(errors).toEqual([]);
    expect(ctx.warnings.map((w) => w.path)).toEqual(['services[0].prot']);
  });
});

describe('parseChecks: defaults and common fields', () => {
  it('defaults to a tcp check on the inherited target', () => {
    const { list, errors } = checks([{}], { port: 8080 });
    expect(errors).toEqual([]);
    expect(list).toEqual([TCP_DEFAULTS]);
  });

  it('lets a check override the inherited address and port', () => {
    const { list } = checks([{ address: '10.0.0.5', port: 9000 }], { address: '127.0.0.1', port: 8080 });
    expect(list[0]).toMatchObject({ address: '10.0.0.5', port: 9000 });
  });

  it('keeps given values', () => {
    const { list, errors } = checks([
      { type: 'HTTP', name: 'ready', timeout_ms: 500, interval_ms: 1000, required: false, failures_before_critical: 3, url: 'http://127.0.0.1:8080/ready', method: 'head', contains: 'ok' },
    ]);
    expect(errors).toEqual([]);
    expect(list[0]).toMatchObject({ type: 'http', name: 'ready', timeout_ms: 500, interval_ms: 1000, required: false, failures_before_critical: 3, method: 'HEAD', contains: 'ok' });
  });

  it('rejects an unknown type', () => {
    expect(checks([{ type: 'icmp', port: 1 }]).messages).toEqual(['services[0].checks[0].type must be http, tcp, script, or grpc, got "icmp"']);
  });

  it.each([[0], [-5], [1.5], ['2000']])('requires positive integers for timings, got %j', (v) => {
    const { errors, list } = checks([{ port: 1, timeout_ms: v, interval_ms: v, failures_before_critical: v }]);
    expect(errors.map((e) => e.path)).toEqual([
      'services[0].checks[0].timeout_ms',
      'services[0].checks[0].interval_ms',
      'services[0].checks[0].failures_before_critical',
    ]);
    expect(errors.every((e) => e.message.includes('must be positive'))).toBe(true);
    expect(list).toEqual([]);
  });

  it('rejects a bad method and a bad check port', () => {
    expect(checks([{ type: 'http', port: 80, method: 'DELETE' }]).messages).toEqual([
      'services[0].checks[0].method must be GET, HEAD, POST, PUT, or PATCH, got "DELETE"',
    ]);
    expect(checks([{ port: 70000 }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].port']);
  });

  it('accepts every method', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH']) {
      expect(checks([{ type: 'http', port: 80, method }]).list[0]!.method).toBe(method);
    }
  });

  it('rejects non-object checks and non-list values', () => {
    expect(checks(['tcp']).messages).toEqual(['services[0].checks[0] must be an object, got a string']);
    expect(checks('tcp').messages).toEqual(['services[0].checks must be a list, got a string']);
  });
});

describe('parseChecks: expected_status', () => {
  const status = (expected_status: unknown) => checks([{ type: 'http', port: 80, expected_status }]);

  it.each([
    [200, [[200, 200]]],
    [[200, 204], [[200, 200], [204, 204]]],
    ['200..299', [[200, 299]]],
    ['200-299', [[200, 299]]],
    [' 200 .. 299 ', [[200, 299]]],
    ['404', [[404, 404]]],
    [['200..299', 404], [[200, 299], [404, 404]]],
    [[100, 599], [[100, 100], [599, 599]]],
  ])('%j → %j', (value, ranges) => {
    const { list, errors } = status(value);
    expect(errors).toEqual([]);
    expect(list[0]!.expected_status).toEqual(ranges);
  });

  it('defaults to no ranges (any 200..399)', () => {
    expect(status(undefined).list[0]!.expected_status).toEqual([]);
  });

  it.each([[99], [600], [200.5], ['299..200'], ['abc'], ['600'], ['200..600'], ['2xx'], [true], [{}]])('rejects %j', (value) => {
    const { errors } = status(value);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('services[0].checks[0].expected_status');
    expect(errors[0]!.message).toContain('must be an HTTP status 100..599');
  });

  it('addresses bad list items by index and rejects an empty list', () => {
    expect(status([200, 700, '1..2']).errors.map((e) => e.path)).toEqual([
      'services[0].checks[0].expected_status[1]',
      'services[0].checks[0].expected_status[2]',
    ]);
    expect(status([]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].expected_status']);
  });
});

describe('parseChecks: per-type targets', () => {
  it('needs a url or a port for http', () => {
    expect(checks([{ type: 'http', path: '/health' }]).messages).toEqual([
      'services[0].checks[0] is an http check and needs a url, or a port (on the check or its service) with an optional path',
    ]);
    expect(checks([{ type: 'http', path: '/health' }], { port: 8080 }).errors).toEqual([]);
    expect(checks([{ type: 'http', url: 'https://example.test/health' }]).list[0]!.url).toBe('https://example.test/health');
    expect(checks([{ type: 'http', url: 'http://${service.address}:${service.port}/h' }]).errors).toEqual([]);
    expect(checks([{ type: 'http', port: 80, scheme: 'HTTPS' }]).list[0]!.scheme).toBe('https');
  });

  it('rejects a bad url, path and scheme', () => {
    expect(checks([{ type: 'http', url: 'ftp://x/y' }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].url']);
    expect(checks([{ type: 'http', url: 'not a url' }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].url']);
    expect(checks([{ type: 'http', port: 80, path: 'health' }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].path']);
    expect(checks([{ type: 'http', port: 80, scheme: 'gopher' }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].scheme']);
  });

  it('needs a port for tcp and grpc', () => {
    expect(checks([{ type: 'tcp' }]).errors).toEqual([
      { path: 'services[0].checks[0].port', message: 'services[0].checks[0] is a tcp check and needs a port (on the check or its service)' },
    ]);
    expect(checks([{ type: 'grpc' }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].port']);
    const grpc = checks([{ type: 'grpc', service: 'mirrorneuron.health.v1' }], { port: 50051 });
    expect(grpc.errors).toEqual([]);
    expect(grpc.list[0]).toMatchObject({ type: 'grpc', service: 'mirrorneuron.health.v1', port: 50051 });
    expect(checks([{ type: 'grpc', port: 1, service: 5 }]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].service']);
  });
});

describe('parseChecks: script command', () => {
  const script = (command: unknown) => checks([{ type: 'script', command }]);
  const UNSAFE = 'services[0].checks[0].command must be a safe command string or list';

  it('takes an argv list as is', () => {
    const { list, errors } = script(['bash', '-c', 'curl localhost; rm -rf /tmp/x | tee y']);
    expect(errors).toEqual([]);
    expect(list[0]!.command).toEqual(['bash', '-c', 'curl localhost; rm -rf /tmp/x | tee y']);
  });

  it('splits a safe string on whitespace', () => {
    expect(script('  curl  -fsS\thttp://127.0.0.1:8080/health ').list[0]!.command).toEqual(['curl', '-fsS', 'http://127.0.0.1:8080/health']);
    expect(script('check --port ${service.port} $HOME').list[0]!.command).toEqual(['check', '--port', '${service.port}', '$HOME']);
  });

  it('rejects the documented unsafe example', () => {
    expect(script('curl localhost; rm -rf /').errors).toEqual([{ path: 'services[0].checks[0].command', message: UNSAFE }]);
  });

  it.each([
    ['semicolon', 'a ; b'],
    ['ampersand', 'a & b'],
    ['and-list', 'a && b'],
    ['pipe', 'a | b'],
    ['backtick', 'echo `id`'],
    ['input redirect', 'a < /etc/passwd'],
    ['output redirect', 'a > /tmp/x'],
    ['command substitution', 'echo $(id)'],
    ['newline', 'a\nb'],
    ['carriage return', 'a\rb'],
  ])('rejects a string with a %s', (_what, command) => {
    const { errors, list } = script(command);
    expect(errors).toEqual([{ path: 'services[0].checks[0].command', message: UNSAFE }]);
    expect(list).toEqual([]);
  });

  it('requires a command for script checks', () => {
    expect(checks([{ type: 'script' }]).messages).toEqual(['services[0].checks[0].command is required for a script check']);
    expect(script('   ').errors.map((e) => e.path)).toEqual(['services[0].checks[0].command']);
    expect(script([]).errors.map((e) => e.path)).toEqual(['services[0].checks[0].command']);
    expect(script(['']).errors.map((e) => e.path)).toEqual(['services[0].checks[0].command[0]']);
  });

  it('rejects non-string argv items and other types', () => {
    expect(script(['ls', 3]).errors).toEqual([
      { path: 'services[0].checks[0].command[1]', message: `${UNSAFE}: services[0].checks[0].command[1] must be a string, got a number` },
    ]);
    expect(script({ cmd: 'ls' }).messages).toEqual([`${UNSAFE}, got an object`]);
  });
});

describe('parseServiceRequirements', () => {
  it('applies defaults; origin stays null unless given', () => {
    const { list, errors } = requirements([{ name: 'vllm' }, 'redis', { name: 'db', origin: 'external', tags: ['primary'], required: false }]);
    expect(errors).toEqual([]);
    expect(list).toEqual([
      { name: 'vllm', tags: [], origin: null, required: true, address: null, port: null, checks: [] },
      { name: 'redis', tags: [], origin: null, required: true, address: null, port: null, checks: [] },
      { name: 'db', tags: ['primary'], origin: 'external', required: false, address: null, port: null, checks: [] },
    ]);
  });

  it('keeps a direct target and gives its checks that target', () => {
    const { list, errors } = requirements([{ name: 'vllm', address: '10.0.0.9', port: 8000, checks: [{ type: 'http', path: '/v1/models' }] }]);
    expect(errors).toEqual([]);
    expect(list[0]).toMatchObject({ address: '10.0.0.9', port: 8000 });
    expect(list[0]!.checks[0]).toMatchObject({ type: 'http', address: '10.0.0.9', port: 8000, path: '/v1/models' });
  });

  it('reports bad fields with node-level paths', () => {
    const { errors, list } = requirements([{ tags: 'gpu' }, { name: 'x y' }, { name: 'ok', origin: 'cloud', port: 0, required: 'no' }, 7], 'nodes[2].requires_services');
    expect(errors.map((e) => e.path)).toEqual([
      'nodes[2].requires_services[0].name',
      'nodes[2].requires_services[0].tags',
      'nodes[2].requires_services[1].name',
      'nodes[2].requires_services[2].origin',
      'nodes[2].requires_services[2].required',
      'nodes[2].requires_services[2].port',
      'nodes[2].requires_services[3]',
    ]);
    expect(errors[0]!.message).toBe('nodes[2].requires_services[0].name is required');
    expect(list.map((r) => r.name)).toEqual(['ok']);
  });

  it('rejects a non-list', () => {
    expect(requirements('vllm').errors).toEqual([{ path: 'required_services', message: 'required_services must be a list, got a string' }]);
  });
});

describe('check_restart (DESIGN §4.4)', () => {
  it('parses limit and grace_ms (grace defaults to 0)', () => {
    expect(checks([{ type: 'tcp', port: 80, check_restart: { limit: 3, grace_ms: 5000 } }]).list[0]?.check_restart).toEqual({ limit: 3, grace_ms: 5000 });
    expect(checks([{ type: 'tcp', port: 80, check_restart: { limit: 1 } }]).list[0]?.check_restart).toEqual({ limit: 1, grace_ms: 0 });
    expect(checks([{ type: 'tcp', port: 80 }]).list[0]?.check_restart).toBeUndefined();
  });

  it('names the field of each mistake and drops the check', () => {
    const missing = checks([{ type: 'tcp', port: 80, check_restart: { grace_ms: 10 } }]);
    expect(missing.list).toEqual([]);
    expect(missing.errors).toEqual([expect.objectContaining({ path: 'services[0].checks[0].check_restart.limit' })]);
    const zero = checks([{ type: 'tcp', port: 80, check_restart: { limit: 0 } }]);
    expect(zero.errors[0]?.path).toBe('services[0].checks[0].check_restart.limit');
    const negative = checks([{ type: 'tcp', port: 80, check_restart: { limit: 2, grace_ms: -1 } }]);
    expect(negative.errors[0]?.path).toBe('services[0].checks[0].check_restart.grace_ms');
    const notObject = checks([{ type: 'tcp', port: 80, check_restart: 3 }]);
    expect(notObject.errors[0]).toMatchObject({ path: 'services[0].checks[0].check_restart', message: expect.stringContaining('must be an object') });
  });
});
