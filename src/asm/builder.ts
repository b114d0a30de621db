import { AsmError } from './errors.js';
import * as f from './forms.js';
import { type Target } from './forms.js';
import { helperByName, type HelperName } from './helpers.js';
import { type Instruction } from './instruction.js';
import * as op from './opcodes.js';
import { type AtomicOp } from './operations.js';
import { type Register } from './registers.js';
import { resolveLabels } from './resolve.js';
import { Size } from './size.js';

/**
 * Fluent eBPF program builder. Method names say whether the operand is a register (`...Reg`) or
 * an immediate (`...Imm`), and the width: ALU methods carry 64 or 32 (`add64Imm`, `add32Reg`);
 * jumps compare 64-bit registers unless they carry 32 (`jeqImm` vs `jeq32Imm`, the JMP32 class).
 * Jump targets are label names (resolved by build()) or raw slot offsets.
 */
export class ProgramBuilder {
  private readonly insns: Instruction[] = [];
  private readonly labels = new Map<string, number>();
  private pendingSymbol: string | undefined;

  /** Appends an instruction as is (for forms not covered by a method). */
  emit(insn: Instruction): this {
    return this.push(() => ({ ...insn }));
  }

  /** Names the position of the next instruction. */
  label(name: string): this {
    this.define(name);
    return this;
  }

  /** Starts a subprogram: a label plus `symbol` on its first instruction, callable with callSub(name). */
  function(name: string): this {
    this.define(name);
    if (this.pendingSymbol !== undefined) {
      throw new AsmError(`function '${this.pendingSymbol}' has no instructions before function '${name}'`, {
        instruction: this.insns.length,
      });
    }
    this.pendingSymbol = name;
    return this;
  }

  /** Number of instructions so far (lddw counts once). */
  get length(): number {
    return this.insns.length;
  }

  /** Resolves labels and subprogram calls and returns the instructions. Map references stay unresolved. */
  build(): Instruction[] {
    if (this.pendingSymbol !== undefined) {
      throw new AsmError(`function '${this.pendingSymbol}' has no instructions`, { instruction: this.insns.length });
    }
    return resolveLabels(this.insns, this.labels);
  }

  // ---- ALU, 64-bit ----
  /** Emits `dst = imm`: 64-bit move (ALU64, immediate operand). */
  mov64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'mov', dst, imm));
  }
  /** Emits `dst = src`: 64-bit move (ALU64, register operand). */
  mov64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'mov', dst, src));
  }
  /** Emits `dst += imm`: 64-bit add (ALU64, immediate operand). */
  add64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'add', dst, imm));
  }
  /** Emits `dst += src`: 64-bit add (ALU64, register operand). */
  add64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'add', dst, src));
  }
  /** Emits `dst -= imm`: 64-bit subtract (ALU64, immediate operand). */
  sub64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'sub', dst, imm));
  }
  /** Emits `dst -= src`: 64-bit subtract (ALU64, register operand). */
  sub64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'sub', dst, src));
  }
  /** Emits `dst *= imm`: 64-bit multiply (ALU64, immediate operand). */
  mul64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'mul', dst, imm));
  }
  /** Emits `dst *= src`: 64-bit multiply (ALU64, register operand). */
  mul64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'mul', dst, src));
  }
  /** Emits `dst /= imm`: 64-bit unsigned divide (a zero divisor gives 0) (ALU64, immediate operand). */
  div64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'div', dst, imm));
  }
  /** Emits `dst /= src`: 64-bit unsigned divide (a zero divisor gives 0) (ALU64, register operand). */
  div64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'div', dst, src));
  }
  /** Emits `dst s/= imm`: 64-bit signed divide (v4) (ALU64, immediate operand). */
  sdiv64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'sdiv', dst, imm));
  }
  /** Emits `dst s/= src`: 64-bit signed divide (v4) (ALU64, register operand). */
  sdiv64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'sdiv', dst, src));
  }
  /** Emits `dst %= imm`: 64-bit unsigned modulo (a zero divisor leaves dst unchanged) (ALU64, immediate operand). */
  mod64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'mod', dst, imm));
  }
  /** Emits `dst %= src`: 64-bit unsigned modulo (a zero divisor leaves dst unchanged) (ALU64, register operand). */
  mod64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'mod', dst, src));
  }
  /** Emits `dst s%= imm`: 64-bit signed modulo (v4) (ALU64, immediate operand). */
  smod64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'smod', dst, imm));
  }
  /** Emits `dst s%= src`: 64-bit signed modulo (v4) (ALU64, register operand). */
  smod64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'smod', dst, src));
  }
  /** Emits `dst |= imm`: 64-bit bitwise or (ALU64, immediate operand). */
  or64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'or', dst, imm));
  }
  /** Emits `dst |= src`: 64-bit bitwise or (ALU64, register operand). */
  or64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'or', dst, src));
  }
  /** Emits `dst &= imm`: 64-bit bitwise and (ALU64, immediate operand). */
  and64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'and', dst, imm));
  }
  /** Emits `dst &= src`: 64-bit bitwise and (ALU64, register operand). */
  and64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'and', dst, src));
  }
  /** Emits `dst ^= imm`: 64-bit bitwise xor (ALU64, immediate operand). */
  xor64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'xor', dst, imm));
  }
  /** Emits `dst ^= src`: 64-bit bitwise xor (ALU64, register operand). */
  xor64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'xor', dst, src));
  }
  /** Emits `dst <<= imm`: 64-bit shift left (ALU64, immediate operand). */
  lsh64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'lsh', dst, imm));
  }
  /** Emits `dst <<= src`: 64-bit shift left (ALU64, register operand). */
  lsh64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'lsh', dst, src));
  }
  /** Emits `dst >>= imm`: 64-bit logical shift right (ALU64, immediate operand). */
  rsh64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'rsh', dst, imm));
  }
  /** Emits `dst >>= src`: 64-bit logical shift right (ALU64, register operand). */
  rsh64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'rsh', dst, src));
  }
  /** Emits `dst s>>= imm`: 64-bit arithmetic (sign-filling) shift right (ALU64, immediate operand). */
  arsh64Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(64, 'arsh', dst, imm));
  }
  /** Emits `dst s>>= src`: 64-bit arithmetic (sign-filling) shift right (ALU64, register operand). */
  arsh64Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(64, 'arsh', dst, src));
  }
  /** Emits `dst = -dst`: 64-bit negation. */
  neg64(dst: Register): this {
    return this.push(() => f.neg(64, dst));
  }
  /** dst = (s8|s16|s32) src */
  movsx64(dst: Register, src: Register, bits: 8 | 16 | 32): this {
    return this.push(() => f.movsx(64, dst, src, bits));
  }

  // ---- ALU, 32-bit (results zero-extended into the 64-bit register) ----
  /** Emits `wdst = imm`: 32-bit move (ALU, result zero-extended, immediate operand). */
  mov32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'mov', dst, imm));
  }
  /** Emits `wdst = wsrc`: 32-bit move (ALU, result zero-extended, register operand). */
  mov32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'mov', dst, src));
  }
  /** Emits `wdst += imm`: 32-bit add (ALU, result zero-extended, immediate operand). */
  add32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'add', dst, imm));
  }
  /** Emits `wdst += wsrc`: 32-bit add (ALU, result zero-extended, register operand). */
  add32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'add', dst, src));
  }
  /** Emits `wdst -= imm`: 32-bit subtract (ALU, result zero-extended, immediate operand). */
  sub32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'sub', dst, imm));
  }
  /** Emits `wdst -= wsrc`: 32-bit subtract (ALU, result zero-extended, register operand). */
  sub32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'sub', dst, src));
  }
  /** Emits `wdst *= imm`: 32-bit multiply (ALU, result zero-extended, immediate operand). */
  mul32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'mul', dst, imm));
  }
  /** Emits `wdst *= wsrc`: 32-bit multiply (ALU, result zero-extended, register operand). */
  mul32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'mul', dst, src));
  }
  /** Emits `wdst /= imm`: 32-bit unsigned divide (a zero divisor gives 0) (ALU, result zero-extended, immediate operand). */
  div32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'div', dst, imm));
  }
  /** Emits `wdst /= wsrc`: 32-bit unsigned divide (a zero divisor gives 0) (ALU, result zero-extended, register operand). */
  div32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'div', dst, src));
  }
  /** Emits `wdst s/= imm`: 32-bit signed divide (v4) (ALU, result zero-extended, immediate operand). */
  sdiv32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'sdiv', dst, imm));
  }
  /** Emits `wdst s/= wsrc`: 32-bit signed divide (v4) (ALU, result zero-extended, register operand). */
  sdiv32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'sdiv', dst, src));
  }
  /** Emits `wdst %= imm`: 32-bit unsigned modulo (a zero divisor leaves dst unchanged) (ALU, result zero-extended, immediate operand). */
  mod32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'mod', dst, imm));
  }
  /** Emits `wdst %= wsrc`: 32-bit unsigned modulo (a zero divisor leaves dst unchanged) (ALU, result zero-extended, register operand). */
  mod32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'mod', dst, src));
  }
  /** Emits `wdst s%= imm`: 32-bit signed modulo (v4) (ALU, result zero-extended, immediate operand). */
  smod32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'smod', dst, imm));
  }
  /** Emits `wdst s%= wsrc`: 32-bit signed modulo (v4) (ALU, result zero-extended, register operand). */
  smod32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'smod', dst, src));
  }
  /** Emits `wdst |= imm`: 32-bit bitwise or (ALU, result zero-extended, immediate operand). */
  or32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'or', dst, imm));
  }
  /** Emits `wdst |= wsrc`: 32-bit bitwise or (ALU, result zero-extended, register operand). */
  or32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'or', dst, src));
  }
  /** Emits `wdst &= imm`: 32-bit bitwise and (ALU, result zero-extended, immediate operand). */
  and32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'and', dst, imm));
  }
  /** Emits `wdst &= wsrc`: 32-bit bitwise and (ALU, result zero-extended, register operand). */
  and32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'and', dst, src));
  }
  /** Emits `wdst ^= imm`: 32-bit bitwise xor (ALU, result zero-extended, immediate operand). */
  xor32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'xor', dst, imm));
  }
  /** Emits `wdst ^= wsrc`: 32-bit bitwise xor (ALU, result zero-extended, register operand). */
  xor32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'xor', dst, src));
  }
  /** Emits `wdst <<= imm`: 32-bit shift left (ALU, result zero-extended, immediate operand). */
  lsh32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'lsh', dst, imm));
  }
  /** Emits `wdst <<= wsrc`: 32-bit shift left (ALU, result zero-extended, register operand). */
  lsh32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'lsh', dst, src));
  }
  /** Emits `wdst >>= imm`: 32-bit logical shift right (ALU, result zero-extended, immediate operand). */
  rsh32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'rsh', dst, imm));
  }
  /** Emits `wdst >>= wsrc`: 32-bit logical shift right (ALU, result zero-extended, register operand). */
  rsh32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'rsh', dst, src));
  }
  /** Emits `wdst s>>= imm`: 32-bit arithmetic (sign-filling) shift right (ALU, result zero-extended, immediate operand). */
  arsh32Imm(dst: Register, imm: number): this {
    return this.push(() => f.aluImm(32, 'arsh', dst, imm));
  }
  /** Emits `wdst s>>= wsrc`: 32-bit arithmetic (sign-filling) shift right (ALU, result zero-extended, register operand). */
  arsh32Reg(dst: Register, src: Register): this {
    return this.push(() => f.aluReg(32, 'arsh', dst, src));
  }
  /** Emits `wdst = -wdst`: 32-bit negation, result zero-extended. */
  neg32(dst: Register): this {
    return this.push(() => f.neg(32, dst));
  }
  /** wdst = (s8|s16) wsrc */
  movsx32(dst: Register, src: Register, bits: 8 | 16): this {
    return this.push(() => f.movsx(32, dst, src, bits));
  }

  // ---- byte order ----
  /** Convert to little endian (no-op on little-endian hosts apart from truncation). */
  le(dst: Register, bits: 16 | 32 | 64): this {
    return this.push(() => f.byteSwap('le', dst, bits));
  }
  /** Convert to big endian. */
  be(dst: Register, bits: 16 | 32 | 64): this {
    return this.push(() => f.byteSwap('be', dst, bits));
  }
  /** Unconditional byte swap (v4). */
  bswap(dst: Register, bits: 16 | 32 | 64): this {
    return this.push(() => f.byteSwap('bswap', dst, bits));
  }

  // ---- jumps, 64-bit compare ----
  /** Emits `goto target`: unconditional jump with a 16-bit offset. `target` is a label or a slot offset. */
  ja(target: Target): this {
    return this.push(() => f.ja(target));
  }
  /** Unconditional jump with a 32-bit offset (v4). */
  gotol(target: Target): this {
    return this.push(() => f.gotol(target));
  }
  /** Emits `may_goto target` (BPF_JCOND): jumps to `target` once the kernel's loop-iteration budget for the program runs out, otherwise falls through. */
  mayGoto(target: Target): this {
    return this.push(() => f.mayGoto(target));
  }
  /** Emits `if dst == imm goto target`: jumps when equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jeqImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jeq', dst, imm, target));
  }
  /** Emits `if dst == src goto target`: jumps when equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jeqReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jeq', dst, src, target));
  }
  /** Emits `if dst != imm goto target`: jumps when not equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jneImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jne', dst, imm, target));
  }
  /** Emits `if dst != src goto target`: jumps when not equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jneReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jne', dst, src, target));
  }
  /** Emits `if dst > imm goto target`: jumps when unsigned greater than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jgtImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jgt', dst, imm, target));
  }
  /** Emits `if dst > src goto target`: jumps when unsigned greater than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jgtReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jgt', dst, src, target));
  }
  /** Emits `if dst >= imm goto target`: jumps when unsigned greater or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jgeImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jge', dst, imm, target));
  }
  /** Emits `if dst >= src goto target`: jumps when unsigned greater or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jgeReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jge', dst, src, target));
  }
  /** Emits `if dst < imm goto target`: jumps when unsigned less than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jltImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jlt', dst, imm, target));
  }
  /** Emits `if dst < src goto target`: jumps when unsigned less than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jltReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jlt', dst, src, target));
  }
  /** Emits `if dst <= imm goto target`: jumps when unsigned less or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jleImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jle', dst, imm, target));
  }
  /** Emits `if dst <= src goto target`: jumps when unsigned less or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jleReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jle', dst, src, target));
  }
  /** Emits `if dst & imm goto target`: jumps when any bit of the mask set (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsetImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jset', dst, imm, target));
  }
  /** Emits `if dst & src goto target`: jumps when any bit of the mask set (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsetReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jset', dst, src, target));
  }
  /** Emits `if dst s> imm goto target`: jumps when signed greater than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsgtImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jsgt', dst, imm, target));
  }
  /** Emits `if dst s> src goto target`: jumps when signed greater than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsgtReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jsgt', dst, src, target));
  }
  /** Emits `if dst s>= imm goto target`: jumps when signed greater or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsgeImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jsge', dst, imm, target));
  }
  /** Emits `if dst s>= src goto target`: jumps when signed greater or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsgeReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jsge', dst, src, target));
  }
  /** Emits `if dst s< imm goto target`: jumps when signed less than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsltImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jslt', dst, imm, target));
  }
  /** Emits `if dst s< src goto target`: jumps when signed less than (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsltReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jslt', dst, src, target));
  }
  /** Emits `if dst s<= imm goto target`: jumps when signed less or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsleImm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(64, 'jsle', dst, imm, target));
  }
  /** Emits `if dst s<= src goto target`: jumps when signed less or equal (JMP class, 64-bit compare). `target` is a label or a slot offset. */
  jsleReg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(64, 'jsle', dst, src, target));
  }

  // ---- jumps, 32-bit compare (JMP32) ----
  /** Emits `if wdst == imm goto target`: jumps when equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jeq32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jeq', dst, imm, target));
  }
  /** Emits `if wdst == wsrc goto target`: jumps when equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jeq32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jeq', dst, src, target));
  }
  /** Emits `if wdst != imm goto target`: jumps when not equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jne32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jne', dst, imm, target));
  }
  /** Emits `if wdst != wsrc goto target`: jumps when not equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jne32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jne', dst, src, target));
  }
  /** Emits `if wdst > imm goto target`: jumps when unsigned greater than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jgt32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jgt', dst, imm, target));
  }
  /** Emits `if wdst > wsrc goto target`: jumps when unsigned greater than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jgt32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jgt', dst, src, target));
  }
  /** Emits `if wdst >= imm goto target`: jumps when unsigned greater or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jge32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jge', dst, imm, target));
  }
  /** Emits `if wdst >= wsrc goto target`: jumps when unsigned greater or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jge32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jge', dst, src, target));
  }
  /** Emits `if wdst < imm goto target`: jumps when unsigned less than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jlt32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jlt', dst, imm, target));
  }
  /** Emits `if wdst < wsrc goto target`: jumps when unsigned less than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jlt32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jlt', dst, src, target));
  }
  /** Emits `if wdst <= imm goto target`: jumps when unsigned less or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jle32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jle', dst, imm, target));
  }
  /** Emits `if wdst <= wsrc goto target`: jumps when unsigned less or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jle32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jle', dst, src, target));
  }
  /** Emits `if wdst & imm goto target`: jumps when any bit of the mask set (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jset32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jset', dst, imm, target));
  }
  /** Emits `if wdst & wsrc goto target`: jumps when any bit of the mask set (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jset32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jset', dst, src, target));
  }
  /** Emits `if wdst s> imm goto target`: jumps when signed greater than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsgt32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jsgt', dst, imm, target));
  }
  /** Emits `if wdst s> wsrc goto target`: jumps when signed greater than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsgt32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jsgt', dst, src, target));
  }
  /** Emits `if wdst s>= imm goto target`: jumps when signed greater or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsge32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jsge', dst, imm, target));
  }
  /** Emits `if wdst s>= wsrc goto target`: jumps when signed greater or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsge32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jsge', dst, src, target));
  }
  /** Emits `if wdst s< imm goto target`: jumps when signed less than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jslt32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jslt', dst, imm, target));
  }
  /** Emits `if wdst s< wsrc goto target`: jumps when signed less than (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jslt32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jslt', dst, src, target));
  }
  /** Emits `if wdst s<= imm goto target`: jumps when signed less or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsle32Imm(dst: Register, imm: number, target: Target): this {
    return this.push(() => f.jumpImm(32, 'jsle', dst, imm, target));
  }
  /** Emits `if wdst s<= wsrc goto target`: jumps when signed less or equal (JMP32 class, compares the low 32 bits). `target` is a label or a slot offset. */
  jsle32Reg(dst: Register, src: Register, target: Target): this {
    return this.push(() => f.jumpReg(32, 'jsle', dst, src, target));
  }

  // ---- calls ----
  /** Calls a kernel helper by id or name (`'map_lookup_elem'` or `'bpf_map_lookup_elem'`). */
  call(helper: number | HelperName | (string & {})): this {
    return this.push(() => {
      if (typeof helper === 'number') return f.callHelper(helper);
      const id = helperByName(helper);
      if (id === undefined) throw new AsmError(`unknown helper '${helper}'; for a subprogram use callSub, for a kfunc callKfunc`);
      return f.callHelper(id);
    });
  }
  /** bpf-to-bpf call to a subprogram started with function(name) (or any label, or a raw slot offset). */
  callSub(target: Target): this {
    return this.push(() => f.callSub(target));
  }
  /** Calls a kernel function by its BTF id. */
  callKfunc(btfId: number): this {
    return this.push(() => f.callKfunc(btfId));
  }
  /** Indirect call through a register (LLVM encoding; not accepted by current kernels). */
  callx(reg: Register): this {
    return this.push(() => f.callx(reg));
  }
  /** Emits `exit`: returns from the program or subprogram with r0 as the return value. */
  exit(): this {
    return this.push(() => f.exit());
  }

  // ---- 64-bit immediate loads (two slots each) ----
  /** Emits `dst = imm ll`: loads a 64-bit immediate (lddw, two instruction slots). */
  lddw(dst: Register, value: bigint | number): this {
    return this.push(() => f.lddw(dst, value));
  }
  /** dst = map pointer; a name is left as `reference` for the loader, a number is used as the fd. */
  ldMapFd(dst: Register, map: string | number): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_FD, map));
  }
  /** dst = address of the map's value at `offset` (array maps); map by name or fd. */
  ldMapValue(dst: Register, map: string | number, offset = 0): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_VALUE, map, offset));
  }
  /** dst = map pointer by index into the fd array passed at load time. */
  ldMapIdx(dst: Register, index: number): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_IDX, index));
  }
  /** Emits `dst = imm ll` with src BPF_PSEUDO_MAP_IDX_VALUE: address of the value at `offset` in the map at `index` of the fd array passed at load time. */
  ldMapIdxValue(dst: Register, index: number, offset = 0): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_MAP_IDX_VALUE, index, offset));
  }
  /** dst = address of a kernel variable by BTF id. */
  ldBtfId(dst: Register, btfId: number): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_BTF_ID, btfId));
  }
  /** dst = address of a subprogram (for callbacks such as bpf_loop). */
  ldFunc(dst: Register, target: Target): this {
    return this.push(() => f.lddwPseudo(dst, op.BPF_PSEUDO_FUNC, target));
  }

  // ---- legacy packet loads (socket filters): r0 = *(size *)skb[imm] / skb[src + imm] ----
  /** Emits `r0 = *(size *)skb[imm]`: legacy packet load at an absolute offset (sizes B, H, W; socket filters). */
  ldAbs(size: Size, imm: number): this {
    return this.push(() => {
      noDw(size, 'ldAbs');
      return f.ldAbs(size, imm);
    });
  }
  /** Emits `r0 = *(size *)skb[src + imm]`: legacy packet load at a register-relative offset (sizes B, H, W; socket filters). */
  ldInd(size: Size, src: Register, imm = 0): this {
    return this.push(() => {
      noDw(size, 'ldInd');
      return f.ldInd(size, src, imm);
    });
  }

  // ---- memory ----
  /** dst = *(size *)(src + offset) */
  ldx(size: Size, dst: Register, src: Register, offset: number): this {
    return this.push(() => f.ldx(size, dst, src, offset));
  }
  /** dst = *(s8|s16|s32 *)(src + offset), sign-extended (v4). */
  ldxsx(size: Size, dst: Register, src: Register, offset: number): this {
    return this.push(() => f.ldxsx(size, dst, src, offset));
  }
  /** *(size *)(dst + offset) = imm */
  st(size: Size, dst: Register, offset: number, imm: number): this {
    return this.push(() => f.st(size, dst, offset, imm));
  }
  /** *(size *)(dst + offset) = src */
  stx(size: Size, dst: Register, offset: number, src: Register): this {
    return this.push(() => f.stx(size, dst, offset, src));
  }

  // ---- atomics on *(size *)(dst + offset), sizes W and DW ----
  /** Emits an atomic read-modify-write of `operation` on `*(size *)(dst + offset)` with `src` (BPF_STX | BPF_ATOMIC; sizes W and DW). */
  atomic(size: Size, operation: AtomicOp, dst: Register, offset: number, src: Register): this {
    return this.push(() => f.atomic(size, operation, dst, offset, src));
  }
  /** Emits `lock *(size *)(dst + offset) += src`: atomic add without fetching the old value (sizes W and DW). */
  atomicAdd(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'add', dst, offset, src);
  }
  /** Emits `lock *(size *)(dst + offset) |= src`: atomic or without fetching the old value (sizes W and DW). */
  atomicOr(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'or', dst, offset, src);
  }
  /** Emits `lock *(size *)(dst + offset) &= src`: atomic and without fetching the old value (sizes W and DW). */
  atomicAnd(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'and', dst, offset, src);
  }
  /** Emits `lock *(size *)(dst + offset) ^= src`: atomic xor without fetching the old value (sizes W and DW). */
  atomicXor(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'xor', dst, offset, src);
  }
  /** src = old value; memory += src. */
  atomicFetchAdd(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'fetch_add', dst, offset, src);
  }
  /** Emits `src = atomic_fetch_or((size *)(dst + offset), src)`: atomic or that returns the old value in src (sizes W and DW). */
  atomicFetchOr(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'fetch_or', dst, offset, src);
  }
  /** Emits `src = atomic_fetch_and((size *)(dst + offset), src)`: atomic and that returns the old value in src (sizes W and DW). */
  atomicFetchAnd(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'fetch_and', dst, offset, src);
  }
  /** Emits `src = atomic_fetch_xor((size *)(dst + offset), src)`: atomic xor that returns the old value in src (sizes W and DW). */
  atomicFetchXor(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'fetch_xor', dst, offset, src);
  }
  /** src = old value; memory = src. */
  atomicXchg(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'xchg', dst, offset, src);
  }
  /** If memory == r0 then memory = src; r0 = old value. */
  atomicCmpxchg(size: Size, dst: Register, offset: number, src: Register): this {
    return this.atomic(size, 'cmpxchg', dst, offset, src);
  }
  /** dst = load_acquire((size *)(src + offset)); any size. */
  loadAcquire(size: Size, dst: Register, src: Register, offset: number): this {
    return this.push(() => f.loadAcquire(size, dst, src, offset));
  }
  /** store_release((size *)(dst + offset), src); any size. */
  storeRelease(size: Size, dst: Register, offset: number, src: Register): this {
    return this.push(() => f.storeRelease(size, dst, offset, src));
  }

  private define(name: string): void {
    if (typeof name !== 'string' || !/^[A-Za-z_.$][\w.$]*$/.test(name)) {
      throw new AsmError(`label name ${JSON.stringify(name)} is not an identifier (letters, digits, _ . $; not starting with a digit)`, {
        instruction: this.insns.length,
      });
    }
    const existing = this.labels.get(name);
    if (existing !== undefined) {
      throw new AsmError(`duplicate label '${name}' (already defined before instruction ${existing})`, { instruction: this.insns.length });
    }
    this.labels.set(name, this.insns.length);
  }

  private push(make: () => Instruction): this {
    let insn: Instruction;
    try {
      insn = make();
    } catch (err) {
      if (err instanceof AsmError) throw new AsmError(err.detail, { instruction: this.insns.length });
      throw err;
    }
    if (this.pendingSymbol !== undefined) {
      insn.symbol = this.pendingSymbol;
      this.pendingSymbol = undefined;
    }
    this.insns.push(insn);
    return this;
  }
}

function noDw(size: Size, method: string): void {
  if (size === Size.DW) throw new AsmError(`${method} supports sizes B, H and W; the kernel has no 64-bit packet load`);
}
