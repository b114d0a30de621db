// The fixed header in front of every BTF blob (struct btf_header).
import { BtfError } from './errors.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION } from './kinds.js';

/** The parsed struct btf_header at the start of a .BTF blob. */
export interface BtfHeader {
  readonly littleEndian: boolean;
  readonly version: number;
  readonly flags: number;
  readonly headerLength: number;
  /** Absolute byte range of the type section. */
  readonly typeStart: number;
  readonly typeLength: number;
  /** Absolute byte range of the string section. */
  readonly stringStart: number;
  readonly stringLength: number;
}

/** Reads the magic in little-endian order; the byte-swapped value means a big-endian blob. */
export function detectEndianness(bytes: Uint8Array, what: string): boolean {
  if (bytes.length < 2) throw new BtfError(`${what} is ${bytes.length} bytes, too short for a magic`, { offset: 0 });
  const magic = new DataView(bytes.buffer, bytes.byteOffset, 2).getUint16(0, true);
  if (magic === BTF_MAGIC) return true;
  if (magic === ((BTF_MAGIC >> 8) | ((BTF_MAGIC & 0xff) << 8))) return false;
  throw new BtfError(`${what} has bad magic 0x${magic.toString(16)}, want 0xeb9f`, { offset: 0 });
}

export function parseHeader(bytes: Uint8Array): BtfHeader {
  const littleEndian = detectEndianness(bytes, 'BTF blob');
  if (bytes.length < BTF_HEADER_SIZE) {
    throw new BtfError(`BTF blob is ${bytes.length} bytes, shorter than the ${BTF_HEADER_SIZE}-byte header`, { offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(2);
  if (version !== BTF_VERSION) throw new BtfError(`unsupported BTF version ${version}`, { offset: 2 });
  const flags = view.getUint8(3);
  const headerLength = view.getUint32(4, littleEndian);
  if (headerLength < BTF_HEADER_SIZE || headerLength > bytes.length) {
    throw new BtfError(`BTF header length ${headerLength} is outside 24..${bytes.length}`, { offset: 4 });
  }
  const typeOff = view.getUint32(8, littleEndian);
  const typeLength = view.getUint32(12, littleEndian);
  const strOff = view.getUint32(16, littleEndian);
  const stringLength = view.getUint32(20, littleEndian);
  const typeStart = headerLength + typeOff;
  const stringStart = headerLength + strOff;
  if (typeOff % 4 !== 0) throw new BtfError(`type section offset ${typeOff} is not 4-byte aligned`, { offset: 8 });
  if (typeStart + typeLength > bytes.length) {
    throw new BtfError(`type section ${typeStart}+${typeLength} runs past the ${bytes.length}-byte blob`, { offset: 8 });
  }
  if (stringStart + stringLength > bytes.length) {
    throw new BtfError(`string section ${stringStart}+${stringLength} runs past the ${bytes.length}-byte blob`, { offset: 16 });
  }
  if (typeLength % 4 !== 0) throw new BtfError(`type section length ${typeLength} is not a multiple of 4`, { offset: 12 });
  const overlap = typeStart < stringStart + stringLength && stringStart < typeStart + typeLength;
  if (overlap && typeLength > 0 && stringLength > 0) {
    throw new BtfError('type and string sections overlap', { offset: 8 });
  }
  return { littleEndian, version, flags, headerLength, typeStart, typeLength, stringStart, stringLength };
}
