// TYPE_MATCHES: whether a local type's shape is found in a target type, following the rules the
// kernel docs give for bpf_core_type_matches: same kind; composites have every local member, by
// name, with matching types; enums share at least one enumerator name (all, for non-empty
// locals, must exist); ints have the same size and signedness; pointers and arrays recurse.
import type { Btf, BtfType } from '../btf/index.js';
import { essentialName } from './essential-name.js';

/** Whether local type `localId` matches target type `targetId` by the rules of bpf_core_type_matches (the TYPE_MATCHES relocation). */
export function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, depth = 0, behindPointer = false): boolean {
  if (depth > 32) return false;
  const a = skipQualifiers(local, localId);
  const b = skipQualifiers(target, targetId);
  if (a.kind === 'fwd' || b.kind === 'fwd') return essentialName(a.name) === essentialName(b.name);
  const enumLike = (t: BtfType): boolean => t.kind === 'enum' || t.kind === 'enum64';
  if (enumLike(a) && enumLike(b)) {
    const av = (a as Extract<BtfType, { kind: 'enum' | 'enum64' }>).values;
    const bv = new Set((b as Extract<BtfType, { kind: 'enum' | 'enum64' }>).values.map((v) => essentialName(v.name)));
    return av.every((v) => bv.has(essentialName(v.name)));
  }
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'int': {
      const bi = b as typeof a;
      // Plain char's signedness is the compiler's choice (the kernel builds with -funsigned-char).
      if (a.name === 'char' && bi.name === 'char') return a.size === bi.size;
      return a.size === bi.size && a.signed === bi.signed;
    }
    case 'ptr':
      return typesMatch(local, a.type, target, (b as typeof a).type, depth + 1, true);
    case 'array': {
      const ba = b as typeof a;
      return a.length === ba.length && typesMatch(local, a.type, target, ba.type, depth + 1, behindPointer);
    }
    case 'struct':
    case 'union': {
      const bs = b as typeof a;
      if (depth > 0 && essentialName(a.name) !== essentialName(bs.name)) return false;
      // Behind a pointer a composite is only named (it may be a forward declaration), as in C.
      if (behindPointer) return true;
      return a.members.every((m) => {
        const other = bs.members.find((x) => x.name === m.name);
        return other !== undefined && typesMatch(local, m.type, target, other.type, depth + 1);
      });
    }
    case 'func_proto': {
      const bp = b as typeof a;
      return (
        a.params.length === bp.params.length &&
        typesMatch(local, a.returnType, target, bp.returnType, depth + 1) &&
        a.params.every((p, i) => {
          const q = bp.params[i];
          return q !== undefined && typesMatch(local, p.type, target, q.type, depth + 1);
        })
      );
    }
    default:
      return true;
  }
}

/** Typedefs are matched by their target; qualifiers never matter. */
function skipQualifiers(btf: Btf, id: number): BtfType {
  return btf.resolve(id);
}
