// Constructors for every instruction form. They validate operands and throw AsmError without a
// location; the builder and the text assembler add the location of the offending instruction.
import { AsmError } from './errors.js';
import { type Instruction } from './instruction.js';
import * as op from './opcodes.js';
import { ALU_BINARY, ATOMIC_RMW, JUMP_CONDITIONS, type AluBinaryOp, type AtomicOp, type JumpCondition } from './operations.js';
import { MAX_REGISTER, type Register } from './registers.js';
import { isSize, type Size } from './size.js';

/** A jump/call target: a label name to resolve later, or a raw pc-relative count of slots. */
export type Target = string | number;
export type Width = 32 | 64;

export function checkRegister(reg: unknown, role: string): number {
  if (typeof reg !== 'number' || !Number.isInteger(reg) || reg < 0 || reg > MAX_REGISTER) {
    throw new AsmError(`${role} register ${String(reg)} is out of range; eBPF has registers r0 to r10`);
  }
  return reg;
}

export function checkImm32(value: unknown, what = 'immediate'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new AsmError(`${what} ${String(value)} does not fit in 32 bits; use a 64-bit load (lddw / "ll") for wider constants`);
  }
  return value | 0;
}

export function checkOffset16(value: unknown, what = 'offset'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x8000 || value > 0x7fff) {
    throw new AsmError(`${what} ${String(value)} does not fit in a signed 16-bit field (-32768..32767)`);
  }
  return value;
}

function checkSize(size: unknown): Size {
  if (!isSize(size)) throw new AsmError(`size ${String(size)} is not one of Size.B, Size.H, Size.W, Size.DW`);
  return size;
}

function aluClass(width: Width): number {
  if (width !== 32 && width !== 64) throw new AsmError(`ALU width must be 32 or 64, got ${String(width)}`);
  return width === 64 ? op.BPF_ALU64 : op.BPF_ALU;
}

function aluEntry(name: AluBinaryOp) {
  if (!Object.hasOwn(ALU_BINARY, name)) throw new AsmError(`unknown ALU operation '${String(name)}'`);
  return ALU_BINARY[name];
}

function insn(opcode: number, dst: number, src: number, offset: number, imm: number): Instruction {
  return { opcode, dst, src, offset, imm };
}

function withTarget(i: Instruction, target: Target, field: 'offset' | 'imm'): Instruction {
  if (typeof target === 'string') {
    if (target.length === 0) throw new AsmError('empty label name');
    i.reference = target;
  } else if (field === 'offset') {
    i.offset = checkOffset16(target, 'jump offset');
  } else {
    if (typeof target !== 'number' || !Number.isInteger(target) || target < -0x80000000 || target > 0x7fffffff) {
      throw new AsmError(`pc-relative target ${String(target)} does not fit in a signed 32-bit immediate`);
    }
    i.imm = target;
  }
  return i;
}

// ---- ALU ----

export function aluImm(width: Width, name: AluBinaryOp, dst: Register, imm: number): Instruction {
  const e = aluEntry(name);
  return insn(aluClass(width) | e.code | op.BPF_K, checkRegister(dst, 'destination'), 0, e.offset, checkImm32(imm));
}

export function aluReg(width: Width, name: AluBinaryOp, dst: Register, src: Register): Instruction {
  const e = aluEntry(name);
  return insn(aluClass(width) | e.code | op.BPF_X, checkRegister(dst, 'destination'), checkRegister(src, 'source'), e.offset, 0);
}

export function neg(width: Width, dst: Register): Instruction {
  return insn(aluClass(width) | op.BPF_NEG | op.BPF_K, checkRegister(dst, 'destination'), 0, 0, 0);
}

/** Sign-extending move: the low `bits` of src, sign-extended into dst (ALU: 8/16, ALU64: 8/16/32). */
export function movsx(width: Width, dst: Register, src: Register, bits: 8 | 16 | 32): Instruction {
  const allowed = width === 64 ? [8, 16, 32] : [8, 16];
  if (!allowed.includes(bits)) {
    throw new AsmError(`movsx${width} sign-extends from ${allowed.join(', ')} bits, not ${String(bits)}`);
  }
  return insn(aluClass(width) | op.BPF_MOV | op.BPF_X, checkRegister(dst, 'destination'), checkRegister(src, 'source'), bits, 0);
}

export type ByteSwapKind = 'le' | 'be' | 'bswap';

/** le/be convert host order to little/big endian (BPF_ALU|BPF_END); bswap swaps unconditionally (BPF_ALU64|BPF_END). */
export function byteSwap(kind: ByteSwapKind, dst: Register, bits: 16 | 32 | 64): Instruction {
  if (bits !== 16 && bits !== 32 && bits !== 64) throw new AsmError(`byte swap width must be 16, 32 or 64, not ${String(bits)}`);
  const opcode =
    kind === 'le'
      ? op.BPF_ALU | op.BPF_END | op.BPF_TO_LE
      : kind === 'be'
        ? op.BPF_ALU | op.BPF_END | op.BPF_TO_BE
        : kind === 'bswap'
          ? op.BPF_ALU64 | op.BPF_END
          : -1;
  if (opcode < 0) throw new AsmError(`byte swap kind must be 'le', 'be' or 'bswap', not ${String(kind)}`);
  return insn(opcode, checkRegister(dst, 'destination'), 0, 0, bits);
}

// ---- jumps and calls ----

function jumpClass(width: Width): number {
  if (width !== 32 && width !== 64) throw new AsmError(`jump width must be 32 or 64, got ${String(width)}`);
  return width === 64 ? op.BPF_JMP : op.BPF_JMP32;
}

function condition(name: JumpCondition): number {
  if (!Object.hasOwn(JUMP_CONDITIONS, name)) throw new AsmError(`unknown jump condition '${String(name)}'`);
  return JUMP_CONDITIONS[name].code;
}

export function jumpImm(width: Width, cond: JumpCondition, dst: Register, imm: number, target: Target): Instruction {
  const i = insn(jumpClass(width) | condition(cond) | op.BPF_K, checkRegister(dst, 'destination'), 0, 0, checkImm32(imm));
  return withTarget(i, target, 'offset');
}

export function jumpReg(width: Width, cond: JumpCondition, dst: Register, src: Register, target: Target): Instruction {
  const i = insn(jumpClass(width) | condition(cond) | op.BPF_X, checkRegister(dst, 'destination'), checkRegister(src, 'source'), 0, 0);
  return withTarget(i, target, 'offset');
}

/** goto with a 16-bit offset. */
export function ja(target: Target): Instruction {
  return withTarget(insn(op.BPF_JMP | op.BPF_JA, 0, 0, 0, 0), target, 'offset');
}

/** gotol: JMP32|JA, the offset lives in the 32-bit imm. */
export function gotol(target: Target): Instruction {
  return withTarget(insn(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, 0), target, 'imm');
}

export function mayGoto(target: Target): Instruction {
  return withTarget(insn(op.BPF_JMP | op.BPF_JCOND, 0, 0, 0, 0), target, 'offset');
}

export function callHelper(id: number): Instruction {
  return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_HELPER_CALL, 0, checkImm32(id, 'helper id'));
}

/** bpf-to-bpf call; imm is the pc-relative slot distance to the callee. */
export function callSub(target: Target): Instruction {
  return withTarget(insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_CALL, 0, 0), target, 'imm');
}

export function callKfunc(btfId: number): Instruction {
  return insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, 0, checkImm32(btfId, 'kfunc BTF id'));
}

/** Indirect call through a register, as LLVM encodes it (register in dst). The kernel does not accept it yet. */
export function callx(reg: Register): Instruction {
  return insn(op.BPF_JMP | op.BPF_CALL | op.BPF_X, checkRegister(reg, 'call target'), 0, 0, 0);
}

export function exit(): Instruction {
  return insn(op.BPF_JMP | op.BPF_EXIT, 0, 0, 0, 0);
}

// ---- 64-bit immediate loads ----

function check64(value: unknown): bigint {
  const v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 64n) {
    throw new AsmError(`64-bit immediate ${String(value)} is not an integer in [-2^63, 2^64)`);
  }
  return BigInt.asIntN(64, v);
}

/**
 * lddw with any pseudo source. `low` and `high` are the two slots' imm fields; `low` may be a
 * name (map name, or function label for BPF_PSEUDO_FUNC) that is recorded as `reference`.
 */
export function lddwPseudo(dst: Register, src: number, low: number | string, high = 0): Instruction {
  if (!Number.isInteger(src) || src < 0 || src > op.BPF_PSEUDO_MAP_IDX_VALUE) {
    throw new AsmError(`lddw pseudo source ${String(src)} is unknown; expected 0..6 (BPF_PSEUDO_*)`);
  }
  const lowValue = typeof low === 'string' ? 0 : checkImm32(low, 'lddw low immediate');
  const highValue = checkImm32(high, 'lddw high immediate');
  const i = insn(op.BPF_LDDW, checkRegister(dst, 'destination'), src, 0, lowValue);
  i.imm64 = (BigInt(highValue) << 32n) | BigInt(lowValue >>> 0);
  if (typeof low === 'string') {
    if (low.length === 0) throw new AsmError('empty reference name');
    i.reference = low;
  }
  return i;
}

export function lddw(dst: Register, value: bigint | number): Instruction {
  const v = check64(value);
  const i = insn(op.BPF_LDDW, checkRegister(dst, 'destination'), op.BPF_PSEUDO_IMM64, 0, Number(BigInt.asIntN(32, v)));
  i.imm64 = v;
  return i;
}

// ---- legacy packet access ----

export function ldAbs(size: Size, imm: number): Instruction {
  return insn(op.BPF_LD | op.BPF_ABS | checkSize(size), 0, 0, 0, checkImm32(imm, 'packet offset'));
}

export function ldInd(size: Size, src: Register, imm: number): Instruction {
  return insn(op.BPF_LD | op.BPF_IND | checkSize(size), 0, checkRegister(src, 'index'), 0, checkImm32(imm, 'packet offset'));
}

// ---- memory ----

export function ldx(size: Size, dst: Register, src: Register, offset: number): Instruction {
  return insn(
    op.BPF_LDX | op.BPF_MEM | checkSize(size),
    checkRegister(dst, 'destination'),
    checkRegister(src, 'address'),
    checkOffset16(offset),
    0,
  );
}

/** Sign-extending load (BPF_MEMSX); sizes B, H, W. */
export function ldxsx(size: Size, dst: Register, src: Register, offset: number): Instruction {
  if (checkSize(size) === op.BPF_DW) throw new AsmError('sign-extending loads exist for sizes B, H and W only; use ldx for DW');
  return insn(op.BPF_LDX | op.BPF_MEMSX | size, checkRegister(dst, 'destination'), checkRegister(src, 'address'), checkOffset16(offset), 0);
}

export function st(size: Size, dst: Register, offset: number, imm: number): Instruction {
  return insn(op.BPF_ST | op.BPF_MEM | checkSize(size), checkRegister(dst, 'address'), 0, checkOffset16(offset), checkImm32(imm));
}

export function stx(size: Size, dst: Register, offset: number, src: Register): Instruction {
  return insn(
    op.BPF_STX | op.BPF_MEM | checkSize(size),
    checkRegister(dst, 'address'),
    checkRegister(src, 'source'),
    checkOffset16(offset),
    0,
  );
}

/** Read-modify-write atomic on *(size *)(dst + offset) with src; sizes W and DW. cmpxchg compares with r0. */
export function atomic(size: Size, name: AtomicOp, dst: Register, offset: number, src: Register): Instruction {
  if (!Object.hasOwn(ATOMIC_RMW, name)) throw new AsmError(`unknown atomic operation '${String(name)}'`);
  if (checkSize(size) !== op.BPF_W && size !== op.BPF_DW) {
    throw new AsmError(`atomic ${name} exists for sizes W and DW only`);
  }
  return insn(
    op.BPF_STX | op.BPF_ATOMIC | size,
    checkRegister(dst, 'address'),
    checkRegister(src, 'source'),
    checkOffset16(offset),
    ATOMIC_RMW[name].code,
  );
}

/** dst = load_acquire(*(size *)(src + offset)). */
export function loadAcquire(size: Size, dst: Register, src: Register, offset: number): Instruction {
  return insn(
    op.BPF_STX | op.BPF_ATOMIC | checkSize(size),
    checkRegister(dst, 'destination'),
    checkRegister(src, 'address'),
    checkOffset16(offset),
    op.BPF_LOAD_ACQ,
  );
}

/** store_release(*(size *)(dst + offset), src). */
export function storeRelease(size: Size, dst: Register, offset: number, src: Register): Instruction {
  return insn(
    op.BPF_STX | op.BPF_ATOMIC | checkSize(size),
    checkRegister(dst, 'address'),
    checkRegister(src, 'source'),
    checkOffset16(offset),
    op.BPF_STORE_REL,
  );
}
