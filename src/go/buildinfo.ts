import { PF_W, type BinaryImage } from './binary-image.js';
import { ByteView, decodeUtf8, readUvarint } from './byte-view.js';
import { GoBinaryError } from './errors.js';

/** The Go build info of a binary (the "\xff Go buildinf:" header and what it points to); `where` says where it was found. */
export interface BuildInfo {
  /** e.g. "go1.19.8". */
  version: string;
  /** The module information text (`path`, `mod`, `dep`, `build` lines), if any. */
  modinfo: string;
  /** 'inline' for Go 1.18+ (strings in the header), 'pointer' for 1.13 to 1.17. */
  layout: 'inline' | 'pointer';
  where: string;
}

const MAGIC = [0xff, 0x20, 0x47, 0x6f, 0x20, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x69, 0x6e, 0x66, 0x3a]; // "\xff Go buildinf:"
const HEADER_SIZE = 32;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;
// Without sections the header sits near the start of the writable segment; look no further.
const MAX_SCAN = 1 << 20;
const MAX_STRING = 1 << 20;

function hasMagic(bytes: Uint8Array, at: number): boolean {
  if (at + HEADER_SIZE > bytes.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[at + i] !== MAGIC[i]) return false;
  return true;
}

/**
 * Reads a Go string header {ptr, len} at `addr` and then its bytes, through the image's mapping.
 * With `unreadable: 'empty'` a header or bytes outside the file's data read as "", as Go's own
 * debug/buildinfo does: Bazel-built Go 1.13-1.17 binaries keep an empty runtime.modinfo in .bss.
 */
function readGoString(
  image: BinaryImage,
  addr: number,
  ptrSize: 4 | 8,
  littleEndian: boolean,
  what: string,
  unreadable: 'throw' | 'empty' = 'throw',
): string {
  const header = image.readVirtual(addr, 2 * ptrSize);
  if (!header && unreadable === 'empty') return '';
  if (!header) throw new GoBinaryError(`${what} string header at 0x${addr.toString(16)} is not mapped`, '.go.buildinfo');
  const v = new ByteView(header, '.go.buildinfo', littleEndian);
  const ptr = v.word(0, ptrSize, `${what} pointer`);
  const len = v.word(ptrSize, ptrSize, `${what} length`);
  if (len > MAX_STRING) throw new GoBinaryError(`${what} length ${len} is implausible`, '.go.buildinfo');
  if (len === 0) return '';
  const bytes = image.readVirtual(ptr, len);
  if (!bytes && unreadable === 'empty') return '';
  if (!bytes) throw new GoBinaryError(`${what} bytes at 0x${ptr.toString(16)} (+${len}) are not mapped`, '.go.buildinfo');
  return decodeUtf8(bytes);
}

function readInlineString(bytes: Uint8Array, at: number, what: string): { text: string; next: number } {
  const { value: len, size } = readUvarint(bytes, at, '.go.buildinfo');
  const start = at + size;
  if (len > MAX_STRING || start + len > bytes.length)
    throw new GoBinaryError(`${what} of length ${len} runs past the data`, '.go.buildinfo', at);
  return { text: decodeUtf8(bytes.subarray(start, start + len)), next: start + len };
}

/** modinfo is framed by 16-byte sentinels so the linker can find it; drop them. */
function unframe(modinfo: string): string {
  return modinfo.length >= 33 && modinfo[modinfo.length - 17] === '\n' ? modinfo.slice(16, -16) : modinfo;
}

function decodeHeader(image: BinaryImage, bytes: Uint8Array, at: number, where: string): BuildInfo {
  const header = new ByteView(bytes, where, true);
  const ptrSize = header.u8(at + 14, 'pointer size');
  const flags = header.u8(at + 15, 'flags');
  if (flags & FLAG_INLINE_STRINGS) {
    const version = readInlineString(bytes, at + HEADER_SIZE, 'version');
    const modinfo = version.next < bytes.length ? readInlineString(bytes, version.next, 'modinfo').text : '';
    return { version: version.text, modinfo: unframe(modinfo), layout: 'inline', where };
  }
  if (ptrSize !== 4 && ptrSize !== 8) throw new GoBinaryError(`pointer size ${ptrSize} is not 4 or 8`, where, at + 14);
  const littleEndian = (flags & FLAG_BIG_ENDIAN) === 0;
  const v = new ByteView(bytes, where, littleEndian);
  const versionAddr = v.word(at + 16, ptrSize, 'version pointer');
  const modAddr = v.word(at + 16 + ptrSize, ptrSize, 'modinfo pointer');
  const version = readGoString(image, versionAddr, ptrSize, littleEndian, 'version');
  const modinfo = modAddr === 0 ? '' : readGoString(image, modAddr, ptrSize, littleEndian, 'modinfo', 'empty');
  return { version, modinfo: unframe(modinfo), layout: 'pointer', where };
}

/**
 * Reads the build information the linker writes at "\xff Go buildinf:": the .go.buildinfo
 * section, or without section headers the start of the first writable segment (16-byte aligned).
 * Returns undefined when there is none (older than Go 1.13, or removed from the binary).
 */
export function readBuildInfo(image: BinaryImage): BuildInfo | undefined {
  const section = image.section('.go.buildinfo');
  if (section) {
    if (!hasMagic(section.data, 0)) throw new GoBinaryError('section does not start with "\\xff Go buildinf:"', '.go.buildinfo', 0);
    return decodeHeader(image, section.data, 0, '.go.buildinfo');
  }
  const seg = image.segments.find((s) => (s.flags & PF_W) !== 0 && s.filesz > 0);
  if (!seg) return undefined;
  const bytes = image.readVirtual(seg.vaddr, Math.min(seg.filesz, MAX_SCAN));
  if (!bytes) return undefined;
  const where = `writable segment at 0x${seg.vaddr.toString(16)}`;
  // Alignment is by virtual address, which need not be 16-aligned at the segment start.
  for (let at = (16 - (seg.vaddr % 16)) % 16; at + HEADER_SIZE <= bytes.length; at += 16) {
    if (hasMagic(bytes, at)) return decodeHeader(image, bytes, at, where);
  }
  return undefined;
}
