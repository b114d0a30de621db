/**
 * The DWARF sections a reader needs, already decompressed (see decompress.ts for helpers).
 * Only .debug_info and .debug_abbrev are required; the others are consulted when a form needs them.
 */
export interface DwarfSections {
  info: Uint8Array;
  abbrev: Uint8Array;
  str?: Uint8Array;
  lineStr?: Uint8Array;
  strOffsets?: Uint8Array;
  addr?: Uint8Array;
  /** Byte order of the object file; DWARF follows it. Defaults to true. */
  littleEndian?: boolean;
}
