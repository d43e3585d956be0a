import { mkdtemp, mkdir, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/bundle/load.js';
import { ROOT } from '../helpers/cli.js';

let dir: string;

async function bundle(manifest: unknown, config: { default?: unknown; overwrite?: unknown } = {}): Promise<string> {
  await writeFile(path.join(dir, 'manifest.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2));
  if (config.default !== undefined || config.overwrite !== undefined) await mkdir(path.join(dir, 'config'), { recursive: true });
  if (config.default !== undefined) await writeFile(path.join(dir, 'config', 'default.json'), JSON.stringify(config.default));
  if (config.overwrite !== undefined) await writeFile(path.join(dir, 'config', 'overwrite.json'), JSON.stringify(config.overwrite));
  return dir;
}

const manifest = {
  manifest_version: '1.0',
  graph_id: '${config.name}',
  entrypoints: ['w'],
  nodes: [{ node_id: 'w', agent_type: 'executor', count: '${config.scale.workers}', config: { model: '${config.model}' } }],
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mn-bundle-'));
});

describe('loadBundle', () => {
  it('deep-merges config/default.json with config/overwrite.json (overwrite wins)', async () => {
    await bundle(manifest, {
      default: { name: 'demo', model: 'small', scale: { workers: 2, queue: 10 } },
      overwrite: { model: 'large', scale: { workers: 5 } },
    });
    const r = await loadBundle(dir, {});
    expect(r.errors).toEqual([]);
    expect(r.config).toEqual({ name: 'demo', model: 'large', scale: { workers: 5, queue: 10 } });
    expect(r.job).toMatchObject({ graph_id: 'demo', agent_count: 5, nodes: [{ config: { model: 'large' } }] });
  });

  it('accepts a manifest file path as well as a folder', async () => {
    await bundle({ ...manifest, graph_id: 'g', nodes: [{ node_id: 'w', agent_type: 'executor' }] });
    const r = await loadBundle(path.join(dir, 'manifest.json'), {});
    expect(r.ok).toBe(true);
  });

  it('names the field of an unresolvable template', async () => {
    await bundle(manifest, { default: { name: 'demo', scale: { workers: 1 } } });
    const r = await loadBundle(dir, {});
    expect(r.ok).toBe(false);
    expect(r.errors.map((e) => e.path)).toEqual(['nodes[0].config.model']);
  });

  it('reports a missing path, a folder without manifest.json and malformed JSON', async () => {
    const missing = await loadBundle(path.join(dir, 'nope'), {});
    expect(missing).toMatchObject({ ok: false, unreadable: true });
    const empty = await loadBundle(dir, {});
    expect(empty).toMatchObject({ ok: false, unreadable: true });
    expect(empty.errors[0]!.message).toMatch(/no manifest\.json/);
    await bundle('{\n  "graph_id": "g",\n  "nodes": [\n}');
    const bad = await loadBundle(dir, {});
    expect(bad).toMatchObject({ ok: false, unreadable: false });
    expect(bad.errors[0]!.message).toMatch(/line 4, column 1/);
  });

  it('reports malformed config files', async () => {
    await bundle(manifest);
    await mkdir(path.join(dir, 'config'));
    await writeFile(path.join(dir, 'config', 'default.json'), '{"a": }');
    const r = await loadBundle(dir, {});
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.message).toMatch(/^config\/default\.json: invalid JSON at line 1, column 7/);
  });

  it('reports an unreadable manifest without throwing', async () => {
    if (process.getuid?.() === 0) return; // root reads anything; permissions cannot be tested
    await bundle(manifest);
    await chmod(path.join(dir, 'manifest.json'), 0o000);
    const r = await loadBundle(dir, {});
    expect(r).toMatchObject({ ok: false, unreadable: true });
  });

  it('loads the shipped example bundle', async () => {
    const r = await loadBundle(path.join(ROOT, 'examples', 'fanout'), {});
    expect(r.errors).toEqual([]);
    expect(r.job!.agent_count).toBe(10);
  });
});
