import { AsmError } from './errors.js';
import { type Instruction, instructionSlots, isLddw, lddwValue } from './instruction.js';
import { type ByteOrder } from './instruction.js';

const SLOT = 8;

/** Encodes instructions into kernel bytecode: 8 bytes per slot, lddw takes two. */
export function encodeInstructions(insns: readonly Instruction[], order: ByteOrder = 'little'): Uint8Array {
  if (order !== 'little' && order !== 'big') throw new AsmError(`byte order must be 'little' or 'big', got ${String(order)}`);
  // Fields are checked before the size is counted, so a non-object fails as an AsmError.
  // (for..of with a counter: entries() costs several times more per element on Node 20.)
  let slots = 0;
  let index = 0;
  for (const insn of insns) {
    checkFields(insn, index++);
    slots += instructionSlots(insn);
  }
  const out = new Uint8Array(slots * SLOT);
  const view = new DataView(out.buffer);
  const little = order === 'little';
  let at = 0;
  for (const insn of insns) {
    view.setUint8(at, insn.opcode);
    // Big-endian objects put dst in the high nibble, little-endian in the low one.
    view.setUint8(at + 1, little ? (insn.src << 4) | insn.dst : (insn.dst << 4) | insn.src);
    view.setUint16(at + 2, insn.offset & 0xffff, little);
    if (isLddw(insn)) {
      const value = BigInt.asUintN(64, lddwValue(insn));
      view.setUint32(at + 4, Number(value & 0xffffffffn), little);
      view.setUint32(at + 12, Number(value >> 32n), little);
    } else {
      view.setUint32(at + 4, insn.imm >>> 0, little);
    }
    at += instructionSlots(insn) * SLOT;
  }
  return out;
}

function checkFields(insn: Instruction, index: number): void {
  if (insn === null || typeof insn !== 'object') throw new AsmError('not an instruction object', { instruction: index });
  checkInt(insn.opcode, 0, 0xff, 'opcode', index);
  checkInt(insn.dst, 0, 0xf, 'dst register', index);
  checkInt(insn.src, 0, 0xf, 'src register', index);
  checkInt(insn.offset, -0x8000, 0xffff, 'offset', index);
  if (isLddw(insn) && insn.imm64 !== undefined) {
    if (typeof insn.imm64 !== 'bigint' || insn.imm64 < -(1n << 63n) || insn.imm64 >= 1n << 64n) {
      throw new AsmError(`imm64 ${String(insn.imm64)} is not a 64-bit bigint`, { instruction: index });
    }
  } else {
    checkInt(insn.imm, -0x80000000, 0xffffffff, 'imm', index);
  }
}

function checkInt(value: unknown, min: number, max: number, what: string, index: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AsmError(`${what} ${String(value)} is not an integer in [${min}, ${max}]`, { instruction: index });
  }
}
