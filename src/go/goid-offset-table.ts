import { GoBinaryError } from './errors.js';
import { compareMinor, formatMinor, type GoVersion } from './go-version.js';

interface LayoutRange {
  from: { major: number; minor: number };
  to: { major: number; minor: number };
  goidOffset: number;
}

/**
 * Offset of `goid` in runtime.g by release (amd64 and arm64 agree). Not monotonic: 1.23 added
 * g.syscallbp (+8), 1.25 dropped gobuf.ret (-8), so each range is listed explicitly.
 */
export const GOID_OFFSETS: readonly LayoutRange[] = [
  // 1.12 shares the 1.13 layout (checked live: g.atomicstatus at goid-8 equals casgstatus's oldval).
  // 1.19 to 1.22: DWARF of test/fixtures/go/workload and workload-go1.21/1.22; 1.20 to 1.22 also
  // live on stripped release builds (esbuild, lefthook, buf): start pcs read past goid were
  // function entries and the state chains held.
  { from: { major: 1, minor: 12 }, to: { major: 1, minor: 22 }, goidOffset: 152 },
  // DWARF of workload-go1.23/1.24 and of docker (1.24.3); live on esbuild (go1.23.1, go1.23.12).
  { from: { major: 1, minor: 23 }, to: { major: 1, minor: 24 }, goidOffset: 160 },
  // DWARF of workload-go1.25/1.26/1.27; live on esbuild (go1.25.7, go1.26.5); 1.27.0 and 1.27.3
  // checked live, like 1.12.
  { from: { major: 1, minor: 25 }, to: { major: 1, minor: 27 }, goidOffset: 152 },
];

/** The goid offset in runtime.g that the version table gives, with warnings. */
export interface TableGoidOffset {
  offset: number;
  warnings: string[];
}

/**
 * The goid offset for a version from the table. A release newer than the table gets the newest
 * known layout with a warning (layouts change rarely, and DWARF overrides when present); a
 * release older than the table is refused, since its g layout was never checked.
 */
export function goidOffsetFromTable(version: GoVersion): TableGoidOffset {
  const first = GOID_OFFSETS[0];
  const last = GOID_OFFSETS[GOID_OFFSETS.length - 1];
  if (first === undefined || last === undefined) throw new GoBinaryError('the goid offset table is empty');
  if (compareMinor(version, first.from) < 0) {
    throw new GoBinaryError(
      `${version.raw} is older than ${formatMinor(first.from)}; the runtime.g layout of that release is unknown, refusing to guess the goid offset`,
    );
  }
  for (const r of GOID_OFFSETS) {
    if (compareMinor(version, r.from) >= 0 && compareMinor(version, r.to) <= 0) return { offset: r.goidOffset, warnings: [] };
  }
  return {
    offset: last.goidOffset,
    warnings: [
      `${version.raw} is newer than the goid offset table (up to ${formatMinor(last.to)}); assuming the ${formatMinor(last.to)} offset ${last.goidOffset}`,
    ],
  };
}
