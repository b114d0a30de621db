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
 * Offsets by release for 64-bit targets (amd64 and arm64 agree: the fields before them are words,
 * uint32s and bools). Each row says how it was checked; releases not listed need DWARF.
 * "DWARF of workload-go1.N" means test/fixtures/go/workload-go1.N, built by Debian's golang-1.N-go,
 * read by src/dwarf and by llvm-dwarfdump (test/go-versions.test.ts checks every row against it);
 * GOARCH=arm64 builds of the same by the same releases gave the same offsets (checked once, not
 * committed).
 */
export const GOROUTINE_FIELD_OFFSETS: readonly { minor: number; waitreason: number; startpc: number; gopc: number; checked: string }[] = [
  { minor: 19, waitreason: 176, gopc: 296, startpc: 312, checked: 'DWARF of the Go 1.19.8 fixtures (test/fixtures/go/workload)' },
  // 1.20: the same fields between goid and startpc as 1.19 (runtime2.go of go1.20.6).
  {
    minor: 20,
    waitreason: 176,
    gopc: 296,
    startpc: 312,
    checked: 'runtime2.go of go1.20.6; live on esbuild 0.19.2 (go1.20.7) and 0.21.5 (go1.20.12)',
  },
  // 1.21 added parentGoid before gopc and moved the old tracer's fields (tracking, trace) after
  // startpc: gopc and startpc are 16 bytes earlier than in 1.20.
  {
    minor: 21,
    waitreason: 176,
    gopc: 280,
    startpc: 296,
    checked: 'DWARF of workload-go1.21 (go1.21.13); live on lefthook 1.5.5 (go1.21.4), buf 1.27.0 (go1.21.1) and 1.28.1 (go1.21.4)',
  },
  {
    minor: 22,
    waitreason: 176,
    gopc: 280,
    startpc: 296,
    checked: 'DWARF of workload-go1.22 (go1.22.12); live on esbuild 0.22.0 (go1.22.4) and 0.23.1 (go1.22.5)',
  },
  // 1.23 added g.syscallbp (+8 from goid on); 1.24 added fipsIndicator, which sits in padding.
  {
    minor: 23,
    waitreason: 184,
    gopc: 288,
    startpc: 304,
    checked: 'DWARF of workload-go1.23 (go1.23.5); live on esbuild 0.24.2 (go1.23.1) and 0.25.12 (go1.23.12)',
  },
  {
    minor: 24,
    waitreason: 184,
    gopc: 288,
    startpc: 304,
    checked: 'DWARF of workload-go1.24 (go1.24.4) and of a Go 1.24.3 binary (docker)',
  },
  // 1.25 dropped gobuf.ret (-8): the goid is back at 152.
  {
    minor: 25,
    waitreason: 176,
    gopc: 280,
    startpc: 296,
    checked: 'DWARF of workload-go1.25 (go1.25.12); live on esbuild 0.27.3 (go1.25.7)',
  },
  // 1.26 added fipsOnlyBypass, ditWanted and secret (int32) before writebuf (+8 from there on).
  {
    minor: 26,
    waitreason: 176,
    gopc: 288,
    startpc: 304,
    checked: 'DWARF of workload-go1.26 (go1.26.10); live on esbuild (go1.26.5): gopc is not parentGoid, start pcs are function entries',
  },
  { minor: 27, waitreason: 176, gopc: 288, startpc: 304, checked: 'DWARF of workload-go1.27 (go1.27.3)' },
];

/** The offsets, or undefined (with the reason) when neither DWARF nor the table has them. */
export function goroutineFieldOffsets(image: BinaryImage, version: GoVersion): { offsets?: GoroutineFieldOffsets; warning?: string } {
  try {
    const dwarf = dwarfFromImage(image);
    if (dwarf) {
      const waitreason = structMemberOffset(dwarf, 'runtime.g', 'waitreason');
      const startpc = structMemberOffset(dwarf, 'runtime.g', 'startpc');
      const gopc = structMemberOffset(dwarf, 'runtime.g', 'gopc');
      if (waitreason !== undefined && startpc !== undefined && gopc !== undefined)
        return { offsets: { waitreason, startpc, gopc, source: 'dwarf' } };
    }
  } catch (e) {
    if (!(e instanceof DwarfError)) throw e;
  }
  const row = image.ptrSize === 8 && version.major === 1 ? GOROUTINE_FIELD_OFFSETS.find((r) => r.minor === version.minor) : undefined;
  if (row) return { offsets: { waitreason: row.waitreason, startpc: row.startpc, gopc: row.gopc, source: 'table' } };
  return { warning: `no DWARF and no checked runtime.g layout for ${version.raw}: wait reasons and start functions are not recorded` };
}
