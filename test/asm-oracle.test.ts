// Checks the assembler, builder, encoder and disassembler against LLVM 19's BPF backend, an
// independent implementation: llvm-mc gives the encoding of each instruction, llvm-objdump the text.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALU_BINARY,
  ATOMIC_RMW,
  JUMP_CONDITIONS,
  ProgramBuilder,
  Size,
  assemble,
  disassemble,
  encodeInstructions,
  type AluBinaryOp,
  type AtomicOp,
  type ByteOrder,
  type JumpCondition,
} from '../src/asm/index.js';

const MC = 'llvm-mc-19';
const OBJDUMP = 'llvm-objdump-19';
const haveLlvm = spawnSync(MC, ['--version']).status === 0 && spawnSync(OBJDUMP, ['--version']).status === 0;
const inCi = process.env.CI === 'true';
if (!haveLlvm && !inCi) {
  console.warn(
    'asm-oracle: llvm-mc-19 / llvm-objdump-19 not found, skipping the LLVM comparison; install llvm-19 (apt-get install llvm-19)',
  );
}

interface Case {
  /** LLVM assembly, immediates in decimal (what llvm-mc -show-encoding echoes). */
  text: string;
  /** The same instruction written with the builder. */
  build: (b: ProgramBuilder) => void;
}

const SIZES = [
  { size: Size.B, type: 'u8', bits: 8 },
  { size: Size.H, type: 'u16', bits: 16 },
  { size: Size.W, type: 'u32', bits: 32 },
  { size: Size.DW, type: 'u64', bits: 64 },
] as const;
const IMMS = [0, 1, -1, 42, -42, 0x7fffffff, -0x80000000, 0xffff];
const OFFSETS = [0, 8, -8, 0x7fff, -0x8000];
const JUMP_OFFSETS = [0, 3, -3, 0x7fff, -0x8000];

type Method = (...args: number[]) => ProgramBuilder;
const method = (b: ProgramBuilder, name: string): Method => {
  const m = (b as unknown as Record<string, unknown>)[name];
  if (typeof m !== 'function') throw new Error(`ProgramBuilder has no method ${name}`);
  return (m as Method).bind(b);
};
const mem = (reg: number, off: number): string => `(r${reg} ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
const signed = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

/** Every instruction form LLVM 19 can assemble, with a spread of registers and immediates. */
function llvmCases(): Case[] {
  const cases: Case[] = [];
  let k = 0;
  const regs = (): [number, number] => {
    k++;
    return [k % 11, (k * 7 + 3) % 11];
  };
  for (const width of [64, 32] as const) {
    const p = width === 64 ? 'r' : 'w';
    for (const name of Object.keys(ALU_BINARY) as AluBinaryOp[]) {
      const text = ALU_BINARY[name].text;
      for (const imm of IMMS.slice(0, name === 'mov' ? 8 : 4)) {
        const [d] = regs();
        cases.push({ text: `${p}${d} ${text} ${imm}`, build: (b) => method(b, `${name}${width}Imm`)(d, imm) });
      }
      const [d, s] = regs();
      cases.push({ text: `${p}${d} ${text} ${p}${s}`, build: (b) => method(b, `${name}${width}Reg`)(d, s) });
    }
    const [d, s] = regs();
    cases.push({ text: `${p}${d} = -${p}${d}`, build: (b) => method(b, `neg${width}`)(d) });
    for (const bits of width === 64 ? [8, 16, 32] : [8, 16]) {
      cases.push({ text: `${p}${d} = (s${bits})${p}${s}`, build: (b) => method(b, `movsx${width}`)(d, s, bits) });
    }
  }
  for (const kind of ['le', 'be', 'bswap'] as const) {
    for (const bits of [16, 32, 64] as const) {
      const [d] = regs();
      cases.push({ text: `r${d} = ${kind}${bits} r${d}`, build: (b) => b[kind](d, bits) });
    }
  }
  for (const width of [64, 32] as const) {
    const p = width === 64 ? 'r' : 'w';
    const w = width === 64 ? '' : '32';
    for (const name of Object.keys(JUMP_CONDITIONS) as JumpCondition[]) {
      const text = JUMP_CONDITIONS[name].text;
      for (const [i, off] of JUMP_OFFSETS.entries()) {
        const [d, s] = regs();
        const imm = IMMS[i];
        cases.push({ text: `if ${p}${d} ${text} ${imm} goto ${signed(off)}`, build: (b) => method(b, `${name}${w}Imm`)(d, imm, off) });
        cases.push({ text: `if ${p}${d} ${text} ${p}${s} goto ${signed(off)}`, build: (b) => method(b, `${name}${w}Reg`)(d, s, off) });
      }
    }
  }
  for (const off of JUMP_OFFSETS) {
    cases.push({ text: `goto ${signed(off)}`, build: (b) => b.ja(off) });
    cases.push({ text: `gotol ${signed(off)}`, build: (b) => b.gotol(off) });
    cases.push({ text: `may_goto ${signed(off)}`, build: (b) => b.mayGoto(off) });
  }
  for (const id of [0, 1, 12, 209]) cases.push({ text: `call ${id}`, build: (b) => b.call(id) });
  cases.push({ text: 'call 1', build: (b) => b.call('map_lookup_elem') });
  cases.push({ text: 'call 14', build: (b) => b.call('bpf_get_current_pid_tgid') });
  cases.push({ text: 'callx r5', build: (b) => b.callx(5) });
  cases.push({ text: 'exit', build: (b) => b.exit() });
  for (const v of [0n, 0x1234n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x100000000n, 0xffffffffn]) {
    const [d] = regs();
    cases.push({ text: `r${d} = ${v} ll`, build: (b) => b.lddw(d, v) });
  }
  const pseudo: [number, string, (b: ProgramBuilder, d: number, imm: number) => void][] = [
    [1, 'map fd', (b, d, imm) => b.ldMapFd(d, imm)],
    [2, 'map value', (b, d, imm) => b.ldMapValue(d, imm, 0)],
    [3, 'btf id', (b, d, imm) => b.ldBtfId(d, imm)],
    [4, 'func', (b, d, imm) => b.ldFunc(d, imm)],
    [5, 'map idx', (b, d, imm) => b.ldMapIdx(d, imm)],
    [6, 'map idx value', (b, d, imm) => b.ldMapIdxValue(d, imm, 0)],
  ];
  for (const [src, , build] of pseudo) {
    for (const imm of [3, 0x7fffffff]) {
      const [d] = regs();
      cases.push({ text: `ld_pseudo r${d}, ${src}, ${imm}`, build: (b) => build(b, d, imm) });
    }
  }
  for (const { size, type } of SIZES.slice(0, 3)) {
    for (const imm of [0, 3, 0x7fffffff]) cases.push({ text: `r0 = *(${type} *)skb[${imm}]`, build: (b) => b.ldAbs(size, imm) });
    const [, s] = regs();
    cases.push({ text: `r0 = *(${type} *)skb[r${s}]`, build: (b) => b.ldInd(size, s) });
  }
  for (const { size, type, bits } of SIZES) {
    for (const off of OFFSETS) {
      const [d, s] = regs();
      const v = bits === 64 ? 'r' : 'w';
      cases.push({ text: `${v}${d} = *(${type} *)${mem(s, off)}`, build: (b) => b.ldx(size, d, s, off) });
      cases.push({ text: `r${d} = *(${type} *)${mem(s, off)}`, build: (b) => b.ldx(size, d, s, off) });
      if (bits !== 64) cases.push({ text: `r${d} = *(s${bits} *)${mem(s, off)}`, build: (b) => b.ldxsx(size, d, s, off) });
      const imm = IMMS[(k + 3) % IMMS.length] | 0;
      cases.push({ text: `*(${type} *)${mem(d, off)} = ${imm}`, build: (b) => b.st(size, d, off, imm) });
      cases.push({ text: `*(${type} *)${mem(d, off)} = ${v}${s}`, build: (b) => b.stx(size, d, off, s) });
    }
  }
  for (const { size, type, bits } of SIZES.slice(2)) {
    const v = bits === 64 ? 'r' : 'w';
    for (const name of Object.keys(ATOMIC_RMW) as AtomicOp[]) {
      for (const off of [0, -8, 0x7fff]) {
        const [d, s] = regs();
        const entry = ATOMIC_RMW[name];
        let text: string;
        if (name === 'xchg')
          text = `${v}${s} = ${bits === 64 ? 'xchg_64' : 'xchg32_32'}(r${d} ${off < 0 ? '-' : '+'} ${Math.abs(off)}, ${v}${s})`;
        else if (name === 'cmpxchg')
          text = `${v}0 = ${bits === 64 ? 'cmpxchg_64' : 'cmpxchg32_32'}(r${d} ${off < 0 ? '-' : '+'} ${Math.abs(off)}, ${v}0, ${v}${s})`;
        else if (name.startsWith('fetch_')) text = `${v}${s} = ${entry.text}((${type} *)${mem(d, off)}, ${v}${s})`;
        else text = `lock *(${type} *)${mem(d, off)} ${entry.text} ${v}${s}`;
        cases.push({ text, build: (b) => b.atomic(size, name, d, off, s) });
      }
    }
  }
  return cases;
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** llvm-mc -show-encoding: one encoding per input line, in order. */
function llvmEncodings(texts: readonly string[], triple: string): number[][] {
  const out = run(MC, ['-triple', triple, '-mcpu=v4', '-show-encoding'], texts.join('\n') + '\n');
  return out
    .split('\n')
    .map((line) => /# encoding: \[([^\]]*)\]/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1].split(',').map((x) => Number.parseInt(x, 16)));
}

const work = haveLlvm ? mkdtempSync(join(tmpdir(), 'asm-oracle-')) : '';
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** llvm-mc -filetype=obj then llvm-objdump -d: whole instruction lines, jump annotations removed. */
function llvmDisassembly(texts: readonly string[], triple: string): string[] {
  const source = join(work, `${triple}.s`);
  const object = join(work, `${triple}.o`);
  writeFileSync(source, texts.join('\n') + '\n');
  run(MC, ['-triple', triple, '-mcpu=v4', '-filetype=obj', source, '-o', object]);
  // --mcpu=v4 makes objdump print 32-bit subregister forms (w1 = *(u32 *)...), as disassemble() does.
  const out = run(OBJDUMP, ['-d', '--mcpu=v4', object]);
  return out
    .split('\n')
    .filter((line) => /^\s*\d+:\t/.test(line))
    .map((line) => line.replace(/ <[^<>\s]*>$/, ''));
}

/** The instruction text column of an objdump line. */
const textColumn = (line: string): string => /^\s*\d+:\t[0-9a-f ]+?\s*\t(.*)$/.exec(line)?.[1] ?? line;

const cases = llvmCases();

describe.skipIf(!haveLlvm && !inCi)('asm vs LLVM 19 (llvm-mc-19, llvm-objdump-19)', () => {
  it('has the LLVM tools (install llvm-19 to run these tests)', () => {
    expect(haveLlvm, 'llvm-mc-19 / llvm-objdump-19 not found; apt-get install llvm-19').toBe(true);
  });

  for (const [triple, order] of [
    ['bpfel', 'little'],
    ['bpfeb', 'big'],
  ] as [string, ByteOrder][]) {
    describe(triple, () => {
      const texts = cases.map((c) => c.text);
      const encodings = haveLlvm ? llvmEncodings(texts, triple) : [];

      it(`llvm-mc accepted all ${cases.length} instructions`, () => {
        expect(encodings.length).toBe(cases.length);
      });

      it('assemble(text) matches llvm-mc byte for byte', () => {
        const mismatches = cases.flatMap((c, i) => {
          const mine = [...assemble(c.text, order)];
          return mine.join() === encodings[i].join() ? [] : [`${c.text}: llvm ${hexBytes(encodings[i])} ours ${hexBytes(mine)}`];
        });
        expect(mismatches).toEqual([]);
      });

      it('the builder encodes the same bytes', () => {
        const mismatches = cases.flatMap((c, i) => {
          const b = new ProgramBuilder();
          c.build(b);
          const mine = [...encodeInstructions(b.build(), order)];
          return mine.join() === encodings[i].join() ? [] : [`${c.text}: llvm ${hexBytes(encodings[i])} builder ${hexBytes(mine)}`];
        });
        expect(mismatches).toEqual([]);
      });

      it('the whole program assembles to the same bytes', () => {
        expect([...assemble(texts.join('\n'), order)]).toEqual(encodings.flat());
      });

      it('disassemble() prints what llvm-objdump -d prints', () => {
        const theirs = llvmDisassembly(texts, triple).map(textColumn);
        const ours = disassemble(Uint8Array.from(encodings.flat()), { order }).trimEnd().split('\n');
        expect(ours.length).toBe(theirs.length);
        const mismatches = ours.flatMap((line, i) => (line === theirs[i] ? [] : [`${texts[i]}: objdump '${theirs[i]}' ours '${line}'`]));
        expect(mismatches).toEqual([]);
      });

      it('with addresses: true, lines match objdump including the slot and byte columns', () => {
        const theirs = llvmDisassembly(texts, triple).map((line) => line.replace(/ +\t/, '\t'));
        const ours = disassemble(Uint8Array.from(encodings.flat()), { order, addresses: true }).trimEnd().split('\n');
        expect(ours).toEqual(theirs);
      });

      it('labels, forward/backward jumps, bpf-to-bpf calls and lddw slot counting match llvm', () => {
        const program = [
          'start:',
          'r1 = 0x123456789 ll',
          'if r1 == 0 goto done',
          'call sub',
          'goto start',
          'gotol done',
          'loop:',
          'r1 = 1 ll',
          'if w1 s< w2 goto loop',
          'may_goto loop',
          'done:',
          'exit',
          'sub:',
          'r0 = 0',
          'call sub',
          'exit',
        ];
        const source = join(work, `labels-${triple}.s`);
        const object = join(work, `labels-${triple}.o`);
        writeFileSync(source, program.join('\n') + '\n');
        run(MC, ['-triple', triple, '-mcpu=v4', '-filetype=obj', source, '-o', object]);
        const dump = run(OBJDUMP, ['-d', '--mcpu=v4', object]);
        const llvmBytes = dump
          .split('\n')
          .map((line) => /^\s*\d+:\t([0-9a-f ]+?)\s*\t/.exec(line))
          .filter((m): m is RegExpExecArray => m !== null)
          .flatMap((m) => m[1].split(' ').map((x) => Number.parseInt(x, 16)));
        expect([...assemble(program.join('\n'), order)]).toEqual(llvmBytes);

        const built = new ProgramBuilder()
          .label('start')
          .lddw(1, 0x123456789n)
          .jeqImm(1, 0, 'done')
          .callSub('sub')
          .ja('start')
          .gotol('done')
          .label('loop')
          .lddw(1, 1)
          .jslt32Reg(1, 2, 'loop')
          .mayGoto('loop')
          .label('done')
          .exit()
          .function('sub')
          .mov64Imm(0, 0)
          .callSub('sub')
          .exit()
          .build();
        expect([...encodeInstructions(built, order)]).toEqual(llvmBytes);
      });
    });
  }
});

// Forms newer than LLVM 19 or that LLVM prints ambiguously: checked against the encodings the
// kernel documents (Documentation/bpf/standardization/instruction-set.rst, include/uapi/linux/bpf.h).
// The program tests should also load a load-acquire/store-release program to have the verifier check them.
describe('forms LLVM 19 cannot check, against the documented encoding', () => {
  const documented: [string, number[], (b: ProgramBuilder) => void][] = [
    // STX|ATOMIC|size, imm BPF_LOAD_ACQ (0x100): dst = load_acquire(src + off)
    ['w0 = load_acquire((u8 *)(r1 + 0x0))', [0xd3, 0x10, 0, 0, 0x00, 0x01, 0, 0], (b) => b.loadAcquire(Size.B, 0, 1, 0)],
    ['w0 = load_acquire((u16 *)(r1 + 0x2))', [0xcb, 0x10, 2, 0, 0x00, 0x01, 0, 0], (b) => b.loadAcquire(Size.H, 0, 1, 2)],
    ['w3 = load_acquire((u32 *)(r10 - 0x4))', [0xc3, 0xa3, 0xfc, 0xff, 0x00, 0x01, 0, 0], (b) => b.loadAcquire(Size.W, 3, 10, -4)],
    ['r0 = load_acquire((u64 *)(r1 + 0x0))', [0xdb, 0x10, 0, 0, 0x00, 0x01, 0, 0], (b) => b.loadAcquire(Size.DW, 0, 1, 0)],
    // imm BPF_STORE_REL (0x110): store_release(dst + off, src)
    ['store_release((u8 *)(r1 + 0x0), w2)', [0xd3, 0x21, 0, 0, 0x10, 0x01, 0, 0], (b) => b.storeRelease(Size.B, 1, 0, 2)],
    ['store_release((u16 *)(r1 + 0x0), w2)', [0xcb, 0x21, 0, 0, 0x10, 0x01, 0, 0], (b) => b.storeRelease(Size.H, 1, 0, 2)],
    ['store_release((u32 *)(r1 + 0x0), w2)', [0xc3, 0x21, 0, 0, 0x10, 0x01, 0, 0], (b) => b.storeRelease(Size.W, 1, 0, 2)],
    ['store_release((u64 *)(r10 - 0x8), r2)', [0xdb, 0x2a, 0xf8, 0xff, 0x10, 0x01, 0, 0], (b) => b.storeRelease(Size.DW, 10, -8, 2)],
    // JMP|CALL with src BPF_PSEUDO_CALL (1): imm is the pc-relative slot distance
    ['call pc+0x3', [0x85, 0x10, 0, 0, 3, 0, 0, 0], (b) => b.callSub(3)],
    ['call pc-0x1', [0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff], (b) => b.callSub(-1)],
    // src BPF_PSEUDO_KFUNC_CALL (2): imm is the BTF id
    ['call kfunc 0x1234', [0x85, 0x20, 0, 0, 0x34, 0x12, 0, 0], (b) => b.callKfunc(0x1234)],
    // JMP32|JA: gotol keeps its offset in imm, beyond what llvm-mc 19 accepts as a number
    ['gotol +0x11170', [0x06, 0, 0, 0, 0x70, 0x11, 0x01, 0], (b) => b.gotol(70000)],
    ['gotol -0x80000000', [0x06, 0, 0, 0, 0, 0, 0, 0x80], (b) => b.gotol(-0x80000000)],
    // BPF_PSEUDO_MAP_VALUE: second slot's imm is the offset into the value
    ['ld_pseudo\tr1, 0x2, 0x5, 0x10', [0x18, 0x21, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], (b) => b.ldMapValue(1, 5, 16)],
    ['ld_pseudo\tr2, 0x6, 0x1, 0x8', [0x18, 0x62, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0], (b) => b.ldMapIdxValue(2, 1, 8)],
    // LD_IND with an offset (LLVM drops the imm when printing)
    ['r0 = *(u32 *)skb[r1 + 0xe]', [0x40, 0x10, 0, 0, 0x0e, 0, 0, 0], (b) => b.ldInd(Size.W, 1, 14)],
  ];
  for (const [text, bytes, build] of documented) {
    it(text.replace('\t', ' '), () => {
      expect([...assemble(text)]).toEqual(bytes);
      const b = new ProgramBuilder();
      build(b);
      expect([...encodeInstructions(b.build())]).toEqual(bytes);
      expect(disassemble(Uint8Array.from(bytes))).toBe(text + '\n');
    });
  }
});

function hexBytes(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
