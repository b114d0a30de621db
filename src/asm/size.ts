import { BPF_B, BPF_DW, BPF_H, BPF_W } from './opcodes.js';

/** Memory access width; the values are the opcode's size bits so they can be OR-ed in directly. */
export const Size = { B: BPF_B, H: BPF_H, W: BPF_W, DW: BPF_DW } as const;
export type Size = (typeof Size)[keyof typeof Size];

export function isSize(value: unknown): value is Size {
  return value === BPF_B || value === BPF_H || value === BPF_W || value === BPF_DW;
}
