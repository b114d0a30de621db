// Pure ELF64 reader: bytes in, values out. See ElfFile.
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
