/** Contents of a section, decompressed if the file stores it compressed. */
export interface ImageSection {
  /** Virtual address (sh_addr); 0 for sections not loaded at run time. */
  addr: number;
  data: Uint8Array;
}

/** A loadable segment (ELF PT_LOAD). */
export interface ImageSegment {
  vaddr: number;
  memsz: number;
  offset: number;
  filesz: number;
  /** ELF p_flags: PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

/** ELF p_flags bit of an executable segment. */
export const PF_X = 1;
/** ELF p_flags bit of a writable segment. */
export const PF_W = 2;

/**
 * The view of an executable that the Go inspection needs, independent of the file format reader.
 * An ELF reader provides it by mapping its sections and PT_LOAD segments; tests build it directly.
 */
export interface BinaryImage {
  byteOrder: 'little' | 'big';
  ptrSize: 4 | 8;
  /** Go's GOARCH spelling: 'amd64', 'arm64', ... */
  machine: string;
  /** A section by name, or undefined when absent (or the file has no section headers). */
  section(name: string): ImageSection | undefined;
  /** `len` bytes at virtual address `addr` as the loader maps them; undefined when not mapped in full. */
  readVirtual(addr: number, len: number): Uint8Array | undefined;
  /** PT_LOAD segments in file order. */
  segments: readonly ImageSegment[];
  /** ELF e_entry; lets the pclntab text start be recovered when section headers are gone. */
  entry?: number;
  /** A symbol of the static symbol table (.symtab) by name; absent or undefined when stripped. */
  symbol?(name: string): { addr: number; size: number } | undefined;
}
