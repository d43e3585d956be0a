/**
 * Loads the Lua scripts of `scripts/` and defines them as ioredis commands (EVALSHA with
 * fallback to EVAL).
 *
 * File names follow `verbNoun-<numKeys>.lua`, or `verbNoun-v.lua` for a script whose number of
 * keys varies per call (the caller's key list sets it); `--- @include "includes/name"` lines are replaced
 * by `scripts/includes/name.lua`. The directory is looked up next to this module first
 * (`src/store/scripts` under the TypeScript sources, `dist/src/store/scripts` once the build has
 * copied it) and then in the package's `src/store/scripts`, so a build without the copy step still
 * finds them from a checkout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/** One loaded script. */
export interface LoadedScript {
  name: string;
  /** Null for a variadic script (`-v`). */
  numberOfKeys: number | null;
  lua: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Candidate script directories, in lookup order. */
export function scriptDirCandidates(): string[] {
  return [path.join(here, 'scripts'), path.resolve(here, '..', '..', '..', 'src', 'store', 'scripts')];
}

let cache: Map<string, LoadedScript> | undefined;

/** Reads, include-expands and caches every script. Throws if the directory is missing. */
export function loadScripts(): Map<string, LoadedScript> {
  if (cache) return cache;
  const dir = scriptDirCandidates().find((d) => existsSync(path.join(d, 'acquireLease-2.lua')));
  if (!dir) {
    throw new Error(`Lua scripts not found; looked in ${scriptDirCandidates().join(', ')}`);
  }
  const scripts = new Map<string, LoadedScript>();
  for (const file of readdirSync(dir)) {
    const match = /^([a-z][A-Za-z]*)-(\d+|v)\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    scripts.set(name, { name, numberOfKeys: keys === 'v' ? null : Number(keys), lua: expandIncludes(path.join(dir, file), dir, []) });
  }
  cache = scripts;
  return scripts;
}

function expandIncludes(file: string, dir: string, stack: string[]): string {
  if (stack.includes(file)) {
    throw new Error(`circular Lua include: ${[...stack, file].join(' -> ')}`);
  }
  const source = readFileSync(file, 'utf8');
  return source.replace(/^--- @include "([^"]+)"\s*$/gm, (_line, ref: string) => {
    const target = path.join(dir, `${ref}.lua`);
    if (!existsSync(target)) {
      throw new Error(`${path.basename(file)}: include "${ref}" not found (${target})`);
    }
    return expandIncludes(target, dir, [...stack, file]);
  });
}

/** Defines every script as a command on `client`. */
export function defineScripts(client: Redis): void {
  for (const script of loadScripts().values()) {
    client.defineCommand(script.name, script.numberOfKeys === null ? { lua: script.lua } : { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
}

/** Runs a script defined by {@link defineScripts}. */
export function runScript(client: Redis, name: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  const fn = (client as unknown as Record<string, (args: Array<string | number>) => Promise<unknown>>)[name];
  if (typeof fn !== 'function') {
    return Promise.reject(new Error(`store script ${name} is not defined`));
  }
  const variadic = loadScripts().get(name)?.numberOfKeys === null;
  // One array argument (ioredis flattens it): a commit of 100,000 agents has close to a million
  // arguments, more than a spread call can pass on the stack.
  return fn.call(client, variadic ? [keys.length, ...keys, ...args] : [...keys, ...args]);
}
