// The compiler leaves parts of an object's BTF for the loader to finish: DATASEC sizes and the
// offsets of their variables are zero (only the ELF symbol table knows them), and extern
// variables and functions carry a linkage the kernel refuses. This fills those in and returns a
// new Btf with every type id and string offset unchanged, so .BTF.ext records and map type ids
// stay valid.
import { parseBtf, type Btf, type DatasecVar } from '../../btf/index.js';
import { LINKAGES } from '../../btf/types.js';

export interface DatasecLayout {
  /** Size of the section, or undefined to keep what the BTF says. */
  sectionSize(name: string): number | undefined;
  /** Offset of a variable in its section (from the symbol table, or the loader's own layout for .kconfig). */
  variableOffset(section: string, variable: string): number | undefined;
  /** Whether a global function is hidden (STV_HIDDEN): it then gets static linkage, as libbpf gives it. */
  hiddenFunction?(name: string): boolean;
}

const GLOBAL = LINKAGES.indexOf('global');
const STATIC = LINKAGES.indexOf('static');

/**
 * Edits a copy of the blob in place, as libbpf does: only DATASEC, VAR and FUNC records change,
 * none changes length, so nothing else needs decoding or encoding again.
 */
export function finishObjectBtf(btf: Btf, layout: DatasecLayout): Btf {
  const bytes = Uint8Array.from(btf.bytes);
  const view = new DataView(bytes.buffer);
  const le = btf.littleEndian;
  for (let id = btf.firstTypeId; id <= btf.lastTypeId; id++) {
    const kind = btf.kindOf(id);
    if (kind !== 'datasec' && kind !== 'var' && kind !== 'func') continue;
    const at = btf.recordOffset(id);
    const t = btf.typeById(id);
    if (t.kind === 'datasec') {
      const vars: DatasecVar[] = t.vars.map((v) => {
        const offset = layout.variableOffset(t.name, btf.nameOf(v.type));
        return offset === undefined ? v : { ...v, offset };
      });
      vars.sort((a, b) => a.offset - b.offset);
      view.setUint32(at + 8, layout.sectionSize(t.name) ?? t.size, le);
      vars.forEach((v, i) => {
        view.setUint32(at + 12 + i * 12, v.type, le);
        view.setUint32(at + 16 + i * 12, v.offset, le);
        view.setUint32(at + 20 + i * 12, v.size, le);
      });
    } else if (t.kind === 'var' && t.linkage === 'extern') {
      // The kernel accepts only static and allocated-global variables and functions.
      view.setUint32(at + 12, GLOBAL, le);
    } else if (t.kind === 'func' && t.linkage === 'extern') {
      view.setUint32(at + 4, ((view.getUint32(at + 4, le) & ~0xffff) | GLOBAL) >>> 0, le);
    } else if (t.kind === 'func' && t.linkage === 'global' && layout.hiddenFunction?.(t.name)) {
      // A global function is verified alone, against its prototype only (so `long *res` could be
      // NULL); a hidden one cannot be called from outside the object, so it is verified in the
      // caller's context like a static one. usdt.bpf.h's __weak __hidden helpers rely on this.
      view.setUint32(at + 4, ((view.getUint32(at + 4, le) & ~0xffff) | STATIC) >>> 0, le);
    }
  }
  return parseBtf(bytes);
}
