/**
 * Node inventory against real processes: a fake `nvidia-smi` executable (a shell script printing
 * fixture output for each argument form) found by path or on PATH, a missing or failing one, and
 * the real systeminformation probe in its worker thread.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectInventory } from '../../src/cluster/inventory.js';
import { parseClusterFile } from '../../src/core/cluster/parse.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));
const FAKE = path.join(FIXTURES, 'nvidia-smi');
const QUERY = '--query-gpu=index,uuid,name,memory.total,memory.used,driver_version --format=csv,noheader,nounits';

let tmp: string;
beforeAll(() => {
  chmodSync(FAKE, 0o755);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'mn-inventory-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Environment selecting the fake's outputs; `MN_HOME` pins the advertised disk to the temp dir. */
function fakeEnv(csv: string, header = 'header-550.txt', extra: Record<string, string> = {}): Record<string, string> {
  return {
    MN_HOME: tmp,
    FAKE_NVIDIA_SMI_CSV: path.join(FIXTURES, csv),
    FAKE_NVIDIA_SMI_HEADER: path.join(FIXTURES, header),
    ...extra,
  };
}

describe.skipIf(process.platform !== 'linux')('collectInventory with a fake nvidia-smi', () => {
  it('advertises the GPUs nvidia-smi reports, with the CUDA version of its header', async () => {
    const log = path.join(tmp, 'h100.log');
    const inv = await collectInventory(fakeEnv('h100x2.csv', 'header-550.txt', { FAKE_NVIDIA_SMI_LOG: log, MN_NODE_NAME: 'gpu-a@lab' }), {
      nvidiaSmi: FAKE,
    });
    expect(inv.errors).toEqual([]);
    expect(inv.notes).toEqual([]);
    expect(inv.node.name).toBe('gpu-a@lab');
    expect(inv.node.devices.map((d) => [d.id, d.memory_mb, d.api_version])).toEqual([
      ['GPU-3f2a9c1e-7b4d-4e21-9a0c-5d8e1f2b3c4d', 81559, '12.4'],
      ['GPU-8c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f', 81559, '12.4'],
    ]);
    expect(inv.node.resources.gpu_count).toBe(2);
    expect(inv.node.capabilities).toEqual(expect.arrayContaining(['cuda', 'nvidia-h100']));
    expect(inv.node.attributes['gpu.driver_version']).toBe('550.54.15');
    // Exactly the two documented argument forms, nothing else.
    expect(readFileSync(log, 'utf8').split('\n').slice(0, -1).sort()).toEqual(['', QUERY].sort());
  });

  it('finds nvidia-smi on the PATH of the given environment', async () => {
    const env = fakeEnv('a100x4.csv', 'header-535.txt', { PATH: `${FIXTURES}${path.delimiter}${process.env.PATH ?? ''}` });
    const inv = await collectInventory(env);
    expect(inv.node.devices).toHaveLength(4);
    expect(inv.node.devices.every((d) => d.api_version === '12.2' && d.capabilities.includes('nvidia-a100'))).toBe(true);
  });

  it('has no GPUs, and says why, when nvidia-smi does not exist', async () => {
    const inv = await collectInventory({ MN_HOME: tmp }, { nvidiaSmi: path.join(tmp, 'no-such-dir', 'nvidia-smi') });
    expect(inv.node.devices).toEqual([]);
    expect(inv.node.resources.gpu_count).toBe(0);
    expect(inv.errors).toEqual([]);
    expect(inv.notes).toEqual([expect.stringMatching(/^no NVIDIA GPUs detected: .*nvidia-smi not found$/)]);
  });

  it('has no GPUs when the PATH holds no nvidia-smi', async () => {
    const empty = mkdtempSync(path.join(tmp, 'empty-path-'));
    const inv = await collectInventory({ MN_HOME: tmp, PATH: empty });
    expect(inv.node.devices).toEqual([]);
    expect(inv.notes).toEqual(['no NVIDIA GPUs detected: nvidia-smi not found']);
  });

  it('has no GPUs when nvidia-smi fails, and keeps its message', async () => {
    const inv = await collectInventory(fakeEnv('h100x2.csv', 'header-550.txt', { FAKE_NVIDIA_SMI_EXIT: '9' }), { nvidiaSmi: FAKE });
    expect(inv.node.devices).toEqual([]);
    expect(inv.notes[0]).toMatch(/exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  it('keeps the GPUs but notes an unknown CUDA version when the header has none', async () => {
    const inv = await collectInventory(fakeEnv('rtx4090.csv', 'rtx4090.csv'), { nvidiaSmi: FAKE });
    expect(inv.node.devices).toEqual([expect.objectContaining({ api_version: null, capabilities: expect.arrayContaining(['nvidia-rtx-4090']) })]);
    expect(inv.notes).toEqual(['CUDA version unknown: nvidia-smi printed no "CUDA Version"']);
  });

  it('does not run nvidia-smi at all when MN_NODE_GPU=none', async () => {
    const log = path.join(tmp, 'none.log');
    const inv = await collectInventory(fakeEnv('h100x2.csv', 'header-550.txt', { FAKE_NVIDIA_SMI_LOG: log, MN_NODE_GPU: 'none' }), { nvidiaSmi: FAKE });
    expect(inv.node.devices).toEqual([]);
    expect(existsSync(log)).toBe(false);
    expect(inv.notes).toEqual(['GPU detection skipped: MN_NODE_GPU=none']);
  });

  it('keeps the event loop running while nvidia-smi runs', async () => {
    // The fake answers only once the gate file exists, and only a timer on this thread creates
    // it: a synchronous probe would wait for a gate that never opens and end in the timeout note.
    const gate = path.join(tmp, 'gate');
    const inv = collectInventory(fakeEnv('h100x2.csv', 'header-550.txt', { FAKE_NVIDIA_SMI_GATE: gate }), { nvidiaSmi: FAKE, timeoutMs: 20_000 });
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
      if (ticks === 3) writeFileSync(gate, '');
    }, 5);
    const result = await inv.finally(() => clearInterval(ticker));
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(result.notes).toEqual([]);
    expect(result.node.devices).toHaveLength(2);
  });

  it('gives up on an nvidia-smi that does not answer, with a note', async () => {
    const inv = await collectInventory(fakeEnv('h100x2.csv', 'header-550.txt', { FAKE_NVIDIA_SMI_GATE: path.join(tmp, 'never') }), {
      nvidiaSmi: FAKE,
      timeoutMs: 300,
    });
    expect(inv.node.devices).toEqual([]);
    // Only the GPU probe is under test; on a loaded machine the host probe may time out too.
    expect(inv.notes).toContainEqual(expect.stringMatching(/nvidia-smi did not answer within 300 ms/));
  });
});

describe('collectInventory host facts', () => {
  it('reads CPU, memory and the disk holding MN_HOME, and the node parses as a cluster-file node', async () => {
    const inv = await collectInventory({ MN_HOME: tmp, MN_NODE_GPU: 'none', MN_NODE_CAPABILITIES: 'ffmpeg' });
    expect(inv.errors).toEqual([]);
    const { node } = inv;
    expect(node.name).toBe(`mirror_neuron@${os.hostname().split('.')[0]}`);
    expect(node.resources.cpu_cores).toBe(os.cpus().length);
    const totalMb = os.totalmem() / 1024 / 1024;
    expect(Math.abs(Number(node.attributes['memory.total_mb']) - totalMb)).toBeLessThanOrEqual(totalMb * 0.01);
    expect(node.resources.memory_mb).toBeGreaterThan(0);
    expect(node.resources.memory_mb).toBeLessThanOrEqual(Number(node.attributes['memory.total_mb']));
    expect(node.resources.disk_mb).toBeGreaterThan(0);
    expect(node.resources.disk_mb).toBeLessThanOrEqual(Number(node.attributes['disk.total_mb']));
    expect(node.attributes.os).toBe(process.platform === 'win32' ? 'windows' : process.platform);
    expect(node.capabilities).toEqual(['ffmpeg']);
    expect(parseClusterFile({ nodes: [node] }).nodes[0]).toEqual(node);
  });

  it('reports the same machine from the worker and inline probes', async () => {
    const env = { MN_HOME: tmp, MN_NODE_GPU: 'none' };
    const [worker, inline] = await Promise.all([collectInventory(env, { hostProbe: 'worker' }), collectInventory(env, { hostProbe: 'inline' })]);
    expect(worker.notes.filter((n) => n.includes('host probe'))).toEqual([]);
    expect(worker.node.resources.cpu_cores).toBe(inline.node.resources.cpu_cores);
    expect(worker.node.attributes['memory.total_mb']).toBe(inline.node.attributes['memory.total_mb']);
    expect(worker.node.attributes['disk.total_mb']).toBe(inline.node.attributes['disk.total_mb']);
    expect(worker.node.attributes['kernel.version']).toBe(inline.node.attributes['kernel.version']);
  });
});
