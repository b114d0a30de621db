import { AsmError } from './errors.js';
import { type Instruction } from './instruction.js';
import { type ByteOrder } from './instruction.js';
import { BPF_LDDW } from './opcodes.js';

const SLOT = 8;

/**
 * Decodes kernel bytecode. Any opcode is accepted (the disassembler prints unknown ones raw);
 * only the framing is checked: whole 8-byte slots, and lddw followed by a valid second slot.
 */
export function decodeInstructions(bytes: Uint8Array, order: ByteOrder = 'little'): Instruction[] {
  return decode(bytes, order, false);
}

/**
 * decodeInstructions with every optional field present (undefined when unset), in the order
 * opcode, dst, src, offset, imm, imm64, reference, symbol: the one object shape a loader that
 * fills in those fields later wants, so its objects never change shape and its loops over them
 * stay monomorphic. With `slots`, also lists each instruction's slot and then the total, as
 * slotOffsets would.
 */
export function decodeUniformInstructions(bytes: Uint8Array, order: ByteOrder = 'little', slots?: number[]): Instruction[] {
  return decode(bytes, order, true, slots);
}

/** `slots`, when given, receives each instruction's slot and then the total, as slotOffsets would list them. */
function decode(bytes: Uint8Array, order: ByteOrder, uniform: boolean, slots?: number[]): Instruction[] {
  if (!(bytes instanceof Uint8Array)) throw new AsmError('decodeInstructions expects a Uint8Array');
  if (order !== 'little' && order !== 'big') throw new AsmError(`byte order must be 'little' or 'big', got ${String(order)}`);
  if (bytes.length % SLOT !== 0) {
    throw new AsmError(
      `bytecode length ${bytes.length} is not a multiple of 8; the last ${bytes.length % SLOT} byte(s) are a truncated instruction`,
      { byteOffset: bytes.length - (bytes.length % SLOT) },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = order === 'little';
  const insns: Instruction[] = [];
  for (let at = 0; at < bytes.length; at += SLOT) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = little ? regs & 0xf : regs >> 4;
    const src = little ? regs >> 4 : regs & 0xf;
    const offset = view.getInt16(at + 2, little);
    const imm = view.getInt32(at + 4, little);
    slots?.push(at / SLOT);
    const insn: Instruction = uniform
      ? { opcode, dst, src, offset, imm, imm64: undefined, reference: undefined, symbol: undefined }
      : { opcode, dst, src, offset, imm };
    if (opcode === BPF_LDDW) {
      const next = at + SLOT;
      if (next >= bytes.length) {
        throw new AsmError('lddw is missing its second 8-byte slot', { instruction: insns.length, byteOffset: at });
      }
      if (view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getUint16(next + 2) !== 0) {
        throw new AsmError('bad lddw second slot: its opcode, registers and offset must be zero', {
          instruction: insns.length,
          byteOffset: next,
        });
      }
      const high = BigInt(view.getInt32(next + 4, little));
      insn.imm64 = (high << 32n) | BigInt(insn.imm >>> 0);
      at = next;
    }
    insns.push(insn);
  }
  slots?.push(bytes.length / SLOT);
  return insns;
}
