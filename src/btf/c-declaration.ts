// Renders BTF types as C: declarators (pointers to functions, arrays of pointers, qualifiers),
// struct and union bodies with bitfields and the padding that keeps BTF's offsets, and enums.
import { BtfError } from './errors.js';
import { alignOf, MAX_REFERENCE_DEPTH, sizeOf, type TypeLookup } from './layout.js';
import type { BtfType, CompositeType, Enum64Type, EnumType, TypeId } from './types.js';

/** How named types are spelled; the header writer renames clashing names, others keep BTF's. */
export interface CNaming {
  /** Tag of a struct, union, enum or fwd: `foo` in `struct foo`. */
  tag(t: BtfType): string;
  /** Name of a typedef. */
  typedef(t: BtfType): string;
  /** Name of the enumerator at `index` of an enum. */
  enumerator(t: EnumType | Enum64Type, index: number): string;
  /**
   * Whether an anonymous enum may be printed inline here. Printing one twice would define its
   * constants twice, so a header writer answers false after the first time and an integer of
   * the same size is printed instead.
   */
  inlineEnum?(t: EnumType | Enum64Type): boolean;
}

/** Naming that keeps every name exactly as BTF spells it. */
export const BTF_NAMING: CNaming = {
  tag: (t) => t.name,
  typedef: (t) => t.name,
  enumerator: (t, i) => {
    const value = t.values[i];
    if (value === undefined) throw new BtfError(`enum ${JSON.stringify(t.name)} has no enumerator ${i}`, { typeId: t.id });
    return value.name;
  },
};

function tooDeep(id: TypeId): BtfError {
  return new BtfError(`type nesting is cyclic or deeper than ${MAX_REFERENCE_DEPTH}`, { typeId: id });
}

export class CWriter {
  constructor(
    private readonly btf: TypeLookup,
    private readonly naming: CNaming = BTF_NAMING,
  ) {}

  /** `inner` declared with type `id`: declaration('int (*)[4]', 'x') style composition. */
  declaration(id: TypeId, inner: string, indent: string, depth = 0): string {
    if (depth > MAX_REFERENCE_DEPTH) throw tooDeep(id);
    const t = this.btf.typeById(id);
    switch (t.kind) {
      case 'ptr': {
        const tk = this.btf.typeById(this.skipTags(t.type, depth)).kind;
        const wrapped = tk === 'array' || tk === 'func_proto' ? `(*${inner})` : `*${inner}`;
        return this.declaration(t.type, wrapped, indent, depth + 1);
      }
      case 'const':
      case 'volatile':
      case 'restrict': {
        const q = t.kind;
        if (this.btf.typeById(this.skipTags(t.type, depth)).kind === 'ptr') {
          return this.declaration(t.type, `${q} ${inner}`.trimEnd(), indent, depth + 1);
        }
        const rest = this.declaration(t.type, inner, indent, depth + 1);
        // Qualifiers read outermost last ("volatile const int" for const(volatile(int))), and
        // const on an array of const elements would print the qualifier twice.
        const leading = /^(?:const |volatile |restrict )*/.exec(rest)?.[0] ?? '';
        if (leading.includes(`${q} `)) return rest;
        return `${leading}${q} ${rest.slice(leading.length)}`;
      }
      case 'type_tag': {
        const attr = t.attribute ? `__attribute__((${t.name}))` : `__attribute__((btf_type_tag(${JSON.stringify(t.name)})))`;
        return this.declaration(t.type, inner === '' ? attr : `${attr} ${inner}`, indent, depth + 1);
      }
      case 'decl_tag':
        return this.declaration(t.type, inner, indent, depth + 1);
      case 'array':
        return this.declaration(t.type, `${inner}[${t.length}]`, indent, depth + 1);
      case 'func_proto': {
        const params = this.parameters(t.params, indent, depth);
        return this.declaration(t.returnType, `${inner}(${params})`, indent, depth + 1);
      }
      case 'func': {
        const proto = this.btf.typeById(t.type);
        if (proto.kind !== 'func_proto') throw new BtfError(`func refers to a ${proto.kind}, not a func_proto`, { typeId: t.id });
        return this.declaration(proto.id, inner, indent, depth + 1);
      }
      case 'var':
        return this.declaration(t.type, inner, indent, depth + 1);
      default: {
        const base = this.baseName(t, indent, depth);
        return inner === '' ? base : `${base} ${inner}`;
      }
    }
  }

  private skipTags(id: TypeId, depth: number): TypeId {
    let t = this.btf.typeById(id);
    for (let d = depth; t.kind === 'type_tag'; d++) {
      if (d > MAX_REFERENCE_DEPTH) throw tooDeep(id);
      t = this.btf.typeById(t.type);
    }
    return t.id;
  }

  private parameters(params: readonly { name: string; type: TypeId }[], indent: string, depth: number): string {
    if (params.length === 0) return 'void';
    return params
      .map((p, i) => (p.type === 0 && i === params.length - 1 ? '...' : this.declaration(p.type, p.name, indent, depth + 1)))
      .join(', ');
  }

  /** The type as written in front of a declarator: `int`, `struct foo`, an inline anonymous body. */
  baseName(t: BtfType, indent: string, depth = 0): string {
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'int':
      case 'float':
        return t.name;
      case 'struct':
      case 'union':
        return t.name === '' ? this.compositeDefinition(t, indent, depth + 1) : `${t.kind} ${this.naming.tag(t)}`;
      case 'enum':
      case 'enum64':
        if (t.name !== '') return `enum ${this.naming.tag(t)}`;
        if (this.naming.inlineEnum?.(t) === false) return integerOfSize(t.size, t.signed);
        return this.enumDefinition(t, indent);
      case 'fwd':
        return `${t.fwdKind} ${this.naming.tag(t)}`;
      case 'typedef':
        return this.naming.typedef(t);
      default:
        throw new BtfError(`a ${t.kind} cannot be the base of a C declaration`, { typeId: t.id });
    }
  }

  /** `struct name { ... }` (name empty for anonymous), with `__attribute__((packed))` when needed. */
  compositeDefinition(t: CompositeType, indent: string, depth = 0): string {
    if (depth > MAX_REFERENCE_DEPTH) throw tooDeep(t.id);
    const inner = indent + '\t';
    const packed = t.kind === 'struct' && isPacked(this.btf, t);
    const lines: string[] = [];
    let pos = 0;
    for (const m of t.members) {
      if (t.kind === 'struct') {
        const natural = packed ? pos : this.naturalOffset(m.type, m.bitfieldSize, pos);
        if (m.bitOffset > natural) for (const p of padding(pos, m.bitOffset)) lines.push(`${inner}${p}`);
        pos = m.bitOffset + (m.bitfieldSize > 0 ? m.bitfieldSize : this.bitsOf(m.type));
      }
      const decl = this.declaration(m.type, m.name, inner, depth + 1);
      lines.push(`${inner}${decl}${m.bitfieldSize > 0 ? `: ${m.bitfieldSize}` : ''};`);
    }
    if (t.kind === 'struct' && t.members.length > 0) {
      const align = packed ? 8 : alignOf(this.btf, t.id) * 8;
      const naturalEnd = Math.ceil(pos / align) * align;
      if (t.size * 8 > naturalEnd) for (const p of padding(pos, t.size * 8)) lines.push(`${inner}${p}`);
    }
    const head = t.name === '' ? t.kind : `${t.kind} ${this.naming.tag(t)}`;
    const body = lines.length === 0 ? `${head} {}` : `${head} {\n${lines.join('\n')}\n${indent}}`;
    return packed ? `${body} __attribute__((packed))` : body;
  }

  enumDefinition(t: EnumType | Enum64Type, indent: string): string {
    const head = t.name === '' ? 'enum' : `enum ${this.naming.tag(t)}`;
    const inner = indent + '\t';
    const lines = t.values.map((v, i) => `${inner}${this.naming.enumerator(t, i)} = ${enumLiteral(t, v.value)},`);
    const body = lines.length === 0 ? `${head} {}` : `${head} {\n${lines.join('\n')}\n${indent}}`;
    return t.size < 4 ? `${body} __attribute__((packed))` : body;
  }

  private bitsOf(id: TypeId): number {
    try {
      return sizeOf(this.btf, id) * 8;
    } catch (e) {
      if (e instanceof BtfError) return 0; // flexible or unsized: takes no room
      throw e;
    }
  }

  /** Where a C compiler would put this member if it followed the previous one at `pos`. */
  private naturalOffset(type: TypeId, bitfieldSize: number, pos: number): number {
    if (bitfieldSize > 0) {
      const unit = this.bitsOf(type) || 8;
      const fits = Math.floor(pos / unit) === Math.floor((pos + bitfieldSize - 1) / unit);
      return fits ? pos : Math.ceil(pos / unit) * unit;
    }
    const align = alignOf(this.btf, type) * 8;
    return Math.ceil(pos / align) * align;
  }
}

/** Padding lines beyond this mean a corrupt size rather than a real gap. */
const MAX_PADDING_LINES = 1 << 16;

/** Unnamed bitfields filling bits [from, to) without crossing a 64-bit unit. */
function padding(from: number, to: number): string[] {
  if ((to - from) / 64 > MAX_PADDING_LINES) {
    throw new BtfError(`a gap of ${to - from} bits between members is too large to pad`);
  }
  const out: string[] = [];
  let pos = from;
  while (pos < to) {
    const piece = Math.min(to - pos, 64 - (pos % 64));
    out.push(`long: ${piece};`);
    pos += piece;
  }
  return out;
}

/** A struct needs `packed` when a member sits off its alignment or the size is not a multiple of it. */
export function isPacked(btf: TypeLookup, t: CompositeType): boolean {
  let align = 1;
  for (const m of t.members) {
    let a: number;
    try {
      a = alignOf(btf, m.type);
    } catch (e) {
      if (e instanceof BtfError) continue;
      throw e;
    }
    if (m.bitfieldSize === 0 && m.bitOffset % (a * 8) !== 0) return true;
    align = Math.max(align, a);
  }
  return t.size % align !== 0;
}

function integerOfSize(size: number, signed: boolean): string {
  const base = size === 1 ? 'char' : size === 2 ? 'short' : size === 8 ? 'long long' : 'int';
  return `${signed ? 'signed' : 'unsigned'} ${base}`;
}

function enumLiteral(t: EnumType | Enum64Type, value: number | bigint): string {
  if (t.kind === 'enum') return String(value);
  if (t.signed) return `${value}LL`;
  return `${value}ULL`;
}

/** One type as a C declaration, the way a header would declare it. */
export function formatTypeDeclaration(btf: TypeLookup, id: TypeId, naming: CNaming = BTF_NAMING): string {
  const w = new CWriter(btf, naming);
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'struct':
    case 'union':
      return `${w.compositeDefinition(t, '')};`;
    case 'enum':
    case 'enum64':
      return `${w.enumDefinition(t, '')};`;
    case 'fwd':
      return `${t.fwdKind} ${naming.tag(t)};`;
    case 'typedef':
      return `typedef ${w.declaration(t.type, naming.typedef(t), '')};`;
    case 'func':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${w.declaration(t.id, t.name, '')};`;
    case 'var':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${w.declaration(t.type, t.name, '')};`;
    case 'datasec':
      return `/* section ${t.name}, ${t.size} bytes, ${t.vars.length} variables */`;
    default:
      return `${w.declaration(id, '', '')};`;
  }
}
