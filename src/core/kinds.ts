// enum bpf_core_relo_kind: one table, kept with the .BTF.ext reader that yields these kinds.
import { CORE_RELO_KIND } from '../btf/index.js';

/** CO-RE relocation kinds (enum bpf_core_relo_kind), by name. */
export const CoreKind = CORE_RELO_KIND;

export const CORE_KIND_NAMES: readonly string[] = [
  'field byte offset',
  'field byte size',
  'field exists',
  'field signed',
  'field lshift u64',
  'field rshift u64',
  'local type id',
  'target type id',
  'type exists',
  'type size',
  'enum value exists',
  'enum value',
  'type matches',
];

export const isFieldKind = (k: number): boolean => k <= CoreKind.FIELD_RSHIFT_U64;
export const isTypeKind = (k: number): boolean => (k >= CoreKind.TYPE_ID_LOCAL && k <= CoreKind.TYPE_SIZE) || k === CoreKind.TYPE_MATCHES;
export const isEnumKind = (k: number): boolean => k === CoreKind.ENUMVAL_EXISTS || k === CoreKind.ENUMVAL_VALUE;

/** Kinds that still have an answer when nothing in the kernel matches: "no". */
export const answersAbsence = (k: number): boolean =>
  k === CoreKind.FIELD_EXISTS || k === CoreKind.TYPE_EXISTS || k === CoreKind.ENUMVAL_EXISTS || k === CoreKind.TYPE_MATCHES;

/** The helper id libbpf calls in place of an instruction whose relocation failed, so the verifier names it if reached. */
export const POISON_HELPER = 0xbad2310;
