import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Where a job's module sources are written on the machines that run its module agents. */
export function stagingDir(home: string, jobId: string): string {
  return path.join(home, 'jobs', jobId, 'bundle');
}

/**
 * Writes the module sources shipped with a job (`details.modules`: bundle path → source) under
 * its staging directory. Paths that would leave it (absolute, or with `..`) are skipped.
 */
export async function stageModules(home: string, jobId: string, modules: Readonly<Record<string, string>> | undefined): Promise<string> {
  const dir = stagingDir(home, jobId);
  for (const [rel, text] of Object.entries(modules ?? {})) {
    if (typeof text !== 'string' || path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) continue;
    const target = path.join(dir, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  return dir;
}
