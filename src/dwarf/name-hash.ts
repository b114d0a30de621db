// Names in the DWARF name index are kept as a 32-bit hash of their UTF-8 bytes (FNV-1a), computed
// where the bytes lie: indexing a unit makes no string per DIE. A lookup hashes the name it wants
// the same way, and compares the decoded names of the few DIEs that share the hash.
import { DwarfError } from './errors.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** The hash of `name`'s UTF-8 bytes: what hashCString gives for the same name stored in DWARF. */
export function hashName(name: string): number {
  const bytes = utf8.encode(name);
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME); // i < length
  return h >>> 0;
}

/** The hash of the NUL-terminated bytes at `at` of `bytes`, which must end before `end`. */
export function hashCString(bytes: Uint8Array, at: number, end: number, section: string): number {
  let h = FNV_OFFSET;
  for (let i = at; i < end; i++) {
    const b = bytes[i]!; // i < end <= length
    if (b === 0) return h >>> 0;
    h = Math.imul(h ^ b, FNV_PRIME);
  }
  throw new DwarfError('string has no NUL terminator', section, at);
}

/** hashCString of the string at `offset` of a string section, checked as stringAt checks it. */
export function hashStringAt(bytes: Uint8Array, section: string, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset >= bytes.length) {
    throw new DwarfError(
      `string offset 0x${offset.toString(16)} outside the section (size 0x${bytes.length.toString(16)})`,
      section,
      offset,
    );
  }
  return hashCString(bytes, offset, bytes.length, section);
}
