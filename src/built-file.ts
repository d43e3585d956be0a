import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled `.js` file `name` that sits beside the module at `moduleUrl` once built: the
 * sibling itself when the caller runs from `dist/`, else the same folder under the package's
 * `dist/` (when the caller runs from its TypeScript sources, as in tests). Worker and child
 * process entries must be JavaScript files, whichever way the caller was loaded.
 */
export function builtFile(moduleUrl: string, name: string): string {
  const here = fileURLToPath(moduleUrl);
  if (here.endsWith('.js')) return join(dirname(here), name);
  let dir = dirname(here);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', relative(dir, dirname(here)), name);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${name} not found: no package.json above ${here}`);
    dir = parent;
  }
}
