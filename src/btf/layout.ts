// Sizes, alignments and member positions computed from BTF, with reference cycles reported
// as errors instead of looping.
import { BtfError } from './errors.js';
import type { BtfType, Member, TypeId } from './types.js';

/** What layout needs from a spec. */
export interface TypeLookup {
  typeById(id: TypeId): BtfType;
  readonly lastTypeId: TypeId;
}

/** Longest chain of references followed before declaring a cycle. Real BTF needs a few dozen. */
export const MAX_REFERENCE_DEPTH = 512;

function cycle(id: TypeId): BtfError {
  return new BtfError(`reference chain is cyclic or deeper than ${MAX_REFERENCE_DEPTH}`, { typeId: id });
}

function isTransparent(t: BtfType): t is Extract<BtfType, { kind: 'typedef' | 'const' | 'volatile' | 'restrict' | 'type_tag' }> {
  return t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag';
}

export function resolveType(btf: TypeLookup, id: TypeId): BtfType {
  let t = btf.typeById(id);
  for (let depth = 0; isTransparent(t); depth++) {
    if (depth > MAX_REFERENCE_DEPTH) throw cycle(id);
    t = btf.typeById(t.type);
  }
  return t;
}

export function sizeOf(btf: TypeLookup, id: TypeId): number {
  let multiplier = 1;
  let t = btf.typeById(id);
  for (let depth = 0; ; depth++) {
    if (depth > MAX_REFERENCE_DEPTH) throw cycle(id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
      case 'struct':
      case 'union':
      case 'datasec': {
        const size = multiplier * t.size;
        if (!Number.isSafeInteger(size)) throw new BtfError('size overflows', { typeId: id });
        return size;
      }
      case 'ptr':
        return multiplier * 8;
      case 'array':
        multiplier *= t.length;
        t = btf.typeById(t.type);
        break;
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
      case 'var':
        t = btf.typeById(t.type);
        break;
      default:
        throw new BtfError(`type of kind ${t.kind} has no size`, { typeId: t.id });
    }
  }
}

function largestPowerOfTwoDividing(n: number): number {
  if (n <= 0) return 1;
  let a = 1;
  while (a < 16 && n % (a * 2) === 0) a *= 2;
  return a;
}

/**
 * Alignment in bytes. Scalars align to their size (up to 16); a struct to its most aligned
 * member, or 1 when a member sits off its natural alignment (the struct was packed).
 */
export function alignOf(btf: TypeLookup, id: TypeId, depth = 0): number {
  if (depth > MAX_REFERENCE_DEPTH) throw cycle(id);
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
    case 'float':
      return largestPowerOfTwoDividing(t.size);
    case 'ptr':
      return 8;
    case 'array':
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
    case 'var':
      return alignOf(btf, t.type, depth + 1);
    case 'struct':
    case 'union': {
      let align = 1;
      for (const m of t.members) {
        const a = alignOf(btf, m.type, depth + 1);
        if (m.bitfieldSize === 0 && m.bitOffset % (a * 8) !== 0) return 1;
        align = Math.max(align, a);
      }
      return t.size % align === 0 ? align : 1;
    }
    default:
      throw new BtfError(`type of kind ${t.kind} has no alignment`, { typeId: t.id });
  }
}

/** A member found by name, with its bit offset from the outermost struct or union. */
export interface MemberLocation {
  readonly member: Member;
  /** Offset from the start of the outermost struct, in bits, through anonymous members. */
  readonly bitOffset: number;
}

export function findMember(btf: TypeLookup, id: TypeId, name: string, depth = 0): MemberLocation | undefined {
  if (depth > MAX_REFERENCE_DEPTH) throw cycle(id);
  const t = resolveType(btf, id);
  if (t.kind !== 'struct' && t.kind !== 'union') {
    throw new BtfError(`type of kind ${t.kind} has no members`, { typeId: t.id });
  }
  for (const m of t.members) {
    if (m.name === name) return { member: m, bitOffset: m.bitOffset };
  }
  for (const m of t.members) {
    if (m.name !== '') continue;
    const inner = resolveType(btf, m.type);
    if (inner.kind !== 'struct' && inner.kind !== 'union') continue;
    const found = findMember(btf, inner.id, name, depth + 1);
    if (found !== undefined) return { member: found.member, bitOffset: m.bitOffset + found.bitOffset };
  }
  return undefined;
}
