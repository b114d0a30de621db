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

export function linkProgram(entry: ObjectFunction, functions: ReadonlyMap<FunctionKey, ObjectFunction>, err: ErrorContext): LinkedProgram {
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
          offset: ((f.slots[index] ?? 0) + slotOf(f, functions)) * 8,
        });
      }
      if (!placed.has(key)) {
        placed.add(key);
        layout.push(callee);
      }
    }
  }
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
    f.instructions.forEach((insn, i) => {
      // Every instruction of a linked program gets the same fields in the same order (unset ones
      // undefined): one object shape, so that the loops over them at load (checks, map binding,
      // encoding) stay monomorphic.
      const copy: Instruction = {
        opcode: insn.opcode,
        dst: insn.dst,
        src: insn.src,
        offset: insn.offset,
        imm: insn.imm,
        imm64: insn.imm64,
        reference: insn.reference,
        symbol: insn.symbol,
      };
      const key = f.links.get(i);
      if (key !== undefined) {
        const callee = functions.get(key)!;
        const relative = start.get(key)! - (base + f.slots[i]! + 1); // i indexes f.instructions, slots has one more
        copy.imm = relative;
        copy.reference = callee.name;
        if (isLddw(copy) && copy.src === BPF_PSEUDO_FUNC) copy.imm64 = BigInt(relative >>> 0);
      }
      if (i === 0 && f !== entry) copy.symbol = f.name;
      instructions.push(copy);
    });
    if (f.funcTypeId !== undefined) funcInfos.push({ insnOffset: base, typeId: f.funcTypeId });
    for (const l of f.lineInfos) lineInfos.push({ ...l, insnOffset: l.insnOffset + base });
    for (const c of f.coreRelocations) coreRelocations.push({ ...c, instruction: c.instruction + first.get(f.key)! });
  }
  return { instructions, funcInfos, lineInfos, coreRelocations };
}

function slotOf(f: ObjectFunction, functions: ReadonlyMap<FunctionKey, ObjectFunction>): number {
  void functions;
  return Number(f.key.split(':')[1]);
}
