// Pure ELF64 reader: bytes in, values out (no file system, no syscalls). See ElfFile.
//
// Malformed input only ever throws ElfError, carrying the file offset and section name of the
// problem when known.
//
// Numbers: offsets, sizes, addresses and symbol values are JS numbers, exact below 2^53, which
// covers user-space binaries and BPF objects. Fields that hold addresses (e_entry, sh_addr,
// p_vaddr, p_paddr, st_value, r_offset, r_addend) also come as exact bigints (entryBig, addrBig,
// vaddrBig, paddrBig, valueBig, offsetBig, addendBig) for kernel images, whose addresses sit
// near 2^64. An offset or size above 2^53 cannot describe bytes in a real file, so any read
// through one fails with an ElfError rather than being trusted.
export * from './constants.js';
export { ElfError } from './errors.js';
export type { ElfErrorDetails } from './errors.js';
export { ElfFile } from './file.js';
export type { ByteOrder, ElfHeader } from './header.js';
export type { ElfSection } from './sections.js';
export type { ElfProgramHeader } from './segments.js';
export type { ElfSymbol } from './symbols.js';
export type { ElfSymbolVersion } from './versions.js';
export type { ElfRelocation } from './relocations.js';
export type { ElfNote } from './notes.js';
export { MAX_DECOMPRESSED_SIZE } from './compression.js';
