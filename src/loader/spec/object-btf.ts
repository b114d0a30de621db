// The compiler leaves parts of an object's BTF for the loader to finish: DATASEC sizes and the
// offsets of their variables are zero (only the ELF symbol table knows them), and extern
// variables and functions carry a linkage the kernel refuses. This fills those in and returns a
// new Btf with every type id unchanged, so .BTF.ext records and map type ids stay valid.
import { marshalBtf, parseBtf, type Btf, type BtfType, type DatasecVar } from '../../btf/index.js';

export interface DatasecLayout {
  /** Size of the section, or undefined to keep what the BTF says. */
  sectionSize(name: string): number | undefined;
  /** Offset of a variable in its section (from the symbol table, or the loader's own layout for .kconfig). */
  variableOffset(section: string, variable: string): number | undefined;
}

export function finishObjectBtf(btf: Btf, layout: DatasecLayout): Btf {
  const fixed: BtfType[] = [];
  for (const t of btf) fixed.push(finishType(btf, t, layout));
  return parseBtf(marshalBtf(fixed));
}

function finishType(btf: Btf, t: BtfType, layout: DatasecLayout): BtfType {
  switch (t.kind) {
    case 'datasec': {
      const vars: DatasecVar[] = t.vars.map((v) => {
        const offset = layout.variableOffset(t.name, btf.nameOf(v.type));
        return offset === undefined ? v : { ...v, offset };
      });
      vars.sort((a, b) => a.offset - b.offset);
      const size = layout.sectionSize(t.name);
      return { ...t, size: size ?? t.size, vars };
    }
    case 'var':
      // The kernel accepts only static and allocated-global variables.
      return t.linkage === 'extern' ? { ...t, linkage: 'global' } : t;
    case 'func':
      return t.linkage === 'extern' ? { ...t, linkage: 'global' } : t;
    default:
      return t;
  }
}
