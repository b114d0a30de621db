// Function name → address and file offset in an executable or library, for uprobes. Searches
// .symtab, then .dynsym, then (for Go binaries, even stripped ones) the Go pclntab.
import { type ElfFile, STT_FUNC, STT_GNU_IFUNC, SHN_UNDEF, type ElfSymbol } from '../elf/index.js';
import { goFunctionsOf } from './go.js';
import { EbpfError } from '../errors/index.js';

export type SymbolSource = 'symtab' | 'dynsym' | 'pclntab';

/** A function found in an ELF file: its name, address and file offset. */
export interface ResolvedFunction {
  name: string;
  /** Virtual address as linked (for PIE: relative to the load base). */
  address: number;
  /** Where the first instruction is in the file: what a uprobe takes. */
  fileOffset: number;
  source: SymbolSource;
}

export class SymbolNotFoundError extends EbpfError {
  override name = 'SymbolNotFoundError';
  readonly symbol: string;
  readonly file: string;
  readonly suggestions: readonly string[];

  /** Creates the error for `symbol` missing from `file`; `suggestions` are close names, `searched` what was looked in. */
  constructor(symbol: string, file: string, suggestions: readonly string[], searched: string) {
    const near = suggestions.length ? `; close names: ${suggestions.join(', ')}` : '';
    super('ERR_SYMBOL_NOT_FOUND', `no function "${symbol}" in ${file} (searched ${searched})${near}`);
    this.symbol = symbol;
    this.file = file;
    this.suggestions = suggestions;
  }
}

/** At most this many names are looked for one by one (ElfFile.symbolsNamed) rather than through decoded tables. */
const FEW_NAMES = 4;

function isFunction(s: ElfSymbol): boolean {
  return (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.sectionIndex !== SHN_UNDEF && s.name !== '';
}

/** Strips a symbol version ("malloc@@GLIBC_2.2.5" → "malloc"). */
function baseName(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/** Resolves every function named in `names`; throws SymbolNotFoundError for the first one missing. */
export function resolveFunctions(elf: ElfFile, names: readonly string[], file = 'the binary'): ResolvedFunction[] {
  const wanted = new Set(names);
  const found = new Map<string, ResolvedFunction>();
  const searched: string[] = [];
  // A few names (a uprobe's one) are looked for as bytes in the string table, decoding only their
  // symbols; many decode the tables once.
  const few = wanted.size <= FEW_NAMES && ![...wanted].some((n) => n.includes('@'));
  for (const [source, symbols] of [
    ['symtab', () => (few ? [...wanted].flatMap((n) => elf.symbolsNamed(n, { versioned: true })) : elf.symbols())],
    ['dynsym', () => (few ? [...wanted].flatMap((n) => elf.symbolsNamed(n, { table: '.dynsym', versioned: true })) : elf.dynamicSymbols())],
  ] as const) {
    if (!elf.section(source === 'symtab' ? '.symtab' : '.dynsym')) continue;
    searched.push(`.${source}`);
    for (const s of symbols()) {
      const name = baseName(s.name);
      if (!wanted.has(name) || found.has(name) || !isFunction(s)) continue;
      const fileOffset = elf.symbolFileOffset(s);
      if (fileOffset !== undefined) found.set(name, { name, address: s.value, fileOffset, source });
    }
  }
  if (found.size < wanted.size) {
    const go = goFunctionsOf(elf);
    if (go) {
      searched.push('the Go pclntab');
      for (const name of wanted) {
        if (found.has(name)) continue;
        const address = go.lookup(name);
        if (address === undefined) continue;
        const fileOffset = elf.fileOffsetOf(address);
        if (fileOffset !== undefined) found.set(name, { name, address, fileOffset, source: 'pclntab' });
      }
    }
  }
  for (const name of names) {
    if (!found.has(name)) {
      throw new SymbolNotFoundError(
        name,
        file,
        closeNames(name, allFunctionNames(elf)),
        searched.length ? searched.join(', ') : 'no symbol table: the binary is stripped',
      );
    }
  }
  return names.map((n) => found.get(n)!);
}

/** Finds function `name` in `elf`; throws SymbolNotFoundError when it is missing (`file` names the binary in the message). */
export function resolveFunction(elf: ElfFile, name: string, file?: string): ResolvedFunction {
  return resolveFunctions(elf, [name], file)[0];
}

function allFunctionNames(elf: ElfFile): string[] {
  const names = new Set<string>();
  for (const list of [elf.section('.symtab') ? elf.symbols() : [], elf.section('.dynsym') ? elf.dynamicSymbols() : []]) {
    for (const s of list) if (isFunction(s)) names.add(baseName(s.name));
  }
  const go = goFunctionsOf(elf);
  if (go) for (const f of go.all()) names.add(f.name);
  return [...names];
}

/** Up to five names closest to `name`: substring matches first, then by edit distance. */
export function closeNames(name: string, candidates: readonly string[]): string[] {
  const lower = name.toLowerCase();
  const scored = candidates.map((c) => {
    const cl = c.toLowerCase();
    const contains = cl.includes(lower) || lower.includes(cl);
    return { c, score: contains ? -1 : editDistance(lower, cl) };
  });
  const limit = Math.max(2, Math.floor(name.length / 3));
  return scored
    .filter((s) => s.score <= limit)
    .sort((a, b) => a.score - b.score || a.c.length - b.c.length)
    .slice(0, 5)
    .map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return 99;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}
