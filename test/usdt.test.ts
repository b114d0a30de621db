// USDT: probes read from .note.stapsdt (checked against readelf -n and bpftrace -l), argument
// specs, the spec layout of libbpf's usdt.bpf.h (checked with the C compiler), and programs built
// on usdt.bpf.h reading real arguments: Debian's python3.11 and a C program of our own with a
// semaphore, as PIE, non-PIE and through a shared library.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from '../src/elf/index.js';
import { loadCollection, loadCollectionSpec, type Collection } from '../src/loader/index.js';
import { attachUsdt, LinkError, listUsdtProbes, usdtMaps } from '../src/links/index.js';
import { RingBufferReader } from '../src/readers/index.js';
import {
  encodeUsdtSpec,
  LIBBPF_1_1_USDT_SPEC_LAYOUT,
  parseUsdtArgs,
  readUsdtProbes,
  UsdtError,
  usdtSpecLayoutFromBtf,
  X86_64_PT_REGS,
} from '../src/usdt/index.js';
import { hasCommand, isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import './support/leaks.js';

const PYTHON = '/usr/bin/python3.11';
const OBJECT = join(import.meta.dirname, '../bpf/usdt.o');
const canCompile = need(hasCommand('cc') && hasCommand('readelf'), 'USDT tests need a C compiler (with systemtap-sdt-dev) and readelf');
const canRun = need(isRoot, 'attaching USDT probes needs root');
const hasPython = need(
  (() => {
    try {
      readFileSync(PYTHON);
      return true;
    } catch {
      return false;
    }
  })(),
  `${PYTHON} (Debian's python3.11, built with USDT probes)`,
);

const LIB_C = `#include <sys/sdt.h>
void lib_probe(int k) { STAP_PROBE2(ebpftest, lib, k, k * 3); }
`;
// Eight arguments of every size and signedness, in memory, a register and as constants; the
// semaphore counts how often the program saw a tracer attached.
const MAIN_C = `#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
unsigned short ebpftest_args_semaphore __attribute__((section(".probes")));
void lib_probe(int k);
int main(int argc, char **argv) {
  int n = atoi(argv[1]), enabled = 0;
  volatile int8_t c = -5; volatile uint16_t h = 60000; volatile int32_t i = -123456;
  volatile uint64_t big = 0x1122334455667788ULL; volatile int64_t neg = -9;
  printf("ready\\n"); fflush(stdout);
  getchar();
  for (int k = 0; k < n; k++) {
    if (ebpftest_args_semaphore) enabled++;
    STAP_PROBE8(ebpftest, args, c, h, i, big, neg, k, (uint8_t)200, 77);
    lib_probe(k);
  }
  printf("%d\\n", enabled);
  return 0;
}
`;

let dir = '';
const bin = { pie: '', nopie: '', lib: '' };

beforeAll(() => {
  if (!canCompile) return;
  dir = mkdtempSync(join(tmpdir(), 'ebpf-usdt-'));
  writeFileSync(join(dir, 'lib.c'), LIB_C);
  writeFileSync(join(dir, 'main.c'), MAIN_C);
  bin.lib = join(dir, 'libprobe.so');
  bin.pie = join(dir, 'main_pie');
  bin.nopie = join(dir, 'main_nopie');
  execFileSync('cc', ['-O1', '-shared', '-fPIC', '-o', bin.lib, join(dir, 'lib.c')]);
  for (const [out, flags] of [
    [bin.pie, ['-pie', '-fPIE']],
    [bin.nopie, ['-no-pie']],
  ] as const) {
    execFileSync('cc', ['-O1', ...flags, '-o', out, join(dir, 'main.c'), `-L${dir}`, '-lprobe', `-Wl,-rpath,${dir}`]);
  }
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** readelf -n's view of the stapsdt notes: the oracle for the note parser. */
function readelfProbes(
  path: string,
): { provider: string; name: string; location: number; base: number; semaphore: number; args: string }[] {
  const text = execFileSync('readelf', ['-n', '--wide', path], { encoding: 'utf8' });
  const out = [];
  const re =
    /Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\s+Arguments: ?([^\n]*)/g;
  for (const m of text.matchAll(re)) {
    out.push({
      provider: m[1],
      name: m[2],
      location: parseInt(m[3], 16),
      base: parseInt(m[4], 16),
      semaphore: parseInt(m[5], 16),
      args: m[6].trim(),
    });
  }
  return out;
}

/** File offset of a virtual address through the section headers readelf -S lists. */
function readelfFileOffset(path: string, address: number): number {
  const text = execFileSync('readelf', ['-S', '--wide', path], { encoding: 'utf8' });
  for (const m of text.matchAll(/\]\s+\S+\s+\S+\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)/g)) {
    const [addr, off, size] = [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
    if (addr !== 0 && address >= addr && address < addr + size) return address - addr + off;
  }
  throw new Error(`0x${address.toString(16)} is in no section of ${path}`);
}

describe('USDT argument specs', () => {
  it('parses every x86-64 form into pt_regs offsets, sizes and signedness', () => {
    const [a, b, c, d, e, f] = parseUsdtArgs('-4@%eax 8@-1204(%rbp) 1@$-56 2@(%r12w) -8@16(%rsp,%rcx,8) 4@%r9d');
    expect(a).toMatchObject({ size: 4, signed: true, location: { kind: 'reg', reg: 'eax', regOffset: 80 } });
    expect(b).toMatchObject({ size: 8, signed: false, location: { kind: 'deref', regOffset: 32, offset: -1204n } });
    expect(c).toMatchObject({ size: 1, signed: false, location: { kind: 'const', value: -56n } });
    expect(d).toMatchObject({ size: 2, location: { kind: 'deref', reg: 'r12w', regOffset: 24, offset: 0n } });
    expect(e).toMatchObject({ size: 8, signed: true, location: { kind: 'sib', regOffset: 152, indexOffset: 88, scale: 8, offset: 16n } });
    expect(f).toMatchObject({ location: { kind: 'reg', regOffset: 64 } });
    expect(parseUsdtArgs('')).toEqual([]);
    expect(parseUsdtArgs('8@[x0, 16] -4@w1 8@#5 8@[sp]', 'aarch64').map((x) => x.location)).toEqual([
      { kind: 'deref', reg: 'x0', regOffset: 0, offset: 16n },
      { kind: 'reg', reg: 'w1', regOffset: 8 },
      { kind: 'const', value: 5n },
      { kind: 'deref', reg: 'sp', regOffset: 248, offset: 0n },
    ]);
  });

  it('maps registers to the offsets of struct pt_regs (the C compiler as the oracle)', () => {
    if (!canCompile) return;
    const fields = [
      'r15',
      'r14',
      'r13',
      'r12',
      'rbp',
      'rbx',
      'r11',
      'r10',
      'r9',
      'r8',
      'rax',
      'rcx',
      'rdx',
      'rsi',
      'rdi',
      'orig_rax',
      'rip',
      'cs',
      'eflags',
      'rsp',
      'ss',
    ];
    writeFileSync(
      join(dir, 'regs.c'),
      `#include <asm/ptrace.h>\n#include <stdio.h>\n#include <stddef.h>\nint main(void) {\n${fields.map((f) => `  printf("%zu\\n", offsetof(struct pt_regs, ${f}));`).join('\n')}\n  return 0;\n}\n`,
    );
    execFileSync('cc', ['-o', join(dir, 'regs'), join(dir, 'regs.c')]);
    const offsets = execFileSync(join(dir, 'regs'), { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(Object.values(X86_64_PT_REGS)).toEqual(offsets);
    const names = ['%r15', '%r14', '%r13', '%r12', '%rbp', '%rbx', '%r11', '%r10', '%r9', '%r8', '%rax', '%rcx', '%rdx', '%rsi', '%rdi'];
    const parsed = [names.slice(0, 8), names.slice(8)].flatMap((group) => parseUsdtArgs(group.map((n) => `8@${n}`).join(' ')));
    expect(parsed.map((x) => (x.location as { regOffset: number }).regOffset)).toEqual(offsets.slice(0, 15));
  });

  it.each([
    ['8@%rax 5@%rbx', /size 5 in "5@%rbx" is not 1, 2, 4 or 8/],
    ['8@%xyz', /unknown x86-64 register %xyz/],
    ['1@%ah', /high-byte registers/],
    ['rax', /"rax" is not SIZE@LOCATION/],
    ['8@12(%rax', /cannot parse x86-64 argument location/],
    ['8@$0x1ffffffffffffffff', /does not fit 64 bits/],
    ['8@4(%rax,%rbx,3)', /scale 3/],
    [Array.from({ length: 13 }, () => '8@%rax').join(' '), /13 arguments/],
  ])('refuses "%s" with a UsdtError naming the problem', (text, message) => {
    let err: unknown;
    try {
      parseUsdtArgs(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsdtError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`arguments "${text}"`);
  });
});

describe('USDT notes', () => {
  it.each(['python', 'pie', 'nopie', 'lib'] as const)('reads the same probes as readelf -n from %s', (which) => {
    const path = which === 'python' ? PYTHON : bin[which];
    if (which === 'python' ? !hasPython : !canCompile) return;
    const ours = readUsdtProbes(ElfFile.parse(readFileSync(path)));
    const theirs = readelfProbes(path);
    expect(ours.length).toBeGreaterThan(0);
    expect(
      ours.map((p) => ({
        provider: p.provider,
        name: p.name,
        location: p.address,
        semaphore: p.semaphore?.address ?? 0,
        args: p.argsText,
      })),
    ).toEqual(theirs.map(({ base: _base, ...rest }) => rest));
    for (const p of ours) {
      expect(p.argsError).toBeUndefined();
      expect(p.args.length).toBe(p.argsText === '' ? 0 : p.argsText.split(' ').length);
      if (p.semaphore) expect(p.semaphore.fileOffset).toBe(readelfFileOffset(path, p.semaphore.address));
      expect(p.fileOffset).toBe(readelfFileOffset(path, p.address));
    }
  });

  it("lists python3.11's eight probes as bpftrace -l does", () => {
    if (!hasPython || !need(hasCommand('bpftrace'), 'bpftrace as the oracle')) return;
    const theirs = execFileSync('bpftrace', ['-l', `usdt:${PYTHON}:*`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .sort();
    const ours = listUsdtProbes(PYTHON)
      .map((p) => `usdt:${PYTHON}:${p.provider}:${p.name}`)
      .sort();
    expect(ours).toEqual(theirs);
    expect(ours).toHaveLength(8);
  });

  it('a binary without probes has none; a note with broken strings is a UsdtError at its file offset', () => {
    expect(readUsdtProbes(ElfFile.parse(readFileSync(process.execPath)))).toBeDefined();
    if (!canCompile) return;
    const bytes = Buffer.from(readFileSync(bin.lib));
    const elf = ElfFile.parse(bytes);
    const note = elf.notes().find((n) => n.name === 'stapsdt')!;
    const descAt = note.desc.byteOffset - bytes.byteOffset;
    bytes.fill(0x41, descAt + 24, descAt + note.desc.length); // no NUL left after the addresses
    expect(() => readUsdtProbes(ElfFile.parse(bytes))).toThrow(new RegExp(`not NUL-terminated.*file offset 0x${note.offset.toString(16)}`));
  });
});

describe('the usdt.bpf.h spec', () => {
  it("the layout from the object's BTF equals libbpf 1.1's, and both equal what the C compiler lays out", () => {
    const spec = loadCollectionSpec(readFileSync(OBJECT));
    expect(usdtSpecLayoutFromBtf(spec.btf!)).toMatchObject(LIBBPF_1_1_USDT_SPEC_LAYOUT);
    if (!canCompile) return;
    writeFileSync(
      join(dir, 'lay.c'),
      `#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#define __TARGET_ARCH_x86
#include <bpf/usdt.bpf.h>
const _Bool LINUX_HAS_BPF_COOKIE = 1;
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %d %d %d\\n", sizeof(struct __bpf_usdt_spec), offsetof(struct __bpf_usdt_spec, args),
    sizeof(struct __bpf_usdt_arg_spec), offsetof(struct __bpf_usdt_spec, usdt_cookie), offsetof(struct __bpf_usdt_spec, arg_cnt),
    offsetof(struct __bpf_usdt_arg_spec, val_off), offsetof(struct __bpf_usdt_arg_spec, arg_type), offsetof(struct __bpf_usdt_arg_spec, reg_off),
    offsetof(struct __bpf_usdt_arg_spec, arg_signed), offsetof(struct __bpf_usdt_arg_spec, arg_bitshift), BPF_USDT_MAX_ARG_CNT,
    BPF_USDT_ARG_REG, BPF_USDT_ARG_REG_DEREF);
  return 0;
}
`,
    );
    execFileSync('cc', ['-w', '-o', join(dir, 'lay'), join(dir, 'lay.c')]);
    const [size, args, stride, cookie, cnt, valOff, argType, regOff, signed, shift, max, reg, deref] = execFileSync(join(dir, 'lay'), {
      encoding: 'utf8',
    })
      .trim()
      .split(' ')
      .map(Number);
    const l = LIBBPF_1_1_USDT_SPEC_LAYOUT;
    expect([l.size, l.argsOffset, l.argStride, l.cookieOffset, l.argCountOffset, l.maxArgs, l.types.REG, l.types.REG_DEREF]).toEqual([
      size,
      args,
      stride,
      cookie,
      cnt,
      max,
      reg,
      deref,
    ]);
    expect([l.arg.valOff, l.arg.argType, l.arg.regOff, l.arg.argSigned, l.arg.argBitshift].map((f) => f.bitOffset / 8)).toEqual([
      valOff,
      argType,
      regOff,
      signed,
      shift,
    ]);
  });

  it('encodes each argument kind with the bit shift that truncates and sign-extends it', () => {
    const b = Buffer.from(encodeUsdtSpec(parseUsdtArgs('-4@%eax 8@-16(%rbp) 1@$-56'), 0xabcdn));
    expect([b.readBigUInt64LE(0), b.readUInt32LE(8), b.readInt16LE(12), b[14], b[15]]).toEqual([0n, 1, 80, 1, 32]);
    expect([b.readBigInt64LE(16), b.readUInt32LE(24), b.readInt16LE(28), b[30], b[31]]).toEqual([-16n, 2, 32, 0, 0]);
    expect([b.readBigInt64LE(32), b.readUInt32LE(40), b[46], b[47]]).toEqual([-56n, 0, 0, 56]);
    expect([b.readBigUInt64LE(192), b.readInt16LE(200)]).toEqual([0xabcdn, 3]);
    expect(() => encodeUsdtSpec(parseUsdtArgs('8@8(%rax,%rbx,2)'), 0n)).toThrow(/base\+index\*scale.*libbpf 1\.5\+/);
  });
});

interface ArgsEvent {
  ip: bigint;
  cookie: bigint;
  argCnt: bigint;
  args: bigint[];
  errors: bigint[];
  pid: number;
}

function argsEvents(coll: Collection): ArgsEvent[] {
  const out: ArgsEvent[] = [];
  const reader = new RingBufferReader(coll.maps.events as never);
  try {
    reader.poll((r) => {
      const b = Buffer.from(r);
      out.push({
        ip: b.readBigUInt64LE(0),
        cookie: b.readBigUInt64LE(8),
        argCnt: b.readBigInt64LE(16),
        args: Array.from({ length: 12 }, (_, i) => b.readBigInt64LE(24 + 8 * i)),
        errors: Array.from({ length: 12 }, (_, i) => b.readBigInt64LE(120 + 8 * i)),
        pid: b.readUInt32LE(216),
      });
    });
  } finally {
    reader.close();
  }
  return out;
}

interface CallEvent {
  cookie: bigint;
  line: number;
  pid: number;
  kind: 'entry' | 'return';
  argCnt: number;
  file: string;
  function: string;
}

function callEvents(coll: Collection): CallEvent[] {
  const out: CallEvent[] = [];
  const reader = new RingBufferReader(coll.maps.calls as never);
  const str = (b: Buffer, at: number): string => b.toString('utf8', at, at + 64).replace(/\0[\s\S]*$/, '');
  try {
    reader.poll((r) => {
      const b = Buffer.from(r);
      out.push({
        cookie: b.readBigUInt64LE(0),
        line: b.readInt32LE(8),
        pid: b.readUInt32LE(12),
        kind: b.readUInt32LE(16) ? 'return' : 'entry',
        argCnt: b.readUInt32LE(20),
        file: str(b, 24),
        function: str(b, 88),
      });
    });
  } finally {
    reader.close();
  }
  return out;
}

async function readyChild(
  path: string,
  args: string[],
): Promise<{ pid: number; finish(): Promise<{ code: number | null; stdout: string }> }> {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => {
      stdout += d.toString();
      resolve();
    });
    child.once('error', reject);
  });
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    pid: child.pid!,
    finish: async () => {
      child.stdin!.end('go\n');
      const code = await exited;
      return { code, stdout };
    },
  };
}

describe.runIf(canRun && canCompile)('USDT probes attached (usdt.bpf.h reads the arguments)', () => {
  let coll: Collection;
  beforeAll(() => {
    coll = loadCollection(OBJECT);
  });
  afterAll(() => coll?.close());

  const EXPECTED = [-5n, 60000n, -123456n, 0x1122334455667788n, -9n, undefined, 200n, 77n];

  it.each(['pie', 'nopie'] as const)(
    'the C probe (%s): eight arguments of every size and kind, the cookie, the semaphore and the ip map',
    async (which) => {
      const child = await readyChild(bin[which], ['25']);
      const maps = usdtMaps(coll);
      const link = track(
        attachUsdt(coll.programs.record_args, maps, bin[which], 'ebpftest', 'args', { pid: child.pid, cookie: 0x5eed_cafen }),
      );
      expect(link.sites).toHaveLength(1);
      expect(link.target).toContain('ebpftest:args');
      const { code, stdout } = await child.finish();
      expect(code).toBe(0);
      // The program saw its semaphore raised on every iteration: the kernel counted it up through ref_ctr_offset.
      expect(stdout.trim().split('\n').pop()).toBe('25');
      const events = argsEvents(coll).filter((e) => e.pid === child.pid);
      expect(events).toHaveLength(25);
      events.forEach((e, k) => {
        expect(e.cookie).toBe(0x5eed_cafen);
        expect(e.argCnt).toBe(8n);
        EXPECTED.forEach((v, i) => expect(e.args[i], `argument ${i}`).toBe(v ?? BigInt(k)));
        expect(e.errors.slice(0, 8)).toEqual(Array(8).fill(0n));
        expect(e.errors.slice(8)).toEqual(Array(4).fill(-2n)); // -ENOENT past the last argument
        // usdt.bpf.h's fallback without cookies finds the same spec by this address.
        const id = maps.ipToSpecId!.lookup(Buffer.from(new BigUint64Array([e.ip]).buffer));
        expect(id && Buffer.from(id as Uint8Array).readUInt32LE(0)).toBe(link.sites[0].specId);
      });
      link.close();
      expect(maps.ipToSpecId!.lookup(Buffer.from(new BigUint64Array([events[0].ip]).buffer))).toBeUndefined();
    },
  );

  it('without a tracer the semaphore stays 0 and the probe costs nothing', async () => {
    const child = await readyChild(bin.pie, ['10']);
    const { code, stdout } = await child.finish();
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').pop()).toBe('0');
  });

  it("a probe in a shared library, found by the library's path, with and without a pid", async () => {
    const child = await readyChild(bin.pie, ['7']);
    const maps = usdtMaps(coll);
    const link = track(attachUsdt(coll.programs.record_args, maps, bin.lib, 'ebpftest', 'lib', { pid: child.pid, cookie: 3n }));
    const all = track(attachUsdt(coll.programs.record_args, maps, bin.lib, 'ebpftest', 'lib', { cookie: 4n }));
    expect(all.sites[0].runtimeAddress).toBeUndefined(); // no pid: the library's load address is unknown
    await child.finish();
    const events = argsEvents(coll).filter((e) => e.pid === child.pid);
    for (const cookie of [3n, 4n]) {
      const mine = events.filter((e) => e.cookie === cookie);
      expect(mine.map((e) => e.args.slice(0, 2))).toEqual(Array.from({ length: 7 }, (_, k) => [BigInt(k), BigInt(3 * k)]));
      expect(mine.every((e) => e.argCnt === 2n)).toBe(true);
    }
    // With a pid, the ip map holds the library's address in that process.
    expect(link.sites[0].runtimeAddress).toBe(events.find((e) => e.cookie === 3n)!.ip);
  });

  it('errors: an unknown probe names the ones there are; a binary without probes; a closed link is harmless to close again', () => {
    const maps = usdtMaps(coll);
    expect(() => attachUsdt(coll.programs.record_args, maps, bin.pie, 'ebpftest', 'argz')).toThrow(
      /no USDT probe ebpftest:argz; close names: ebpftest:args/,
    );
    expect(() => attachUsdt(coll.programs.record_args, maps, '/bin/true', 'x', 'y')).toThrow(/has no USDT probes \(no \.note\.stapsdt/);
    expect(() => attachUsdt(coll.programs.record_args, maps, '/no/such/binary', 'x', 'y')).toThrow(LinkError);
    expect(() => usdtMaps({ maps: {} })).toThrow(/no __bpf_usdt_specs map/);
    expect(() => attachUsdt(coll.programs.record_args, { specs: coll.maps.stats }, bin.pie, 'ebpftest', 'args')).toThrow(
      /struct __bpf_usdt_spec is 208 bytes/,
    );
    const link = attachUsdt(coll.programs.record_args, maps, bin.pie, 'ebpftest', 'args', { pid: process.pid });
    link.close();
    link.close();
    expect(link.closed).toBe(true);
  });

  it('spec ids are reused after close and run out with a clear error', () => {
    const maps = usdtMaps(coll);
    const links = [];
    try {
      for (let i = 0; i < 256; i++)
        links.push(attachUsdt(coll.programs.record_args, maps, bin.lib, 'ebpftest', 'lib', { pid: process.pid, cookie: BigInt(i) }));
      expect(new Set(links.map((l) => l.sites[0].specId)).size).toBe(256);
      expect(() => attachUsdt(coll.programs.record_args, maps, bin.lib, 'ebpftest', 'lib', { pid: process.pid })).toThrow(
        /all 256 spec ids of map "__bpf_usdt_specs" are in use/,
      );
      const freed = links.pop()!;
      const id = freed.sites[0].specId;
      freed.close();
      links.push(attachUsdt(coll.programs.record_args, maps, bin.lib, 'ebpftest', 'lib', { pid: process.pid }));
      expect(links.at(-1)!.sites[0].specId).toBe(id);
    } finally {
      for (const l of links) l.close();
    }
  });
});

describe.runIf(canRun && hasPython)('python3.11: function__entry and function__return', () => {
  let coll: Collection;
  beforeAll(() => {
    coll = loadCollection(OBJECT);
  });
  afterAll(() => coll?.close());

  // The script says where its functions start and return. CPython 3.11 fires function__entry
  // only while a profile or trace function is set (here a no-op profiler), function__return always.
  const SCRIPT = `import sys
print("ready", flush=True)
sys.stdin.readline()
sys.setprofile(lambda *a: None)
def alpha(n):
    return n + 1
def beta(n):
    return alpha(n) * 2
for i in range(6):
    beta(i)
sys.setprofile(None)
for i in range(4):
    alpha(i)
import json
print(json.dumps({"alpha": [alpha.__code__.co_firstlineno, alpha.__code__.co_firstlineno + 1], "beta": [beta.__code__.co_firstlineno, beta.__code__.co_firstlineno + 1]}))
`;

  it('reports each call with the file, the function and the line the script knows, and the cookie', async () => {
    const dirPy = mkdtempSync(join(tmpdir(), 'ebpf-usdt-py-'));
    try {
      const script = join(dirPy, 'calls.py');
      writeFileSync(script, SCRIPT);
      const child = await readyChild(PYTHON, [script]);
      const maps = usdtMaps(coll);
      track(attachUsdt(coll.programs.python_entry, maps, PYTHON, 'python', 'function__entry', { pid: child.pid, cookie: 11n }));
      track(attachUsdt(coll.programs.python_return, maps, PYTHON, 'python', 'function__return', { pid: child.pid, cookie: 12n }));
      const { code, stdout } = await child.finish();
      expect(code).toBe(0);
      const lines = JSON.parse(stdout.trim().split('\n').pop()!) as Record<'alpha' | 'beta', [number, number]>;
      const events = callEvents(coll).filter((e) => e.pid === child.pid && e.file === script);
      const count = (kind: string, fn: string, line: number): number =>
        events.filter((e) => e.kind === kind && e.function === fn && e.line === line).length;
      expect(count('entry', 'beta', lines.beta[0])).toBe(6);
      expect(count('entry', 'alpha', lines.alpha[0])).toBe(6);
      expect(count('return', 'beta', lines.beta[1])).toBe(6);
      expect(count('return', 'alpha', lines.alpha[1])).toBe(10);
      expect(events.filter((e) => e.function === 'alpha' || e.function === 'beta')).toHaveLength(28);
      expect(events.every((e) => e.cookie === (e.kind === 'entry' ? 11n : 12n) && e.argCnt === 3)).toBe(true);
      // The program counted returns per function and timed the calls whose entry fired.
      // (The map's BTF gives it a codec: values decode to { count, total_ns, timed }.)
      const s = coll.maps.stats.lookup(Buffer.concat([Buffer.from('alpha'), Buffer.alloc(59)])) as {
        count: bigint;
        total_ns: bigint;
        timed: bigint;
      };
      expect(s.count).toBe(10n);
      expect(s.timed).toBe(6n);
      expect(s.total_ns).toBeGreaterThan(0n);
    } finally {
      rmSync(dirPy, { recursive: true, force: true });
    }
  });

  it('sees the same calls as bpftrace on the same script', async () => {
    if (!need(hasCommand('bpftrace'), 'bpftrace as the oracle')) return;
    const dirPy = mkdtempSync(join(tmpdir(), 'ebpf-usdt-py-'));
    try {
      const script = join(dirPy, 'same.py');
      writeFileSync(
        script,
        'import sys, time\ntime.sleep(1.5)\nsys.setprofile(lambda *a: None)\ndef f(n):\n    return n\nfor i in range(3):\n    f(i)\nsorted([3, 1, 2], key=f)\n',
      );
      // bpftrace splits -c on spaces without a shell: the runner is a file of its own.
      const runner = join(dirPy, 'runner.py');
      writeFileSync(runner, `import runpy\nrunpy.run_path(${JSON.stringify(script)}, run_name="__main__")\n`);
      const text = execFileSync(
        'bpftrace',
        [
          '-e',
          `usdt:${PYTHON}:python:function__entry /str(arg0) == "${script}"/ { printf("entry %s %d\\n", str(arg1), arg2); } usdt:${PYTHON}:python:function__return /str(arg0) == "${script}"/ { printf("return %s %d\\n", str(arg1), arg2); }`,
          '-c',
          `${PYTHON} ${runner}`,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
      );
      const theirs = text
        .split('\n')
        .filter((l) => /^(entry|return) /.test(l))
        .sort();
      // Ours, on a run of the same script in a child we attach to before it starts its work.
      const child = await readyChild(PYTHON, [
        '-c',
        `import sys, runpy\nprint("ready", flush=True)\nsys.stdin.readline()\nrunpy.run_path(${JSON.stringify(script)}, run_name="__main__")`,
      ]);
      const maps = usdtMaps(coll);
      track(attachUsdt(coll.programs.python_entry, maps, PYTHON, 'python', 'function__entry', { pid: child.pid }));
      track(attachUsdt(coll.programs.python_return, maps, PYTHON, 'python', 'function__return', { pid: child.pid }));
      await child.finish();
      const ours = callEvents(coll)
        .filter((e) => e.pid === child.pid && e.file === script)
        .map((e) => `${e.kind} ${e.function} ${e.line}`)
        .sort();
      expect(theirs.length).toBeGreaterThan(6);
      expect(ours).toEqual(theirs);
    } finally {
      rmSync(dirPy, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.runIf(canRun && hasPython)('examples/python-calls.ts', () => {
  it('counts every call of a recursive script exactly, as the script itself counts them', () => {
    const dirPy = mkdtempSync(join(tmpdir(), 'ebpf-usdt-example-'));
    try {
      const script = join(dirPy, 'fib.py');
      // fib(i) makes 2*F(i+1) - 1 calls; over i < 15, three times: 9531. The script prints its own count.
      writeFileSync(
        script,
        'calls = 0\ndef fib(n):\n    global calls\n    calls += 1\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\ndef work():\n    return sum(fib(i) for i in range(15))\nfor _ in range(3):\n    work()\nprint(calls)\n',
      );
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/python-calls.ts', '--json', '--', script], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const lines = out.trim().split('\n');
      const own = Number(lines[0]);
      const result = JSON.parse(lines.pop()!) as { functions: { function: string; calls: number; timed: number; totalNs: number }[] };
      const row = (name: string) => result.functions.find((f) => f.function === name)!;
      expect(own).toBe(9531);
      expect(row('fib').calls).toBe(own);
      expect(row('work').calls).toBe(3);
      expect(row('work').timed).toBe(3);
      // Inclusive time: work contains every fib call under it.
      expect(row('work').totalNs).toBeGreaterThan(0);
    } finally {
      rmSync(dirPy, { recursive: true, force: true });
    }
  }, 150_000);
});
