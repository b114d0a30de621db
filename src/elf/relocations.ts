// Relocation sections (SHT_REL: Elf64_Rel, SHT_RELA: Elf64_Rela).
import { type ByteReader } from './bytes.js';
import { ELF64_REL_SIZE, ELF64_RELA_SIZE, SHT_RELA } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfSection } from './sections.js';
import { tableEntries } from './symbols.js';
import type { ElfSymbol } from './symbols.js';

/** One entry of a SHT_REL or SHT_RELA section. */
export interface ElfRelocation {
  /** r_offset: section-relative in relocatable files, a virtual address in linked ones. */
  readonly offset: number;
  /** r_offset exactly, for addresses above 2^53. */
  readonly offsetBig: bigint;
  /** Relocation type (R_<arch>_*; for BPF, R_BPF_*). */
  readonly type: number;
  /** Index into the symbol table the relocation section links to; 0 means no symbol. */
  readonly symbolIndex: number;
  /** The referenced symbol, when symbolIndex is non-zero and the section links a symbol table. */
  readonly symbol?: ElfSymbol;
  /** r_addend (signed); 0 for SHT_REL, whose addend is stored in the relocated bytes instead. */
  readonly addend: number;
  readonly addendBig: bigint;
}

/**
 * Decodes a relocation section. `symbols` is the table its sh_link names (undefined when the
 * link is 0, as in some dynamic relocation sections). r_info is read with the generic ELF64
 * layout (symbol in the high 32 bits, type in the low 32), which is not right for MIPS64.
 */
export function readRelocations(reader: ByteReader, section: ElfSection, symbols: readonly ElfSymbol[] | undefined): ElfRelocation[] {
  const withAddend = section.type === SHT_RELA;
  const { count, entrySize } = tableEntries(
    reader,
    section,
    withAddend ? ELF64_RELA_SIZE : ELF64_REL_SIZE,
    withAddend ? 'RELA relocation table' : 'REL relocation table',
  );
  const out: ElfRelocation[] = [];
  // tableEntries checked that the section's bytes lie in the file: its records' fields are read unchecked.
  for (let i = 0; i < count; i++) {
    const at = section.offset + i * entrySize;
    const symbolIndex = reader.u32Unchecked(at + 8 + (reader.littleEndian ? 4 : 0));
    const type = reader.u32Unchecked(at + 8 + (reader.littleEndian ? 0 : 4));
    const addendBig = withAddend ? reader.i64BigUnchecked(at + 16) : 0n;
    let symbol: ElfSymbol | undefined;
    if (symbolIndex !== 0 && symbols) {
      symbol = symbols[symbolIndex];
      if (!symbol) {
        throw new ElfError(`relocation ${i} refers to symbol ${symbolIndex}, but the symbol table has ${symbols.length} entries`, {
          section: section.name,
          offset: at,
        });
      }
    }
    const offset = reader.u64Unchecked(at);
    const offsetBig = reader.u64BigUnchecked(at);
    const addend = Number(addendBig);
    // Two literals rather than a conditional spread, which costs more than the rest of the record.
    out.push(
      symbol
        ? { offset, offsetBig, type, symbolIndex, symbol, addend, addendBig }
        : { offset, offsetBig, type, symbolIndex, addend, addendBig },
    );
  }
  return out;
}
