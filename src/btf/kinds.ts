// Numeric constants of the BTF format, from include/uapi/linux/btf.h.

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the header this code knows; larger headers are accepted when the tail is zero. */
export const BTF_HEADER_SIZE = 24;
/** Every type starts with name_off, info and size-or-type. */
export const BTF_TYPE_HEADER_SIZE = 12;

/** BTF_KIND_* numbers of the type kinds, from include/uapi/linux/btf.h. */
export const KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

export const MAX_KIND = KIND.ENUM64;

/** The kernel's limit on type ids (BTF_MAX_TYPE). */
export const BTF_MAX_TYPE = 0x000fffff;
/** vlen is 16 bits in the info word. */
export const BTF_MAX_VLEN = 0xffff;

/** INT encoding bits (BTF_INT_SIGNED etc.). */
export const INT_SIGNED = 1 << 0;
export const INT_CHAR = 1 << 1;
export const INT_BOOL = 1 << 2;

export function infoKind(info: number): number {
  return (info >>> 24) & 0x1f;
}
export function infoVlen(info: number): number {
  return info & 0xffff;
}
export function infoKindFlag(info: number): boolean {
  return info >>> 31 === 1;
}
export function makeInfo(kind: number, vlen: number, kindFlag: boolean): number {
  return ((kindFlag ? 0x80000000 : 0) | ((kind & 0x1f) << 24) | (vlen & 0xffff)) >>> 0;
}

/**
 * Bytes that follow the 12-byte header of a type of this kind with this vlen, or -1 for a
 * kind this code does not know (its length cannot be known, so parsing must stop).
 */
export function trailingBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.PTR:
    case KIND.FWD:
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.FUNC:
    case KIND.FLOAT:
    case KIND.TYPE_TAG:
      return 0;
    case KIND.ARRAY:
      return 12;
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.DATASEC:
    case KIND.ENUM64:
      return 12 * vlen;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return 8 * vlen;
    default:
      return -1;
  }
}
