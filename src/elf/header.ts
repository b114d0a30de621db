// The ELF64 file header (Elf64_Ehdr). Counts that the format lets overflow into section 0
// (e_shnum, e_phnum, e_shstrndx) are resolved later by the section table reader; this file only
// decodes the 64 fixed bytes.
import { ByteReader } from './bytes.js';
import { ELF64_EHDR_SIZE, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB } from './constants.js';
import { ElfError } from './errors.js';

/** Byte order of a file (EI_DATA). */
export type ByteOrder = 'little' | 'big';

/** The ELF file header (Elf64_Ehdr) with the extended numbering escapes resolved. */
export interface ElfHeader {
  /** EI_CLASS; always 2 (ELFCLASS64) since ELF32 is rejected. */
  readonly class: number;
  readonly byteOrder: ByteOrder;
  /** EI_VERSION from the identification bytes. */
  readonly identVersion: number;
  /** EI_OSABI (ELFOSABI_*). */
  readonly osabi: number;
  readonly abiVersion: number;
  /** e_type (ET_*). */
  readonly type: number;
  /** e_machine (EM_*). */
  readonly machine: number;
  readonly version: number;
  readonly entry: number;
  /** e_entry exactly, for addresses above 2^53 (kernel images). */
  readonly entryBig: bigint;
  readonly phoff: number;
  readonly shoff: number;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  /** Number of program headers, after resolving the PN_XNUM escape. */
  readonly phnum: number;
  readonly shentsize: number;
  /** Number of section headers, after resolving the escape to section 0's sh_size. */
  readonly shnum: number;
  /** Index of the section name table, after resolving SHN_XINDEX; 0 when there is none. */
  readonly shstrndx: number;
}

/** The raw header as stored, before extended numbering is applied. */
export type RawElfHeader = ElfHeader;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function readHeader(bytes: Uint8Array): { header: RawElfHeader; reader: ByteReader } {
  const magic = Array.from(bytes.subarray(0, 4));
  if (magic.length < 4 || magic.some((b, i) => b !== ELF_MAGIC[i])) {
    const shown = magic.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ElfError(`not an ELF file: magic is [${shown}] (${bytes.length} bytes), expected [7f 45 4c 46]`, { offset: 0 });
  }
  if (bytes.length < 16) {
    throw new ElfError(`truncated ELF identification: ${bytes.length} of 16 bytes`, { offset: bytes.length });
  }
  const elfClass = bytes[4];
  if (elfClass === ELFCLASS32) {
    throw new ElfError('ELF32 is not supported (EI_CLASS 1); only ELF64 files can be read', { offset: 4 });
  }
  if (elfClass !== ELFCLASS64) {
    throw new ElfError(`unknown ELF class ${elfClass} (EI_CLASS must be 2 for ELF64)`, { offset: 4 });
  }
  const data = bytes[5];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) {
    throw new ElfError(`unknown byte order ${data} (EI_DATA must be 1 little or 2 big)`, { offset: 5 });
  }
  if (bytes.length < ELF64_EHDR_SIZE) {
    throw new ElfError(`truncated ELF64 header: need ${ELF64_EHDR_SIZE} bytes, file has ${bytes.length}`, { offset: bytes.length });
  }
  const reader = new ByteReader(bytes, data === ELFDATA2LSB);
  const header: RawElfHeader = {
    class: elfClass,
    byteOrder: data === ELFDATA2LSB ? 'little' : 'big',
    identVersion: reader.u8(6),
    osabi: reader.u8(7),
    abiVersion: reader.u8(8),
    type: reader.u16(16),
    machine: reader.u16(18),
    version: reader.u32(20),
    entry: reader.u64(24),
    entryBig: reader.u64Big(24),
    phoff: reader.u64(32),
    shoff: reader.u64(40),
    flags: reader.u32(48),
    ehsize: reader.u16(52),
    phentsize: reader.u16(54),
    phnum: reader.u16(56),
    shentsize: reader.u16(58),
    shnum: reader.u16(60),
    shstrndx: reader.u16(62),
  };
  return { header, reader };
}
