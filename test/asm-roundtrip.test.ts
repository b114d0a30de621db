// Random valid programs must survive encode -> decode -> disassemble -> assemble -> encode unchanged.
import { describe, expect, it } from 'vitest';
import {
  ALU_BINARY,
  ATOMIC_RMW,
  AsmError,
  JUMP_CONDITIONS,
  ProgramBuilder,
  Size,
  assemble,
  assembleInstructions,
  decodeInstructions,
  disassemble,
  encodeInstructions,
  type AluBinaryOp,
  type AtomicOp,
  type ByteOrder,
  type JumpCondition,
} from '../src/asm/index.js';
import { seededRandom } from './support/random.js';

type Emit = (b: ProgramBuilder) => void;
type Method = (...args: number[]) => ProgramBuilder;
const call = (b: ProgramBuilder, name: string, ...args: number[]): void => {
  ((b as unknown as Record<string, Method>)[name] as Method).apply(b, args);
};

function randomInstructionMaker(rand: () => number): () => Emit {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const reg = (): number => int(0, 10);
  const imm = (): number => pick([0, 1, -1, int(-0x80000000, 0x7fffffff), int(-100, 100), 0x7fffffff, -0x80000000]);
  const off = (): number => pick([0, int(-0x8000, 0x7fff), int(-64, 64), 0x7fff, -0x8000]);
  const size = (): Size => pick([Size.B, Size.H, Size.W, Size.DW]);
  const aluOps = Object.keys(ALU_BINARY) as AluBinaryOp[];
  const conds = Object.keys(JUMP_CONDITIONS) as JumpCondition[];
  const atomics = Object.keys(ATOMIC_RMW) as AtomicOp[];
  const makers: (() => Emit)[] = [
    () => {
      const [n, w, d, i] = [pick(aluOps), pick([64, 32]), reg(), imm()];
      return (b) => call(b, `${n}${w}Imm`, d, i);
    },
    () => {
      const [n, w, d, s] = [pick(aluOps), pick([64, 32]), reg(), reg()];
      return (b) => call(b, `${n}${w}Reg`, d, s);
    },
    () => {
      const d = reg();
      return pick<Emit>([(b) => b.neg64(d), (b) => b.neg32(d)]);
    },
    () => {
      const [d, s, bits] = [reg(), reg(), pick([8, 16, 32] as const)];
      return (b) => b.movsx64(d, s, bits);
    },
    () => {
      const [d, s, bits] = [reg(), reg(), pick([8, 16] as const)];
      return (b) => b.movsx32(d, s, bits);
    },
    () => {
      const [k, d, bits] = [pick(['le', 'be', 'bswap'] as const), reg(), pick([16, 32, 64] as const)];
      return (b) => b[k](d, bits);
    },
    () => {
      const [n, w, d, i, o] = [pick(conds), pick(['', '32']), reg(), imm(), off()];
      return (b) => call(b, `${n}${w}Imm`, d, i, o);
    },
    () => {
      const [n, w, d, s, o] = [pick(conds), pick(['', '32']), reg(), reg(), off()];
      return (b) => call(b, `${n}${w}Reg`, d, s, o);
    },
    () => {
      const o = off();
      return pick<Emit>([(b) => b.ja(o), (b) => b.mayGoto(o)]);
    },
    () => {
      const i = imm();
      return (b) => b.gotol(i);
    },
    () => {
      const i = imm();
      return pick<Emit>([(b) => b.call(i), (b) => b.callSub(i), (b) => b.callKfunc(i)]);
    },
    () => {
      const d = reg();
      return pick<Emit>([(b) => b.exit(), (b) => b.callx(d)]);
    },
    () => {
      const d = reg();
      const v = BigInt.asIntN(64, (BigInt(imm() >>> 0) << 32n) | BigInt(imm() >>> 0));
      return (b) => b.lddw(d, v);
    },
    () => {
      const [d, i, o] = [reg(), imm(), imm()];
      return pick<Emit>([
        (b) => b.ldMapFd(d, i),
        (b) => b.ldMapValue(d, i, o),
        (b) => b.ldBtfId(d, i),
        (b) => b.ldFunc(d, i),
        (b) => b.ldMapIdx(d, i),
        (b) => b.ldMapIdxValue(d, i, o),
      ]);
    },
    () => {
      const [sz, s, i] = [pick([Size.B, Size.H, Size.W]), reg(), imm()];
      return pick<Emit>([(b) => b.ldAbs(sz, i), (b) => b.ldInd(sz, s, i)]);
    },
    () => {
      const [sz, d, s, o] = [size(), reg(), reg(), off()];
      return (b) => b.ldx(sz, d, s, o);
    },
    () => {
      const [sz, d, s, o] = [pick([Size.B, Size.H, Size.W]), reg(), reg(), off()];
      return (b) => b.ldxsx(sz, d, s, o);
    },
    () => {
      const [sz, d, i, o] = [size(), reg(), imm(), off()];
      return (b) => b.st(sz, d, o, i);
    },
    () => {
      const [sz, d, s, o] = [size(), reg(), reg(), off()];
      return (b) => b.stx(sz, d, o, s);
    },
    () => {
      const [sz, n, d, s, o] = [pick([Size.W, Size.DW]), pick(atomics), reg(), reg(), off()];
      return (b) => b.atomic(sz, n, d, o, s);
    },
    () => {
      const [sz, d, s, o] = [size(), reg(), reg(), off()];
      return pick<Emit>([(b) => b.loadAcquire(sz, d, s, o), (b) => b.storeRelease(sz, d, o, s)]);
    },
  ];
  return () => pick(makers)();
}

describe('round trip of random valid programs', () => {
  for (const order of ['little', 'big'] as ByteOrder[]) {
    it(`encode -> decode -> disassemble -> assemble -> encode is lossless (${order} endian)`, () => {
      const next = randomInstructionMaker(seededRandom(order === 'little' ? 0x5eed : 0xb16));
      const b = new ProgramBuilder();
      for (let i = 0; i < 4000; i++) next()(b);
      const bytes = encodeInstructions(b.build(), order);
      const decoded = decodeInstructions(bytes, order);
      expect(decoded.length).toBe(4000);
      expect(encodeInstructions(decoded, order)).toEqual(bytes);
      const text = disassemble(bytes, { order });
      expect(text).not.toContain('.insn'); // every valid instruction has a real mnemonic
      expect(assemble(text, order)).toEqual(bytes);
      // and the instruction objects agree field by field
      const again = assembleInstructions(text).map(({ opcode, dst, src, offset, imm, imm64 }) => ({
        opcode,
        dst,
        src,
        offset,
        imm,
        imm64,
      }));
      expect(again).toEqual(decoded.map(({ opcode, dst, src, offset, imm, imm64 }) => ({ opcode, dst, src, offset, imm, imm64 })));
    });
  }

  it('arbitrary bytes disassemble and reassemble losslessly (raw .insn for invalid encodings)', () => {
    const rand = seededRandom(42);
    for (let round = 0; round < 200; round++) {
      const slots = 1 + Math.floor(rand() * 20);
      const bytes = new Uint8Array(slots * 8).map(() => Math.floor(rand() * 256));
      // make lddw framing valid so the decoder accepts the buffer
      for (let at = 0; at < bytes.length; at += 8) {
        if (bytes[at] === 0x18) {
          if (at + 8 >= bytes.length) bytes[at] = 0x19;
          else {
            bytes.fill(0, at + 8, at + 12);
            at += 8;
          }
        }
      }
      for (const order of ['little', 'big'] as ByteOrder[]) {
        const text = disassemble(bytes, { order });
        expect(assemble(text, order)).toEqual(bytes);
      }
    }
  });

  it('the decoder and assembler only ever throw AsmError on garbage', () => {
    const rand = seededRandom(7);
    const alphabet = 'rw0123456789x+-*/=()[]<>&|^%s,:;# \tabcdefghijklmnopqrstuvwxyz_.lgotoifu\n';
    let asmErrors = 0;
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 40);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      try {
        assemble(text);
      } catch (err) {
        expect(err).toBeInstanceOf(AsmError);
        asmErrors++;
      }
      const bytes = new Uint8Array(Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256));
      try {
        disassemble(bytes, { order: rand() < 0.5 ? 'little' : 'big' });
      } catch (err) {
        expect(err).toBeInstanceOf(AsmError);
      }
    }
    expect(asmErrors).toBeGreaterThan(0);
  });
});
