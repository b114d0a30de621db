// pclntab formats and build info layouts that no installed toolchain writes (Go 1.2-1.17), built
// from the layouts in Go's documentation; pt_regs offsets against the kernel header via a C
// program; error cases; and a seeded mutation loop over a real binary's tables.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GoBinaryError,
  X86_64_PT_REGS,
  arm64RegisterOffset,
  casgstatusAbi,
  goBinaryInfo,
  locatePclntab,
  parseGoVersion,
  parsePclntab,
  readBuildInfo,
  type BinaryImage,
  type ImageSection,
  type PclntabFormat,
} from '../src/go/index.js';
import { ByteWriter } from './dwarf-builder.js';
import { hasCommand, need } from './support/env.js';
import { buildGoVariants, elfImage, seededRandom, withSections } from './go-support.js';

interface Fn {
  name: string;
  entry: number;
}

const MAGICS: Record<PclntabFormat, number> = { 'go1.2': 0xfffffffb, 'go1.16': 0xfffffffa, 'go1.18': 0xfffffff0, 'go1.20': 0xfffffff1 };

/** Lays out a pclntab of `format` for `fns` (sorted), ending at `end`. */
function buildPclntab(format: PclntabFormat, fns: Fn[], end: number, ptrSize: 4 | 8, littleEndian: boolean, textStart: number): Uint8Array {
  const w = new ByteWriter(littleEndian);
  const word = (v: number) => w.uint(v, ptrSize);
  w.u32(MAGICS[format]).u8(0).u8(0).u8(1).u8(ptrSize);
  const n = fns.length;
  if (format === 'go1.2') {
    word(n);
    const functab = w.length;
    const funcs = functab + n * 2 * ptrSize + ptrSize;
    const funcSize = ptrSize + 4;
    const names = funcs + n * funcSize;
    let nameOff = names;
    const nameOffsets = fns.map((f) => {
      const o = nameOff;
      nameOff += Buffer.byteLength(f.name) + 1;
      return o;
    });
    fns.forEach((f, i) => {
      word(f.entry);
      word(funcs + i * funcSize);
    });
    word(end);
    fns.forEach((f, i) => {
      word(f.entry);
      w.u32(nameOffsets[i]);
    });
    for (const f of fns) w.cstr(f.name);
    return w.toBytes();
  }
  const relative = format !== 'go1.16';
  const headerWords = relative ? 8 : 7;
  const funcnameOffset = 8 + headerWords * ptrSize;
  const nametab = new ByteWriter(littleEndian);
  const nameOffsets = fns.map((f) => {
    const o = nametab.length;
    nametab.cstr(f.name);
    return o;
  });
  const pclnOffset = funcnameOffset + nametab.length;
  const entrySize = relative ? 8 : 2 * ptrSize;
  const tabSize = relative ? (n + 1) * 8 : n * entrySize + ptrSize;
  const funcSize = relative ? 8 : ptrSize + 4;
  // nfunc, nfiles, [textStart], funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset
  word(n);
  word(0);
  if (relative) word(textStart);
  word(funcnameOffset);
  word(pclnOffset);
  word(pclnOffset);
  word(pclnOffset);
  word(pclnOffset);
  w.raw(nametab.bytes);
  fns.forEach((f, i) => {
    if (relative) w.u32(f.entry - textStart).u32(tabSize + i * funcSize);
    else {
      word(f.entry);
      word(tabSize + i * funcSize);
    }
  });
  if (relative) w.u32(end - textStart).u32(0);
  else word(end);
  fns.forEach((f, i) => {
    if (relative) w.u32(f.entry - textStart);
    else word(f.entry);
    w.u32(nameOffsets[i]);
  });
  return w.toBytes();
}

const FNS: Fn[] = [
  { name: 'runtime.text', entry: 0x401000 },
  { name: 'internal/abi.(*Type).Kind', entry: 0x401000 },
  { name: 'runtime.casgstatus', entry: 0x401040 },
  { name: 'main.main', entry: 0x4010a0 },
  { name: 'main.(*T[...]).Método', entry: 0x401200 },
];
const END = 0x401300;

/** A BinaryImage made of sections, each mapped as its own segment. */
/** `image` with `section`'s bytes visible through readVirtual too. */
function mapped(image: BinaryImage, section: ImageSection): BinaryImage {
  return {
    ...image,
    readVirtual: (addr, len) =>
      addr >= section.addr && addr + len <= section.addr + section.data.length
        ? section.data.subarray(addr - section.addr, addr - section.addr + len)
        : image.readVirtual(addr, len),
  };
}

function fakeImage(
  sections: Record<string, ImageSection>,
  opts: { ptrSize: 4 | 8; byteOrder: 'little' | 'big'; machine: string },
): BinaryImage {
  const list = Object.entries(sections).filter(([, s]) => s.addr !== 0);
  return {
    ...opts,
    section: (name) => sections[name],
    segments: list.map(([name, s]) => ({
      vaddr: s.addr,
      memsz: s.data.length,
      offset: 0,
      filesz: s.data.length,
      flags: name === '.text' ? 5 : name === '.go.buildinfo' || name === '.data' ? 6 : 4,
    })),
    readVirtual: (addr, len) => {
      for (const [, s] of list) {
        if (addr >= s.addr && addr + len <= s.addr + s.data.length) return s.data.subarray(addr - s.addr, addr - s.addr + len);
      }
      return undefined;
    },
  };
}

describe('pclntab formats', () => {
  for (const format of ['go1.2', 'go1.16', 'go1.18', 'go1.20'] as const) {
    for (const ptrSize of [4, 8] as const) {
      for (const littleEndian of [true, false]) {
        it(`${format}, ${ptrSize}-byte pointers, ${littleEndian ? 'little' : 'big'} endian`, () => {
          const bytes = buildPclntab(format, FNS, END, ptrSize, littleEndian, 0x401000);
          const tab = parsePclntab(bytes);
          expect(tab.format.format).toBe(format);
          expect(tab).toMatchObject({ littleEndian, ptrSize, quantum: 1, functionCount: FNS.length });
          expect(tab.entriesAreRelative).toBe(format === 'go1.18' || format === 'go1.20');
          // Relative formats are based where told; a wrong base shifts everything, which is the point.
          const fns = tab.functions(0x401000);
          expect(fns.all()).toEqual(FNS.map((f, i) => ({ ...f, end: FNS[i + 1]?.entry ?? END })));
          expect(fns.lookup('runtime.casgstatus')).toBe(0x401040);
          expect(fns.lookup('main.(*T[...]).Método')).toBe(0x401200);
          expect(fns.lookup('no.such.function')).toBeUndefined();
          // Past the first few lookups (each a scan of the names' bytes) the table indexes every
          // name: both ways give the same answers.
          for (let k = 0; k < 6; k++)
            expect(fns.lookup(FNS[k % FNS.length]!.name)).toBe(FNS.find((f) => f.name === FNS[k % FNS.length]!.name)!.entry);
          expect(fns.lookup('runtime.casgstatus')).toBe(0x401040);
          expect(fns.lookup('no.such.function')).toBeUndefined();
          expect(fns.nameAt(0x401041)).toBe('runtime.casgstatus');
          expect(fns.nameAt(0x401000)).toBe('internal/abi.(*Type).Kind');
          expect(fns.nameAt(END)).toBeUndefined();
          expect(fns.nameAt(0x400fff)).toBeUndefined();
        });
      }
    }
  }

  it('rejects bad magic, bad header fields, lying counts and truncation with GoBinaryError', () => {
    const good = buildPclntab('go1.20', FNS, END, 8, true, 0x401000);
    const patched = (at: number, bytes: number[]) => {
      const b = Uint8Array.from(good);
      b.set(bytes, at);
      return b;
    };
    expect(() => parsePclntab(patched(0, [0xfe]))).toThrow(/unknown pclntab magic bytes fe ff ff ff/);
    expect(() => parsePclntab(patched(4, [1]))).toThrow(/padding/);
    expect(() => parsePclntab(patched(6, [3]))).toThrow(/quantum 3/);
    expect(() => parsePclntab(patched(7, [16]))).toThrow(/pointer size 16/);
    expect(() => parsePclntab(patched(8, [0xff, 0xff, 0xff]))).toThrow(/function count 16777215 does not fit/);
    expect(() => parsePclntab(good.subarray(0, 10))).toThrow(/shorter than its header/);
    expect(() => parsePclntab(good.subarray(0, 100))).toThrow(GoBinaryError);
    // Unsorted entries would make the binary search lie.
    const unsorted = buildPclntab('go1.20', [FNS[3], FNS[2]], END, 8, true, 0x401000);
    expect(() => parsePclntab(unsorted).functions(0x401000)).toThrow(/not sorted/);
  });
});

describe('function lookups on a real binary', () => {
  it('a lookup that scans the names and the index of every name agree with the table, for every function', () => {
    // The committed Go 1.19 fixture; the oracle is all() (each name decoded): the first function of
    // a name is the one found. A new table per name keeps every lookup a scan.
    const image = elfImage(readFileSync(new URL('./fixtures/go/workload', import.meta.url)));
    const { pclntab } = locatePclntab(image);
    const textStart = goBinaryInfo(image).pclntab.textStart.address;
    const all = pclntab.functions(textStart).all();
    expect(all.length).toBeGreaterThan(1000);
    const indexed = pclntab.functions(textStart);
    for (let k = 0; k < 8; k++) indexed.lookup('no.such.function');
    const wrong: string[] = [];
    all.forEach((f, i) => {
      if (i % 7 !== 0) return;
      const expected = all.find((g) => g.name === f.name)!.entry;
      const scanned = pclntab.functions(textStart).lookup(f.name);
      if (scanned !== expected || indexed.lookup(f.name) !== expected)
        wrong.push(`${f.name}: ${scanned} / ${indexed.lookup(f.name)} vs ${expected}`);
    });
    expect(wrong.slice(0, 5).join('\n')).toBe('');
  });
});

describe('build info layouts and the version policy on synthetic images', () => {
  const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

  function pointerEraImage(version: string, format: PclntabFormat, machine = 'amd64', littleEndian = true): BinaryImage {
    const ptrSize = 8;
    const bi = new ByteWriter(littleEndian)
      .raw(MAGIC)
      .u8(ptrSize)
      .u8(littleEndian ? 0 : 1);
    const DATA = 0x600000;
    const RODATA = 0x500000;
    bi.u64(DATA).u64(DATA + 16);
    while (bi.length < 32) bi.u8(0);
    const mod = `${'\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6'}path\texample.com/x\n${'\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2'}`;
    const rodata = Buffer.concat([Buffer.from(version), Buffer.from(mod, 'latin1')]);
    const data = new ByteWriter(littleEndian)
      .u64(RODATA)
      .u64(version.length)
      .u64(RODATA + version.length)
      .u64(mod.length);
    return fakeImage(
      {
        '.go.buildinfo': { addr: 0x700000, data: bi.toBytes() },
        '.data': { addr: DATA, data: data.toBytes() },
        '.rodata': { addr: RODATA, data: new Uint8Array(rodata) },
        '.gopclntab': { addr: 0x800000, data: buildPclntab(format, FNS, END, ptrSize, littleEndian, 0x401000) },
        '.text': { addr: 0x401000, data: new Uint8Array(END - 0x401000) },
      },
      { ptrSize, byteOrder: littleEndian ? 'little' : 'big', machine },
    );
  }

  it('reads pointer-era build info (Go 1.13-1.17) through the string headers, both byte orders', () => {
    for (const le of [true, false]) {
      const bi = readBuildInfo(pointerEraImage('go1.16.15', 'go1.16', 'amd64', le))!;
      expect(bi).toEqual({ version: 'go1.16.15', modinfo: 'path\texample.com/x\n', layout: 'pointer', where: '.go.buildinfo' });
    }
  });

  it('Go 1.16 amd64 uses the stack ABI, 1.17 amd64 registers; arm64 switches at 1.18', () => {
    const i16 = goBinaryInfo(pointerEraImage('go1.16.15', 'go1.16'));
    expect(i16.abi).toMatchObject({
      kind: 'stack',
      arch: 'amd64',
      gpSpOffset: 8,
      oldSpOffset: 16,
      newSpOffset: 20,
      sp: { ptRegsOffset: 152 },
    });
    expect(i16).toMatchObject({ goidOffset: 152, goidOffsetSource: 'table', versionSource: 'buildinfo' });
    expect(i16.functions.lookup('runtime.casgstatus')).toBe(0x401040);
    expect(goBinaryInfo(pointerEraImage('go1.17.13', 'go1.16')).abi).toMatchObject({ kind: 'registers', gp: { register: 'ax' } });
    expect(goBinaryInfo(pointerEraImage('go1.17.13', 'go1.16', 'arm64')).abi).toMatchObject({
      kind: 'stack',
      arch: 'arm64',
      sp: { ptRegsOffset: 248 },
    });
    expect(casgstatusAbi(parseGoVersion('go1.18')!, 'arm64')).toMatchObject({ kind: 'registers', gp: { register: 'x0', ptRegsOffset: 0 } });
    expect(goBinaryInfo(pointerEraImage('go1.14.2', 'go1.2')).abi.kind).toBe('stack');
  });

  it('refuses a Go older than the goid table, and a version the magic contradicts', () => {
    expect(() => goBinaryInfo(pointerEraImage('go1.11.13', 'go1.2'))).toThrow(/go1\.11\.13 is older than go1\.12/);
    expect(goBinaryInfo(pointerEraImage('go1.12.17', 'go1.2')).goidOffset).toBe(152);
    expect(() => goBinaryInfo(pointerEraImage('go1.16.1', 'go1.2'))).toThrow(/written by go1\.2 to go1\.15/);
    expect(() => goBinaryInfo(pointerEraImage('go1.99.1', 'go1.18'))).toThrow(GoBinaryError);
  });

  it('empty module info in .bss (Bazel-built 1.13-1.17) reads as "", as Go\'s debug/buildinfo does', () => {
    const img = pointerEraImage('go1.16.15', 'go1.16');
    // The modinfo string header points past every section: like .bss, no file bytes back it.
    const data = img.section('.data')!.data.slice();
    new DataView(data.buffer).setBigUint64(16, 0x900000n, true);
    const bss = mapped(withSections(img, { '.data': { addr: 0x600000, data } }), { addr: 0x600000, data });
    const bi = readBuildInfo(bss)!;
    expect(bi).toMatchObject({ version: 'go1.16.15', modinfo: '' });
    expect(goBinaryInfo(bss).modinfo).toBe('');
  });

  it('a version string packed right after other text is found when nothing free-standing fits; runtime.buildVersion first', () => {
    const withBuildInfo = pointerEraImage('go1.22.1', 'go1.2');
    const base = { ...withBuildInfo, segments: withBuildInfo.segments.filter((s) => s.vaddr !== 0x700000) };
    const packed = withSections(base, {
      '.go.buildinfo': undefined,
      '.rodata': { addr: 0x500000, data: new Uint8Array(Buffer.from('runtime.functiongo1.12.9runtime.other')) },
    });
    expect(goBinaryInfo(packed)).toMatchObject({ version: { raw: 'go1.12.9' }, versionSource: 'rodata scan', goidOffset: 152 });
    // With a symbol table: runtime.buildVersion is a Go string header {ptr, len}.
    const rodata = new Uint8Array(Buffer.from('go1.14.15go1.15.2'));
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setBigUint64(0, 0x500009n, true);
    new DataView(hdr.buffer).setBigUint64(8, 8n, true);
    const withSymbols = mapped(
      mapped(
        withSections(base, {
          '.go.buildinfo': undefined,
          '.rodata': { addr: 0x500000, data: rodata },
          '.data': { addr: 0x600000, data: hdr },
        }),
        { addr: 0x600000, data: hdr },
      ),
      { addr: 0x500000, data: rodata },
    );
    const img: BinaryImage = {
      ...withSymbols,
      symbol: (name) => (name === 'runtime.buildVersion' ? { addr: 0x600000, size: 16 } : undefined),
    };
    expect(goBinaryInfo(img)).toMatchObject({ version: { raw: 'go1.15.2' }, versionSource: 'symbol' });
  });

  it('without build info: the newest go1.N string the magic allows, with a warning', () => {
    const withBuildInfo = pointerEraImage('go1.22.1', 'go1.20');
    // Drop the section and its segment, or the segment scan finds the header anyway.
    const base = { ...withBuildInfo, segments: withBuildInfo.segments.filter((s) => s.vaddr !== 0x700000) };
    const rodata = new Uint8Array(Buffer.from('xx go1.17.3\0requires go1.21\0go1.22.1\0ago1.99.1 go1.25'));
    const img = withSections(base, { '.go.buildinfo': undefined, '.rodata': { addr: 0x500000, data: rodata } });
    const info = goBinaryInfo(img);
    expect(info.version.raw).toBe('go1.25');
    expect(info.versionSource).toBe('rodata scan');
    expect(info.warnings[0]).toMatch(/no build info/);
    const old = withSections(base, {
      '.go.buildinfo': undefined,
      '.rodata': { addr: 0x500000, data: new Uint8Array(Buffer.from('go1.17.3')) },
    });
    expect(() => goBinaryInfo(old)).toThrow(/found go1\.17\.3, none fits/);
    const g127 = withSections(base, {
      '.go.buildinfo': undefined,
      '.rodata': { addr: 0x500000, data: new Uint8Array(Buffer.from('go1.27.3')) },
    });
    expect(goBinaryInfo(g127)).toMatchObject({ goidOffset: 152, warnings: [expect.stringMatching(/no build info/)] });
    const newer = withSections(base, {
      '.go.buildinfo': undefined,
      '.rodata': { addr: 0x500000, data: new Uint8Array(Buffer.from('go1.31.0')) },
    });
    expect(goBinaryInfo(newer).warnings).toEqual([
      expect.stringMatching(/no build info/),
      expect.stringMatching(/go1\.31\.0 is newer than the goid offset table/),
    ]);
  });

  it('parses versions with and without patch numbers and pre-release tags', () => {
    expect(parseGoVersion('go1.21rc2')).toEqual({ major: 1, minor: 21, patch: 0, prerelease: 'rc2', raw: 'go1.21rc2' });
    expect(parseGoVersion('devel go1.23-abc123 Mon')).toMatchObject({ major: 1, minor: 23, patch: 0 });
    expect(parseGoVersion('go1.19.8 X:boringcrypto')).toMatchObject({ minor: 19, patch: 8 });
    expect(parseGoVersion('no version')).toBeUndefined();
  });
});

describe('pt_regs offsets', () => {
  const header = '/usr/include/x86_64-linux-gnu/asm/ptrace.h';
  it.runIf(need(hasCommand('cc'), 'a C compiler checks struct pt_regs offsets') && process.arch === 'x64')(
    'x86-64 struct pt_regs offsets match offsetof() with the kernel header',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ebpf-ptregs-'));
      try {
        // The uapi header spells the fields the user-space way (rax, eflags); the kernel's own
        // struct, which BPF programs see, uses ax, flags. Same layout.
        const uapi: Record<string, string> = {
          bp: 'rbp',
          bx: 'rbx',
          ax: 'rax',
          cx: 'rcx',
          dx: 'rdx',
          si: 'rsi',
          di: 'rdi',
          orig_ax: 'orig_rax',
          ip: 'rip',
          flags: 'eflags',
          sp: 'rsp',
        };
        const fields = Object.keys(X86_64_PT_REGS);
        const src = `#include <stddef.h>\n#include <stdio.h>\n#include <asm/ptrace.h>\nint main(void){\n${fields
          .map((f) => `printf("${f} %zu\\n", offsetof(struct pt_regs, ${uapi[f] ?? f}));`)
          .join('\n')}\nreturn 0;}\n`;
        writeFileSync(join(dir, 'p.c'), src);
        execFileSync('cc', ['-o', join(dir, 'p'), join(dir, 'p.c')]);
        const out = execFileSync(join(dir, 'p'), { encoding: 'utf8' });
        const actual = Object.fromEntries(
          out
            .trim()
            .split('\n')
            .map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]),
        );
        expect(actual).toEqual(X86_64_PT_REGS);
        expect(readFileSync(header, 'utf8')).toMatch(/struct pt_regs/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('arm64 user_pt_regs: regs[n] at 8n, sp at 248, pc at 256', () => {
    expect(arm64RegisterOffset(0)).toBe(0);
    expect(arm64RegisterOffset(28)).toBe(224);
    expect(arm64RegisterOffset(30)).toBe(240);
    expect(() => arm64RegisterOffset(31)).toThrow(RangeError);
  });
});

describe('not Go, truncated, mutated', () => {
  it('an ELF that is not Go is refused as such', () => {
    const img = elfImage(readFileSync('/bin/sh'));
    expect(() => goBinaryInfo(img)).toThrow(/not a Go binary/);
  });

  it('random segments are refused with GoBinaryError', () => {
    const rnd = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const data = Uint8Array.from({ length: 1 + Math.floor(rnd() * 4000) }, () => (rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256)));
      // Plant a magic now and then so the header checks run.
      if (i % 2 === 0 && data.length > 16) data.set([0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8], Math.floor(rnd() * (data.length - 8)));
      const img = fakeImage({ seg: { addr: 0x1000, data } }, { ptrSize: 8, byteOrder: 'little', machine: 'amd64' });
      expect(() => goBinaryInfo(img)).toThrow(GoBinaryError);
    }
  });

  describe.runIf(need(hasCommand('go'), 'go builds the binary the mutation loop mutates'))('on a real stripped binary', () => {
    it('truncated or overwritten pclntab sections fail with GoBinaryError naming the section', async () => {
      const { dir, builds } = await buildGoVariants([{ name: 'stripped', args: ['-ldflags=-s -w'] }]);
      try {
        const img = elfImage(readFileSync(builds.get('stripped')!));
        const tab = img.section('.gopclntab')!;
        const cut = (n: number) => withSections(img, { '.gopclntab': { addr: tab.addr, data: tab.data.subarray(0, n) } });
        expect(() => goBinaryInfo(cut(8))).toThrow(/\.gopclntab\+0x0: pclntab of 8 bytes is shorter than its header/);
        expect(() => goBinaryInfo(cut(200))).toThrow(/\.gopclntab\+0x8: function count \d+ does not fit in 200 bytes/);
        expect(() => goBinaryInfo(cut(tab.data.length >> 1))).toThrow(GoBinaryError);
        const bad = Uint8Array.from(tab.data);
        bad[0] = 0x00;
        expect(() => goBinaryInfo(withSections(img, { '.gopclntab': { addr: tab.addr, data: bad } }))).toThrow(/unknown pclntab magic/);
        expect(locatePclntab(img).where).toBe('.gopclntab');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('seeded mutations of pclntab, build info and rodata: only GoBinaryError escapes', async () => {
      const { dir, builds } = await buildGoVariants([{ name: 'stripped', args: ['-ldflags=-s -w'] }]);
      try {
        const img = elfImage(readFileSync(builds.get('stripped')!));
        const names = ['.gopclntab', '.go.buildinfo', '.rodata', '.text'] as const;
        const originals = Object.fromEntries(names.map((n) => [n, img.section(n)!]));
        const rnd = seededRandom(0x60b1);
        let typed = 0;
        let ok = 0;
        const started = Date.now();
        for (let iter = 0; iter < 2500; iter++) {
          const name = names[iter % 10 < 6 ? 0 : iter % 10 < 8 ? 1 : iter % 10 < 9 ? 2 : 3];
          const orig = originals[name];
          let data = orig.data;
          const mode = rnd();
          if (mode < 0.75) {
            data = Uint8Array.from(orig.data);
            // Mostly near the start, where the headers and tables are.
            const span = rnd() < 0.7 ? Math.min(data.length, 4096 + 1426 * 8) : data.length;
            for (let k = 1 + Math.floor(rnd() * 6); k > 0; k--) data[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
          } else {
            data = orig.data.subarray(0, Math.floor(rnd() * orig.data.length));
          }
          const mutated = withSections(img, { [name]: { addr: orig.addr, data } });
          try {
            const info = goBinaryInfo(mutated);
            info.functions.lookup('runtime.casgstatus');
            info.functions.nameAt(0x401000 + Math.floor(rnd() * 0x60000));
            if (iter % 5 === 0) info.functions.all();
            ok++;
          } catch (e) {
            if (!(e instanceof GoBinaryError)) throw e;
            typed++;
          }
        }
        expect(typed).toBeGreaterThan(100);
        expect(ok).toBeGreaterThan(100);
        expect(Date.now() - started).toBeLessThan(20_000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
