// enum bpf_core_relo_kind (include/uapi/linux/bpf.h).
export const CoreKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

export const CORE_KIND_NAMES: readonly string[] = [
  'field byte offset', 'field byte size', 'field exists', 'field signed', 'field lshift u64', 'field rshift u64',
  'local type id', 'target type id', 'type exists', 'type size', 'enum value exists', 'enum value', 'type matches',
];

export const isFieldKind = (k: number): boolean => k <= CoreKind.FIELD_RSHIFT_U64;
export const isTypeKind = (k: number): boolean => k >= CoreKind.TYPE_ID_LOCAL && k <= CoreKind.TYPE_SIZE || k === CoreKind.TYPE_MATCHES;
export const isEnumKind = (k: number): boolean => k === CoreKind.ENUMVAL_EXISTS || k === CoreKind.ENUMVAL_VALUE;

/** Kinds that still have an answer when nothing in the kernel matches: "no". */
export const answersAbsence = (k: number): boolean =>
  k === CoreKind.FIELD_EXISTS || k === CoreKind.TYPE_EXISTS || k === CoreKind.ENUMVAL_EXISTS || k === CoreKind.TYPE_MATCHES;

/** The helper id libbpf calls in place of an instruction whose relocation failed, so the verifier names it if reached. */
export const POISON_HELPER = 0xbad2310;
