import { DW_AT, DW_TAG } from './constants.js';
import type { Die } from './die.js';
import type { DwarfReader } from './dwarf-reader.js';

// DW_AT_type chains can be made cyclic by a hostile file; real ones are a few links long.
const MAX_TYPE_CHAIN = 32;

const QUALIFIERS: ReadonlySet<number> = new Set([
  DW_TAG.typedef,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.atomic_type,
]);

const TYPE_TAGS: ReadonlySet<number> = new Set([
  DW_TAG.array_type,
  DW_TAG.class_type,
  DW_TAG.enumeration_type,
  DW_TAG.pointer_type,
  DW_TAG.reference_type,
  DW_TAG.structure_type,
  DW_TAG.subroutine_type,
  DW_TAG.typedef,
  DW_TAG.union_type,
  DW_TAG.base_type,
  DW_TAG.const_type,
  DW_TAG.volatile_type,
  DW_TAG.restrict_type,
  DW_TAG.unspecified_type,
  DW_TAG.rvalue_reference_type,
  DW_TAG.atomic_type,
]);

export function isTypeDie(die: Die): boolean {
  return TYPE_TAGS.has(die.tag);
}

export function isDeclaration(dwarf: DwarfReader, die: Die): boolean {
  const v = dwarf.attribute(die, DW_AT.declaration);
  return v?.kind === 'flag' && v.value;
}

/** Follows typedefs and qualifiers to the underlying type; undefined for void or a cycle. */
export function stripTypedefs(dwarf: DwarfReader, die: Die): Die | undefined {
  let cur: Die | undefined = die;
  for (let i = 0; cur && QUALIFIERS.has(cur.tag); i++) {
    if (i >= MAX_TYPE_CHAIN) return undefined;
    cur = dwarf.referencedDie(cur, DW_AT.type);
  }
  return cur;
}

/** A readable name: DW_AT_name when present, else built from the type's shape (`*T`, `[n]T`). */
export function typeName(dwarf: DwarfReader, die: Die | undefined, depth = 0): string {
  if (!die) return 'void';
  const named = dwarf.name(die);
  if (named !== undefined) return named;
  if (depth >= MAX_TYPE_CHAIN) return '?';
  const target = (): string => typeName(dwarf, dwarf.referencedDie(die, DW_AT.type), depth + 1);
  switch (die.tag) {
    case DW_TAG.pointer_type:
      return `*${target()}`;
    case DW_TAG.reference_type:
      return `&${target()}`;
    case DW_TAG.rvalue_reference_type:
      return `&&${target()}`;
    case DW_TAG.const_type:
      return `const ${target()}`;
    case DW_TAG.volatile_type:
      return `volatile ${target()}`;
    case DW_TAG.restrict_type:
      return `restrict ${target()}`;
    case DW_TAG.atomic_type:
      return `_Atomic ${target()}`;
    case DW_TAG.array_type: {
      const dims = arrayDimensions(dwarf, die)
        .map((n) => `[${n ?? ''}]`)
        .join('');
      return `${dims || '[]'}${target()}`;
    }
    case DW_TAG.subroutine_type:
      return 'func';
    case DW_TAG.structure_type:
      return 'struct {...}';
    case DW_TAG.union_type:
      return 'union {...}';
    case DW_TAG.enumeration_type:
      return 'enum {...}';
    default:
      return '?';
  }
}

/** Element counts of an array's dimensions (undefined for an unbounded one). */
export function arrayDimensions(dwarf: DwarfReader, array: Die): (number | undefined)[] {
  const dims: (number | undefined)[] = [];
  for (const sub of dwarf.children(array)) {
    if (sub.tag !== DW_TAG.subrange_type) continue;
    const count = dwarf.constantAttribute(sub, DW_AT.count);
    if (count !== undefined) {
      dims.push(Number(count));
      continue;
    }
    const upper = dwarf.constantAttribute(sub, DW_AT.upper_bound);
    const lower = dwarf.constantAttribute(sub, DW_AT.lower_bound) ?? 0n;
    dims.push(upper === undefined ? undefined : Number(BigInt.asIntN(64, upper) - lower + 1n));
  }
  return dims;
}

/** Size in bytes of a type DIE, following typedefs, qualifiers and arrays; undefined if unknown. */
export function sizeOfType(dwarf: DwarfReader, die: Die | undefined, depth = 0): number | undefined {
  if (!die || depth >= MAX_TYPE_CHAIN) return undefined;
  const byteSize = dwarf.constantAttribute(die, DW_AT.byte_size);
  if (byteSize !== undefined) return Number(byteSize);
  if (QUALIFIERS.has(die.tag)) return sizeOfType(dwarf, dwarf.referencedDie(die, DW_AT.type), depth + 1);
  switch (die.tag) {
    case DW_TAG.pointer_type:
    case DW_TAG.reference_type:
    case DW_TAG.rvalue_reference_type:
      return die.unit.addressSize;
    case DW_TAG.array_type: {
      const elem = sizeOfType(dwarf, dwarf.referencedDie(die, DW_AT.type), depth + 1);
      if (elem === undefined) return undefined;
      let total = elem;
      for (const n of arrayDimensions(dwarf, die)) {
        if (n === undefined || n < 0) return undefined;
        total *= n;
      }
      return total;
    }
    default:
      return undefined;
  }
}

/** The first complete (non-declaration) type DIE named `name`. */
export function findType(dwarf: DwarfReader, name: string): Die | undefined {
  return dwarf.findNamed(name, (d) => isTypeDie(d) && !isDeclaration(dwarf, d));
}
