// Splits executable sections into functions and resolves each instruction's ELF relocation: map
// references, global data addresses, bpf-to-bpf calls and callback addresses. Calls are kept as
// links to the callee function; program.ts lays the functions out and turns links into offsets.
import { isLddw, type Instruction } from '../../asm/index.js';
import { decodeUniformInstructions } from '../../asm/decode.js';
import {
  BPF_CALL,
  BPF_JMP,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
} from '../../asm/opcodes.js';
import type { BtfExt, LineInfo } from '../../btf/index.js';
import { AsmError } from '../../asm/index.js';
import { ElfError, type ElfFile, type ElfSection, type ElfSymbol } from '../../elf/index.js';
import type { ErrorContext } from '../../errors/index.js';
import { DATA_SECTION } from './maps.js';
import type { SymbolIndex } from './symbol-index.js';
import type { KsymExtern } from './types.js';

const SHF_EXECINSTR = 0x4;
const STT_SECTION = 3;
const STT_FUNC = 2;
const STB_LOCAL = 0;
const SHN_UNDEF = 0;
const R_BPF_64_64 = 1;
const R_BPF_64_ABS64 = 2;
const R_BPF_64_ABS32 = 3;
const R_BPF_64_32 = 10;
const CALL = BPF_JMP | BPF_CALL;

/** A function's identity: section index and first slot. */
export type FunctionKey = string;
const keyOf = (section: number, slot: number): FunctionKey => `${section}:${slot}`;

export interface ObjectFunction {
  readonly key: FunctionKey;
  readonly name: string;
  readonly section: ElfSection;
  readonly global: boolean;
  /**
   * Decoded with every field present (decodeUniformInstructions), relocations applied. The linker
   * copies them, or takes them as they are when only one program uses the function.
   */
  readonly instructions: Instruction[];
  /** Slot of each instruction relative to the function's start; the extra last entry is the length. */
  readonly slots: number[];
  /** Instruction index → callee (calls and callback address loads). */
  readonly links: Map<number, FunctionKey>;
  readonly funcTypeId: number | undefined;
  /** The function's first slot in its section. */
  readonly start: number;
  /**
   * The section's line_info records that fall in this function, offsets still relative to the
   * section (shared with .BTF.ext): the linker re-bases them as it copies them, once.
   */
  readonly lineInfos: readonly LineInfo[];
  /** Instruction index → CO-RE relocation. */
  readonly coreRelocations: { instruction: number; typeId: number; accessor: string; kind: number }[];
}

export interface RelocationTargets {
  /** Map name for a symbol in ".maps" or "maps", given the symbol. */
  mapOf(symbol: ElfSymbol, addend: number): string | undefined;
  /** Offset of a `.kconfig` extern in the kconfig map, given its name. */
  kconfigOffset(name: string): number | undefined;
  /** The `__ksym` extern of that name. */
  ksym(name: string): KsymExtern | undefined;
}

export function isProgramSection(s: ElfSection): boolean {
  return (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0;
}

/** Every function of every executable section, keyed by FunctionKey. */
export function readFunctions(
  elf: ElfFile,
  symbols: SymbolIndex,
  ext: BtfExt | undefined,
  targets: RelocationTargets,
  err: ErrorContext,
): Map<FunctionKey, ObjectFunction> {
  const out = new Map<FunctionKey, ObjectFunction>();
  const order = elf.header.byteOrder;
  for (const section of elf.sections) {
    if (!isProgramSection(section)) continue;
    let insns: Instruction[];
    const slots: number[] = []; // each instruction's slot, then the total
    try {
      insns = decodeUniformInstructions(elf.sectionData(section), order, slots);
    } catch (e) {
      if (e instanceof AsmError) throw err(e.message, { section: section.name, offset: e.byteOffset }, e);
      throw e;
    }
    const total = slots[insns.length]!; // slots ends with the total slot count
    // A plain array: a typed array's allocation costs more than filling this one. Past the end
    // it reads undefined, as a typed array would.
    const indexOfSlot = new Array<number>(total).fill(-1);
    for (let i = 0; i < insns.length; i++) indexOfSlot[slots[i]!] = i; // slots has insns.length + 1 entries

    // Call and callback targets by instruction index, beside the instructions rather than on them
    // (an extra property would give those objects a shape of their own, and every loop over
    // instructions would slow down for it).
    const callTargets = new Map<number, { section: number; slot: number }>();
    applyRelocations(elf, section, insns, indexOfSlot, callTargets, targets, err);

    const funcs = symbols
      .inSection(section.index)
      .filter((s) => s.type === STT_FUNC)
      .sort((a, b) => a.value - b.value);
    if (funcs.length === 0) {
      throw err('executable section has no function symbols', {
        section: section.name,
        hint: 'the object was stripped; BPF objects need their symbol table',
      });
    }
    const funcInfos = ext?.funcInfos.get(section.name) ?? [];
    const lineInfos = ext?.lineInfos.get(section.name) ?? [];
    const coreRelocations = ext?.coreRelocations.get(section.name) ?? [];
    for (let f = 0; f < funcs.length; f++) {
      const sym = funcs[f]!; // f < funcs.length
      if (sym.value % 8 !== 0)
        throw err('function does not start on an instruction boundary', { section: section.name, symbol: sym.name, offset: sym.value });
      const start = sym.value / 8;
      const following = funcs[f + 1];
      const end = sym.size > 0 ? start + sym.size / 8 : following !== undefined ? following.value / 8 : total;
      const first = indexOfSlot[start];
      if (first === undefined || first < 0 || end > total)
        throw err("function symbol lies outside its section's instructions", {
          section: section.name,
          symbol: sym.name,
          offset: sym.value,
        });
      let last = first;
      while (last < insns.length && slots[last]! < end) last++; // slots has insns.length + 1 entries
      const links = new Map<number, FunctionKey>();
      const mine = insns.slice(first, last);
      for (const [index, target] of callTargets) {
        if (index >= first && index < last) links.set(index - first, keyOf(target.section, target.slot));
      }
      // Calls inside the same section with no relocation (the compiler resolved them itself).
      for (let i = 0; i < mine.length; i++) {
        const insn = mine[i]!; // i < mine.length
        if (insn.opcode === CALL && insn.src === BPF_PSEUDO_CALL && !links.has(i)) {
          links.set(i, keyOf(section.index, slots[first + i]! + insn.imm + 1)); // first + i < last <= insns.length
        }
      }
      const relSlots = new Array<number>(last + 1 - first);
      for (let i = first; i <= last; i++) relSlots[i - first] = slots[i]! - start; // last <= insns.length
      let funcTypeId: number | undefined;
      for (const r of funcInfos) {
        if (r.insnOffset === start) {
          funcTypeId = r.typeId;
          break;
        }
      }
      const mineLines: LineInfo[] = [];
      for (const r of lineInfos) if (r.insnOffset >= start && r.insnOffset < end) mineLines.push(r);
      const mineCore: ObjectFunction['coreRelocations'] = [];
      for (const r of coreRelocations) {
        if (r.insnOffset < start || r.insnOffset >= end) continue;
        const index = indexOfSlot[r.insnOffset];
        if (index === undefined || index < 0)
          throw err('CO-RE relocation points into the middle of an instruction', { section: section.name, offset: r.insnOffset * 8 });
        mineCore.push({ instruction: index - first, typeId: r.typeId, accessor: r.accessor, kind: r.kind });
      }
      const key = keyOf(section.index, start);
      out.set(key, {
        key,
        name: sym.name,
        section,
        global: sym.bind !== STB_LOCAL,
        instructions: mine,
        slots: relSlots,
        links,
        funcTypeId,
        start,
        lineInfos: mineLines,
        coreRelocations: mineCore,
      });
    }
  }
  return out;
}

function applyRelocations(
  elf: ElfFile,
  section: ElfSection,
  insns: Instruction[],
  indexOfSlot: readonly number[],
  callTargets: Map<number, { section: number; slot: number }>,
  targets: RelocationTargets,
  err: ErrorContext,
): void {
  for (const rel of elf.relocationSectionsFor(section)) {
    let relocations;
    try {
      relocations = elf.relocations(rel);
    } catch (e) {
      throw err(
        `relocations cannot be read: ${(e as Error).message}`,
        { section: rel.name, ...(e instanceof ElfError && e.offset !== undefined ? { offset: e.offset } : {}) },
        e,
      );
    }
    for (const r of relocations) {
      const index = r.offset % 8 === 0 ? indexOfSlot[r.offset / 8] : undefined;
      const insn: Instruction | undefined = index === undefined || index < 0 ? undefined : insns[index];
      if (index === undefined || insn === undefined) {
        throw err('relocation does not point at an instruction', {
          section: section.name,
          offset: r.offset,
          hint: `relocation section ${rel.name}`,
        });
      }
      const sym = r.symbol;
      if (!sym)
        throw err(`relocation refers to symbol index ${r.symbolIndex}, which does not exist`, { section: section.name, offset: r.offset });
      if (r.type === R_BPF_64_ABS64 || r.type === R_BPF_64_ABS32) continue; // debug data, not code
      if (r.type !== R_BPF_64_64 && r.type !== R_BPF_64_32)
        throw err(`unsupported relocation type ${r.type}`, symWhere(section, r.offset, sym));
      const target = sym.sectionIndex === SHN_UNDEF ? undefined : elf.sections[sym.sectionIndex];

      if (insn.opcode === CALL) {
        if (insn.src !== BPF_PSEUDO_CALL) throw err('relocated call is not a bpf-to-bpf call', symWhere(section, r.offset, sym));
        const kfunc = target ? undefined : targets.ksym(sym.name);
        if (kfunc?.kind === 'func') {
          // A kfunc call: its BTF id (and module) are filled in at load (load/externs.ts).
          insn.src = BPF_PSEUDO_KFUNC_CALL;
          insn.imm = 0;
          insn.reference = sym.name;
          continue;
        }
        if (!target || !isProgramSection(target)) {
          throw err(`call to ${sym.name || 'an undefined function'}, which is not a BPF function in this object`, {
            ...symWhere(section, r.offset, sym),
            hint: 'declare kernel functions (kfuncs) with __ksym in an object with BTF (clang -g)',
          });
        }
        callTargets.set(index, { section: target.index, slot: sym.value / 8 + insn.imm + 1 });
        continue;
      }
      if (!isLddw(insn))
        throw err(
          `relocation on an instruction with opcode 0x${insn.opcode.toString(16)} (only lddw and calls are relocated)`,
          symWhere(section, r.offset, sym),
        );
      // The low half of the lddw's immediate: imm itself, which decoding and every rewrite below
      // keep equal to imm64's low 32 bits (no BigInt arithmetic needed).
      const low = insn.imm;

      if (!target) {
        const offset = targets.kconfigOffset(sym.name);
        if (offset === undefined) {
          if (targets.ksym(sym.name)) {
            // A kernel symbol: its BTF id or address is filled in at load (load/externs.ts).
            insn.src = BPF_PSEUDO_BTF_ID;
            insn.reference = sym.name;
            insn.imm = 0;
            insn.imm64 = 0n;
            continue;
          }
          throw err(`reference to undefined symbol ${sym.name}`, {
            ...symWhere(section, r.offset, sym),
            hint: 'externs must be declared __kconfig or __ksym in an object with BTF (clang -g)',
          });
        }
        setMapValue(insn, '.kconfig', offset + low);
        continue;
      }
      if (target.name === '.maps' || target.name === 'maps') {
        const name = targets.mapOf(sym, low);
        if (name === undefined)
          throw err('reference to a map that is not defined', {
            ...symWhere(section, r.offset, sym),
            hint: `no map definition at offset ${sym.value + low} of ${target.name}`,
          });
        insn.src = BPF_PSEUDO_MAP_FD;
        insn.reference = name;
        insn.imm = 0;
        insn.imm64 = 0n;
        continue;
      }
      if (DATA_SECTION.test(target.name)) {
        const base = sym.type === STT_SECTION ? 0 : sym.value;
        setMapValue(insn, target.name, base + low);
        continue;
      }
      if (isProgramSection(target)) {
        const byteOffset = (sym.type === STT_SECTION ? 0 : sym.value) + low;
        if (byteOffset % 8 !== 0) throw err('callback address is not on an instruction boundary', symWhere(section, r.offset, sym));
        insn.src = BPF_PSEUDO_FUNC;
        callTargets.set(index, { section: target.index, slot: byteOffset / 8 });
        continue;
      }
      throw err(`lddw refers to section ${target.name}, which is neither maps, global data nor code`, symWhere(section, r.offset, sym));
    }
  }
}

/** Where an error about a relocation points: built only when there is one to throw. */
function symWhere(section: ElfSection, offset: number, sym: ElfSymbol): { section: string; offset: number; symbol: string } {
  return { section: section.name, offset, symbol: sym.name || `section symbol ${sym.section ?? sym.sectionIndex}` };
}

function setMapValue(insn: Instruction, map: string, offset: number): void {
  insn.src = BPF_PSEUDO_MAP_VALUE;
  insn.reference = map;
  insn.imm = 0;
  insn.imm64 = BigInt(offset >>> 0) << 32n;
}
