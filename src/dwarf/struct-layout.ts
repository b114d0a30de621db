import { DW_AT, DW_TAG } from './constants.js';
import type { Die } from './die.js';
import type { DwarfReader } from './dwarf-reader.js';
import { DwarfError } from './errors.js';
import { evaluateMemberLocation } from './location-expression.js';
import { findType, isDeclaration, sizeOfType, stripTypedefs, typeName } from './type-resolution.js';

/** One member of a struct as DWARF describes it. */
export interface StructMember {
  /** Undefined for anonymous members. */
  name: string | undefined;
  /** Byte offset from the start of the struct. */
  offset: number;
  typeName: string;
  /** Size in bytes of the member's type, when DWARF says. */
  size: number | undefined;
  /** Only for bit fields. */
  bitSize?: number;
  /** Only for bit fields: bit offset from the start of the struct. */
  bitOffset?: number;
}

const AGGREGATE_TAGS: ReadonlySet<number> = new Set([DW_TAG.structure_type, DW_TAG.class_type, DW_TAG.union_type]);

/**
 * The complete struct, class or union named `name` (a typedef to one also counts). Go names
 * its structs with the package path, e.g. `runtime.g`.
 */
export function findStruct(dwarf: DwarfReader, name: string): Die | undefined {
  const direct = dwarf.findNamed(name, (d) => AGGREGATE_TAGS.has(d.tag) && !isDeclaration(dwarf, d));
  if (direct) return direct;
  const typedef = dwarf.findNamed(name, (d) => d.tag === DW_TAG.typedef);
  const target = typedef && stripTypedefs(dwarf, typedef);
  return target && AGGREGATE_TAGS.has(target.tag) && !isDeclaration(dwarf, target) ? target : undefined;
}

function memberOffset(dwarf: DwarfReader, member: Die): { offset: number; bitOffset?: number } {
  const loc = dwarf.attribute(member, DW_AT.data_member_location);
  if (loc) {
    // DWARF 3 allowed data4/data8 to mean a location list here; no compiler used that for
    // members, so constants are taken as offsets.
    if (loc.kind === 'constant') return { offset: Number(loc.value) };
    if (loc.kind === 'exprloc' || loc.kind === 'block') {
      const v = evaluateMemberLocation(loc.bytes, member.unit.addressSize, dwarf.sections.littleEndian ?? true);
      return { offset: Number(v) };
    }
    throw new DwarfError(`DW_AT_data_member_location of kind ${loc.kind} is not a constant or expression`, '.debug_info', member.offset);
  }
  const bits = dwarf.constantAttribute(member, DW_AT.data_bit_offset);
  if (bits !== undefined) return { offset: Number(bits / 8n), bitOffset: Number(bits) };
  // Union members, and some producers' first member, carry no location: offset 0.
  return { offset: 0 };
}

/** Members of a struct DIE in declaration order. */
export function membersOf(dwarf: DwarfReader, struct: Die): StructMember[] {
  const out: StructMember[] = [];
  for (const child of dwarf.children(struct)) {
    if (child.tag !== DW_TAG.member) continue;
    const type = dwarf.referencedDie(child, DW_AT.type);
    const { offset, bitOffset } = memberOffset(dwarf, child);
    const m: StructMember = { name: dwarf.name(child), offset, typeName: typeName(dwarf, type), size: sizeOfType(dwarf, type) };
    const bitSize = dwarf.constantAttribute(child, DW_AT.bit_size);
    if (bitSize !== undefined) {
      m.bitSize = Number(bitSize);
      if (bitOffset !== undefined) m.bitOffset = bitOffset;
    }
    out.push(m);
  }
  return out;
}

/** Members of the struct named `structName`; undefined when there is no such struct. */
export function structMembers(dwarf: DwarfReader, structName: string): StructMember[] | undefined {
  const s = findStruct(dwarf, structName);
  return s && membersOf(dwarf, s);
}

/**
 * Byte offset of `member` in the struct named `structName`; undefined if either is missing. Only
 * the member's own location is read: the types of the struct's members, which structMembers
 * resolves for every one of them, are not needed here.
 */
export function structMemberOffset(dwarf: DwarfReader, structName: string, member: string): number | undefined {
  const s = findStruct(dwarf, structName);
  if (!s) return undefined;
  for (const child of dwarf.children(s)) {
    if (child.tag === DW_TAG.member && dwarf.name(child) === member) return memberOffset(dwarf, child).offset;
  }
  return undefined;
}

/** Size in bytes of the type named `name` (struct, base type, typedef...); undefined if unknown. */
export function typeSize(dwarf: DwarfReader, name: string): number | undefined {
  const die = findStruct(dwarf, name) ?? findType(dwarf, name);
  return sizeOfType(dwarf, die);
}
