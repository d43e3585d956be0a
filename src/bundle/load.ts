import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isObject } from '../core/manifest/context.js';
import { ValidationContext } from '../core/manifest/context.js';
import { deepMerge, resolveTemplates } from '../core/manifest/templates.js';
import type { Job, ValidationIssue } from '../core/manifest/types.js';
import { validateManifest } from '../core/manifest/validate.js';
import { parseJson } from '../core/json.js';

/** Outcome of loading a bundle: `unreadable` marks I/O problems (CLI exit 2) as opposed to invalid content (exit 1). */
export interface BundleLoadResult {
  ok: boolean;
  /** True when the bundle could not be read at all (missing path, no manifest.json, permissions). */
  unreadable: boolean;
  /** The bundle folder, or the manifest's folder. */
  root: string;
  manifestPath: string;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  job?: Job;
  /** The resolved bundle config (default.json deep-merged with overwrite.json). */
  config: Record<string, unknown>;
  /** The manifest with `${config.*}`/`${env.*}` templates resolved, as sent to a daemon. */
  manifest?: Record<string, unknown>;
}

/**
 * Loads a bundle folder (manifest.json, optional config/default.json and config/overwrite.json,
 * payloads/) or a bare manifest file, resolves `${config.*}` and `${env.*}` templates and validates
 * the manifest. Never throws for bad input; problems come back as path-addressed errors.
 */
export async function loadBundle(target: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<BundleLoadResult> {
  const abs = path.resolve(target);
  let manifestPath = abs;
  let root = path.dirname(abs);
  const fail = (message: string, unreadable: boolean, where = ''): BundleLoadResult => ({
    ok: false,
    unreadable,
    root,
    manifestPath,
    errors: [{ path: where, message }],
    warnings: [],
    config: {},
  });

  let info;
  try {
    info = await stat(abs);
  } catch {
    return fail(`${target}: no such file or folder`, true);
  }
  if (info.isDirectory()) {
    root = abs;
    manifestPath = path.join(abs, 'manifest.json');
    try {
      await stat(manifestPath);
    } catch {
      return fail(`${target}: the bundle folder has no manifest.json`, true);
    }
  }

  let config: Record<string, unknown> = {};
  if (info.isDirectory()) {
    for (const name of ['default.json', 'overwrite.json']) {
      const file = path.join(root, 'config', name);
      let text: string | null;
      try {
        text = await readOptional(file);
      } catch (err) {
        return fail(`config/${name}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, true);
      }
      if (text === null) continue;
      const parsed = parseJson(text);
      if (!parsed.ok) return fail(`config/${name}: ${parsed.message}`, false, `config/${name}`);
      if (!isObject(parsed.value)) return fail(`config/${name} must hold a JSON object`, false, `config/${name}`);
      config = deepMerge(config, parsed.value);
    }
  }

  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    return fail(`${manifestPath}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, true);
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return fail(`${path.basename(manifestPath)}: ${parsed.message}`, false);

  const result = validateManifest(parsed.value, { config, env });
  const ctx = new ValidationContext();
  const resolved = isObject(parsed.value) ? (resolveTemplates(ctx, parsed.value, { config, env }) as Record<string, unknown>) : undefined;
  return {
    ok: result.ok,
    unreadable: false,
    root,
    manifestPath,
    errors: result.errors,
    warnings: result.warnings,
    ...(result.job ? { job: result.job } : {}),
    ...(resolved ? { manifest: resolved } : {}),
    config,
  };
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The module files a bundle's module agents name in `config.module`, by their path relative to
 * the bundle (what `SubmitJob` carries as payloads). Paths outside the bundle and unreadable
 * files are left out; submission then reports the missing module by its field.
 */
export async function moduleFiles(root: string, manifest: unknown): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  const nodes = (manifest as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) return out;
  for (const node of nodes) {
    const rel = (node as { config?: { module?: unknown } } | null)?.config?.module;
    const key = typeof rel === 'string' ? bundlePath(rel) : null;
    if (key === null) continue;
    try {
      out[key] = await readFile(path.join(root, key));
    } catch {
      // Reported at submission as "not in the bundle".
    }
  }
  return out;
}

/** A path inside a bundle in its one spelling (`./a/../b.ts` → `b.ts`), or null when it leaves the bundle. */
export function bundlePath(rel: string): string | null {
  if (rel.trim() === '' || path.isAbsolute(rel)) return null;
  const key = path.posix.normalize(rel.replace(/\\/g, '/'));
  return key === '..' || key.startsWith('../') ? null : key;
}
