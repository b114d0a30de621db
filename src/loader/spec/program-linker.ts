// Lays out a program: its entry function, then every function it calls or takes the address of,
// transitively, once each. Call and callback immediates become offsets in that layout, and
// func_info, line_info and CO-RE records are re-based to it.
import { BPF_PSEUDO_FUNC } from '../../asm/opcodes.js';
import { isLddw, type Instruction } from '../../asm/index.js';
import type { ErrorContext } from '../../errors/index.js';
import type { FunctionKey, ObjectFunction } from './functions.js';
import type { ProgramCoreRelocation, ProgramFuncInfo, ProgramLineInfo } from './types.js';

export interface LinkedProgram {
  instructions: Instruction[];
  funcInfos: ProgramFuncInfo[];
  lineInfos: ProgramLineInfo[];
  coreRelocations: ProgramCoreRelocation[];
}

/**
 * The functions of the program `entry` starts, in layout order: the entry, then a breadth-first
 * walk of its callees. Throws when a call or callback targets no function's start.
 */
export function programLayout(
  entry: ObjectFunction,
  functions: ReadonlyMap<FunctionKey, ObjectFunction>,
  err: ErrorContext,
): ObjectFunction[] {
  const layout: ObjectFunction[] = [entry];
  const placed = new Set<FunctionKey>([entry.key]);
  // for..of visits the callees pushed while it runs: a breadth-first walk.
  for (const f of layout) {
    for (const [index, key] of f.links) {
      const callee = functions.get(key);
      if (!callee) {
        throw err(`call or callback target is not the start of a function`, {
          section: f.section.name,
          symbol: f.name,
          offset: ((f.slots[index] ?? 0) + f.start) * 8,
        });
      }
      if (!placed.has(key)) {
        placed.add(key);
        layout.push(callee);
      }
    }
  }
  return layout;
}

/**
 * Links a layout from programLayout into one program. `shared` says whether a function is in
 * some other program's layout too: a function only this program uses gives up its instruction
 * objects (decoded in the one shape the copy would have) instead of having them copied.
 */
export function linkProgram(
  layout: readonly ObjectFunction[],
  functions: ReadonlyMap<FunctionKey, ObjectFunction>,
  shared: (f: ObjectFunction) => boolean,
): LinkedProgram {
  const entry = layout[0];
  const start = new Map<FunctionKey, number>();
  const first = new Map<FunctionKey, number>();
  let slot = 0;
  let count = 0;
  for (const f of layout) {
    start.set(f.key, slot);
    first.set(f.key, count);
    slot += f.slots[f.slots.length - 1]!; // slots: one per instruction, then the function's total
    count += f.instructions.length;
  }

  const instructions: Instruction[] = [];
  const funcInfos: ProgramFuncInfo[] = [];
  const lineInfos: ProgramLineInfo[] = [];
  const coreRelocations: ProgramCoreRelocation[] = [];
  for (const f of layout) {
    const base = start.get(f.key)!;
    const at = instructions.length;
    const insns = f.instructions;
    if (shared(f)) {
      for (let i = 0; i < insns.length; i++) {
        const insn = insns[i]!; // i < insns.length
        // Every instruction of a linked program gets the same fields in the same order (unset
        // ones undefined): one object shape, so that the loops over them at load (checks, map
        // binding, encoding) stay monomorphic. The function's own objects already have it.
        instructions.push({
          opcode: insn.opcode,
          dst: insn.dst,
          src: insn.src,
          offset: insn.offset,
          imm: insn.imm,
          imm64: insn.imm64,
          reference: insn.reference,
          symbol: insn.symbol,
        });
      }
    } else {
      for (let i = 0; i < insns.length; i++) instructions.push(insns[i]!); // i < insns.length
    }
    // Links are few: patched after the copy rather than looked up for every instruction.
    for (const [i, key] of f.links) {
      const out = instructions[at + i]!; // i indexes f.instructions
      const callee = functions.get(key)!;
      const relative = start.get(key)! - (base + f.slots[i]! + 1); // slots has one more entry than instructions
      out.imm = relative;
      out.reference = callee.name;
      if (isLddw(out) && out.src === BPF_PSEUDO_FUNC) out.imm64 = BigInt(relative >>> 0);
    }
    if (f !== entry && insns.length > 0) instructions[at]!.symbol = f.name;
    if (f.funcTypeId !== undefined) funcInfos.push({ insnOffset: base, typeId: f.funcTypeId });
    const shift = base - f.start;
    for (const l of f.lineInfos) {
      lineInfos.push({ insnOffset: l.insnOffset + shift, fileName: l.fileName, line: l.line, lineNumber: l.lineNumber, column: l.column });
    }
    const firstIndex = first.get(f.key)!;
    for (const c of f.coreRelocations) {
      coreRelocations.push({ instruction: c.instruction + firstIndex, typeId: c.typeId, accessor: c.accessor, kind: c.kind });
    }
  }
  return { instructions, funcInfos, lineInfos, coreRelocations };
}
