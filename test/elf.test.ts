// The ELF reader against real objects built at test time, with llvm-readelf (JSON output) and
// objcopy as the oracle.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EM_BPF,
  EM_X86_64,
  ET_DYN,
  ET_EXEC,
  ET_REL,
  ElfFile,
  NT_GNU_BUILD_ID,
  PT_LOAD,
  R_BPF_64_64,
  SHF_COMPRESSED,
  SHT_REL,
  SHT_RELA,
  STT_FUNC,
  STT_SECTION,
} from '../src/elf/index.js';
import type { ElfSymbol } from '../src/elf/index.js';
import { hasCommand, need } from './support/env.js';

const READELF = 'llvm-readelf-19';
const haveNative = need(
  hasCommand('cc') && hasCommand(READELF) && hasCommand('objcopy'),
  `cc, objcopy and ${READELF} are needed to build and inspect test binaries`,
);
const haveClang = need(hasCommand('clang') && hasCommand(READELF), `clang and ${READELF} are needed to build BPF objects`);
// Go is optional: its binaries exercise the Go build id note and section-less files.
const haveGo = hasCommand('go');

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'elf-test-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd = dir): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// --- Oracle: llvm-readelf's JSON output -------------------------------------------------------

interface Named {
  Name: string;
  Value: number;
}
interface JsonSection {
  Index: number;
  Name: Named;
  Type: Named;
  Flags: { Value: number };
  Address: number;
  Offset: number;
  Size: number;
  Link: number;
  Info: number;
  AddressAlignment: number;
  EntrySize: number;
}
interface JsonProgramHeader {
  Type: Named;
  Offset: number;
  VirtualAddress: number;
  PhysicalAddress: number;
  FileSize: number;
  MemSize: number;
  Flags: { Value: number };
  Alignment: number;
}
interface JsonSymbol {
  Name: Named;
  Value: number;
  Size: number;
  Binding: Named;
  Type: Named;
  Other: { Value: number };
  Section: Named;
}
interface JsonRelocation {
  Offset: number;
  Type: Named;
  Symbol: Named;
  /** Quoted before parsing: llvm-readelf prints it as an unsigned 64-bit number. */
  Addend?: string;
}
interface JsonNote {
  Owner: string;
  'Data size': number;
  'Build ID'?: string;
}
interface Readelf {
  ElfHeader: {
    Type: string;
    Machine: Named;
    Entry: number;
    ProgramHeaderOffset: number;
    SectionHeaderOffset: number;
    Flags: { Value: number };
    ProgramHeaderCount: number;
    SectionHeaderCount: string | number;
    StringTableSectionIndex: string | number;
    Ident: { DataEncoding: Named; 'OS/ABI': Named; ABIVersion: number };
  };
  Sections?: { Section: JsonSection }[];
  ProgramHeaders?: { ProgramHeader: JsonProgramHeader }[];
  Symbols?: { Symbol: JsonSymbol }[];
  DynamicSymbols?: { Symbol: JsonSymbol }[];
  Relocations?: { SectionIndex: number; Relocs: { Relocation: JsonRelocation }[] }[];
  NoteSections?: { NoteSection: { Name: string; Offset: number; Size: number; Notes: JsonNote[] } }[];
  Notes?: { NoteSection: { Name: string; Offset: number; Size: number; Notes: JsonNote[] } }[];
}

function readelf(path: string): Readelf {
  const out = run(READELF, ['--elf-output-style=JSON', '-h', '-S', '-l', '-s', '--dyn-syms', '-r', '-n', path]);
  const exactAddends = out.replace(/"Addend":\s*(\d+)/g, '"Addend":"$1"');
  return (JSON.parse(exactAddends) as Readelf[])[0];
}

/** llvm-readelf prints versioned dynamic symbols as name@VER (required or hidden) / name@@VER (default). */
function versionedName(s: ElfSymbol): string {
  if (!s.version) return s.name;
  return `${s.name}${s.version.file !== undefined || s.version.hidden ? '@' : '@@'}${s.version.name}`;
}

/** Checks everything readelf reports about the file against ElfFile. */
function compareWithReadelf(path: string): { elf: ElfFile; oracle: Readelf } {
  const elf = ElfFile.parse(readFileSync(path));
  const oracle = readelf(path);
  const h = oracle.ElfHeader;

  expect(elf.header.byteOrder).toBe(h.Ident.DataEncoding.Value === 1 ? 'little' : 'big');
  expect(elf.header.osabi).toBe(h.Ident['OS/ABI'].Value);
  expect(elf.header.machine).toBe(h.Machine.Value);
  expect(h.Type).toContain(`(0x${elf.header.type.toString(16)})`);
  expect(elf.header.entry).toBe(h.Entry);
  expect(elf.header.phoff).toBe(h.ProgramHeaderOffset);
  expect(elf.header.shoff).toBe(h.SectionHeaderOffset);
  expect(elf.header.flags).toBe(h.Flags.Value);
  expect(elf.header.phnum).toBe(h.ProgramHeaderCount);
  expect(elf.header.shnum).toBe(Number(h.SectionHeaderCount));

  const sections = (oracle.Sections ?? []).map((s) => s.Section);
  expect(elf.sections.map((s) => s.index)).toEqual(sections.map((s) => s.Index));
  for (const s of sections) {
    const ours = elf.sections[s.Index];
    expect({
      name: ours.name,
      type: ours.type,
      flags: ours.flags,
      addr: ours.addr,
      offset: ours.offset,
      size: ours.size,
      link: ours.link,
      info: ours.info,
      addralign: ours.addralign,
      entsize: ours.entsize,
    }).toEqual({
      name: s.Name.Name,
      type: s.Type.Value,
      flags: s.Flags.Value,
      addr: s.Address,
      offset: s.Offset,
      size: s.Size,
      link: s.Link,
      info: s.Info,
      addralign: s.AddressAlignment,
      entsize: s.EntrySize,
    });
  }

  const phdrs = (oracle.ProgramHeaders ?? []).map((p) => p.ProgramHeader);
  expect(elf.programHeaders.map((p) => [p.type, p.flags, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.align])).toEqual(
    phdrs.map((p) => [p.Type.Value, p.Flags.Value, p.Offset, p.VirtualAddress, p.PhysicalAddress, p.FileSize, p.MemSize, p.Alignment]),
  );

  const checkSymbols = (ours: readonly ElfSymbol[], theirs: JsonSymbol[], dynamic: boolean) => {
    expect(ours.length).toBe(theirs.length);
    theirs.forEach((t, i) => {
      const s = ours[i];
      expect(s.index).toBe(i);
      // readelf shows an STT_SECTION symbol's section name in place of its (empty) own name.
      const expectedName = s.type === STT_SECTION && s.name === '' ? '' : t.Name.Name;
      expect([dynamic ? versionedName(s) : s.name, s.value, s.size, s.type, s.bind, s.other, s.sectionIndex]).toEqual([
        expectedName,
        t.Value,
        t.Size,
        t.Type.Value,
        t.Binding.Value,
        t.Other.Value,
        t.Section.Value,
      ]);
      if (s.section !== undefined) expect(s.section).toBe(t.Section.Name);
    });
  };
  checkSymbols(
    elf.symbols(),
    (oracle.Symbols ?? []).map((s) => s.Symbol),
    false,
  );
  checkSymbols(
    elf.dynamicSymbols(),
    (oracle.DynamicSymbols ?? []).map((s) => s.Symbol),
    true,
  );

  const relocGroups = oracle.Relocations ?? [];
  const relocSections = elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA);
  expect(relocSections.map((s) => s.index)).toEqual(relocGroups.map((g) => g.SectionIndex));
  for (const group of relocGroups) {
    const ours = elf.relocations(elf.sections[group.SectionIndex]);
    expect(ours.length).toBe(group.Relocs.length);
    group.Relocs.forEach(({ Relocation: r }, i) => {
      const o = ours[i];
      const addend = BigInt.asIntN(64, BigInt(r.Addend ?? '0'));
      expect([o.offset, o.type, o.symbolIndex, o.addendBig, o.addend]).toEqual([
        r.Offset,
        r.Type.Value,
        r.Symbol.Value,
        addend,
        Number(addend),
      ]);
      if (o.symbol && !(o.symbol.type === STT_SECTION && o.symbol.name === '')) {
        expect(versionedName(o.symbol)).toBe(r.Symbol.Name);
      }
    });
  }

  const noteSections = (oracle.NoteSections ?? oracle.Notes ?? []).map((n) => n.NoteSection);
  const ourNotes = elf.notes();
  for (const ns of noteSections) {
    // readelf lists PT_NOTE segments (when there are no sections) with a name like "PT_NOTE".
    const mine = ourNotes.filter((n) => n.offset >= ns.Offset && n.offset < ns.Offset + ns.Size);
    expect(mine.map((n) => [n.name, n.desc.length])).toEqual(ns.Notes.map((n) => [n.Owner.replace(/\0+$/, ''), n['Data size']]));
    ns.Notes.forEach((n, i) => {
      if (n['Build ID'] !== undefined) {
        expect(mine[i].type).toBe(NT_GNU_BUILD_ID);
        expect(elf.gnuBuildId()).toBe(n['Build ID']);
      }
    });
  }
  expect(ourNotes.length).toBe(noteSections.reduce((sum, ns) => sum + ns.Notes.length, 0));
  return { elf, oracle };
}

// --- Native objects built with cc ---------------------------------------------------------------

const C_PROGRAM = `
#include <stdio.h>
#include <stdlib.h>
int counter = 42;
static int hidden_total;
__thread int per_thread;
const char greeting[] = "hello from the ELF test";
__attribute__((noinline)) int add_counter(int x) { hidden_total += x; return x + counter + per_thread; }
int main(int argc, char **argv) { printf("%s %d\\n", greeting, add_counter(argc)); return argv == NULL ? 1 : 0; }
`;

const C_LIBRARY = `
int lib_value = 7;
int lib_function(int x) { return x * lib_value; }
static int lib_private(int y) { return y - 1; }
int lib_calls(int z) { return lib_private(z) + lib_function(z); }
`;

describe.skipIf(!haveNative)('ELF64 from cc', () => {
  const build = (name: string, args: string[], source = C_PROGRAM): string => {
    const src = join(dir, `${name}.c`);
    writeFileSync(src, source);
    const out = join(dir, name);
    run('cc', ['-O1', '-g', ...args, '-o', out, src]);
    return out;
  };

  it('matches readelf for a default executable, including the build id and symbol offsets', () => {
    const path = build('default', ['-Wl,--build-id']);
    const { elf, oracle } = compareWithReadelf(path);
    expect(elf.header.machine).toBe(EM_X86_64);
    expect(elf.gnuBuildId()).toMatch(/^[0-9a-f]{40}$/);
    expect(elf.symbols().length).toBeGreaterThan(10);
    expect(elf.dynamicSymbols().some((s) => s.name === 'printf')).toBe(true);

    // A symbol's bytes through the segments equal its bytes in its section per readelf's table.
    const main = elf.symbols().find((s) => s.name === 'add_counter' && s.type === STT_FUNC);
    expect(main).toBeDefined();
    const text = (oracle.Sections ?? []).map((s) => s.Section).find((s) => s.Name.Name === '.text');
    expect(text).toBeDefined();
    const expectedOffset = text!.Offset + (main!.value - text!.Address);
    expect(elf.fileOffsetOf(main!.value)).toBe(expectedOffset);
    expect(elf.symbolFileOffset(main!)).toBe(expectedOffset);
    const bytes = readFileSync(path);
    expect(elf.readVirtual(main!.value, main!.size)).toEqual(new Uint8Array(bytes.subarray(expectedOffset, expectedOffset + main!.size)));

    const greeting = elf.symbols().find((s) => s.name === 'greeting');
    const text2 = elf.readVirtual(greeting!.value, greeting!.size);
    expect(Buffer.from(text2!).toString('latin1')).toBe('hello from the ELF test\0');
    // symbolNamed finds, without decoding the table, the last symbol of each name that symbols()
    // lists, on a file whose tables nothing has decoded yet; .dynsym's with their versions.
    const fresh = (): ElfFile => ElfFile.parse(bytes);
    for (const [table, all] of [
      [undefined, elf.symbols()],
      ['.dynsym', elf.dynamicSymbols()],
    ] as const) {
      const names = [...new Set(all.map((s) => s.name).filter((n) => n !== ''))];
      expect(names.length).toBeGreaterThan(5);
      const f = fresh();
      for (const name of names) expect(f.symbolNamed(name, table), name).toEqual(all.findLast((s) => s.name === name));
      expect(fresh().symbolNamed('no_such_symbol', table)).toBeUndefined();
    }
    // .bss has no file bytes.
    const hidden = elf.symbols().find((s) => s.name === 'hidden_total');
    expect(elf.readVirtual(hidden!.value, 4)).toBeUndefined();
    expect(elf.readVirtual(0xdead_0000_0000, 4)).toBeUndefined();
  });

  it('matches readelf for -pie and -no-pie executables', () => {
    const pie = compareWithReadelf(build('pie', ['-fPIE', '-pie'])).elf;
    expect(pie.header.type).toBe(ET_DYN);
    const nopie = compareWithReadelf(build('nopie', ['-fno-PIE', '-no-pie'])).elf;
    expect(nopie.header.type).toBe(ET_EXEC);
    expect(nopie.header.entry).toBeGreaterThanOrEqual(0x400000);
    const main = nopie.symbols().find((s) => s.name === 'main')!;
    const text = nopie.section('.text')!;
    expect(nopie.fileOffsetOf(main.value)).toBe(text.offset + main.value - text.addr);
  });

  it('reads GNU symbol versions (definitions and requirements) like readelf', () => {
    const script = join(dir, 'versions.map');
    writeFileSync(script, 'V1 { global: lib_function; lib_old; local: *; };\nV2 { global: lib_calls; } V1;\n');
    const source = `${C_LIBRARY}\n__asm__(".symver old_impl,lib_old@V1");\nint old_impl(int x) { return x + 2; }\n`;
    const { elf } = compareWithReadelf(build('libv.so', ['-shared', '-fPIC', `-Wl,--version-script=${script}`], source));
    const byName = new Map(elf.dynamicSymbols().map((s) => [s.name, s]));
    expect(byName.get('lib_calls')?.version).toMatchObject({ name: 'V2', hidden: false });
    expect(byName.get('lib_function')?.version).toMatchObject({ name: 'V1', hidden: false });
    expect(byName.get('lib_old')?.version).toMatchObject({ name: 'V1', hidden: true });
    const printf = compareWithReadelf(build('versioned', []))
      .elf.dynamicSymbols()
      .find((s) => s.name === 'printf');
    expect(printf?.version).toMatchObject({ file: 'libc.so.6', hidden: false });
    expect(printf?.version?.name).toMatch(/^GLIBC_/);
  });

  it('matches readelf for a shared library, and finds the relocations for a section', () => {
    const { elf } = compareWithReadelf(build('libx.so', ['-shared', '-fPIC'], C_LIBRARY));
    expect(elf.header.type).toBe(ET_DYN);
    const exported = elf.dynamicSymbols().find((s) => s.name === 'lib_function');
    expect(exported?.type).toBe(STT_FUNC);
    expect(exported?.section).toBe('.text');
    const relaPlt = elf.section('.rela.plt');
    if (relaPlt && relaPlt.info !== 0) {
      expect(elf.relocationSectionsFor(elf.sections[relaPlt.info])).toContainEqual(relaPlt);
    }
  });

  it('matches readelf for a relocatable object (RELA, section-relative symbols)', () => {
    const src = join(dir, 'obj.c');
    writeFileSync(src, C_PROGRAM);
    const out = join(dir, 'obj.o');
    run('cc', ['-O1', '-g', '-c', '-o', out, src]);
    const { elf } = compareWithReadelf(out);
    expect(elf.header.type).toBe(ET_REL);
    const text = elf.section('.text')!;
    const rela = elf.relocationSectionsFor(text);
    expect(rela.map((s) => s.name)).toEqual(['.rela.text']);
    const fn = elf.symbols().find((s) => s.name === 'add_counter')!;
    expect(elf.symbolFileOffset(fn)).toBe(text.offset + fn.value);
  });

  it('decompresses SHF_COMPRESSED debug sections to what objcopy produces', (ctx) => {
    const path = join(dir, 'gz');
    try {
      build('gz', ['-gz=zlib']);
    } catch {
      ctx.skip('this toolchain has no -gz=zlib');
    }
    const { elf } = compareWithReadelf(path);
    const compressed = elf.sections.filter((s) => (s.flags & SHF_COMPRESSED) !== 0);
    expect(compressed.length).toBeGreaterThan(0);
    const plain = join(dir, 'gz.plain');
    run('objcopy', ['--decompress-debug-sections', path, plain]);
    for (const section of compressed) {
      const dumped = join(dir, `dump${section.name}`);
      run('objcopy', ['--dump-section', `${section.name}=${dumped}`, plain, join(dir, 'scratch')]);
      expect(elf.isCompressed(section)).toBe(true);
      expect(Buffer.from(elf.sectionData(section)).equals(readFileSync(dumped))).toBe(true);
    }
  });

  it('decompresses GNU .zdebug sections to what objcopy produces', () => {
    const path = build('zd', []);
    const zd = join(dir, 'zd.gnu');
    run('objcopy', ['--compress-debug-sections=zlib-gnu', path, zd]);
    const elf = ElfFile.parse(readFileSync(zd));
    const zsections = elf.sections.filter((s) => s.name.startsWith('.zdebug'));
    // Very small sections are left uncompressed by objcopy; at least .zdebug_info must exist.
    expect(zsections.map((s) => s.name)).toContain('.zdebug_info');
    for (const section of zsections) {
      const plainName = section.name.replace('.zdebug', '.debug');
      const dumped = join(dir, `dump${plainName}`);
      run('objcopy', ['--dump-section', `${plainName}=${dumped}`, path, join(dir, 'scratch')]);
      expect(Buffer.from(elf.sectionData(section)).equals(readFileSync(dumped))).toBe(true);
    }
  });

  it('reads program headers, notes and virtual memory of a file with no section headers', () => {
    const path = build('nosect', ['-Wl,--build-id']);
    const stripped = join(dir, 'nosect.stripped');
    run('llvm-objcopy-19', ['--strip-sections', path, stripped]);
    const { elf } = compareWithReadelf(stripped);
    expect(elf.sections).toEqual([]);
    expect(elf.header.shnum).toBe(0);
    expect(elf.programHeaders.filter((p) => p.type === PT_LOAD).length).toBeGreaterThan(0);
    const full = ElfFile.parse(readFileSync(path));
    expect(elf.gnuBuildId()).toBe(full.gnuBuildId());
    const main = full.symbols().find((s) => s.name === 'add_counter')!;
    expect(elf.readVirtual(main.value, main.size)).toEqual(full.readVirtual(main.value, main.size));
    expect(elf.symbols()).toEqual([]);
  });
});

// --- BPF objects built with clang -----------------------------------------------------------------

const BPF_PROGRAM = `
typedef unsigned int u32;
typedef unsigned long long u64;
#define SEC(x) __attribute__((section(x), used))
struct { int type; int max_entries; } counts SEC(".maps") = { 2, 4 };
static long (*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
u64 packets = 0;
const volatile u32 threshold = 3;
static __attribute__((noinline)) int scale(int x) { return x * 3 + threshold; }
SEC("xdp") int count_packets(void *ctx) {
  u32 key = 0;
  packets++;
  bpf_map_lookup_elem(&counts, &key);
  return scale(key) > 10 ? 2 : 1;
}
SEC("tracepoint/syscalls/sys_enter_write") int on_write(void *ctx) { return scale(1); }
char LICENSE[] SEC("license") = "GPL";
`;

describe.skipIf(!haveClang)('BPF objects from clang', () => {
  for (const target of ['bpf', 'bpfeb'] as const) {
    it(`matches readelf for -target ${target}`, () => {
      const src = join(dir, 'prog.bpf.c');
      writeFileSync(src, BPF_PROGRAM);
      const out = join(dir, `prog.${target}.o`);
      run('clang', ['-O2', '-g', '-target', target, '-c', src, '-o', out]);
      const { elf } = compareWithReadelf(out);
      expect(elf.header.machine).toBe(EM_BPF);
      expect(elf.header.byteOrder).toBe(target === 'bpf' ? 'little' : 'big');
      const xdp = elf.section('xdp')!;
      const relocs = elf.relocationSectionsFor(xdp);
      expect(relocs.map((s) => s.name)).toEqual(['.relxdp']);
      const entries = elf.relocations(relocs[0]);
      expect(entries.map((r) => [r.type, r.symbol?.name])).toEqual(
        expect.arrayContaining([
          [R_BPF_64_64, 'packets'],
          [R_BPF_64_64, 'counts'],
        ]),
      );
      expect(elf.sectionData('license')).toEqual(new TextEncoder().encode('GPL\0'));
      expect(elf.sectionData('.BTF').length).toBeGreaterThan(0);
      const fn = elf.symbols().find((s) => s.name === 'count_packets')!;
      expect(fn.section).toBe('xdp');
      expect(elf.symbolFileOffset(fn)).toBe(xdp.offset + fn.value);
    });
  }
});

// --- Go binaries (optional) -----------------------------------------------------------------------

describe.skipIf(!(haveGo && haveNative))('Go binaries', () => {
  it('reads the Go build id note, also once the section headers are gone', () => {
    const gdir = join(dir, 'go');
    run('mkdir', ['-p', gdir]);
    writeFileSync(join(gdir, 'main.go'), 'package main\n\nimport "os"\n\nfunc main() { os.Exit(len(os.Args) - 1) }\n');
    const bin = join(gdir, 'hello');
    execFileSync('go', ['build', '-o', bin, 'main.go'], {
      cwd: gdir,
      stdio: 'ignore',
      env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '', CGO_ENABLED: '0' },
    });
    const { elf } = compareWithReadelf(bin);
    const fromTool = execFileSync('go', ['tool', 'buildid', bin], { encoding: 'utf8' }).trim();
    expect(elf.goBuildId()).toBe(fromTool);

    const stripped = join(gdir, 'hello.stripped');
    run('llvm-objcopy-19', ['--strip-sections', bin, stripped]);
    const bare = compareWithReadelf(stripped).elf;
    expect(bare.sections).toEqual([]);
    // Following a pointer: runtime.main's code is readable through the segments in both files.
    const main = elf.symbols().find((s) => s.name === 'main.main')!;
    expect(bare.readVirtual(main.value, main.size)).toEqual(elf.readVirtual(main.value, main.size));
  });
});
