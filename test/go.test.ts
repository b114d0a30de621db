// Go binary inspection on real binaries built at test time with the system Go (Debian's 1.19),
// cross-checked against Go's own tools: `go tool nm` for every function address, `go version`
// for the version, DWARF for the goid offset. Plus the stripped Go 1.26 esbuild from npm.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoBinaryError, goBinaryInfo, goidOffset, parseGoVersion, type BinaryImage, type GoBinaryInfo } from '../src/go/index.js';
import { hasCommand, need } from './support/env.js';
import { buildGoVariants, elfImage, goToolNm, run, withSections, type TestImage } from './go-support.js';

const ESBUILD = join(import.meta.dirname, '..', 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild');
const canBuild = hasCommand('go');
const hasObjcopy = hasCommand('llvm-objcopy-19');
const hasCc = hasCommand('cc');

let dir = '';
let builds = new Map<string, string>();
const images = new Map<string, TestImage>();
const nmCache = new Map<string, Map<number, string[]>>();

beforeAll(async () => {
  if (!canBuild) return;
  const variants: { name: string; args: string[]; env?: Record<string, string> }[] = [
    { name: 'default', args: [] },
    { name: 'stripped', args: ['-ldflags=-s -w'] },
    { name: 'pie', args: ['-buildmode=pie'] },
    { name: 'plain', args: ['-ldflags=-compressdwarf=false'] },
    { name: 'arm64', args: [], env: { GOARCH: 'arm64' } },
    { name: 'i386', args: [], env: { GOARCH: '386' } },
    { name: 's390x', args: [], env: { GOARCH: 's390x' } },
  ];
  if (hasCc) variants.push({ name: 'external', args: ['-ldflags=-linkmode=external'], env: { CGO_ENABLED: '1' } });
  ({ dir, builds } = await buildGoVariants(variants));
  if (hasObjcopy) {
    const out = join(dir, 'nosections');
    execFileSync('llvm-objcopy-19', ['--strip-sections', builds.get('stripped')!, out]);
    builds.set('nosections', out);
  }
  for (const [name, path] of builds) {
    images.set(name, elfImage(readFileSync(path), { withoutSections: name === 'nosections' }));
  }
  // A fresh machine builds with an empty Go cache (the runtime and the standard library from
  // source): minutes, not seconds.
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function image(name: string): TestImage {
  const img = images.get(name);
  if (!img) throw new Error(`no build ${name}`);
  return img;
}

/** `go tool nm` text symbols by address (several names can share one). */
async function nmByAddress(name: string): Promise<Map<number, string[]>> {
  let m = nmCache.get(name);
  if (!m) {
    m = new Map();
    for (const [sym, addr] of await goToolNm(builds.get(name)!)) m.set(addr, [...(m.get(addr) ?? []), sym]);
    nmCache.set(name, m);
  }
  return m;
}

/** The pclntab spells generic and array brackets "[...]"; the symbol table adds ".abi0" to ABI0 functions. */
function collapseBrackets(s: string): string {
  let out = '';
  let depth = 0;
  for (const ch of s) {
    if (ch === '[') {
      if (depth++ === 0) out += '[...';
    } else if (ch === ']') {
      if (--depth === 0) out += ']';
    } else if (depth === 0) out += ch;
  }
  return out;
}

function sameFunction(pcln: string, sym: string): boolean {
  return pcln === sym || `${pcln}.abi0` === sym || collapseBrackets(sym) === pcln;
}

/** Every pclntab function must be a text symbol at the same address in `go tool nm`. */
async function expectAllFunctionsMatchNm(info: GoBinaryInfo, nmOf: string): Promise<number> {
  const nm = await nmByAddress(nmOf);
  const wrong: string[] = [];
  const all = info.functions.all();
  for (const f of all) {
    const names = nm.get(f.entry) ?? [];
    if (!names.some((n) => sameFunction(f.name, n))) wrong.push(`${f.name}@0x${f.entry.toString(16)} nm: ${names.join(',') || 'none'}`);
  }
  expect(wrong).toEqual([]);
  expect(all.length).toBeGreaterThan(900);
  return all.length;
}

function goVersionOf(path: string): string {
  // "PATH: go1.19.8"
  return execFileSync('go', ['version', path], { encoding: 'utf8' }).trim().split(': ').pop()!;
}

describe.runIf(need(canBuild, 'go is needed to build the test binaries (apt-get install golang-go)'))('Go 1.19 binaries', () => {
  it('default build: version, goid from DWARF, register ABI, every function as go tool nm', async () => {
    const info = goBinaryInfo(image('default'));
    expect(info.version.raw).toBe(goVersionOf(builds.get('default')!));
    expect(info.version).toMatchObject({ major: 1, minor: 19 });
    expect(info.versionSource).toBe('buildinfo');
    expect(info.modinfo).toMatch(/^path\texample\.com\/goroutines\n/);
    expect(info.goidOffset).toBe(152);
    expect(info.goidOffsetSource).toBe('dwarf');
    expect(info.warnings).toEqual([]);
    expect(info.pclntab).toMatchObject({ format: 'go1.18', magic: 0xfffffff0, where: '.gopclntab' });
    expect(info.abi).toEqual({
      kind: 'registers',
      arch: 'amd64',
      gp: { register: 'ax', ptRegsOffset: 80 },
      old: { register: 'bx', ptRegsOffset: 40 },
      new: { register: 'cx', ptRegsOffset: 88 },
      currentG: { register: 'r14', ptRegsOffset: 8 },
      sp: { register: 'sp', ptRegsOffset: 152 },
      pc: { register: 'ip', ptRegsOffset: 128 },
    });
    await expectAllFunctionsMatchNm(info, 'default');
    const nm = await goToolNm(builds.get('default')!);
    expect(info.functions.lookup('runtime.casgstatus')).toBe(nm.get('runtime.casgstatus'));
    expect(info.functions.lookup('main.main')).toBe(nm.get('main.main'));
    expect(info.functions.lookup('main.square')).toBe(nm.get('main.square'));
    expect(info.functions.lookup('no.such.function')).toBeUndefined();
  });

  it('nameAt finds the function holding an address, by binary search', () => {
    const { functions } = goBinaryInfo(image('default'));
    const all = functions.all();
    for (const f of all.filter((_, i) => i % 7 === 0)) {
      // Zero-size entries share an address with the next function; the last one wins.
      const at = functions.nameAt(f.entry);
      if (f.end > f.entry) {
        expect(at).toBe(f.name);
        expect(functions.nameAt(f.end - 1)).toBe(f.name);
      }
    }
    expect(functions.nameAt(all[0].entry - 1)).toBeUndefined();
    expect(functions.nameAt(all[all.length - 1].end)).toBeUndefined();
    const casg = functions.lookup('runtime.casgstatus')!;
    expect(functions.nameAt(casg + 3)).toBe('runtime.casgstatus');
  });

  it('stripped (-s -w): same functions from the pclntab alone, goid from the table', async () => {
    const info = goBinaryInfo(image('stripped'));
    expect(image('stripped').section('.symtab')).toBeUndefined();
    expect(image('stripped').section('.debug_info')).toBeUndefined();
    expect(info.version.raw).toBe(goVersionOf(builds.get('stripped')!));
    expect(info.goidOffset).toBe(152);
    expect(info.goidOffsetSource).toBe('table');
    expect(info.warnings).toEqual([]);
    // Stripping removes symbols, not code: the unstripped build's nm is the oracle.
    await expectAllFunctionsMatchNm(info, 'default');
  });

  it('PIE: the pclntab is in .data.rel.ro.gopclntab', async () => {
    const info = goBinaryInfo(image('pie'));
    expect(info.pclntab.where).toBe('.data.rel.ro.gopclntab');
    expect(info.goidOffset).toBe(152);
    expect(info.goidOffsetSource).toBe('dwarf');
    await expectAllFunctionsMatchNm(info, 'pie');
  });

  it('uncompressed DWARF (-compressdwarf=false) gives the same goid offset', () => {
    const img = image('plain');
    const SHF_COMPRESSED = 0x800;
    const flagsOf = (name: string) => image(name).sectionHeaders.find((h) => h.name === '.debug_info')!.flags;
    expect(flagsOf('plain') & SHF_COMPRESSED).toBe(0);
    expect(flagsOf('default') & SHF_COMPRESSED).toBe(SHF_COMPRESSED);
    const info = goBinaryInfo(img);
    expect(info).toMatchObject({ goidOffset: 152, goidOffsetSource: 'dwarf', warnings: [] });
  });

  it('GNU .zdebug sections are inflated from the image', () => {
    // Present the uncompressed DWARF as Go <= 1.18 would have: .zdebug_* with a ZLIB header.
    const img = image('plain');
    const zlib = (name: string) => {
      const data = img.section(`.debug_${name}`)!.data;
      const size = Buffer.alloc(8);
      size.writeBigUInt64BE(BigInt(data.length));
      const blob = Buffer.concat([Buffer.from('ZLIB'), size, deflateSync(data)]);
      return { addr: 0, data: new Uint8Array(blob) };
    };
    const replaced: Record<string, undefined | { addr: number; data: Uint8Array }> = {};
    for (const n of ['info', 'abbrev', 'str']) {
      replaced[`.debug_${n}`] = undefined;
      replaced[`.zdebug_${n}`] = img.section(`.debug_${n}`) ? zlib(n) : undefined;
    }
    const info = goBinaryInfo(withSections(img, replaced));
    expect(info).toMatchObject({ goidOffset: 152, goidOffsetSource: 'dwarf' });
  });

  it('arm64: quantum-4 pclntab, X0/X1/X2 and user_pt_regs offsets', async () => {
    const info = goBinaryInfo(image('arm64'));
    expect(image('arm64').machine).toBe('arm64');
    expect(info.goidOffset).toBe(152);
    expect(info.goidOffsetSource).toBe('dwarf');
    expect(info.abi).toEqual({
      kind: 'registers',
      arch: 'arm64',
      gp: { register: 'x0', ptRegsOffset: 0 },
      old: { register: 'x1', ptRegsOffset: 8 },
      new: { register: 'x2', ptRegsOffset: 16 },
      currentG: { register: 'x28', ptRegsOffset: 224 },
      sp: { register: 'sp', ptRegsOffset: 248 },
      pc: { register: 'pc', ptRegsOffset: 256 },
    });
    await expectAllFunctionsMatchNm(info, 'arm64');
  });

  it('386 (4-byte pointers) and s390x (big-endian): pclntab, buildinfo and DWARF', async () => {
    for (const name of ['i386', 's390x']) {
      const img = image(name);
      const info = goBinaryInfo(img);
      expect(info.version.raw).toBe(goVersionOf(builds.get(name)!));
      expect(info.abi).toMatchObject({ kind: 'unsupported', arch: img.machine });
      await expectAllFunctionsMatchNm(info, name);
      // g is smaller with 4-byte pointers, and DWARF must agree with the real layout, not the table.
      expect(info.goidOffsetSource).toBe('dwarf');
    }
    expect(image('s390x').byteOrder).toBe('big');
    expect(goBinaryInfo(image('s390x')).goidOffset).toBe(152);
    expect(goBinaryInfo(image('i386')).goidOffset).toBe(80);
    expect(goBinaryInfo(image('i386')).warnings).toEqual([]);
    // Without DWARF a 32-bit target has no table to fall back on.
    const noDwarf = withSections(image('i386'), { '.debug_info': undefined });
    expect(() => goBinaryInfo(noDwarf)).toThrow(/only covers 64-bit targets/);
  });

  it.runIf(hasCc)('external linking: runtime.text is not the start of .text; the header value is used', async () => {
    const img = image('external');
    const info = goBinaryInfo(img);
    expect(info.pclntab.textStart.source).toBe('header');
    expect(info.pclntab.textStart.address).toBeGreaterThan(img.section('.text')!.addr);
    await expectAllFunctionsMatchNm(info, 'external');
  });

  it.runIf(need(hasObjcopy, 'llvm-objcopy-19 strips section headers'))(
    'no section headers: pclntab and buildinfo found by scanning segments, text start from the entry point',
    async () => {
      const img = image('nosections');
      expect(img.section('.gopclntab')).toBeUndefined();
      const info = goBinaryInfo(img);
      expect(info.pclntab.where).toMatch(/^scan of segment at 0x/);
      expect(info.pclntab.textStart.source).toBe('entry point');
      expect(info.version.raw).toBe(goVersionOf(builds.get('stripped')!));
      expect(info.versionSource).toBe('buildinfo');
      await expectAllFunctionsMatchNm(info, 'default');
    },
  );

  it('a build info version that contradicts the pclntab magic is refused', () => {
    const img = image('stripped');
    const bi = img.section('.go.buildinfo')!;
    const data = Uint8Array.from(bi.data);
    const text = Buffer.from(data).toString('latin1');
    const at = text.indexOf('go1.19');
    data.set(Buffer.from('go1.21'), at);
    expect(() => goBinaryInfo(withSections(img, { '.go.buildinfo': { addr: bi.addr, data } }))).toThrow(
      /build info says go1\.21.* but the pclntab magic 0xfffffff0 is written by go1\.18 to go1\.19/,
    );
  });
});

describe.runIf(need(existsSync(ESBUILD), 'node_modules/@esbuild/linux-x64 is installed with the dev dependencies'))(
  'esbuild (stripped release binary, Go 1.26, no build info)',
  () => {
    it('version from the read-only data, goid from the table, casgstatus from the pclntab', () => {
      const img = elfImage(readFileSync(ESBUILD));
      expect(img.section('.go.buildinfo')).toBeUndefined();
      const info = goBinaryInfo(img);
      expect(info.version).toEqual({ major: 1, minor: 26, patch: 5, raw: 'go1.26.5' });
      expect(info.versionSource).toBe('rodata scan');
      expect(info.warnings).toEqual(['no build info: Go version go1.26.5 taken from a string in the read-only data']);
      expect(info.goidOffset).toBe(152);
      expect(info.goidOffsetSource).toBe('table');
      expect(info.pclntab).toMatchObject({ format: 'go1.20', magic: 0xfffffff1 });
      // The header's textStart is 0 in this binary: the .text address is the one that works.
      expect(info.pclntab.textStart).toEqual({ address: img.section('.text')!.addr, source: '.text section' });
      expect(info.abi.kind).toBe('registers');
      const casg = info.functions.lookup('runtime.casgstatus')!;
      const text = img.section('.text')!;
      expect(casg).toBeGreaterThanOrEqual(text.addr);
      expect(casg).toBeLessThan(text.addr + text.data.length);
      expect(info.functions.nameAt(casg)).toBe('runtime.casgstatus');
      expect(info.functions.lookup('main.main')).toBeDefined();
      // Go pads functions to 32 bytes on amd64: every entry is aligned (a wrong text base would not be).
      const all = info.functions.all();
      expect(all.length).toBeGreaterThan(5000);
      expect(all.filter((f) => f.entry % 32 !== 0)).toEqual([]);
      expect(all.every((f, i) => i === 0 || f.entry >= all[i - 1].entry)).toBe(true);
      console.log(`esbuild: ${info.version.raw}, goid offset ${info.goidOffset}, runtime.casgstatus at 0x${casg.toString(16)}`);
    });

    it.runIf(need(hasCommand('strings'), 'strings (binutils)'))('the version string found is the one `strings` shows', async () => {
      const out = await run('strings', ['-n', '8', ESBUILD]);
      expect(out.split('\n').filter((l) => /^go1\.\d+\.\d+$/.test(l))).toEqual(['go1.26.5']);
    });
  },
);

describe.runIf(canBuild)('Go version policy', () => {
  const stripped = (): BinaryImage => image('stripped');

  it('a version newer than the table is accepted with a warning', () => {
    const r = goidOffset(stripped(), parseGoVersion('go1.31.2')!);
    expect(r).toEqual({
      offset: 152,
      source: 'table',
      warnings: [expect.stringMatching(/go1\.31\.2 is newer than the goid offset table/)],
    });
  });

  it('the table is not monotonic: 1.23 and 1.24 differ from both neighbours', () => {
    const at = (v: string) => goidOffset(stripped(), parseGoVersion(v)!).offset;
    expect([at('go1.13'), at('go1.22.9'), at('go1.23.0'), at('go1.24.3'), at('go1.25.0'), at('go1.26.5')]).toEqual([
      152, 152, 160, 160, 152, 152,
    ]);
  });

  it('an ancient version without DWARF is refused; 1.12 (live-checked at 152) is in the table', () => {
    expect(() => goidOffset(stripped(), parseGoVersion('go1.11.13')!)).toThrow(GoBinaryError);
    expect(() => goidOffset(stripped(), parseGoVersion('go1.11.13')!)).toThrow(/older than go1\.12.*refusing/);
    expect(goidOffset(stripped(), parseGoVersion('go1.12.17')!)).toMatchObject({ offset: 152, source: 'table', warnings: [] });
    expect(goidOffset(stripped(), parseGoVersion('go1.27.3')!)).toMatchObject({ offset: 152, source: 'table', warnings: [] });
    expect(goidOffset(stripped(), parseGoVersion('go1.28.0')!).warnings).toEqual([
      expect.stringMatching(/go1\.28\.0 is newer than the goid offset table \(up to go1\.27\)/),
    ]);
  });
});
