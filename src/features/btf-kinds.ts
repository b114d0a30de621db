// BTF kinds the kernel accepts, each probed by loading a tiny blob that uses it (the loader's own
// probes, in src/loader/load/btf-features.ts, answer the same question for marshalling).
import { marshalBtf, type BtfType } from '../btf/index.js';
import { btfLoadRaw, closeFd } from '../syscall/index.js';
import { answer, type FeatureAnswer } from './feature.js';

const INT: BtfType = { kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false };

/** A BTF feature the kernel may accept: BTF itself, or a kind or flag added later. */
export type BtfKindFeatureName = 'btf' | 'func' | 'datasec' | 'func_linkage' | 'float' | 'decl_tag' | 'type_tag' | 'enum64';

const KINDS: Record<BtfKindFeatureName, { since: string; types: BtfType[] }> = {
  btf: { since: '4.18', types: [] },
  func: {
    since: '5.0',
    types: [
      { kind: 'func_proto', id: 2, name: '', returnType: 1, params: [] },
      { kind: 'func', id: 3, name: 'f', type: 2, linkage: 'static' },
    ],
  },
  datasec: {
    since: '5.2',
    types: [
      { kind: 'var', id: 2, name: 'x', type: 1, linkage: 'global' },
      { kind: 'datasec', id: 3, name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] },
    ],
  },
  func_linkage: {
    since: '5.6',
    types: [
      { kind: 'func_proto', id: 2, name: '', returnType: 1, params: [] },
      { kind: 'func', id: 3, name: 'f', type: 2, linkage: 'global' },
    ],
  },
  float: { since: '5.13', types: [{ kind: 'float', id: 2, name: 'float', size: 4 }] },
  // A declaration tag annotates a typedef, struct, union, variable or function, never a bare int.
  decl_tag: {
    since: '5.16',
    types: [
      { kind: 'typedef', id: 2, name: 't', type: 1 },
      { kind: 'decl_tag', id: 3, name: 'tag', type: 2, componentIndex: -1, attribute: false },
    ],
  },
  type_tag: {
    since: '5.17',
    types: [
      { kind: 'type_tag', id: 2, name: 'tag', type: 1, attribute: false },
      { kind: 'ptr', id: 3, name: '', type: 2 },
    ],
  },
  enum64: { since: '6.0', types: [{ kind: 'enum64', id: 2, name: 'e', size: 8, signed: false, values: [{ name: 'A', value: 1n }] }] },
};

/** Every BtfKindFeatureName, in probing order. */
export const BTF_KIND_FEATURES = Object.keys(KINDS) as BtfKindFeatureName[];

/** Whether the kernel accepts BTF with this kind, probed by loading a small blob that uses it ("btf/<kind>"; cached). */
export function btfKind(kind: BtfKindFeatureName): FeatureAnswer {
  const k = KINDS[kind];
  return answer(`btf/${kind}`, k.since, () => {
    const r = btfLoadRaw(marshalBtf([INT, ...k.types]));
    if (r.ret >= 0) {
      closeFd(r.ret);
      return { supported: true, detail: 'loaded' };
    }
    return { supported: false, detail: `BPF_BTF_LOAD: errno ${-r.ret}` };
  });
}

/** The answer of btfKind for every BTF_KIND_FEATURES entry. */
export function btfKinds(): FeatureAnswer[] {
  return BTF_KIND_FEATURES.map(btfKind);
}
