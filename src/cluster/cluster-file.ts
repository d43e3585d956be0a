/**
 * Reading a cluster file from disk (the I/O shell around `parseClusterFile`): `.json` or
 * `.msgpack` (the same document, msgpack-encoded), or the JSON of `mn node list --json`.
 */
import { readFile } from 'node:fs/promises';
import { unpack } from 'msgpackr';
import { parseJson } from '../core/json.js';
import { validateClusterFile } from '../core/cluster/parse.js';
import type { ClusterState } from '../core/cluster/types.js';
import type { ValidationIssue } from '../core/manifest/types.js';
import { clusterFileFromNodeList } from './node-export.js';

/** Outcome of reading a cluster file: `unreadable` (exit 2) vs `invalid` content (exit 1). */
export type ClusterFileResult =
  | { ok: true; cluster: ClusterState; warnings: ValidationIssue[] }
  | { ok: false; unreadable: boolean; errors: ValidationIssue[] };

/** Reads, decodes and validates a cluster file; never throws. */
export async function readClusterFile(path: string): Promise<ClusterFileResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return { ok: false, unreadable: true, errors: [{ path: '', message: `cannot read cluster file ${path}: ${reason}` }] };
  }
  let value: unknown;
  if (/\.(msgpack|mpk|msgpk)$/i.test(path)) {
    try {
      value = unpack(bytes);
    } catch (err) {
      return { ok: false, unreadable: false, errors: [{ path: '', message: `${path} is not valid msgpack: ${(err as Error).message}` }] };
    }
  } else {
    const parsed = parseJson(bytes.toString('utf8'));
    if (!parsed.ok) return { ok: false, unreadable: false, errors: [{ path: '', message: `${path}: ${parsed.message}` }] };
    value = parsed.value;
  }
  // `mn node list --json` of a live cluster is a cluster file too.
  if (Array.isArray(value)) value = clusterFileFromNodeList(value);
  const result = validateClusterFile(value);
  if (!result.ok || !result.cluster) return { ok: false, unreadable: false, errors: result.errors };
  return { ok: true, cluster: result.cluster, warnings: result.warnings };
}
