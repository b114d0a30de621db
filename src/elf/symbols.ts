// Symbol tables (SHT_SYMTAB, SHT_DYNSYM) of Elf64_Sym records.
import { type ByteReader } from './bytes.js';
import { ELF64_SYM_SIZE, SHN_LORESERVE, SHN_UNDEF, SHN_XINDEX, SHT_NOBITS } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfSection } from './sections.js';
import { StringTable } from './strings.js';
import type { ElfSymbolVersion } from './versions.js';

/** One symbol table entry (Elf64_Sym), decoded. */
export interface ElfSymbol {
  /** Position in its table; index 0 is the reserved null symbol, kept so indexes match relocations. */
  readonly index: number;
  readonly name: string;
  /** st_value: an address in linked files, a section-relative offset in relocatable (ET_REL) ones. */
  readonly value: number;
  /** st_value exactly, for addresses above 2^53 (kernel images). */
  readonly valueBig: bigint;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** STB_* */
  readonly bind: number;
  /** STV_* (low two bits of st_other). */
  readonly visibility: number;
  /** st_other in full (some architectures keep flags in the upper bits). */
  readonly other: number;
  /** The section the symbol is defined in, or SHN_UNDEF / SHN_ABS / SHN_COMMON; SHN_XINDEX is resolved. */
  readonly sectionIndex: number;
  /** Name of that section, when sectionIndex names a real section. */
  readonly section?: string;
  /** GNU symbol version, for dynamic symbols that have one (name@VER / name@@VER). */
  readonly version?: ElfSymbolVersion;
}

/** Checks that a table section's bytes lie in the file and returns how many records it holds. */
export function tableEntries(
  reader: ByteReader,
  table: ElfSection,
  minimumEntrySize: number,
  kind: string,
): { count: number; entrySize: number } {
  if (table.type === SHT_NOBITS) return { count: 0, entrySize: minimumEntrySize };
  // Some producers leave sh_entsize 0; the record size is fixed by the format anyway.
  const entrySize = table.entsize === 0 ? minimumEntrySize : table.entsize;
  if (entrySize < minimumEntrySize) {
    throw new ElfError(`${kind} entry size ${table.entsize} is smaller than the ${minimumEntrySize}-byte record`, { section: table.name });
  }
  reader.require(table.offset, table.size, kind, table.name);
  return { count: Math.floor(table.size / entrySize), entrySize };
}

export function sectionStrings(reader: ByteReader, sections: readonly ElfSection[], owner: ElfSection): StringTable {
  const index = owner.link;
  const table = index === SHN_UNDEF ? undefined : sections[index];
  if (table === undefined) {
    throw new ElfError(`sh_link ${index} does not name a string table section`, { section: owner.name });
  }
  if (table.type === SHT_NOBITS) return new StringTable(new Uint8Array(0), table.offset, table.name);
  return new StringTable(reader.slice(table.offset, table.size, 'string table', table.name), table.offset, table.name);
}

/**
 * Decodes a symbol table. `extendedIndexes` is the table's SHT_SYMTAB_SHNDX companion, needed
 * only when a symbol's st_shndx is SHN_XINDEX (files with more than ~65k sections).
 */
export function readSymbols(
  reader: ByteReader,
  sections: readonly ElfSection[],
  table: ElfSection,
  extendedIndexes: ElfSection | undefined,
): ElfSymbol[] {
  const { count, entrySize } = tableEntries(reader, table, ELF64_SYM_SIZE, 'symbol table');
  if (count === 0) return [];
  const strings = sectionStrings(reader, sections, table);
  const symbols: ElfSymbol[] = [];
  for (let index = 0; index < count; index++) symbols.push(symbolAt(reader, sections, table, entrySize, extendedIndexes, strings, index));
  return symbols;
}

/**
 * The last symbol of `table` whose name is `utf8` (its bytes), decoded, or undefined. Names are
 * compared in the string table's bytes and only the match is decoded: for a lookup or two in a
 * table of thousands, decoding every name costs more than everything else a caller does.
 */
export function lastSymbolNamed(
  reader: ByteReader,
  sections: readonly ElfSection[],
  table: ElfSection,
  extendedIndexes: ElfSection | undefined,
  utf8: Uint8Array,
): ElfSymbol | undefined {
  const { count, entrySize } = tableEntries(reader, table, ELF64_SYM_SIZE, 'symbol table');
  if (count === 0) return undefined;
  const strings = sectionStrings(reader, sections, table);
  // tableEntries checked that the table's bytes lie in the file.
  for (let index = count - 1; index >= 0; index--) {
    if (strings.nameIs(reader.u32Unchecked(table.offset + index * entrySize), utf8)) {
      return symbolAt(reader, sections, table, entrySize, extendedIndexes, strings, index);
    }
  }
  return undefined;
}

/**
 * Every symbol of `table` whose name is `utf8` (with `versioned`, also `utf8` followed by an @
 * and a version), in table order, decoded; found as lastSymbolNamed finds one.
 */
export function symbolsNamed(
  reader: ByteReader,
  sections: readonly ElfSection[],
  table: ElfSection,
  extendedIndexes: ElfSection | undefined,
  utf8: Uint8Array,
  versioned: boolean,
): ElfSymbol[] {
  const { count, entrySize } = tableEntries(reader, table, ELF64_SYM_SIZE, 'symbol table');
  const out: ElfSymbol[] = [];
  if (count === 0) return out;
  const strings = sectionStrings(reader, sections, table);
  for (let index = 0; index < count; index++) {
    if (strings.nameIs(reader.u32Unchecked(table.offset + index * entrySize), utf8, versioned)) {
      out.push(symbolAt(reader, sections, table, entrySize, extendedIndexes, strings, index));
    }
  }
  return out;
}

/** Decodes symbol `index` of `table`, whose bytes tableEntries checked lie in the file. */
export function symbolAt(
  reader: ByteReader,
  sections: readonly ElfSection[],
  table: ElfSection,
  entrySize: number,
  extendedIndexes: ElfSection | undefined,
  strings: StringTable,
  index: number,
): ElfSymbol {
  const at = table.offset + index * entrySize;
  const nameOffset = reader.u32Unchecked(at);
  const info = reader.u8Unchecked(at + 4);
  const other = reader.u8Unchecked(at + 5);
  const storedIndex = reader.u16Unchecked(at + 6);
  const sectionIndex = storedIndex === SHN_XINDEX ? extendedIndex(reader, extendedIndexes, table, index) : storedIndex;
  // Reserved indexes (SHN_ABS, SHN_COMMON, ...) name no section; an escaped index always does.
  const reserved = storedIndex >= SHN_LORESERVE && storedIndex !== SHN_XINDEX;
  const section = !reserved && sectionIndex !== SHN_UNDEF ? sections[sectionIndex]?.name : undefined;
  const name = strings.get(nameOffset, () => `symbol ${index} in ${table.name}`);
  const value = reader.u64Unchecked(at + 8);
  const valueBig = reader.u64BigUnchecked(at + 8);
  const size = reader.u64Unchecked(at + 16);
  const type = info & 0xf;
  const bind = info >> 4;
  const visibility = other & 0x3;
  // Two literals rather than a conditional spread, which costs more than the rest of the record.
  return section !== undefined
    ? { index, name, value, valueBig, size, type, bind, visibility, other, sectionIndex, section }
    : { index, name, value, valueBig, size, type, bind, visibility, other, sectionIndex };
}

function extendedIndex(reader: ByteReader, shndx: ElfSection | undefined, table: ElfSection, index: number): number {
  if (!shndx) {
    throw new ElfError(`symbol ${index} has st_shndx SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`, {
      section: table.name,
    });
  }
  const at = shndx.offset + index * 4;
  if (!reader.contains(at, 4) || (index + 1) * 4 > shndx.size) {
    throw new ElfError(`symbol ${index} has no entry in the extended section index table`, {
      section: shndx.name,
      offset: shndx.offset,
    });
  }
  return reader.u32(at);
}
