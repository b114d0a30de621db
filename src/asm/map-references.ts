import { AsmError } from './errors.js';
import { type Instruction } from './instruction.js';
import * as op from './opcodes.js';

/** An lddw that names a map still to be turned into an fd (or fd-array index). */
export interface MapReference {
  /** Index in the instruction list (not the slot). */
  index: number;
  name: string;
  /** BPF_PSEUDO_MAP_FD, _VALUE, _IDX or _IDX_VALUE. */
  src: number;
}

const MAP_SOURCES = new Set([op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE, op.BPF_PSEUDO_MAP_IDX, op.BPF_PSEUDO_MAP_IDX_VALUE]);

/** Lists the map names a program refers to, in instruction order. */
export function mapReferences(insns: readonly Instruction[]): MapReference[] {
  const refs: MapReference[] = [];
  insns.forEach((insn, index) => {
    if (insn.opcode === op.BPF_LDDW && MAP_SOURCES.has(insn.src) && insn.reference !== undefined) {
      refs.push({ index, name: insn.reference, src: insn.src });
    }
  });
  return refs;
}

/**
 * Returns a copy with each map reference's low immediate set to `lookup(name)` (an fd, or an index
 * for the _IDX sources), keeping a map value's offset in the high half. Only the map references
 * are new objects; the other instructions are the same objects as in `insns` (copying every one
 * cost more than anything else in linking a program): copy them before changing one in place.
 */
export function bindMapReferences(insns: readonly Instruction[], lookup: (name: string) => number | undefined): Instruction[] {
  const out = insns.slice();
  let index = -1;
  for (const insn of insns) {
    index++;
    if (insn.opcode !== op.BPF_LDDW || insn.reference === undefined || !MAP_SOURCES.has(insn.src)) continue;
    const fd = lookup(insn.reference);
    if (fd === undefined || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      throw new AsmError(`no map fd for map reference '${insn.reference}'`, { instruction: index });
    }
    const high = (insn.imm64 ?? 0n) >> 32n;
    out[index] = { ...insn, imm: fd, imm64: (high << 32n) | BigInt(fd) };
  }
  return out;
}
