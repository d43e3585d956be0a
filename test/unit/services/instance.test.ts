import { describe, expect, it } from 'vitest';
import { ValidationContext } from '../../../src/core/manifest/context.js';
import { parseServices } from '../../../src/core/manifest/services.js';
import { allocationEnv } from '../../../src/core/runtime/allocation-env.js';
import { serviceInstance } from '../../../src/core/services/instance.js';

describe('service instances (spec §5.2)', () => {
  it('§11.2 #19: ports from the allocation, check ports from ${service.port}, meta from the environment', () => {
    const ctx = new ValidationContext();
    const [spec] = parseServices(
      ctx,
      [
        {
          name: 'mcp-collaboration',
          port: '${env.MN_PORT_MCP_COLLABORATION}',
          meta: { job_id: '${env.MN_JOB_ID}' },
          checks: [{ type: 'tcp', port: '${service.port}' }],
        },
      ],
      'nodes[0].services',
    );
    expect(ctx.errors).toEqual([]);
    const env = { ...allocationEnv({ devices: [], ports: [{ label: 'mcp-collaboration', port: 49152 }], volumes: [] }), MN_JOB_ID: 'stable-job-1' };
    const instance = serviceInstance(spec!, { job_id: 'job-1', agent_id: 'mcp_server', node: 'gpu@lab', env });
    expect(instance).toMatchObject({
      id: 'job-1:mcp_server:mcp-collaboration',
      port: 49152,
      job_id: 'job-1',
      agent_id: 'mcp_server',
      meta: { job_id: 'stable-job-1' },
      status: 'warning',
    });
    expect(instance.checks[0]!.port).toBe('49152');
  });

  it('gives job-level services a job id and resolves unknown templates to empty strings', () => {
    const ctx = new ValidationContext();
    const [spec] = parseServices(ctx, [{ name: 'web', address: '${node}', port: 8080, tags: ['${env.MISSING}x'] }], 'services');
    const instance = serviceInstance(spec!, { job_id: 'j', agent_id: null, node: 'a@lab', env: {} });
    expect(instance).toMatchObject({ id: 'j:job:web', address: 'a@lab', port: 8080, tags: ['x'], status: 'passing' });
  });
});
