/**
 * A decoded attribute value, classified by what it needs to become meaningful. Strings and
 * addresses that live in other sections are kept as references and resolved on request, so a walk
 * over many DIEs does not decode strings it never looks at.
 */
export type AttributeValue =
  | { kind: 'address'; value: bigint }
  | { kind: 'addressIndex'; index: number }
  | { kind: 'constant'; value: bigint; signed: boolean }
  | { kind: 'data16'; bytes: Uint8Array }
  | { kind: 'string'; value: string }
  | { kind: 'strp'; offset: number }
  | { kind: 'lineStrp'; offset: number }
  | { kind: 'strx'; index: number }
  /** A string in a supplementary or alternate object file, which this reader does not have. */
  | { kind: 'supString'; offset: number }
  /** Absolute offset of the target DIE in .debug_info. */
  | { kind: 'reference'; offset: number }
  /** A type unit signature (DW_FORM_ref_sig8); type units are not followed. */
  | { kind: 'signature'; value: bigint }
  /** A DIE in a supplementary or alternate object file. */
  | { kind: 'supReference'; offset: number }
  | { kind: 'block'; bytes: Uint8Array }
  | { kind: 'exprloc'; bytes: Uint8Array }
  | { kind: 'flag'; value: boolean }
  | { kind: 'secOffset'; offset: number }
  | { kind: 'listIndex'; index: number };

/** One decoded attribute of a DIE: its DW_AT name, DW_FORM and value. */
export interface Attribute {
  at: number;
  form: number;
  value: AttributeValue;
}
