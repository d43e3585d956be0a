/**
 * Worker threads cannot load TypeScript, so pool tests run the worker from a syntax-only
 * transpilation of `src/` under node_modules/.cache (module resolution still finds the package's
 * dependencies from there).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const root = new URL('../../../', import.meta.url).pathname;
const outRoot = join(root, 'node_modules', '.cache', 'mn-runtime-test');

function walk(dir: string, files: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, files);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

let built: string | null = null;

/** Removes trees left by test processes that are gone (killed before their exit hook ran). */
function removeStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(outRoot);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(outRoot, name), { recursive: true, force: true });
    }
  }
}

/** Transpiles src/ once per test process; returns the worker entry path. */
export function builtWorkerFile(): string {
  if (built) return built;
  const out = join(outRoot, String(process.pid));
  removeStale();
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  for (const file of walk(join(root, 'src'))) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: file,
    }).outputText;
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  built = join(out, 'src', 'solver', 'worker.js');
  return built;
}
