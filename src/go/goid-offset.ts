import { DwarfError, structMemberOffset } from '../dwarf/index.js';
import type { BinaryImage } from './binary-image.js';
import { GoBinaryError } from './errors.js';
import { dwarfFromImage } from './dwarf-from-image.js';
import type { GoVersion } from './go-version.js';
import { goidOffsetFromTable } from './goid-offset-table.js';

/** Offset of `goid` in runtime.g, whether it came from DWARF or the version table, and warnings. */
export interface GoidOffset {
  offset: number;
  source: 'dwarf' | 'table';
  warnings: string[];
}

/**
 * Offset of `goid` in runtime.g: DWARF is the ground truth when the binary has it; the version
 * table is the fallback for stripped binaries. Unreadable DWARF degrades to the table with a
 * warning rather than failing, since the table is right for every release it lists.
 */
export function goidOffset(image: BinaryImage, version: GoVersion): GoidOffset {
  const warnings: string[] = [];
  let fromDwarf: number | undefined;
  try {
    const dwarf = dwarfFromImage(image);
    if (dwarf) {
      fromDwarf = structMemberOffset(dwarf, 'runtime.g', 'goid');
      if (fromDwarf === undefined) warnings.push('DWARF present but has no runtime.g with a goid member; using the version table');
    }
  } catch (e) {
    if (!(e instanceof DwarfError)) throw e;
    warnings.push(`DWARF unreadable (${e.message}); using the version table`);
  }
  // The table was checked for 64-bit targets, where every GOARCH shares one g layout; with
  // 4-byte pointers goid sits much earlier (80 on 386), so only DWARF can answer there.
  const tableApplies = image.ptrSize === 8;
  if (fromDwarf !== undefined) {
    // The table still answers (or refuses) for the version; only a disagreement is worth a word.
    let table: number | undefined;
    try {
      table = tableApplies ? goidOffsetFromTable(version).offset : undefined;
    } catch {
      table = undefined;
    }
    if (table !== undefined && table !== fromDwarf) {
      warnings.push(`DWARF puts goid at ${fromDwarf} but the table says ${table} for ${version.raw}; using DWARF`);
    }
    return { offset: fromDwarf, source: 'dwarf', warnings };
  }
  if (!tableApplies) {
    throw new GoBinaryError(
      `no DWARF to read runtime.g from, and the goid offset table only covers 64-bit targets (this one has ${image.ptrSize}-byte pointers)`,
    );
  }
  const t = goidOffsetFromTable(version);
  return { offset: t.offset, source: 'table', warnings: [...warnings, ...t.warnings] };
}
