// Which BTF kinds the running kernel accepts, probed once per process by loading tiny blobs that
// use each one. Objects are then marshalled with what is missing rewritten (marshalBtf downgrades).
import { ALL_BTF_FEATURES, marshalBtf, type BtfFeatures, type BtfType } from '../../btf/index.js';
import { btfLoadRaw, closeFd } from '../../syscall/index.js';

let probed: BtfFeatures | undefined;

const INT: BtfType = { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false };

/** Loads a blob of `types` (ids from 1; type 1 is always an int) and says whether the kernel took it. */
function accepts(types: BtfType[]): boolean {
  const r = btfLoadRaw(marshalBtf([INT, ...types]));
  if (r.ret >= 0) {
    closeFd(r.ret);
    return true;
  }
  return false;
}

/** Which BTF kinds the running kernel accepts, probed once per process by loading tiny blobs that use each one. */
export function btfFeatures(): BtfFeatures {
  if (probed) return probed;
  const proto: BtfType = { kind: 'func_proto', id: 2, name: '', returnType: 1, params: [] };
  probed = {
    datasec: accepts([
      { kind: 'var', id: 2, name: 'x', type: 1, linkage: 'global' },
      { kind: 'datasec', id: 3, name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] },
    ]),
    funcLinkage: accepts([proto, { kind: 'func', id: 3, name: 'f', type: 2, linkage: 'global' }]),
    float: accepts([{ kind: 'float', id: 2, name: 'float', size: 4 }]),
    declTag: accepts([{ kind: 'decl_tag', id: 2, name: 'tag', type: 1, componentIndex: -1, attribute: false }]),
    typeTag: accepts([
      { kind: 'type_tag', id: 2, name: 'tag', type: 1, attribute: false },
      { kind: 'ptr', id: 3, name: '', type: 2 },
    ]),
    enum64: accepts([{ kind: 'enum64', id: 2, name: 'e', size: 8, signed: false, values: [{ name: 'A', value: 1n }] }]),
  };
  return probed;
}

export { ALL_BTF_FEATURES };
