// The decoded form of BTF types: plain readonly objects discriminated by `kind`, referring to
// other types by id so that cycles (a struct holding a pointer to itself) stay representable.

/** A BTF type id. 0 is void. */
export type TypeId = number;

/** Linkage of a FUNC or VAR: `static` (file-local), `global`, or `extern` (defined elsewhere). */
export type Linkage = 'static' | 'global' | 'extern';

interface Named {
  /** Type id in the spec it came from (ignored when marshalling). */
  readonly id: TypeId;
  /** Empty for anonymous types. */
  readonly name: string;
}

/** BTF_KIND void: type id 0, the absence of a type. */
export interface VoidType extends Named {
  readonly kind: 'void';
}

/** BTF_KIND_INT: an integer, char or bool of `size` bytes. */
export interface IntType extends Named {
  readonly kind: 'int';
  /** Storage size in bytes. */
  readonly size: number;
  /** BTF_INT_OFFSET: bit offset of the value inside its storage (legacy bitfields). */
  readonly bitOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  readonly bits: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
}

/** BTF_KIND_PTR: a pointer to `type`. */
export interface PointerType extends Named {
  readonly kind: 'ptr';
  readonly type: TypeId;
}

/** BTF_KIND_ARRAY: `length` elements of `type`, indexed by `indexType`. */
export interface ArrayType extends Named {
  readonly kind: 'array';
  readonly type: TypeId;
  readonly indexType: TypeId;
  readonly length: number;
}

/** One member of a struct or union. */
export interface Member {
  readonly name: string;
  readonly type: TypeId;
  /** Offset from the start of the struct or union, in bits. */
  readonly bitOffset: number;
  /** Width of a bitfield in bits, 0 for an ordinary member. */
  readonly bitfieldSize: number;
}

/** BTF_KIND_STRUCT: a struct of `size` bytes. */
export interface StructType extends Named {
  readonly kind: 'struct';
  readonly size: number;
  readonly members: readonly Member[];
}

/** BTF_KIND_UNION: a union of `size` bytes. */
export interface UnionType extends Named {
  readonly kind: 'union';
  readonly size: number;
  readonly members: readonly Member[];
}

/** One enumerator of a 32-bit enum. */
export interface EnumValue {
  readonly name: string;
  readonly value: number;
}

/** BTF_KIND_ENUM: an enum with 32-bit values, stored in `size` bytes. */
export interface EnumType extends Named {
  readonly kind: 'enum';
  readonly size: number;
  /** kind_flag: values are signed. */
  readonly signed: boolean;
  readonly values: readonly EnumValue[];
}

/** One enumerator of a 64-bit enum. */
export interface Enum64Value {
  readonly name: string;
  readonly value: bigint;
}

/** BTF_KIND_ENUM64: an enum with 64-bit values, stored in `size` bytes. */
export interface Enum64Type extends Named {
  readonly kind: 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly Enum64Value[];
}

/** BTF_KIND_FWD: a forward declaration of a struct or union. */
export interface FwdType extends Named {
  readonly kind: 'fwd';
  /** kind_flag: a forward declaration of a union rather than a struct. */
  readonly fwdKind: 'struct' | 'union';
}

/** BTF_KIND_TYPEDEF: a name for `type`. */
export interface TypedefType extends Named {
  readonly kind: 'typedef';
  readonly type: TypeId;
}

/** BTF_KIND_VOLATILE: `type` qualified volatile. */
export interface VolatileType extends Named {
  readonly kind: 'volatile';
  readonly type: TypeId;
}

/** BTF_KIND_CONST: `type` qualified const. */
export interface ConstType extends Named {
  readonly kind: 'const';
  readonly type: TypeId;
}

/** BTF_KIND_RESTRICT: `type` qualified restrict. */
export interface RestrictType extends Named {
  readonly kind: 'restrict';
  readonly type: TypeId;
}

/** BTF_KIND_FUNC: a function (a subprogram), whose signature is the FUNC_PROTO `type`. */
export interface FuncType extends Named {
  readonly kind: 'func';
  /** A FUNC_PROTO. */
  readonly type: TypeId;
  readonly linkage: Linkage;
}

/** One parameter of a function prototype. */
export interface FuncParam {
  readonly name: string;
  /** 0 on the last parameter of a variadic function. */
  readonly type: TypeId;
}

/** BTF_KIND_FUNC_PROTO: a function signature. */
export interface FuncProtoType extends Named {
  readonly kind: 'func_proto';
  readonly returnType: TypeId;
  readonly params: readonly FuncParam[];
}

/** BTF_KIND_VAR: a global or static variable of `type`. */
export interface VarType extends Named {
  readonly kind: 'var';
  readonly type: TypeId;
  readonly linkage: Linkage;
}

/** One variable placed in a data section: its type, byte offset and size in the section. */
export interface DatasecVar {
  /** A VAR (or FUNC for extern ksyms). */
  readonly type: TypeId;
  readonly offset: number;
  readonly size: number;
}

/** BTF_KIND_DATASEC: a data section (such as .data, .bss, .rodata, .maps) and the variables in it. */
export interface DatasecType extends Named {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly DatasecVar[];
}

/** BTF_KIND_FLOAT: a floating-point type of `size` bytes. */
export interface FloatType extends Named {
  readonly kind: 'float';
  readonly size: number;
}

/** BTF_KIND_DECL_TAG: a tag (`name`) attached to a declaration or one of its members or parameters. */
export interface DeclTagType extends Named {
  readonly kind: 'decl_tag';
  readonly type: TypeId;
  /** Member or parameter index the tag applies to, -1 for the type itself. */
  readonly componentIndex: number;
  /** kind_flag: the tag is a plain __attribute__ rather than btf_decl_tag. */
  readonly attribute: boolean;
}

/** BTF_KIND_TYPE_TAG: a tag (`name`) attached to `type`. */
export interface TypeTagType extends Named {
  readonly kind: 'type_tag';
  readonly type: TypeId;
  /** kind_flag: the tag is a plain __attribute__ rather than btf_type_tag. */
  readonly attribute: boolean;
}

/** One BTF type, discriminated by `kind`. */
export type BtfType =
  | VoidType
  | IntType
  | PointerType
  | ArrayType
  | StructType
  | UnionType
  | EnumType
  | FwdType
  | TypedefType
  | VolatileType
  | ConstType
  | RestrictType
  | FuncType
  | FuncProtoType
  | VarType
  | DatasecType
  | FloatType
  | DeclTagType
  | TypeTagType
  | Enum64Type;

/** The `kind` discriminator of a BtfType. */
export type BtfKind = BtfType['kind'];

/** Types whose `type` field is the only reference and which add no storage of their own. */
export type QualifierType = VolatileType | ConstType | RestrictType | TypeTagType;

/** A struct or union: a type with members. */
export type CompositeType = StructType | UnionType;

/** The void type, id 0. */
export const VOID: VoidType = Object.freeze({ kind: 'void', id: 0, name: '' });

/** Linkage values in the order of their BTF encoding (0 static, 1 global, 2 extern). */
export const LINKAGES: readonly Linkage[] = ['static', 'global', 'extern'];
