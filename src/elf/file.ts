// ElfFile: the parsed view of one ELF64 image. The header and the section and program header
// tables are decoded eagerly (they are small and everything else needs them); symbols,
// relocations, notes and section contents are decoded on request and cached.
import { type ByteReader } from './bytes.js';
import {
  ET_REL,
  NT_GNU_BUILD_ID,
  NT_GO_BUILD_ID,
  PT_LOAD,
  PT_NOTE,
  SHF_COMPRESSED,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHT_DYNSYM,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_REL,
  SHT_RELA,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
} from './constants.js';
import { decompressElfSection, decompressZdebugSection, hasZdebugHeader, isZdebugSection } from './compression.js';
import { ElfError } from './errors.js';
import { readHeader } from './header.js';
import type { ElfHeader } from './header.js';
import { readNotes } from './notes.js';
import type { ElfNote } from './notes.js';
import { readRelocations } from './relocations.js';
import type { ElfRelocation } from './relocations.js';
import { readSections } from './sections.js';
import type { ElfSection } from './sections.js';
import { locateVirtual, readProgramHeaders, readVirtualBytes } from './segments.js';
import type { ElfProgramHeader } from './segments.js';
import { lastSymbolNamed, readSymbols, symbolsNamed } from './symbols.js';
import type { ElfSymbol } from './symbols.js';
import { readSymbolVersions } from './versions.js';

const utf8 = new TextEncoder();
/** Byte-wise searches of one symbol table (symbolNamed, symbolsNamed) before it is decoded whole. */
const SEARCHES_BEFORE_DECODING = 8;

/** A parsed ELF64 file: header, section and program headers; symbols, relocations, notes and section contents are read on request. */
export class ElfFile {
  readonly header: ElfHeader;
  /** Every section header, including the null section 0; sections[i].index === i. Empty when the file has none. */
  readonly sections: readonly ElfSection[];
  readonly programHeaders: readonly ElfProgramHeader[];

  private readonly reader: ByteReader;
  private readonly symbolCache = new Map<number, readonly ElfSymbol[]>();
  // symbolNamed/symbolsNamed: byte-wise searches made per table, and the last symbol of each name.
  private readonly symbolSearches = new Map<number, number>();
  private readonly symbolByName = new Map<number, Map<string, ElfSymbol>>();
  private readonly dataCache = new Map<number, Uint8Array>();
  /** First section of each name, built on the first lookup by name (loaders make dozens). */
  private byName: Map<string, ElfSection> | undefined;
  /** REL/RELA sections by the index of the section they patch, built on first request. */
  private relocationIndex: Map<number, ElfSection[]> | undefined;

  private constructor(reader: ByteReader, header: ElfHeader, sections: ElfSection[], programHeaders: ElfProgramHeader[]) {
    this.reader = reader;
    this.header = header;
    this.sections = sections;
    this.programHeaders = programHeaders;
  }

  /** Parses an ELF64 image. The bytes are referenced, not copied: do not modify them afterwards. */
  static parse(bytes: Uint8Array): ElfFile {
    if (!(bytes instanceof Uint8Array)) throw new ElfError('ElfFile.parse expects a Uint8Array');
    // A plain Uint8Array view (no copy), so a Buffer input still yields plain Uint8Array slices.
    const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { header: raw, reader } = readHeader(plain);
    const { header, sections } = readSections(reader, raw);
    const programHeaders = readProgramHeaders(reader, header);
    return new ElfFile(reader, header, sections, programHeaders);
  }

  /** The whole file image as given to parse. */
  get bytes(): Uint8Array {
    return this.reader.bytes;
  }

  /** The first section with this name. */
  section(name: string): ElfSection | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const s of this.sections) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    }
    return this.byName.get(name);
  }

  /** Every section whose sh_type is `type`. */
  sectionsByType(type: number): ElfSection[] {
    return this.sections.filter((s) => s.type === type);
  }

  /**
   * A section's contents: a view into the file (no copy) for plain sections, the decompressed
   * bytes for SHF_COMPRESSED and GNU .zdebug sections, empty for SHT_NOBITS (whose size is only
   * in memory).
   */
  sectionData(sectionOrName: ElfSection | string): Uint8Array {
    const section = this.resolve(sectionOrName);
    const cached = this.dataCache.get(section.index);
    if (cached) return cached;
    const data = this.loadSectionData(section);
    this.dataCache.set(section.index, data);
    return data;
  }

  /** The section's bytes exactly as stored in the file (still compressed, if it is). */
  rawSectionData(sectionOrName: ElfSection | string): Uint8Array {
    const section = this.resolve(sectionOrName);
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    return this.reader.slice(section.offset, section.size, 'section data', section.name);
  }

  /** True when sectionData decompresses this section. */
  isCompressed(sectionOrName: ElfSection | string): boolean {
    const section = this.resolve(sectionOrName);
    if (section.type === SHT_NOBITS) return false;
    if ((section.flags & SHF_COMPRESSED) !== 0) return true;
    return isZdebugSection(section) && hasZdebugHeader(this.rawSectionData(section));
  }

  /** The static symbol table (.symtab, i.e. the SHT_SYMTAB section); empty when stripped. */
  symbols(): readonly ElfSymbol[] {
    const table = this.sectionsByType(SHT_SYMTAB)[0];
    return table ? this.symbolsOf(table) : [];
  }

  /**
   * The last symbol named `name` in the static symbol table (.symtab), or in `table`; undefined
   * when there is none. A table already decoded (symbols(), symbolsOf()) is searched; otherwise
   * the names are compared as bytes in its string table and only the match is decoded, so that a
   * lookup or two never decode a table of thousands. Dynamic symbols come with their versions,
   * as from symbolsOf.
   */
  symbolNamed(name: string, table?: ElfSection | string): ElfSymbol | undefined {
    const t = table === undefined ? this.sectionsByType(SHT_SYMTAB)[0] : this.resolve(table);
    if (t === undefined) return undefined;
    const decoded = this.#decodedFor(t);
    if (decoded !== undefined) {
      let byName = this.symbolByName.get(t.index);
      if (!byName) {
        // The last of each name, as the byte-wise search finds it.
        byName = new Map();
        for (const s of decoded) byName.set(s.name, s);
        this.symbolByName.set(t.index, byName);
      }
      return byName.get(name);
    }
    if (t.type !== SHT_SYMTAB) throw new ElfError(`section type ${t.type} is not a symbol table`, { section: t.name });
    const extended = this.sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === t.index);
    return lastSymbolNamed(this.reader, this.sections, t, extended, utf8.encode(name));
  }

  /**
   * Every symbol named `name` in the static symbol table (.symtab), or in `table`, in table order;
   * with `versioned`, also those named `name@VERSION` or `name@@VERSION`. Found as symbolNamed
   * finds one: a table nothing has decoded yet is searched by comparing name bytes.
   */
  symbolsNamed(name: string, options: { table?: ElfSection | string; versioned?: boolean } = {}): ElfSymbol[] {
    const t = options.table === undefined ? this.sectionsByType(SHT_SYMTAB)[0] : this.resolve(options.table);
    if (t === undefined) return [];
    const versioned = options.versioned === true;
    const decoded = this.#decodedFor(t);
    if (decoded !== undefined) {
      return decoded.filter((s) => s.name === name || (versioned && s.name.startsWith(`${name}@`)));
    }
    if (t.type !== SHT_SYMTAB) throw new ElfError(`section type ${t.type} is not a symbol table`, { section: t.name });
    const extended = this.sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === t.index);
    return symbolsNamed(this.reader, this.sections, t, extended, utf8.encode(name), versioned);
  }

  /**
   * The decoded symbols of `t` for symbolNamed/symbolsNamed: those already decoded, a dynamic
   * table's (decoded with their versions), or, after SEARCHES_BEFORE_DECODING byte-wise searches
   * of the table, all of them (many lookups: decoding once costs less than searching each time);
   * undefined while a byte-wise search is the better deal.
   */
  #decodedFor(t: ElfSection): readonly ElfSymbol[] | undefined {
    const decoded = this.symbolCache.get(t.index);
    if (decoded !== undefined) return decoded;
    if (t.type === SHT_DYNSYM) return this.symbolsOf(t);
    const searches = (this.symbolSearches.get(t.index) ?? 0) + 1;
    this.symbolSearches.set(t.index, searches);
    return searches > SEARCHES_BEFORE_DECODING ? this.symbolsOf(t) : undefined;
  }

  /** The dynamic symbol table (.dynsym, i.e. the SHT_DYNSYM section); empty when there is none. */
  dynamicSymbols(): readonly ElfSymbol[] {
    const table = this.sectionsByType(SHT_DYNSYM)[0];
    return table ? this.symbolsOf(table) : [];
  }

  /** The symbols of a given SHT_SYMTAB or SHT_DYNSYM section. Index 0 is the null symbol. */
  symbolsOf(sectionOrName: ElfSection | string): readonly ElfSymbol[] {
    const table = this.resolve(sectionOrName);
    if (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM) {
      throw new ElfError(`section type ${table.type} is not a symbol table`, { section: table.name });
    }
    const cached = this.symbolCache.get(table.index);
    if (cached) return cached;
    const extended = this.sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === table.index);
    let symbols = readSymbols(this.reader, this.sections, table, extended);
    if (table.type === SHT_DYNSYM) {
      const versions = readSymbolVersions(this.reader, this.sections, table, symbols.length);
      if (versions) symbols = symbols.map((s, i) => (versions[i] ? { ...s, version: versions[i] } : s));
    }
    this.symbolCache.set(table.index, symbols);
    return symbols;
  }

  /** The entries of an SHT_REL or SHT_RELA section, with symbols resolved through its sh_link. */
  relocations(sectionOrName: ElfSection | string): ElfRelocation[] {
    const section = this.resolve(sectionOrName);
    if (section.type !== SHT_REL && section.type !== SHT_RELA) {
      throw new ElfError(`section type ${section.type} is not SHT_REL or SHT_RELA`, { section: section.name });
    }
    let symbols: readonly ElfSymbol[] | undefined;
    if (section.link !== SHN_UNDEF) {
      const table = this.sections[section.link];
      if (!table || (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM)) {
        throw new ElfError(`sh_link ${section.link} does not name a symbol table`, { section: section.name });
      }
      symbols = this.symbolsOf(table);
    }
    return readRelocations(this.reader, section, symbols);
  }

  /** The SHT_REL/SHT_RELA sections whose sh_info says they patch `target`. */
  relocationSectionsFor(target: ElfSection | string): ElfSection[] {
    const section = this.resolve(target);
    if (this.relocationIndex === undefined) {
      this.relocationIndex = new Map();
      for (const s of this.sections) {
        if ((s.type !== SHT_REL && s.type !== SHT_RELA) || s.index === 0) continue;
        const list = this.relocationIndex.get(s.info);
        if (list) list.push(s);
        else this.relocationIndex.set(s.info, [s]);
      }
    }
    // A copy: the caller owns the array it is given.
    return this.relocationIndex.get(section.index)?.slice() ?? [];
  }

  /**
   * Every note, from SHT_NOTE sections and from PT_NOTE segments. A note reachable both ways
   * (the usual case in linked files) is listed once, with its section name.
   */
  notes(): ElfNote[] {
    const out: ElfNote[] = [];
    const seen = new Set<number>();
    for (const section of this.sectionsByType(SHT_NOTE)) {
      for (const note of readNotes(this.reader, section.offset, section.size, section.addralign, { section: section.name })) {
        seen.add(note.offset);
        out.push(note);
      }
    }
    for (const segment of this.programHeaders) {
      if (segment.type !== PT_NOTE) continue;
      for (const note of readNotes(this.reader, segment.offset, segment.filesz, segment.align, { segment: segment.index })) {
        if (!seen.has(note.offset)) {
          seen.add(note.offset);
          out.push(note);
        }
      }
    }
    return out;
  }

  /** The GNU build id (NT_GNU_BUILD_ID) as lowercase hex, when present. */
  gnuBuildId(): string | undefined {
    const note = this.notes().find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
    return note ? toHex(note.desc) : undefined;
  }

  /** Go's build id note (owner "Go", type 4) as a string, when present. */
  goBuildId(): string | undefined {
    const note = this.notes().find((n) => n.name === 'Go' && n.type === NT_GO_BUILD_ID);
    return note ? new TextDecoder('latin1').decode(note.desc) : undefined;
  }

  /**
   * The file bytes backing [vaddr, vaddr+length) as loaded by the PT_LOAD segments (a view, no
   * copy), or undefined when that range is not file-backed (unmapped, or zero-fill .bss).
   */
  readVirtual(vaddr: number | bigint, length: number): Uint8Array | undefined {
    return readVirtualBytes(this.reader, this.programHeaders, vaddr, length);
  }

  /** File offset of a virtual address inside a PT_LOAD segment's file-backed part (what uprobes want). */
  fileOffsetOf(vaddr: number | bigint): number | undefined {
    return locateVirtual(this.programHeaders, vaddr, 0)?.fileOffset;
  }

  /** The PT_LOAD segments, in table order. */
  loadSegments(): ElfProgramHeader[] {
    return this.programHeaders.filter((p) => p.type === PT_LOAD);
  }

  /**
   * File offset of a symbol's first byte. In relocatable objects (ET_REL) st_value is relative to
   * its section; in linked files it is a virtual address mapped through PT_LOAD. Undefined for
   * undefined, absolute and common symbols and for addresses with no file bytes.
   */
  symbolFileOffset(symbol: ElfSymbol): number | undefined {
    const { sectionIndex } = symbol;
    if (sectionIndex === SHN_UNDEF) return undefined;
    if (sectionIndex >= SHN_LORESERVE && symbol.section === undefined) return undefined;
    const section = this.sections[sectionIndex];
    if (section === undefined || section.type === SHT_NOBITS) return undefined;
    if (this.header.type === ET_REL) {
      return symbol.value <= section.size ? section.offset + symbol.value : undefined;
    }
    const viaSegments = this.fileOffsetOf(symbol.valueBig);
    if (viaSegments !== undefined) return viaSegments;
    // No program headers (e.g. separate debug files): fall back to the section's own mapping.
    const delta = symbol.valueBig - section.addrBig;
    return delta >= 0n && delta < BigInt(section.size) ? section.offset + Number(delta) : undefined;
  }

  private resolve(sectionOrName: ElfSection | string): ElfSection {
    if (typeof sectionOrName === 'string') {
      const found = this.section(sectionOrName);
      if (!found) throw new ElfError(`no section named ${JSON.stringify(sectionOrName)}`);
      return found;
    }
    // Sections are looked up by index, so a section object from another parse of the same file works too.
    const own = this.sections[sectionOrName.index];
    if (!own) throw new ElfError(`section index ${sectionOrName.index} is not in this file`, { section: sectionOrName.name });
    return own;
  }

  private loadSectionData(section: ElfSection): Uint8Array {
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    const stored = this.reader.slice(section.offset, section.size, 'section data', section.name);
    if ((section.flags & SHF_COMPRESSED) !== 0) return decompressElfSection(this.reader, section, stored);
    if (isZdebugSection(section) && hasZdebugHeader(stored)) return decompressZdebugSection(section, stored);
    return stored;
  }
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
