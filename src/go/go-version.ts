import { GoBinaryError } from './errors.js';

/** A Go toolchain version: go1.19.8 is {major 1, minor 19, patch 8}. */
export interface GoVersion {
  major: number;
  minor: number;
  /** 0 for a release without a patch number (go1.21 before 1.21.0 naming) and for pre-releases. */
  patch: number;
  /** 'rc1', 'beta2' for pre-releases. */
  prerelease?: string;
  /** The text as found, e.g. "go1.26.5" or "devel go1.23-abc123 ...". */
  raw: string;
}

const VERSION_PATTERN = /go(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?((?:rc|beta)\d{1,3})?/;

/** Parses the first `goX.Y[.Z][rcN]` in `text`; undefined when there is none. */
export function parseGoVersion(text: string): GoVersion | undefined {
  const m = VERSION_PATTERN.exec(text);
  if (!m) return undefined;
  const v: GoVersion = { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]), raw: text };
  if (m[4] !== undefined) v.prerelease = m[4];
  return v;
}

export function parseGoVersionOrThrow(text: string, where: string): GoVersion {
  const v = parseGoVersion(text);
  if (!v) throw new GoBinaryError(`cannot parse Go version ${JSON.stringify(text.slice(0, 80))}`, where);
  return v;
}

/** Orders by major.minor only: layouts change between minor releases, never in patches. */
export function compareMinor(a: { major: number; minor: number }, b: { major: number; minor: number }): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function formatMinor(v: { major: number; minor: number }): string {
  return `go${v.major}.${v.minor}`;
}
