import { AsmError, type AsmErrorLocation } from './errors.js';
import { type Instruction, instructionSlots, slotOffsets } from './instruction.js';
import * as op from './opcodes.js';

/** Which field of an instruction a label reference resolves into, or undefined if it is not pc-relative (e.g. a map name). */
export function pcRelativeField(insn: Instruction): 'offset' | 'imm' | undefined {
  const cls = op.classOf(insn.opcode);
  if (insn.opcode === op.BPF_LDDW) return insn.src === op.BPF_PSEUDO_FUNC ? 'imm' : undefined;
  if (cls === op.BPF_JMP32 && op.aluOpOf(insn.opcode) === op.BPF_JA) return 'imm';
  if (cls !== op.BPF_JMP && cls !== op.BPF_JMP32) return undefined;
  const code = op.aluOpOf(insn.opcode);
  if (code === op.BPF_CALL) return insn.src === op.BPF_PSEUDO_CALL && op.sourceOf(insn.opcode) === op.BPF_K ? 'imm' : undefined;
  if (code === op.BPF_EXIT) return undefined;
  return 'offset';
}

/**
 * Replaces label references of jumps, bpf-to-bpf calls and BPF_PSEUDO_FUNC loads with pc-relative
 * slot distances (target slot - this slot - 1, lddw counting as two). Map references are left alone.
 * `labels` maps a name to the index of the instruction it precedes (insns.length = end of program).
 * Returns new instruction objects; the reference is kept on resolved instructions as a note.
 */
export function resolveLabels(
  insns: readonly Instruction[],
  labels: ReadonlyMap<string, number>,
  locate: (index: number) => AsmErrorLocation = (index) => ({ instruction: index }),
): Instruction[] {
  const slots = slotOffsets(insns);
  let nextSlot = 0;
  return insns.map((insn, index) => {
    const slot = nextSlot;
    nextSlot += instructionSlots(insn);
    const copy: Instruction = { ...insn };
    if (insn.reference === undefined) return copy;
    const field = pcRelativeField(insn);
    if (field === undefined) return copy;
    const target = labels.get(insn.reference);
    if (target === undefined) {
      const known = [...labels.keys()];
      const hint = known.length > 0 ? `; defined labels: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''}` : '';
      throw new AsmError(`unknown label '${insn.reference}'${hint}`, locate(index));
    }
    const targetSlot = slots[target];
    if (targetSlot === undefined) {
      throw new AsmError(
        `label '${insn.reference}' is at instruction ${target}, outside the program of ${insns.length} instructions`,
        locate(index),
      );
    }
    const distance = targetSlot - slot - 1;
    if (field === 'offset') {
      if (distance < -0x8000 || distance > 0x7fff) {
        const isJa = insn.opcode === (op.BPF_JMP | op.BPF_JA);
        const fix = isJa ? 'use gotol, which has a 32-bit offset' : 'invert the condition to jump over a gotol to the far target';
        throw new AsmError(`jump to '${insn.reference}' is ${distance} slots away, beyond the 16-bit offset range; ${fix}`, locate(index));
      }
      copy.offset = distance;
    } else {
      copy.imm = distance;
      if (copy.imm64 !== undefined) copy.imm64 = BigInt(distance >>> 0) | (copy.imm64 & ~0xffffffffn);
    }
    return copy;
  });
}
