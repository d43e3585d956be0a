/** Builds build/placement.wasm and build/placement.simd.wasm when missing or older than assembly/. */
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;

export async function ensureWasm(): Promise<void> {
  const sources = readdirSync(join(root, 'assembly')).map((f) => statSync(join(root, 'assembly', f)).mtimeMs);
  const newest = Math.max(...sources);
  const builds: Array<[string, string[]]> = [
    ['placement.wasm', []],
    ['placement.simd.wasm', ['--enable', 'simd']],
  ];
  for (const [file, flags] of builds) {
    const wasm = join(root, 'build', file);
    if (existsSync(wasm) && statSync(wasm).mtimeMs >= newest) continue;
    const asc = (await import('assemblyscript/asc')).default;
    const { error, stderr } = await asc.main(
      ['--config', join(root, 'asconfig.json'), '--target', 'release', ...flags, '--outFile', wasm],
      {},
    );
    if (error) throw new Error(`asc failed for ${file}: ${error.message}\n${stderr.toString()}`);
  }
}
