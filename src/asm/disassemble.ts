import { decodeInstructions } from './decode.js';
import { AsmError } from './errors.js';
import { hex, memoryOperand, signedHex } from './format-number.js';
import { type ByteOrder, type Instruction, instructionSlots, isLddw, lddwValue } from './instruction.js';
import { encodeInstructions } from './encode.js';
import * as op from './opcodes.js';
import { ALU_BINARY, ATOMIC_RMW, JUMP_CONDITIONS, findKey } from './operations.js';
import { MAX_REGISTER } from './registers.js';

/** Options of the disassembler. */
export interface DisassembleOptions {
  /** Byte order of `code`; default 'little'. */
  order?: ByteOrder;
  /** Prefix each line with the slot index and the instruction bytes, as `llvm-objdump -d` does. */
  addresses?: boolean;
}

/**
 * Disassembles bytecode into LLVM's BPF assembly syntax, one instruction per line, matching the
 * instruction column of `llvm-objdump -d --mcpu=v4` for every encoding LLVM prints unambiguously.
 * Where LLVM's text loses information this prints a form the assembler reads back exactly:
 *   - bpf-to-bpf call (src=1): `call pc+0x3`      (LLVM prints `call 0x3` as for a helper)
 *   - kfunc call (src=2):      `call kfunc 0x3`
 *   - map value lddw with a value offset: `ld_pseudo r1, 0x2, fd, offset`
 *   - LD_IND with a nonzero imm: `r0 = *(u8 *)skb[r1 + 0x3]`; LD_ABS/LD_IND with size DW: `*(u64 *)skb[...]`
 *   - load-acquire/store-release (newer than LLVM 19): the syntax of LLVM 20+
 *   - anything else LLVM would print as `<unknown>` or that has stray bits in unused fields:
 *     `.insn opcode, dst, src, offset, imm` (imm is the full 64-bit value for opcode 0x18).
 * Ends with a newline unless empty.
 */
export function disassemble(code: Uint8Array, options: DisassembleOptions = {}): string {
  const order = options.order ?? 'little';
  const insns = decodeInstructions(code, order);
  return formatProgram(insns, { ...options, order });
}

/** Same as disassemble() but from decoded (or built) instructions. */
export function formatProgram(insns: readonly Instruction[], options: DisassembleOptions = {}): string {
  let lines = insns.map((insn) => formatInstruction(insn));
  if (options.addresses) {
    const bytes = encodeInstructions(insns, options.order ?? 'little');
    let slot = 0;
    lines = insns.map((insn) => {
      const slots = instructionSlots(insn);
      const hexBytes = Array.from(bytes.subarray(slot * 8, (slot + slots) * 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const line = `${String(slot).padStart(8)}:\t${hexBytes}\t${formatInstruction(insn)}`;
      slot += slots;
      return line;
    });
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** The text of one instruction (no trailing newline). */
export function formatInstruction(insn: Instruction): string {
  if (insn === null || typeof insn !== 'object') throw new AsmError('not an instruction object');
  return known(insn) ?? raw(insn);
}

/** The fallback: every field spelled out. */
function raw(insn: Instruction): string {
  const imm = isLddw(insn) ? hex(BigInt.asIntN(64, lddwValue(insn))) : hex(insn.imm | 0);
  return `.insn ${hex(insn.opcode)}, ${hex(insn.dst)}, ${hex(insn.src)}, ${hex(insn.offset)}, ${imm}`;
}

const reg = (n: number, wide: boolean): string => (wide ? 'r' : 'w') + n;
const sizeName = (size: number): string => `u${8 * op.sizeBytes(size)}`;
const validReg = (n: number): boolean => n >= 0 && n <= MAX_REGISTER;

function known(insn: Instruction): string | undefined {
  const { opcode, dst, src } = insn;
  if (!validReg(dst)) return undefined;
  // src is a register in most forms; lddw and call use it as a pseudo-source selector instead.
  if (!validReg(src)) return undefined;
  switch (op.classOf(opcode)) {
    case op.BPF_ALU:
    case op.BPF_ALU64:
      return alu(insn);
    case op.BPF_JMP:
    case op.BPF_JMP32:
      return jump(insn);
    case op.BPF_LD:
      return load(insn);
    case op.BPF_LDX:
      return loadX(insn);
    case op.BPF_ST:
      return store(insn);
    default:
      return storeX(insn);
  }
}

function alu(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  const wide = op.classOf(opcode) === op.BPF_ALU64;
  const code = op.aluOpOf(opcode);
  const fromReg = op.sourceOf(opcode) === op.BPF_X;
  const d = reg(dst, wide);
  if (code === op.BPF_NEG) {
    return !fromReg && src === 0 && offset === 0 && imm === 0 ? `${d} = -${d}` : undefined;
  }
  if (code === op.BPF_END) {
    if (src !== 0 || offset !== 0 || (imm !== 16 && imm !== 32 && imm !== 64)) return undefined;
    if (wide) return fromReg ? undefined : `r${dst} = bswap${imm} r${dst}`;
    return `r${dst} = ${fromReg ? 'be' : 'le'}${imm} r${dst}`;
  }
  if (code === op.BPF_MOV && fromReg && imm === 0 && (offset === 8 || offset === 16 || (wide && offset === 32))) {
    return `${d} = (s${offset})${reg(src, wide)}`;
  }
  const name = findKey(ALU_BINARY, (e) => e.code === code && e.offset === offset);
  if (name === undefined) return undefined;
  const text = ALU_BINARY[name].text;
  if (fromReg) return imm === 0 ? `${d} ${text} ${reg(src, wide)}` : undefined;
  return src === 0 ? `${d} ${text} ${hex(imm)}` : undefined;
}

function jump(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  const wide = op.classOf(opcode) === op.BPF_JMP;
  const code = op.aluOpOf(opcode);
  const fromReg = op.sourceOf(opcode) === op.BPF_X;
  switch (code) {
    case op.BPF_JA:
      if (fromReg || dst !== 0 || src !== 0) return undefined;
      if (wide) return imm === 0 ? `goto ${signedHex(offset)}` : undefined;
      return offset === 0 ? `gotol ${signedHex(imm)}` : undefined;
    case op.BPF_CALL:
      if (!wide || offset !== 0) return undefined;
      if (fromReg) return src === 0 && imm === 0 ? `callx r${dst}` : undefined;
      if (dst !== 0) return undefined;
      if (src === op.BPF_PSEUDO_HELPER_CALL) return `call ${hex(imm)}`;
      if (src === op.BPF_PSEUDO_CALL) return `call pc${imm < 0 ? '-' : '+'}${hex(Math.abs(imm))}`;
      if (src === op.BPF_PSEUDO_KFUNC_CALL) return `call kfunc ${hex(imm)}`;
      return undefined;
    case op.BPF_EXIT:
      return wide && !fromReg && dst === 0 && src === 0 && offset === 0 && imm === 0 ? 'exit' : undefined;
    case op.BPF_JCOND:
      return wide && !fromReg && dst === 0 && src === 0 && imm === 0 ? `may_goto ${signedHex(offset)}` : undefined;
  }
  const name = findKey(JUMP_CONDITIONS, (e) => e.code === code);
  if (name === undefined) return undefined;
  const left = reg(dst, wide);
  const right = fromReg ? (imm === 0 ? reg(src, wide) : undefined) : src === 0 ? hex(imm) : undefined;
  return right === undefined ? undefined : `if ${left} ${JUMP_CONDITIONS[name].text} ${right} goto ${signedHex(offset)}`;
}

function load(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  if (opcode === op.BPF_LDDW) {
    if (offset !== 0 || src > op.BPF_PSEUDO_MAP_IDX_VALUE) return undefined;
    const value = BigInt.asIntN(64, lddwValue(insn));
    if (src === op.BPF_PSEUDO_IMM64) return `r${dst} = ${hex(value)} ll`;
    const low = Number(BigInt.asIntN(32, value));
    const high = Number(BigInt.asIntN(32, value >> 32n));
    return `ld_pseudo\tr${dst}, ${hex(src)}, ${hex(low)}${high !== 0 ? `, ${hex(high)}` : ''}`;
  }
  const mode = op.modeOf(opcode);
  if (dst !== 0 || offset !== 0) return undefined;
  const type = sizeName(op.sizeOf(opcode));
  if (mode === op.BPF_ABS) return src === 0 ? `r0 = *(${type} *)skb[${hex(imm)}]` : undefined;
  if (mode === op.BPF_IND) {
    const index = imm === 0 ? `r${src}` : imm < 0 ? `r${src} - ${hex(-imm)}` : `r${src} + ${hex(imm)}`;
    return `r0 = *(${type} *)skb[${index}]`;
  }
  return undefined;
}

function loadX(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  if (imm !== 0) return undefined;
  const mode = op.modeOf(opcode);
  const size = op.sizeOf(opcode);
  // LLVM (alu32) names the destination as a 32-bit register for zero-extending loads narrower than 64 bits.
  if (mode === op.BPF_MEM) return `${reg(dst, size === op.BPF_DW)} = *(${sizeName(size)} *)${memoryOperand(src, offset)}`;
  if (mode === op.BPF_MEMSX && size !== op.BPF_DW) return `r${dst} = *(s${8 * op.sizeBytes(size)} *)${memoryOperand(src, offset)}`;
  return undefined;
}

function store(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  if (op.modeOf(opcode) !== op.BPF_MEM || src !== 0) return undefined;
  return `*(${sizeName(op.sizeOf(opcode))} *)${memoryOperand(dst, offset)} = ${hex(imm)}`;
}

function storeX(insn: Instruction): string | undefined {
  const { opcode, dst, src, offset, imm } = insn;
  const mode = op.modeOf(opcode);
  const size = op.sizeOf(opcode);
  const wide = size === op.BPF_DW;
  const type = sizeName(size);
  const address = memoryOperand(dst, offset);
  if (mode === op.BPF_MEM) return imm === 0 ? `*(${type} *)${address} = ${reg(src, wide)}` : undefined;
  if (mode !== op.BPF_ATOMIC) return undefined;
  if (imm === op.BPF_LOAD_ACQ) return `${reg(dst, wide)} = load_acquire((${type} *)${memoryOperand(src, offset)})`;
  if (imm === op.BPF_STORE_REL) return `store_release((${type} *)${address}, ${reg(src, wide)})`;
  if (size !== op.BPF_W && size !== op.BPF_DW) return undefined;
  const name = findKey(ATOMIC_RMW, (e) => e.code === imm);
  if (name === undefined) return undefined;
  const s = reg(src, wide);
  const bareAddress = `r${dst} ${offset < 0 ? '-' : '+'} ${hex(Math.abs(offset))}`;
  switch (name) {
    case 'xchg':
      return `${s} = ${wide ? 'xchg_64' : 'xchg32_32'}(${bareAddress}, ${s})`;
    case 'cmpxchg':
      return `${reg(0, wide)} = ${wide ? 'cmpxchg_64' : 'cmpxchg32_32'}(${bareAddress}, ${reg(0, wide)}, ${s})`;
    case 'add':
    case 'or':
    case 'and':
    case 'xor':
      return `lock *(${type} *)${address} ${ATOMIC_RMW[name].text} ${s}`;
    default:
      return `${s} = ${ATOMIC_RMW[name].text}((${type} *)${address}, ${s})`;
  }
}
