// Compressed sections: SHF_COMPRESSED (an Elf64_Chdr then the stream) and the older GNU
// ".zdebug_*" form ("ZLIB", 8-byte big-endian size, zlib stream).
import { inflateSync } from 'node:zlib';
import { type ByteReader } from './bytes.js';
import { ELF64_CHDR_SIZE, ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD } from './constants.js';
import { ElfError } from './errors.js';
import type { ElfSection } from './sections.js';

/** No section is allowed to decompress to more than this, whatever its header claims. */
export const MAX_DECOMPRESSED_SIZE = 1 << 30;

/**
 * Deflate cannot do better than about 1032:1, so a header claiming more than that from the
 * compressed size is lying; refusing it early avoids allocating for a bomb.
 */
const DEFLATE_MAX_RATIO = 1032;

const ZDEBUG_MAGIC = [0x5a, 0x4c, 0x49, 0x42]; // "ZLIB"
const ZDEBUG_HEADER_SIZE = 12;

export function isZdebugSection(section: ElfSection): boolean {
  return section.name.startsWith('.zdebug');
}

export function hasZdebugHeader(data: Uint8Array): boolean {
  return data.length >= ZDEBUG_HEADER_SIZE && ZDEBUG_MAGIC.every((b, i) => data[i] === b);
}

/** Decompresses an SHF_COMPRESSED section; `stored` is its bytes as they sit in the file. */
export function decompressElfSection(reader: ByteReader, section: ElfSection, stored: Uint8Array): Uint8Array {
  if (stored.length < ELF64_CHDR_SIZE) {
    throw new ElfError(`compressed section is ${stored.length} bytes, too small for its ${ELF64_CHDR_SIZE}-byte compression header`, {
      offset: section.offset,
      section: section.name,
    });
  }
  const kind = reader.u32(section.offset);
  const size = reader.u64(section.offset + 8);
  if (kind === ELFCOMPRESS_ZSTD) {
    throw new ElfError('zstd-compressed sections (ch_type 2) are not supported', {
      offset: section.offset,
      section: section.name,
    });
  }
  if (kind !== ELFCOMPRESS_ZLIB) {
    throw new ElfError(`unknown compression type ${kind} (ch_type)`, { offset: section.offset, section: section.name });
  }
  return inflateChecked(stored.subarray(ELF64_CHDR_SIZE), size, section, section.offset + ELF64_CHDR_SIZE);
}

/** Decompresses a GNU .zdebug section whose bytes start with the "ZLIB" header. */
export function decompressZdebugSection(section: ElfSection, stored: Uint8Array): Uint8Array {
  // The size is always big-endian here, whatever the file's byte order.
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const size = view.getUint32(4, false) * 4294967296 + view.getUint32(8, false);
  return inflateChecked(stored.subarray(ZDEBUG_HEADER_SIZE), size, section, section.offset + ZDEBUG_HEADER_SIZE);
}

function inflateChecked(stream: Uint8Array, expected: number, section: ElfSection, streamOffset: number): Uint8Array {
  const where = { offset: streamOffset, section: section.name };
  const bound = Math.min(MAX_DECOMPRESSED_SIZE, stream.length * DEFLATE_MAX_RATIO + 64);
  if (!Number.isSafeInteger(expected) || expected > bound) {
    throw new ElfError(`claims to decompress to ${expected} bytes from ${stream.length}, more than the limit of ${bound}`, where);
  }
  let out: Buffer;
  try {
    // maxOutputLength one past the claim: a longer stream is detected instead of truncated.
    out = inflateSync(stream, { maxOutputLength: Math.max(expected + 1, 1) });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ElfError(`zlib stream is invalid or longer than the declared ${expected} bytes: ${reason}`, where, {
      cause,
    });
  }
  if (out.length !== expected) {
    throw new ElfError(`decompressed to ${out.length} bytes, but the header declares ${expected}`, where);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
