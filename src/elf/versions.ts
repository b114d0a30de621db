// GNU symbol versioning: .gnu.version (one u16 per dynamic symbol) indexes version names defined
// in .gnu.version_d (versions this file provides) or required in .gnu.version_r (versions it
// needs from other libraries). Uprobes on e.g. libc need them to tell malloc@@GLIBC_x apart.
import { type ByteReader } from './bytes.js';
import { SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM, SHT_NOBITS } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfSection } from './sections.js';
import { sectionStrings } from './symbols.js';

/** The GNU version of a dynamic symbol, from .gnu.version with .gnu.version_d or .gnu.version_r. */
export interface ElfSymbolVersion {
  /** Version index from .gnu.version (2 and up; 0 local and 1 global carry no name). */
  readonly index: number;
  readonly name: string;
  /** The hidden bit: this is not the default version of the symbol (shown as name@VER, not name@@VER). */
  readonly hidden: boolean;
  /** For a required version, the library expected to provide it (e.g. "libc.so.6"). */
  readonly file?: string;
}

const VERSYM_HIDDEN = 0x8000;
const VERDEF_SIZE = 20;
const VERDAUX_SIZE = 8;
const VERNEED_SIZE = 16;
const VERNAUX_SIZE = 16;

interface VersionName {
  name: string;
  file?: string;
}

/**
 * The version of each symbol in `dynsym` (undefined where it has none), or undefined when the
 * file has no .gnu.version for that table.
 */
export function readSymbolVersions(
  reader: ByteReader,
  sections: readonly ElfSection[],
  dynsym: ElfSection,
  symbolCount: number,
): (ElfSymbolVersion | undefined)[] | undefined {
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM && s.link === dynsym.index);
  if (!versym || versym.type === SHT_NOBITS) return undefined;
  reader.require(versym.offset, versym.size, 'symbol version table', versym.name);
  const names = new Map<number, VersionName>();
  for (const s of sections) {
    if (s.type === SHT_GNU_VERDEF) readDefinitions(reader, sections, s, names);
    else if (s.type === SHT_GNU_VERNEED) readNeeds(reader, sections, s, names);
  }
  const count = Math.min(symbolCount, Math.floor(versym.size / 2));
  const out: (ElfSymbolVersion | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const raw = reader.u16(versym.offset + i * 2);
    const index = raw & ~VERSYM_HIDDEN;
    const found = index >= 2 ? names.get(index) : undefined;
    out.push(
      found
        ? { index, name: found.name, hidden: (raw & VERSYM_HIDDEN) !== 0, ...(found.file !== undefined ? { file: found.file } : {}) }
        : undefined,
    );
  }
  return out;
}

/** Walks a chain of records linked by relative "next" offsets, refusing loops and overruns. */
function* chain(
  reader: ByteReader,
  section: ElfSection,
  start: number,
  limit: number,
  recordSize: number,
  nextField: number,
): Generator<number> {
  const end = section.offset + section.size;
  let at = start;
  // A chain cannot have more records than fit in the section, which also bounds a cycle.
  const most = Math.min(limit, Math.floor(section.size / recordSize));
  for (let n = 0; n < most; n++) {
    if (at < section.offset || at + recordSize > end) {
      throw new ElfError(`version record at 0x${at.toString(16)} lies outside the section`, {
        offset: at,
        section: section.name,
      });
    }
    yield at;
    const next = reader.u32(at + nextField);
    if (next === 0) return;
    at += next;
  }
}

function readDefinitions(reader: ByteReader, sections: readonly ElfSection[], s: ElfSection, names: Map<number, VersionName>): void {
  reader.require(s.offset, s.size, 'version definitions', s.name);
  const strings = sectionStrings(reader, sections, s);
  for (const def of chain(reader, s, s.offset, s.info || Number.MAX_SAFE_INTEGER, VERDEF_SIZE, 16)) {
    const index = reader.u16(def + 4);
    const auxCount = reader.u16(def + 6);
    if (auxCount === 0) continue;
    const aux = def + reader.u32(def + 12);
    // The first auxiliary entry names the version itself; later ones name its parents.
    for (const entry of chain(reader, s, aux, 1, VERDAUX_SIZE, 4)) {
      names.set(index, { name: strings.get(reader.u32(entry), `version definition ${index}`) });
    }
  }
}

function readNeeds(reader: ByteReader, sections: readonly ElfSection[], s: ElfSection, names: Map<number, VersionName>): void {
  reader.require(s.offset, s.size, 'version requirements', s.name);
  const strings = sectionStrings(reader, sections, s);
  for (const need of chain(reader, s, s.offset, s.info || Number.MAX_SAFE_INTEGER, VERNEED_SIZE, 12)) {
    const auxCount = reader.u16(need + 2);
    const file = strings.get(reader.u32(need + 4), 'required library name');
    const aux = need + reader.u32(need + 8);
    if (auxCount === 0) continue;
    for (const entry of chain(reader, s, aux, auxCount, VERNAUX_SIZE, 12)) {
      const index = reader.u16(entry + 6) & ~VERSYM_HIDDEN;
      names.set(index, { name: strings.get(reader.u32(entry + 8), `required version ${index}`), file });
    }
  }
}
