// libbpf-style struct_ops variables: `SEC(".struct_ops") struct tcp_congestion_ops cc = {...}`
// (or ".struct_ops.link"). Each variable becomes a STRUCT_OPS map; its function-pointer members
// name programs through the section's relocations, its data members (such as `name`) are the
// variable's bytes. Pure: the kernel's layout of the struct is applied at load (../load).
import type { Btf } from '../../btf/index.js';
import type { ElfFile } from '../../elf/index.js';
import type { ErrorContext } from '../../errors/index.js';
import { MapType } from '../../uapi/bpf.js';
import type { SymbolIndex } from './symbol-index.js';
import type { MapSpecEntry, StructOpsMemberSpec } from './types.js';

export const STRUCT_OPS_SECTION = /^\.struct_ops(\.link)?$/;
const BPF_F_LINK = 1 << 13;
const R_BPF_64_ABS64 = 2;
const STT_OBJECT = 1;

export function structOpsMaps(elf: ElfFile, btf: Btf | undefined, symbols: SymbolIndex, err: ErrorContext): MapSpecEntry[] {
  const out: MapSpecEntry[] = [];
  for (const section of elf.sections) {
    if (!STRUCT_OPS_SECTION.test(section.name)) continue;
    if (!btf)
      throw err("struct_ops variables need the object's BTF to say their struct type", {
        section: section.name,
        hint: 'compile with clang -g',
      });
    const link = section.name === '.struct_ops.link';
    const data = elf.sectionData(section);
    const relocations = elf.relocationSectionsFor(section).flatMap((rel) => elf.relocations(rel).map((r) => ({ r, rel: rel.name })));
    for (const sym of symbols.inSection(section.index)) {
      if (sym.type !== STT_OBJECT || sym.name === '') continue;
      const v = btf.findType(sym.name, 'var');
      if (!v || v.kind !== 'var') throw err(`struct_ops variable ${sym.name} has no BTF`, { section: section.name, symbol: sym.name });
      const t = btf.resolve(v.type);
      if (t.kind !== 'struct')
        throw err(`struct_ops variable ${sym.name} is a ${t.kind}, not a struct`, {
          section: section.name,
          symbol: sym.name,
          hint: 'declare it as a struct of the kernel (struct tcp_congestion_ops, ...)',
        });
      if (sym.value + t.size > data.length)
        throw err(`struct_ops variable ${sym.name} runs past the end of its section`, {
          section: section.name,
          symbol: sym.name,
          offset: sym.value,
        });
      const members: StructOpsMemberSpec[] = t.members.map((m) => {
        const mt = btf.resolve(m.type);
        const isFunction = mt.kind === 'ptr' && btf.resolve(mt.type).kind === 'func_proto';
        if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0)
          throw err(`struct_ops member ${sym.name}.${m.name} is a bitfield, which the loader cannot copy`, {
            section: section.name,
            symbol: sym.name,
          });
        return { name: m.name, offset: m.bitOffset / 8, size: btf.sizeOf(m.type), isFunction, program: undefined };
      });
      for (const { r, rel } of relocations) {
        if (r.offset < sym.value || r.offset >= sym.value + t.size) continue;
        if (r.type !== R_BPF_64_ABS64)
          throw err(`relocation type ${r.type} in ${section.name} is not R_BPF_64_ABS64`, { section: rel, offset: r.offset });
        const at = r.offset - sym.value;
        const i = members.findIndex((m) => m.offset === at);
        const member = members[i];
        if (member === undefined || !member.isFunction)
          throw err(`relocation at offset ${at} of ${sym.name} is not at a function pointer member`, {
            section: rel,
            symbol: sym.name,
            offset: r.offset,
          });
        if (!r.symbol || r.symbol.type !== 2 /* STT_FUNC */)
          throw err(`${sym.name}.${member.name} points at ${r.symbol?.name ?? 'no symbol'}, which is not a program`, {
            section: rel,
            symbol: sym.name,
            offset: r.offset,
          });
        members[i] = { ...member, program: r.symbol.name };
      }
      out.push({
        name: sym.name,
        section: section.name,
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: t.size,
        maxEntries: 1,
        flags: link ? BPF_F_LINK : 0,
        numaNode: undefined,
        mapExtra: undefined,
        pinning: 'none',
        btfKeyTypeId: 0,
        btfValueTypeId: 0,
        innerMap: undefined,
        freeze: false,
        contents: { kind: 'struct_ops', structName: t.name, link, bytes: data.slice(sym.value, sym.value + t.size), members },
      });
    }
  }
  return out;
}
