import { inflateSync } from 'node:zlib';
import { DwarfError } from './errors.js';

// A declared size is only a claim; refuse absurd ones before allocating for them.
const MAX_DECOMPRESSED = 1 << 30;

const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;

function inflateExactly(compressed: Uint8Array, size: number, section: string, at: number): Uint8Array {
  if (size > MAX_DECOMPRESSED) throw new DwarfError(`declared decompressed size ${size} exceeds ${MAX_DECOMPRESSED}`, section, at);
  let out: Buffer;
  try {
    // maxOutputLength stops a zlib bomb that lies about its size; +1 detects "more than declared".
    out = inflateSync(compressed, { maxOutputLength: Math.max(1, size + 1) });
  } catch (e) {
    throw new DwarfError(`zlib data does not inflate: ${(e as Error).message}`, section, at);
  }
  if (out.length !== size) throw new DwarfError(`inflated to ${out.length} bytes, header says ${size}`, section, at);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Inflates a GNU-style `.zdebug_*` section: "ZLIB", an 8-byte big-endian size, zlib data. */
export function inflateZdebug(blob: Uint8Array, section = '.zdebug'): Uint8Array {
  if (blob.length < 12 || blob[0] !== 0x5a || blob[1] !== 0x4c || blob[2] !== 0x49 || blob[3] !== 0x42) {
    throw new DwarfError('missing "ZLIB" header of a GNU compressed section', section, 0);
  }
  const size = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getBigUint64(4, false);
  if (size > BigInt(MAX_DECOMPRESSED)) throw new DwarfError(`declared decompressed size ${size} exceeds ${MAX_DECOMPRESSED}`, section, 4);
  return inflateExactly(blob.subarray(12), Number(size), section, 12);
}

/** How to read the compression header of an SHF_COMPRESSED section; `section` names it in errors. */
export interface CompressedSectionOptions {
  /** ELF class: the Chdr is 24 bytes in ELF64, 12 bytes in ELF32. */
  elfClass: 32 | 64;
  littleEndian: boolean;
  section?: string;
}

/** Inflates the contents of an SHF_COMPRESSED ELF section: a Chdr (ch_type, ch_size...) then data. */
export function inflateElfCompressed(blob: Uint8Array, options: CompressedSectionOptions): Uint8Array {
  const section = options.section ?? 'SHF_COMPRESSED section';
  const headerSize = options.elfClass === 64 ? 24 : 12;
  if (blob.length < headerSize) throw new DwarfError(`shorter than its ${headerSize}-byte compression header`, section, 0);
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const le = options.littleEndian;
  const type = v.getUint32(0, le);
  const size = options.elfClass === 64 ? v.getBigUint64(8, le) : BigInt(v.getUint32(4, le));
  if (type === ELFCOMPRESS_ZSTD) throw new DwarfError('zstd compressed sections are not supported', section, 0);
  if (type !== ELFCOMPRESS_ZLIB) throw new DwarfError(`unknown compression type ${type}`, section, 0);
  if (size > BigInt(MAX_DECOMPRESSED)) throw new DwarfError(`declared decompressed size ${size} exceeds ${MAX_DECOMPRESSED}`, section, 8);
  return inflateExactly(blob.subarray(headerSize), Number(size), section, headerSize);
}
