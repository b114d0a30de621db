// The section header table (Elf64_Shdr) and section names.
import { type ByteReader } from './bytes.js';
import { ELF64_SHDR_SIZE, PN_XNUM, SHN_UNDEF, SHN_XINDEX, SHT_NOBITS } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfHeader, RawElfHeader } from './header.js';
import { StringTable } from './strings.js';

/** One section header (Elf64_Shdr), with its name resolved. */
export interface ElfSection {
  /** Position in the section header table; sections[i].index === i. */
  readonly index: number;
  readonly name: string;
  /** sh_name: offset of the name in the section name table. */
  readonly nameOffset: number;
  /** sh_type (SHT_*). */
  readonly type: number;
  /** sh_flags (SHF_*). */
  readonly flags: number;
  readonly addr: number;
  /** sh_addr exactly, for addresses above 2^53 (kernel images). */
  readonly addrBig: bigint;
  /** File offset of the section's bytes (as stored; for SHF_COMPRESSED, of the compressed form). */
  readonly offset: number;
  /** Size in the file (for SHT_NOBITS: in memory only). */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

/** Where a section header lives, for error messages. */
function headerOffset(header: RawElfHeader, index: number): number {
  return header.shoff + index * header.shentsize;
}

function readOne(reader: ByteReader, header: RawElfHeader, index: number): Omit<ElfSection, 'name'> {
  const at = headerOffset(header, index);
  reader.require(at, ELF64_SHDR_SIZE, `section header ${index}`);
  return {
    index,
    nameOffset: reader.u32Unchecked(at),
    type: reader.u32Unchecked(at + 4),
    flags: reader.u64Unchecked(at + 8),
    addr: reader.u64Unchecked(at + 16),
    addrBig: reader.u64BigUnchecked(at + 16),
    offset: reader.u64Unchecked(at + 24),
    size: reader.u64Unchecked(at + 32),
    link: reader.u32Unchecked(at + 40),
    info: reader.u32Unchecked(at + 44),
    addralign: reader.u64Unchecked(at + 48),
    entsize: reader.u64Unchecked(at + 56),
  };
}

/**
 * Reads every section header and names them, resolving the extended numbering escapes that
 * live in section 0 (e_shnum 0, e_phnum PN_XNUM, e_shstrndx SHN_XINDEX). Returns the header with
 * real counts filled in.
 */
export function readSections(reader: ByteReader, raw: RawElfHeader): { header: ElfHeader; sections: ElfSection[] } {
  let { shnum, phnum, shstrndx } = raw;
  const hasTable = raw.shoff !== 0;
  if (!hasTable) {
    // No section header table at all (allowed, e.g. some stripped executables).
    return { header: { ...raw, shnum: 0, shstrndx: 0 }, sections: [] };
  }
  if (raw.shentsize < ELF64_SHDR_SIZE) {
    throw new ElfError(`e_shentsize is ${raw.shentsize}, smaller than an ELF64 section header (${ELF64_SHDR_SIZE})`, { offset: 58 });
  }
  reader.require(raw.shoff, ELF64_SHDR_SIZE, 'section header table (e_shoff)');
  const first = readOne(reader, raw, 0);
  if (shnum === 0) shnum = first.size;
  if (phnum === PN_XNUM) phnum = first.info;
  if (shstrndx === SHN_XINDEX) shstrndx = first.link;
  if (shnum === 0) return { header: { ...raw, shnum: 0, phnum, shstrndx: 0 }, sections: [] };

  // Cap the count by what the file can hold before allocating anything for it.
  const room = Math.floor((reader.length - raw.shoff) / raw.shentsize);
  if (shnum > room) {
    throw new ElfError(
      `section header table claims ${shnum} entries of ${raw.shentsize} bytes at 0x${raw.shoff.toString(16)}, but the file has room for ${room}`,
      { offset: raw.shoff },
    );
  }
  const unnamed: Omit<ElfSection, 'name'>[] = [first];
  for (let i = 1; i < shnum; i++) unnamed.push(readOne(reader, raw, i));

  let names: StringTable | undefined;
  if (shstrndx !== SHN_UNDEF) {
    const table = unnamed[shstrndx];
    if (table === undefined) {
      throw new ElfError(`section name table index ${shstrndx} is out of range (${shnum} sections)`, {
        offset: 62,
      });
    }
    if (table.type === SHT_NOBITS) {
      throw new ElfError(`section name table (section ${shstrndx}) has no file data (SHT_NOBITS)`, {
        offset: headerOffset(raw, shstrndx),
      });
    }
    if (!reader.contains(table.offset, table.size)) {
      throw new ElfError(
        `section name table (section ${shstrndx}) at 0x${table.offset.toString(16)} size 0x${table.size.toString(16)} runs past the end of the file (0x${reader.length.toString(16)} bytes)`,
        { offset: table.offset },
      );
    }
    names = new StringTable(reader.bytes.subarray(table.offset, table.offset + table.size), table.offset, undefined);
  }
  const sections: ElfSection[] = [];
  for (const s of unnamed) sections.push(named(s, names ? names.get(s.nameOffset, () => `name of section ${s.index}`) : ''));
  return { header: { ...raw, shnum, phnum, shstrndx }, sections };
}

/**
 * The section with its name, fields listed out in the order a spread would give: a spread of a
 * 12-field object costs several times more than the literal, and there is one per section.
 */
function named(s: Omit<ElfSection, 'name'>, name: string): ElfSection {
  return {
    index: s.index,
    nameOffset: s.nameOffset,
    type: s.type,
    flags: s.flags,
    addr: s.addr,
    addrBig: s.addrBig,
    offset: s.offset,
    size: s.size,
    link: s.link,
    info: s.info,
    addralign: s.addralign,
    entsize: s.entsize,
    name,
  };
}
