import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

async function manifestFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mn-cli-'));
  const file = path.join(dir, 'manifest.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('mn validate (the binary)', () => {
  it('prints help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validate/);
  });

  it('accepts the example bundle (exit 0, JSON shape of DESIGN §4.1)', async () => {
    const r = await runCli(['validate', 'examples/fanout', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, errors: [], warnings: [] });
  });

  it('reports every error with its path and exits 1', async () => {
    const file = await manifestFile({
      manifest_version: '1',
      graph_id: 'g',
      entrypoints: ['a'],
      nodes: [
        { node_id: 'a', agent_type: 'executor', resources: { ports: [{ label: 'api', port: 0 }] } },
        { node_id: 'b', agent_type: 'wizard' },
      ],
    });
    const r = await runCli(['validate', file, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.errors.map((e: { path: string }) => e.path)).toEqual(['nodes[0].resources.ports[0].port', 'nodes[1].agent_type']);
    const human = await runCli(['validate', file]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/error: nodes\[1\]\.agent_type: unsupported agent_type "wizard" for node b/);
  });

  it('exits 1 on malformed JSON with line and column', async () => {
    const file = await manifestFile('{\n "graph_id": }');
    const r = await runCli(['validate', file, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors[0].message).toMatch(/line 2, column 14/);
  });

  it('exits 2 on a missing file or a usage error', async () => {
    const missing = await runCli(['validate', '/nonexistent/bundle']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file or folder/);
    expect(missing.stderr).not.toMatch(/at .*\.js:\d+/);
    const usage = await runCli(['validate']);
    expect(usage.code).toBe(2);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
  });
});
