// Malformed input: every problem must surface as an ElfError saying what and where, never as a
// RangeError/TypeError, a hang or a huge allocation. Inputs are built by hand here (no tools
// needed) and then corrupted field by field, then mutated at random.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ELF64_EHDR_SIZE,
  ELF64_PHDR_SIZE,
  ELF64_SHDR_SIZE,
  ELFCOMPRESS_ZLIB,
  EM_BPF,
  ET_EXEC,
  ElfError,
  ElfFile,
  NT_GNU_BUILD_ID,
  PF_R,
  PF_X,
  PT_LOAD,
  PT_NOTE,
  R_BPF_64_32,
  SHF_ALLOC,
  SHF_COMPRESSED,
  SHF_EXECINSTR,
  SHF_INFO_LINK,
  SHT_NOTE,
  SHT_PROGBITS,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STT_FUNC,
} from '../src/elf/index.js';
import { hasCommand, need } from './support/env.js';
import { seededRandom } from './support/random.js';

// --- A tiny ELF64 writer ----------------------------------------------------------------------------

interface SectionSpec {
  name: string;
  type: number;
  flags?: number;
  addr?: number;
  link?: number;
  info?: number;
  addralign?: number;
  entsize?: number;
  data: Uint8Array;
}

interface Built {
  bytes: Uint8Array;
  little: boolean;
  /** File offset of each section's data, by name. */
  dataAt: Record<string, number>;
  /** File offset of each section's header, by name. */
  headerAt: Record<string, number>;
  shoff: number;
  phoff: number;
}

class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(
    size: number,
    readonly little: boolean,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(at: number, v: number) {
    this.view.setUint16(at, v, this.little);
  }
  u32(at: number, v: number) {
    this.view.setUint32(at, v, this.little);
  }
  u64(at: number, v: number | bigint) {
    this.view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), this.little);
  }
}

function bytesOf(build: (w: Writer) => void, size: number, little: boolean): Uint8Array {
  const w = new Writer(size, little);
  build(w);
  return w.bytes;
}

const TEXT = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const DEBUG = new TextEncoder().encode('debug info that compresses well '.repeat(20));

function sampleSections(little: boolean): SectionSpec[] {
  const strtab = new TextEncoder().encode('\0func\0');
  const symtab = bytesOf(
    (w) => {
      // Symbol 1: "func", global function in section 1.
      w.u32(24, 1);
      w.bytes[24 + 4] = (STB_GLOBAL << 4) | STT_FUNC;
      w.u16(24 + 6, 1);
      w.u64(24 + 8, 0x1000);
      w.u64(24 + 16, 16);
    },
    48,
    little,
  );
  const rela = bytesOf(
    (w) => {
      w.u64(0, 4);
      w.u64(8, (1n << 32n) | BigInt(R_BPF_64_32));
      w.u64(16, -8n);
    },
    24,
    little,
  );
  const note = bytesOf(
    (w) => {
      w.u32(0, 4);
      w.u32(4, 4);
      w.u32(8, NT_GNU_BUILD_ID);
      w.bytes.set(new TextEncoder().encode('GNU\0'), 12);
      w.bytes.set([0xde, 0xad, 0xbe, 0xef], 16);
    },
    20,
    little,
  );
  const stream = deflateSync(DEBUG);
  const compressed = bytesOf(
    (w) => {
      w.u32(0, ELFCOMPRESS_ZLIB);
      w.u64(8, DEBUG.length);
      w.u64(16, 1);
      w.bytes.set(stream, 24);
    },
    24 + stream.length,
    little,
  );
  return [
    { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0x1000, addralign: 8, data: TEXT },
    { name: '.symtab', type: SHT_SYMTAB, link: 3, info: 1, entsize: 24, addralign: 8, data: symtab },
    { name: '.strtab', type: SHT_STRTAB, data: strtab },
    { name: '.rela.text', type: SHT_RELA, flags: SHF_INFO_LINK, link: 2, info: 1, entsize: 24, addralign: 8, data: rela },
    { name: '.note.gnu.build-id', type: SHT_NOTE, flags: SHF_ALLOC, addr: 0x2000, addralign: 4, data: note },
    { name: '.debug_info', type: SHT_PROGBITS, flags: SHF_COMPRESSED, addralign: 1, data: compressed },
  ];
}

function buildElf(little: boolean, specs: SectionSpec[] = sampleSections(little)): Built {
  const names = ['', ...specs.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let shstr = '';
  for (const n of names) {
    nameOffsets.push(shstr.length);
    shstr += `${n}\0`;
  }
  const all: SectionSpec[] = [...specs, { name: '.shstrtab', type: SHT_STRTAB, data: new TextEncoder().encode(shstr) }];
  const phnum = 2;
  const phoff = ELF64_EHDR_SIZE;
  let cursor = phoff + phnum * ELF64_PHDR_SIZE;
  const dataAt: Record<string, number> = {};
  for (const s of all) {
    cursor = Math.ceil(cursor / 8) * 8;
    dataAt[s.name] = cursor;
    cursor += s.data.length;
  }
  const shoff = Math.ceil(cursor / 8) * 8;
  const shnum = all.length + 1;
  const w = new Writer(shoff + shnum * ELF64_SHDR_SIZE, little);
  w.bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, little ? 1 : 2, 1, 0]);
  w.u16(16, ET_EXEC);
  w.u16(18, EM_BPF);
  w.u32(20, 1);
  w.u64(24, 0x1000);
  w.u64(32, phoff);
  w.u64(40, shoff);
  w.u16(52, ELF64_EHDR_SIZE);
  w.u16(54, ELF64_PHDR_SIZE);
  w.u16(56, phnum);
  w.u16(58, ELF64_SHDR_SIZE);
  w.u16(60, shnum);
  w.u16(62, shnum - 1);
  // PT_LOAD for .text, PT_NOTE for the build id.
  const load = phoff;
  w.u32(load, PT_LOAD);
  w.u32(load + 4, PF_R | PF_X);
  w.u64(load + 8, dataAt['.text']);
  w.u64(load + 16, 0x1000);
  w.u64(load + 24, 0x1000);
  w.u64(load + 32, TEXT.length);
  w.u64(load + 40, TEXT.length + 32);
  w.u64(load + 48, 0x1000);
  const pnote = phoff + ELF64_PHDR_SIZE;
  w.u32(pnote, PT_NOTE);
  w.u32(pnote + 4, PF_R);
  w.u64(pnote + 8, dataAt['.note.gnu.build-id']);
  w.u64(pnote + 32, 20);
  w.u64(pnote + 40, 20);
  w.u64(pnote + 48, 4);
  const headerAt: Record<string, number> = {};
  all.forEach((s, i) => {
    w.bytes.set(s.data, dataAt[s.name]);
    const at = shoff + (i + 1) * ELF64_SHDR_SIZE;
    headerAt[s.name] = at;
    w.u32(at, nameOffsets[i + 1]);
    w.u32(at + 4, s.type);
    w.u64(at + 8, s.flags ?? 0);
    w.u64(at + 16, s.addr ?? 0);
    w.u64(at + 24, dataAt[s.name]);
    w.u64(at + 32, s.data.length);
    w.u32(at + 40, s.link ?? 0);
    w.u32(at + 44, s.info ?? 0);
    w.u64(at + 48, s.addralign ?? 1);
    w.u64(at + 56, s.entsize ?? 0);
  });
  return { bytes: w.bytes, little, dataAt, headerAt, shoff, phoff };
}

/** A copy of the file with one field overwritten in the file's byte order. */
function patched(built: Built, at: number, width: 2 | 4 | 8, value: number | bigint): Uint8Array {
  const copy = built.bytes.slice();
  const view = new DataView(copy.buffer);
  if (width === 2) view.setUint16(at, Number(value), built.little);
  else if (width === 4) view.setUint32(at, Number(value), built.little);
  else view.setBigUint64(at, BigInt.asUintN(64, BigInt(value)), built.little);
  return copy;
}

function elfError(fn: () => unknown): ElfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw new Error(`expected an ElfError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected an ElfError, but nothing was thrown');
}

// Section header field offsets inside Elf64_Shdr.
const SH_NAME = 0;
const SH_OFFSET = 24;
const SH_SIZE = 32;
const SH_LINK = 40;

// --- Tests ----------------------------------------------------------------------------------------

describe('hand-built ELF64', () => {
  for (const little of [true, false]) {
    it(`parses every part of a ${little ? 'little' : 'big'}-endian file`, () => {
      const built = buildElf(little);
      const elf = ElfFile.parse(built.bytes);
      expect(elf.header.byteOrder).toBe(little ? 'little' : 'big');
      expect(elf.sections.map((s) => s.name)).toEqual([
        '',
        '.text',
        '.symtab',
        '.strtab',
        '.rela.text',
        '.note.gnu.build-id',
        '.debug_info',
        '.shstrtab',
      ]);
      expect(elf.sectionData('.text')).toEqual(TEXT);
      expect(elf.sectionData('.debug_info')).toEqual(DEBUG);
      const [, func] = elf.symbols();
      expect(func).toMatchObject({ index: 1, name: 'func', value: 0x1000, size: 16, type: STT_FUNC, bind: STB_GLOBAL, section: '.text' });
      const [rel] = elf.relocations('.rela.text');
      expect(rel).toMatchObject({ offset: 4, type: R_BPF_64_32, symbolIndex: 1, addend: -8, addendBig: -8n });
      expect(rel.symbol?.name).toBe('func');
      expect(elf.relocationSectionsFor('.text').map((s) => s.name)).toEqual(['.rela.text']);
      expect(elf.notes()).toHaveLength(1);
      expect(elf.gnuBuildId()).toBe('deadbeef');
      expect(elf.readVirtual(0x1004, 4)).toEqual(TEXT.subarray(4, 8));
      expect(elf.readVirtual(0x1000 + 16, 4)).toBeUndefined(); // zero-fill tail, no file bytes
      expect(elf.fileOffsetOf(0x1003)).toBe(built.dataAt['.text'] + 3);
      expect(elf.fileOffsetOf(0xfff)).toBeUndefined();
      expect(elf.symbolFileOffset(func)).toBe(built.dataAt['.text']);
    });
  }

  it('handles e_shnum 0 / e_shoff 0 (no section headers)', () => {
    const built = buildElf(true);
    const copy = patched({ ...built, bytes: patched(built, 40, 8, 0) }, 60, 2, 0);
    const elf = ElfFile.parse(copy);
    expect(elf.sections).toEqual([]);
    expect(elf.symbols()).toEqual([]);
    expect(elf.gnuBuildId()).toBe('deadbeef');
    expect(elf.readVirtual(0x1000, 16)).toEqual(TEXT);
  });
});

describe('malformed input throws ElfError with a place', () => {
  const built = buildElf(true);

  it('rejects non-ELF input', () => {
    expect(elfError(() => ElfFile.parse(new TextEncoder().encode('#!/bin/sh\n'))).message).toMatch(
      /not an ELF file: magic is \[23 21 2f 62\]/,
    );
    expect(elfError(() => ElfFile.parse(new Uint8Array(0))).message).toMatch(/not an ELF file/);
  });

  it('rejects ELF32 and unknown class or byte order', () => {
    const elf32 = built.bytes.slice();
    elf32[4] = 1;
    const e = elfError(() => ElfFile.parse(elf32));
    expect(e.message).toMatch(/ELF32 is not supported \(EI_CLASS 1\)/);
    expect(e.offset).toBe(4);
    const odd = built.bytes.slice();
    odd[5] = 3;
    expect(elfError(() => ElfFile.parse(odd)).message).toMatch(/byte order 3/);
  });

  it('rejects a truncated header', () => {
    const e = elfError(() => ElfFile.parse(built.bytes.subarray(0, 40)));
    expect(e.message).toMatch(/truncated ELF64 header: need 64 bytes, file has 40/);
    expect(e.offset).toBe(40);
    expect(elfError(() => ElfFile.parse(built.bytes.subarray(0, 10))).message).toMatch(/truncated ELF identification/);
  });

  it('rejects a section header table past the end of the file', () => {
    const e = elfError(() => ElfFile.parse(patched(built, 40, 8, built.bytes.length - 10)));
    expect(e.message).toMatch(/section header table/);
    expect(e.offset).toBe(built.bytes.length - 10);
    expect(elfError(() => ElfFile.parse(patched(built, 40, 8, 2n ** 63n))).message).toMatch(/section header table/);
    // A count the file cannot hold is refused before anything is allocated for it.
    const tooMany = elfError(() => ElfFile.parse(patched(built, 60, 2, 0xfffe)));
    expect(tooMany.message).toMatch(/claims 65534 entries .* room for 8/);
  });

  it('rejects a lying program header table', () => {
    const e = elfError(() => ElfFile.parse(patched(built, 56, 2, 0xfffe)));
    expect(e.message).toMatch(/program header table claims 65534 entries/);
    expect(e.offset).toBe(built.phoff);
    expect(elfError(() => ElfFile.parse(patched(built, 54, 2, 8))).message).toMatch(/e_phentsize is 8/);
  });

  it('rejects a section name table out of range, and a section name offset past it', () => {
    const shstrtab = built.headerAt['.shstrtab'];
    const e = elfError(() => ElfFile.parse(patched(built, shstrtab + SH_OFFSET, 8, 0xffff_ffff)));
    expect(e.message).toMatch(/section name table .* runs past the end of the file/);
    expect(e.offset).toBe(0xffff_ffff);
    expect(elfError(() => ElfFile.parse(patched(built, 62, 2, 200))).message).toMatch(/section name table index 200 is out of range/);
    const badName = elfError(() => ElfFile.parse(patched(built, built.headerAt['.text'] + SH_NAME, 4, 0x7fff_0000)));
    expect(badName.message).toMatch(/name of section 1: name offset 0x7fff0000 is outside the string table/);
    expect(badName.offset).toBe(built.dataAt['.shstrtab']);
  });

  it('rejects a symbol whose name offset is past its string table', () => {
    const elf = ElfFile.parse(patched(built, built.dataAt['.symtab'] + 24, 4, 5000));
    const e = elfError(() => elf.symbols());
    expect(e.message).toMatch(/symbol 1 in \.symtab: name offset 0x1388 is outside the string table/);
    expect(e.section).toBe('.strtab');
    expect(e.offset).toBe(built.dataAt['.strtab']);
  });

  it('rejects a section whose offset+size runs past the end of the file', () => {
    const elf = ElfFile.parse(patched(built, built.headerAt['.text'] + SH_SIZE, 8, 0x10_0000));
    const e = elfError(() => elf.sectionData('.text'));
    expect(e.section).toBe('.text');
    expect(e.offset).toBe(built.dataAt['.text']);
    expect(e.message).toMatch(/section data needs bytes .* but the file is only/);
    const far = ElfFile.parse(patched(built, built.headerAt['.text'] + SH_OFFSET, 8, 2n ** 64n - 1n));
    expect(elfError(() => far.sectionData('.text')).section).toBe('.text');
  });

  it('rejects lying sizes in symbol, relocation and note tables without allocating for them', () => {
    const bigSymtab = ElfFile.parse(patched(built, built.headerAt['.symtab'] + SH_SIZE, 8, 2n ** 40n));
    expect(elfError(() => bigSymtab.symbols()).section).toBe('.symtab');
    const bigRela = ElfFile.parse(patched(built, built.headerAt['.rela.text'] + SH_SIZE, 8, 2n ** 62n));
    expect(elfError(() => bigRela.relocations('.rela.text')).section).toBe('.rela.text');
    const badLink = ElfFile.parse(patched(built, built.headerAt['.symtab'] + SH_LINK, 4, 99));
    expect(elfError(() => badLink.symbols()).message).toMatch(/sh_link 99 does not name a string table/);
    const badSymIndex = ElfFile.parse(patched(built, built.dataAt['.rela.text'] + 8, 8, (7000n << 32n) | 10n));
    expect(elfError(() => badSymIndex.relocations('.rela.text')).message).toMatch(
      /refers to symbol 7000, but the symbol table has 2 entries/,
    );
    const bigDesc = ElfFile.parse(patched(built, built.dataAt['.note.gnu.build-id'] + 4, 4, 0xffff_fff0));
    const e = elfError(() => bigDesc.notes());
    expect(e.message).toMatch(/descriptor size 4294967280 runs past the end/);
    expect(e.offset).toBe(built.dataAt['.note.gnu.build-id']);
  });

  it('rejects zlib garbage, a wrong declared size and a decompression bomb', () => {
    const at = built.dataAt['.debug_info'];
    const garbage = built.bytes.slice();
    garbage.fill(0xa5, at + 24, at + 40);
    const e = elfError(() => ElfFile.parse(garbage).sectionData('.debug_info'));
    expect(e.message).toMatch(/zlib stream is invalid/);
    expect(e.section).toBe('.debug_info');
    expect(e.offset).toBe(at + 24);

    const short = ElfFile.parse(patched(built, at + 8, 8, DEBUG.length - 1));
    expect(elfError(() => short.sectionData('.debug_info')).message).toMatch(/decompressed to 640 bytes, but the header declares 639/);
    const muchShorter = ElfFile.parse(patched(built, at + 8, 8, 100));
    expect(elfError(() => muchShorter.sectionData('.debug_info')).message).toMatch(/longer than the declared 100 bytes/);
    const long = ElfFile.parse(patched(built, at + 8, 8, DEBUG.length + 1));
    expect(elfError(() => long.sectionData('.debug_info')).message).toMatch(/decompressed to 640 bytes, but the header declares 641/);
    const bomb = ElfFile.parse(patched(built, at + 8, 8, 2n ** 40n));
    expect(elfError(() => bomb.sectionData('.debug_info')).message).toMatch(/more than the limit/);
    const zstd = ElfFile.parse(patched(built, at, 4, 2));
    expect(elfError(() => zstd.sectionData('.debug_info')).message).toMatch(/zstd/);
  });

  it('names missing sections and wrong section kinds', () => {
    const elf = ElfFile.parse(built.bytes);
    expect(elfError(() => elf.sectionData('.nope')).message).toBe('no section named ".nope"');
    expect(elfError(() => elf.relocations('.text')).message).toMatch(/not SHT_REL or SHT_RELA/);
    expect(elfError(() => elf.symbolsOf('.text')).message).toMatch(/not a symbol table/);
  });
});

// --- Random inputs --------------------------------------------------------------------------------

function mutate(base: Uint8Array, little: boolean, random: () => number): Uint8Array {
  const interesting = [0n, 1n, 0x7fn, 0xffn, 0xffffn, 0xffff_ffffn, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
  let input = base.slice();
  const edits = 1 + Math.floor(random() * 6);
  for (let e = 0; e < edits; e++) {
    // Half the edits land in the headers and tables, where a lie does the most damage.
    const at = random() < 0.5 ? Math.floor(random() * Math.min(input.length, 256)) : Math.floor(random() * input.length);
    if (random() < 0.5) {
      input[at] = Math.floor(random() * 256);
    } else if (at + 8 <= input.length) {
      const value = interesting[Math.floor(random() * interesting.length)];
      new DataView(input.buffer).setBigUint64(at, BigInt.asUintN(64, value), little);
    }
  }
  if (random() < 0.15) input = input.subarray(0, Math.floor(random() * input.length));
  return input;
}

/** Runs every reader entry point; anything but an ElfError escaping is a bug. */
function exercise(bytes: Uint8Array, random: () => number): void {
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
    }
  };
  let elf: ElfFile;
  try {
    elf = ElfFile.parse(bytes);
  } catch (e) {
    if (e instanceof ElfError) return;
    throw e;
  }
  for (const s of elf.sections) {
    attempt(() => elf.sectionData(s));
    attempt(() => elf.isCompressed(s));
    attempt(() => elf.relocations(s));
    attempt(() => elf.relocationSectionsFor(s));
  }
  // Before anything decodes the tables: symbolNamed's byte-wise search of them.
  for (const name of ['main', 'printf', 'x', '']) {
    attempt(() => elf.symbolNamed(name));
    attempt(() => elf.symbolNamed(name, '.dynsym'));
    attempt(() => elf.symbolsNamed(name, { versioned: true }));
  }
  attempt(() => {
    for (const sym of elf.symbols()) elf.symbolFileOffset(sym);
  });
  attempt(() => elf.dynamicSymbols());
  attempt(() => elf.notes());
  attempt(() => elf.gnuBuildId());
  attempt(() => elf.goBuildId());
  for (let i = 0; i < 4; i++) {
    const vaddr = random() < 0.5 ? 0x1000 + Math.floor(random() * 64) : Math.floor(random() * 2 ** 52);
    attempt(() => elf.readVirtual(vaddr, Math.floor(random() * 64)));
    attempt(() => elf.fileOffsetOf(BigInt(vaddr) * 4096n));
  }
}

describe('random and mutated input', () => {
  it('lets only ElfError escape, on a few thousand seeded inputs', () => {
    const random = seededRandom(0x5eed);
    const seeds = [buildElf(true), buildElf(false)];
    for (let round = 0; round < 4000; round++) {
      const base = seeds[round % 2];
      let input: Uint8Array;
      const mode = random();
      if (mode < 0.1) {
        // Pure noise behind a valid identification, so the parser gets past the magic.
        input = Uint8Array.from({ length: Math.floor(random() * 600) }, () => Math.floor(random() * 256));
        input.set(base.bytes.subarray(0, Math.min(16, input.length)));
      } else {
        input = mutate(base.bytes, base.little, random);
      }
      exercise(input, random);
    }
  });
});

const haveClang = need(hasCommand('clang'), 'clang is needed to build a BPF object to mutate');

describe.skipIf(!haveClang)('mutated real objects', () => {
  it('lets only ElfError escape from mutated clang BPF objects (both byte orders)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elf-fuzz-'));
    try {
      const src = join(dir, 'p.c');
      writeFileSync(
        src,
        `#define SEC(x) __attribute__((section(x), used))
struct { int type; int max; } m SEC(".maps") = { 2, 4 };
static long (*lookup)(void *map, const void *key) = (void *) 1;
unsigned long long hits;
SEC("xdp") int f(void *ctx) { int k = 0; hits++; return lookup(&m, &k) ? 2 : 1; }
char LICENSE[] SEC("license") = "GPL";
`,
      );
      const objects = (['bpf', 'bpfeb'] as const).map((target) => {
        const out = join(dir, `${target}.o`);
        execFileSync('clang', ['-O2', '-g', '-target', target, '-c', src, '-o', out], { stdio: 'ignore' });
        return { bytes: new Uint8Array(readFileSync(out)), little: target === 'bpf' };
      });
      const random = seededRandom(0xb9f);
      for (let round = 0; round < 1500; round++) {
        const base = objects[round % 2];
        exercise(mutate(base.bytes, base.little, random), random);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
