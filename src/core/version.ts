/**
 * Version parsing and range matching for the `version` and `semver` constraint operators and
 * device API versions. `version` compares dotted numeric parts (missing parts are 0, so `12`
 * equals `12.0`); `semver` additionally orders pre-releases below their release (`1.2.0-rc.1 <
 * 1.2.0`). Build metadata (`+...`) is ignored by both.
 */

export interface ParsedVersion {
  parts: number[];
  prerelease: Array<string | number>;
}

export type RangeOperator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~>';

export interface VersionClause {
  op: RangeOperator;
  version: ParsedVersion;
}

const VERSION_RE = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses `1.2.3`, `v12.4`, `1.2.0-rc.1+build5`; null when not a version. */
export function parseVersion(text: string): ParsedVersion | null {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return null;
  const parts = m[1]!.split('.').map(Number);
  const prerelease = m[2] ? m[2].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
  return { parts, prerelease };
}

/** Compares two versions: negative, zero or positive. */
export function compareVersions(a: ParsedVersion, b: ParsedVersion, semver: boolean): number {
  const n = Math.max(a.parts.length, b.parts.length);
  for (let i = 0; i < n; i++) {
    const d = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (!semver) return 0;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return (a.prerelease.length === 0 ? 1 : 0) - (b.prerelease.length === 0 ? 1 : 0);
  }
  const m = Math.max(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < m; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Parses a comma-separated range (`">= 535, < 600"`, `"~> 1.2"`, `"12.1"`); null when malformed. */
export function parseVersionRange(text: string, _semver: boolean): VersionClause[] | null {
  const clauses: VersionClause[] = [];
  for (const piece of text.split(',')) {
    const m = /^\s*(>=|<=|!=|~>|=|==|>|<)?\s*(\S+)\s*$/.exec(piece);
    if (!m) return null;
    const version = parseVersion(m[2]!);
    if (!version) return null;
    const op = (m[1] === '==' || m[1] === undefined ? '=' : m[1]) as RangeOperator;
    clauses.push({ op, version });
  }
  return clauses.length > 0 ? clauses : null;
}

/** True when `version` satisfies every clause. */
export function satisfiesRange(version: ParsedVersion, clauses: VersionClause[], semver: boolean): boolean {
  for (const { op, version: bound } of clauses) {
    const c = compareVersions(version, bound, semver);
    let ok: boolean;
    switch (op) {
      case '=': ok = c === 0; break;
      case '!=': ok = c !== 0; break;
      case '>': ok = c > 0; break;
      case '>=': ok = c >= 0; break;
      case '<': ok = c < 0; break;
      case '<=': ok = c <= 0; break;
      case '~>': {
        // Pessimistic: >= bound and below the next release of the second-to-last given part.
        const upperParts = bound.parts.slice(0, Math.max(1, bound.parts.length - 1));
        upperParts[upperParts.length - 1]! += 1;
        ok = c >= 0 && compareVersions(version, { parts: upperParts, prerelease: [] }, semver) < 0;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}
