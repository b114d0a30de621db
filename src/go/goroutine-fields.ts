// Where runtime.g keeps what a goroutine is doing: waitreason (uint8, why it waits), startpc (its
// function's entry) and gopc (the pc of the go statement that created it). DWARF is the ground
// truth; without it, a table of layouts checked against DWARF of real binaries.
import { DwarfError, structMemberOffset } from '../dwarf/index.js';
import type { BinaryImage } from './binary-image.js';
import { dwarfFromImage } from './dwarf-from-image.js';
import type { GoVersion } from './go-version.js';

/** Byte offsets of waitreason, startpc and gopc in runtime.g, and whether they came from DWARF or the version table. */
export interface GoroutineFieldOffsets {
  waitreason: number;
  startpc: number;
  gopc: number;
  source: 'dwarf' | 'table';
}

/**
 * Offsets by release for 64-bit targets, each checked against the DWARF of a binary of that
 * release (Go 1.19.8: test/fixtures/go/workload). Releases not listed need DWARF.
 */
export const GOROUTINE_FIELD_OFFSETS: readonly { minor: number; waitreason: number; startpc: number; gopc: number }[] = [
  { minor: 19, waitreason: 176, gopc: 296, startpc: 312 },
];

/** The offsets, or undefined (with the reason) when neither DWARF nor the table has them. */
export function goroutineFieldOffsets(image: BinaryImage, version: GoVersion): { offsets?: GoroutineFieldOffsets; warning?: string } {
  try {
    const dwarf = dwarfFromImage(image);
    if (dwarf) {
      const waitreason = structMemberOffset(dwarf, 'runtime.g', 'waitreason');
      const startpc = structMemberOffset(dwarf, 'runtime.g', 'startpc');
      const gopc = structMemberOffset(dwarf, 'runtime.g', 'gopc');
      if (waitreason !== undefined && startpc !== undefined && gopc !== undefined) return { offsets: { waitreason, startpc, gopc, source: 'dwarf' } };
    }
  } catch (e) {
    if (!(e instanceof DwarfError)) throw e;
  }
  const row = image.ptrSize === 8 && version.major === 1 ? GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === version.minor) : undefined;
  if (row) return { offsets: { waitreason: row.waitreason, startpc: row.startpc, gopc: row.gopc, source: 'table' } };
  return { warning: `no DWARF and no checked runtime.g layout for ${version.raw}: wait reasons and start functions are not recorded` };
}
