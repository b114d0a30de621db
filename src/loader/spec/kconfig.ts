// `.kconfig` externs (LINUX_KERNEL_VERSION, CONFIG_*): declared in the object, valued at load from
// the running kernel. The spec only lays them out in the `.kconfig` map's value.
import type { Btf } from '../../btf/index.js';
import type { ErrorContext } from '../../errors/index.js';
import type { SymbolIndex } from './symbol-index.js';
import type { KconfigExtern } from './types.js';

const STB_WEAK = 2;
const MAX_EXTERN_SIZE = 4096;

export function kconfigLayout(btf: Btf, symbols: SymbolIndex, err: ErrorContext): { externs: KconfigExtern[]; size: number } {
  const datasec = btf.findType('.kconfig', 'datasec');
  if (!datasec) return { externs: [], size: 0 };
  const externs: KconfigExtern[] = [];
  let offset = 0;
  for (const v of datasec.vars) {
    const variable = btf.typeById(v.type);
    if (variable.kind !== 'var') throw err('.kconfig entry is not a variable', { section: '.BTF' });
    const size = btf.sizeOf(variable.type);
    // Numbers, booleans and strings of a kernel config: anything this big is a corrupt type.
    if (size > MAX_EXTERN_SIZE)
      throw err(`.kconfig extern ${variable.name} is ${size} bytes; at most ${MAX_EXTERN_SIZE} are supported`, {
        section: '.kconfig',
        symbol: variable.name,
      });
    const align = Math.min(8, Math.max(1, btf.alignOf(variable.type)));
    offset = Math.ceil(offset / align) * align;
    const sym = symbols.named(variable.name);
    externs.push({ name: variable.name, offset, size, typeId: variable.type, weak: sym?.bind === STB_WEAK });
    offset += size;
  }
  return { externs, size: Math.ceil(offset / 8) * 8 };
}
