// Program headers (Elf64_Phdr) and mapping virtual addresses back to file bytes through the
// PT_LOAD segments, which is how pointers inside a linked binary are followed.
import { type ByteReader } from './bytes.js';
import { ELF64_PHDR_SIZE, PT_LOAD } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfHeader } from './header.js';

/** One program header (Elf64_Phdr): a segment. */
export interface ElfProgramHeader {
  /** Position in the program header table. */
  readonly index: number;
  /** p_type (PT_*). */
  readonly type: number;
  /** p_flags (PF_*). */
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  /** p_vaddr exactly, for addresses above 2^53 (kernel images). */
  readonly vaddrBig: bigint;
  readonly paddr: number;
  readonly paddrBig: bigint;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export function readProgramHeaders(reader: ByteReader, header: ElfHeader): ElfProgramHeader[] {
  const { phoff, phnum, phentsize } = header;
  if (phnum === 0) return [];
  if (phentsize < ELF64_PHDR_SIZE) {
    throw new ElfError(`e_phentsize is ${phentsize}, smaller than an ELF64 program header (${ELF64_PHDR_SIZE})`, { offset: 54 });
  }
  if (!reader.contains(phoff, 0) || Math.floor((reader.length - phoff) / phentsize) < phnum) {
    throw new ElfError(
      `program header table claims ${phnum} entries of ${phentsize} bytes at 0x${phoff.toString(16)}, past the end of the file (0x${reader.length.toString(16)} bytes)`,
      { offset: phoff },
    );
  }
  const out: ElfProgramHeader[] = [];
  for (let index = 0; index < phnum; index++) {
    const at = phoff + index * phentsize;
    out.push({
      index,
      type: reader.u32(at),
      flags: reader.u32(at + 4),
      offset: reader.u64(at + 8),
      vaddr: reader.u64(at + 16),
      vaddrBig: reader.u64Big(at + 16),
      paddr: reader.u64(at + 24),
      paddrBig: reader.u64Big(at + 24),
      filesz: reader.u64(at + 32),
      memsz: reader.u64(at + 40),
      align: reader.u64(at + 48),
    });
  }
  return out;
}

/**
 * The PT_LOAD segment whose file-backed part holds [vaddr, vaddr+length), and the file offset of
 * vaddr in it. Addresses only in the zero-filled tail (memsz beyond filesz) have no file bytes.
 */
export function locateVirtual(
  segments: readonly ElfProgramHeader[],
  vaddr: number | bigint,
  length: number,
): { segment: ElfProgramHeader; fileOffset: number } | undefined {
  if (!Number.isSafeInteger(length) || length < 0) return undefined;
  if (typeof vaddr === 'number' && (!Number.isSafeInteger(vaddr) || vaddr < 0)) return undefined;
  const address = BigInt(vaddr);
  const span = BigInt(length);
  for (const segment of segments) {
    if (segment.type !== PT_LOAD) continue;
    const start = segment.vaddrBig;
    if (address < start) continue;
    const delta = address - start;
    if (delta + span > BigInt(segment.filesz)) continue;
    // An empty read at the very end of the segment still needs an address inside it.
    if (span === 0n && delta >= BigInt(segment.filesz)) continue;
    return { segment, fileOffset: segment.offset + Number(delta) };
  }
  return undefined;
}

/** Bytes of [vaddr, vaddr+length) as loaded, or undefined when no PT_LOAD's file data holds them. */
export function readVirtualBytes(
  reader: ByteReader,
  segments: readonly ElfProgramHeader[],
  vaddr: number | bigint,
  length: number,
): Uint8Array | undefined {
  const found = locateVirtual(segments, vaddr, length);
  if (!found) return undefined;
  return reader.slice(
    found.fileOffset,
    length,
    `PT_LOAD segment ${found.segment.index} (offset 0x${found.segment.offset.toString(16)}, filesz 0x${found.segment.filesz.toString(16)})`,
  );
}
