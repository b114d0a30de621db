// The object's symbol table indexed once for the questions loadCollectionSpec asks of it many
// times: which symbols a section defines, the first symbol of a name, which global functions are
// hidden. A scan of every symbol per question made parsing quadratic in the number of symbols.
import type { ElfSymbol } from '../../elf/index.js';

const STT_FUNC = 2;
const STB_LOCAL = 0;
const STV_HIDDEN = 2;
const NONE: readonly ElfSymbol[] = [];

export class SymbolIndex {
  private readonly bySection = new Map<number, ElfSymbol[]>();
  /** Built on first use: only .kconfig externs ask, and hashing every name costs. */
  private firstByName: Map<string, ElfSymbol> | undefined;
  private readonly hidden = new Set<string>();

  constructor(readonly all: readonly ElfSymbol[]) {
    for (const s of all) {
      const list = this.bySection.get(s.sectionIndex);
      if (list) list.push(s);
      else this.bySection.set(s.sectionIndex, [s]);
      if (s.type === STT_FUNC && s.bind !== STB_LOCAL && s.visibility === STV_HIDDEN) this.hidden.add(s.name);
    }
  }

  /** The symbols whose st_shndx is `sectionIndex`, in table order. */
  inSection(sectionIndex: number): readonly ElfSymbol[] {
    return this.bySection.get(sectionIndex) ?? NONE;
  }

  /** The first symbol (in table order) named `name`. */
  named(name: string): ElfSymbol | undefined {
    if (this.firstByName === undefined) {
      this.firstByName = new Map();
      for (const s of this.all) if (!this.firstByName.has(s.name)) this.firstByName.set(s.name, s);
    }
    return this.firstByName.get(name);
  }

  /** Whether some global (or weak) STV_HIDDEN function is named `name`. */
  isHiddenFunction(name: string): boolean {
    return this.hidden.has(name);
  }
}
