// Function resolution for uprobes (resolveFunctions): a few names are looked for as bytes in the
// string tables (ElfFile.symbolsNamed), many through the decoded tables. The oracle for the first
// is the second: both must give the same answer for every function of real binaries.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfFile, SHN_UNDEF, STT_FUNC } from '../src/elf/index.js';
import { StringTable } from '../src/elf/strings.js';
import { resolveFunctions, SymbolNotFoundError } from '../src/symbols/index.js';

const FIXTURES = new URL('./fixtures/go/', import.meta.url);
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

/** Names of the functions a table lists, every `step`-th, without versions. */
function functionNames(elf: ElfFile, step: number): string[] {
  const all = [...elf.symbols(), ...(elf.section('.dynsym') ? elf.dynamicSymbols() : [])];
  const defined = all.filter((s) => s.type === STT_FUNC && s.name !== '' && s.sectionIndex !== SHN_UNDEF);
  const names = [...new Set(defined.map((s) => s.name.split('@')[0]!))];
  return names.filter((_, i) => i % step === 0);
}

describe('resolveFunctions: a few names found by their bytes agree with the decoded tables', () => {
  for (const [label, path, step] of [
    ['a Go binary (.symtab)', new URL('workload', FIXTURES), 7],
    ['a stripped Go binary (pclntab)', new URL('workload-stripped', FIXTURES), 1],
    ['libc (.dynsym)', LIBC, 25],
  ] as const) {
    it(label, () => {
      const bytes = readFileSync(path);
      const decoded = ElfFile.parse(bytes);
      const names = label.includes('stripped')
        ? ['runtime.casgstatus', 'main.main', 'runtime.goexit', 'runtime.newproc', 'runtime.mstart']
        : functionNames(decoded, step);
      expect(names.length).toBeGreaterThanOrEqual(5);
      // Five names at once take the decoded tables; one name at a time, on a file nothing has
      // decoded, the bytes.
      const wrong: string[] = [];
      for (let i = 0; i + 5 <= names.length; i += 5) {
        const chunk = names.slice(i, i + 5);
        const many = resolveFunctions(decoded, chunk);
        chunk.forEach((name, k) => {
          const one = resolveFunctions(ElfFile.parse(bytes), [name])[0];
          if (JSON.stringify(one) !== JSON.stringify(many[k])) wrong.push(`${name}: ${JSON.stringify(one)} vs ${JSON.stringify(many[k])}`);
        });
      }
      expect(wrong.slice(0, 5).join('\n')).toBe('');
      expect(() => resolveFunctions(ElfFile.parse(bytes), ['no_such_function_here'])).toThrow(SymbolNotFoundError);
    });
  }

  it('a versioned name (name@VER, name@@VER) is the name when asked for', () => {
    const table = new StringTable(new TextEncoder().encode('\0malloc@@GLIBC_2.2.5\0free\0freeze\0'), 0, '.strtab');
    const utf8 = (s: string) => new TextEncoder().encode(s);
    expect(table.nameIs(1, utf8('malloc'))).toBe(false);
    expect(table.nameIs(1, utf8('malloc'), true)).toBe(true);
    expect(table.nameIs(21, utf8('free'), true)).toBe(true);
    expect(table.nameIs(26, utf8('free'), true)).toBe(false); // "freeze" is not "free"
    expect(table.nameIs(26, utf8('freeze'))).toBe(true);
    expect(table.nameIs(999, utf8('x'))).toBe(false);
  });
});
