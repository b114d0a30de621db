import { BPF_LDDW } from './opcodes.js';

/**
 * One eBPF instruction, fields as in the kernel's struct bpf_insn.
 *
 * lddw (the 64-bit immediate load) is a single Instruction that occupies two 8-byte slots:
 * `imm64` holds both halves (low half = first slot's imm, high half = second slot's imm),
 * e.g. for BPF_PSEUDO_MAP_VALUE the map fd/index is the low half and the value offset the high half.
 */
export interface Instruction {
  /** 8-bit opcode: class | size/source | mode/operation. */
  opcode: number;
  /** Destination register, 0..10 (4-bit field). */
  dst: number;
  /** Source register, 0..10 (4-bit field), or the pseudo source for lddw/call. */
  src: number;
  /** Signed 16-bit offset. */
  offset: number;
  /** Signed 32-bit immediate (for lddw: the low 32 bits). */
  imm: number;
  /** lddw only: the whole 64-bit value carried by both slots. Takes precedence over `imm` when encoding. */
  imm64?: bigint;
  /**
   * A name still to be bound: the map of an lddw with src BPF_PSEUDO_MAP_FD/VALUE/IDX/IDX_VALUE
   * (left for the loader), or the label/subprogram a jump, call or BPF_PSEUDO_FUNC load targets
   * (resolved by `resolveLabels`; kept afterwards as a note).
   */
  reference?: string;
  /** Marks the first instruction of a subprogram (its function name). */
  symbol?: string;
}

/** Whether the instruction is lddw (BPF_LD | BPF_IMM | BPF_DW), which takes two slots. */
export function isLddw(insn: Pick<Instruction, 'opcode'>): boolean {
  return insn.opcode === BPF_LDDW;
}

/** Number of 8-byte slots the instruction occupies: 2 for lddw, 1 otherwise. */
export function instructionSlots(insn: Pick<Instruction, 'opcode'>): 1 | 2 {
  return isLddw(insn) ? 2 : 1;
}

/** Slot index of each instruction; the extra last entry is the total slot count. */
export function slotOffsets(insns: readonly Pick<Instruction, 'opcode'>[]): number[] {
  const offsets: number[] = [];
  let slot = 0;
  for (const insn of insns) {
    offsets.push(slot);
    slot += instructionSlots(insn);
  }
  offsets.push(slot);
  return offsets;
}

/** The 64-bit value of an lddw: `imm64` if present, else `imm` as an unsigned low half. */
export function lddwValue(insn: Pick<Instruction, 'imm' | 'imm64'>): bigint {
  return insn.imm64 ?? BigInt(insn.imm >>> 0);
}

/** Byte order of encoded instructions; 'big' is how bpfeb objects lay them out. */
export type ByteOrder = 'little' | 'big';
