// Access strings ("0:1:2") walked through a type graph: the local walk records member names and
// array indexes; the target walk follows the same names in another BTF and reports where the
// field ends up.
import type { Btf, BtfType, Member } from '../btf/index.js';

export interface AccessStep {
  /** Member access: the member's name; array access: undefined. */
  readonly name: string | undefined;
  readonly index: number;
  /** The local member's type id (member access), to check the target member against. */
  readonly localType?: number;
}

export interface FieldLocation {
  /** Bit offset from the root pointer. */
  readonly bitOffset: number;
  /** The field's type (resolved past typedefs and qualifiers). */
  readonly type: BtfType;
  /** Bitfield width, 0 for an ordinary member. */
  readonly bitfieldSize: number;
}

/** The indexes of a CO-RE access string ("0:1:2"): never empty, the first one indexes the root type. */
export type AccessIndexes = readonly [number, ...number[]];

export function parseAccessor(accessor: string): AccessIndexes | undefined {
  if (!/^\d+(:\d+)*$/.test(accessor)) return undefined;
  const [first, ...rest] = accessor.split(':').map(Number);
  return first === undefined ? undefined : [first, ...rest];
}

/** Walks the local type: the steps to repeat in the target, and the field's local location. */
export function localAccess(btf: Btf, rootId: number, indexes: AccessIndexes): { steps: AccessStep[]; field: FieldLocation } | string {
  const [rootIndex, ...rest] = indexes;
  let t = btf.resolve(rootId);
  let bitOffset = rootIndex * btf.sizeOf(rootId) * 8;
  let bitfieldSize = 0;
  const steps: AccessStep[] = [];
  for (const index of rest) {
    if (t.kind === 'struct' || t.kind === 'union') {
      const m: Member | undefined = t.members[index];
      if (!m) return `member index ${index} is out of range for ${t.kind} ${t.name}`;
      // Anonymous members are not steps, as in libbpf: the target may nest the named field in
      // other anonymous members (or none), so it is found by name at any depth there.
      if (m.name !== '') steps.push({ name: m.name, index, localType: m.type });
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      t = btf.resolve(m.type);
    } else if (t.kind === 'array') {
      steps.push({ name: undefined, index });
      bitOffset += index * btf.sizeOf(t.type) * 8;
      bitfieldSize = 0;
      t = btf.resolve(t.type);
    } else {
      return `cannot index into a ${t.kind}`;
    }
  }
  return { steps, field: { bitOffset, type: t, bitfieldSize } };
}

/** Follows `steps` in the target type; undefined when a member is missing or incompatible. */
export function targetAccess(
  btf: Btf,
  rootId: number,
  rootIndex: number,
  steps: readonly AccessStep[],
  local: Btf,
  localRoot: number,
): FieldLocation | undefined {
  let t = btf.resolve(rootId);
  let bitOffset = rootIndex * btf.sizeOf(rootId) * 8;
  let bitfieldSize = 0;
  let lt = local.resolve(localRoot);
  for (const step of steps) {
    if (step.name !== undefined) {
      if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
      const found = findMemberDeep(btf, t, step.name);
      if (!found || step.localType === undefined) return undefined;
      const next = btf.resolve(found.member.type);
      const localNext = local.resolve(step.localType);
      if (!fieldsCompatible(local, localNext, btf, next)) return undefined;
      bitOffset += found.bitOffset;
      bitfieldSize = found.member.bitfieldSize;
      t = next;
      lt = localNext;
    } else {
      if (t.kind !== 'array' || lt.kind !== 'array') return undefined;
      // A flexible array (length 0) may be indexed past its declared end, as in C.
      if (t.length !== 0 && step.index >= t.length) return undefined;
      bitOffset += step.index * btf.sizeOf(t.type) * 8;
      bitfieldSize = 0;
      t = btf.resolve(t.type);
      lt = local.resolve(lt.type);
    }
  }
  return { bitOffset, type: t, bitfieldSize };
}

/** A member by name, looking through anonymous struct and union members (with their offsets). */
function findMemberDeep(
  btf: Btf,
  t: Extract<BtfType, { kind: 'struct' | 'union' }>,
  name: string,
  depth = 0,
): { member: Member; bitOffset: number } | undefined {
  for (const m of t.members) {
    if (m.name === name) return { member: m, bitOffset: m.bitOffset };
  }
  if (depth > 32) return undefined;
  for (const m of t.members) {
    if (m.name !== '') continue;
    const inner = btf.resolve(m.type);
    if (inner.kind !== 'struct' && inner.kind !== 'union') continue;
    const found = findMemberDeep(btf, inner, name, depth + 1);
    if (found) return { member: found.member, bitOffset: m.bitOffset + found.bitOffset };
  }
  return undefined;
}

/** Field compatibility as the kernel docs describe it: same shape, sizes may differ. */
export function fieldsCompatible(local: Btf, a: BtfType, target: Btf, b: BtfType, depth = 0): boolean {
  if (depth > 16) return false;
  const intLike = (t: BtfType): boolean => t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64';
  if (intLike(a) && intLike(b)) return true;
  const composite = (t: BtfType): boolean => t.kind === 'struct' || t.kind === 'union' || t.kind === 'fwd';
  if (composite(a) && composite(b)) return a.name === '' || b.name === '' || essentialName(a.name) === essentialName(b.name);
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'ptr':
    case 'float':
      return true;
    case 'array':
      return fieldsCompatible(local, local.resolve(a.type), target, target.resolve((b as typeof a).type), depth + 1);
    default:
      return true;
  }
}

import { essentialName } from './essential-name.js';
