// `__ksym` externs: kernel functions (kfuncs) and kernel variables an object declares in the
// `.ksyms` section and never defines. The spec lists them with what kind each is; they are
// resolved against the running kernel (its BTF, or /proc/kallsyms) when the programs load.
import type { Btf } from '../../btf/index.js';
import type { SymbolIndex } from './symbol-index.js';
import type { KsymExtern } from './types.js';

const STB_WEAK = 2;
const SHN_UNDEF = 0;

/** The externs of DATASEC ".ksyms", plus undefined symbols the BTF does not describe (typeless). */
export function ksymExterns(btf: Btf | undefined, symbols: SymbolIndex): KsymExtern[] {
  const out: KsymExtern[] = [];
  const weak = (name: string): boolean => symbols.inSection(SHN_UNDEF).some((s) => s.name === name && s.bind === STB_WEAK);
  const datasec = btf?.findType('.ksyms', 'datasec');
  if (btf && datasec) {
    for (const v of datasec.vars) {
      const t = btf.typeById(v.type);
      if (t.kind === 'func') {
        out.push({ name: t.name, kind: 'func', typeId: t.id, typeless: false, weak: weak(t.name) });
      } else if (t.kind === 'var') {
        // `extern const void sym __ksym` has no type: only an address, from kallsyms.
        const typeless = t.type === 0 || btf.resolve(t.type).kind === 'void';
        out.push({ name: t.name, kind: 'var', typeId: typeless ? 0 : t.type, typeless, weak: weak(t.name) });
      }
    }
  }
  return out;
}
