// The decoded form of BTF types: plain readonly objects discriminated by `kind`, referring to
// other types by id so that cycles (a struct holding a pointer to itself) stay representable.

/** A BTF type id. 0 is void. */
export type TypeId = number;

export type Linkage = 'static' | 'global' | 'extern';

interface Named {
  /** Type id in the spec it came from (ignored when marshalling). */
  readonly id: TypeId;
  /** Empty for anonymous types. */
  readonly name: string;
}

export interface VoidType extends Named {
  readonly kind: 'void';
}

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

export interface PointerType extends Named {
  readonly kind: 'ptr';
  readonly type: TypeId;
}

export interface ArrayType extends Named {
  readonly kind: 'array';
  readonly type: TypeId;
  readonly indexType: TypeId;
  readonly length: number;
}

export interface Member {
  readonly name: string;
  readonly type: TypeId;
  /** Offset from the start of the struct or union, in bits. */
  readonly bitOffset: number;
  /** Width of a bitfield in bits, 0 for an ordinary member. */
  readonly bitfieldSize: number;
}

export interface StructType extends Named {
  readonly kind: 'struct';
  readonly size: number;
  readonly members: readonly Member[];
}

export interface UnionType extends Named {
  readonly kind: 'union';
  readonly size: number;
  readonly members: readonly Member[];
}

export interface EnumValue {
  readonly name: string;
  readonly value: number;
}

export interface EnumType extends Named {
  readonly kind: 'enum';
  readonly size: number;
  /** kind_flag: values are signed. */
  readonly signed: boolean;
  readonly values: readonly EnumValue[];
}

export interface Enum64Value {
  readonly name: string;
  readonly value: bigint;
}

export interface Enum64Type extends Named {
  readonly kind: 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly Enum64Value[];
}

export interface FwdType extends Named {
  readonly kind: 'fwd';
  /** kind_flag: a forward declaration of a union rather than a struct. */
  readonly fwdKind: 'struct' | 'union';
}

export interface TypedefType extends Named {
  readonly kind: 'typedef';
  readonly type: TypeId;
}

export interface VolatileType extends Named {
  readonly kind: 'volatile';
  readonly type: TypeId;
}

export interface ConstType extends Named {
  readonly kind: 'const';
  readonly type: TypeId;
}

export interface RestrictType extends Named {
  readonly kind: 'restrict';
  readonly type: TypeId;
}

export interface FuncType extends Named {
  readonly kind: 'func';
  /** A FUNC_PROTO. */
  readonly type: TypeId;
  readonly linkage: Linkage;
}

export interface FuncParam {
  readonly name: string;
  /** 0 on the last parameter of a variadic function. */
  readonly type: TypeId;
}

export interface FuncProtoType extends Named {
  readonly kind: 'func_proto';
  readonly returnType: TypeId;
  readonly params: readonly FuncParam[];
}

export interface VarType extends Named {
  readonly kind: 'var';
  readonly type: TypeId;
  readonly linkage: Linkage;
}

export interface DatasecVar {
  /** A VAR (or FUNC for extern ksyms). */
  readonly type: TypeId;
  readonly offset: number;
  readonly size: number;
}

export interface DatasecType extends Named {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly DatasecVar[];
}

export interface FloatType extends Named {
  readonly kind: 'float';
  readonly size: number;
}

export interface DeclTagType extends Named {
  readonly kind: 'decl_tag';
  readonly type: TypeId;
  /** Member or parameter index the tag applies to, -1 for the type itself. */
  readonly componentIndex: number;
  /** kind_flag: the tag is a plain __attribute__ rather than btf_decl_tag. */
  readonly attribute: boolean;
}

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

export type BtfKind = BtfType['kind'];

/** Types whose `type` field is the only reference and which add no storage of their own. */
export type QualifierType = VolatileType | ConstType | RestrictType | TypeTagType;

export type CompositeType = StructType | UnionType;

export const VOID: VoidType = Object.freeze({ kind: 'void', id: 0, name: '' });

export const LINKAGES: readonly Linkage[] = ['static', 'global', 'extern'];
