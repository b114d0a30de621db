import { GoBinaryError } from './errors.js';

/** Bounds-checked fixed-size reads over one structure; failures name the structure and offset. */
export class ByteView {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly where: string,
    readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  check(offset: number, size: number, what: string): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.bytes.length) {
      throw new GoBinaryError(`${what} (${size} bytes) outside the data (size 0x${this.bytes.length.toString(16)})`, this.where, offset);
    }
  }

  u8(offset: number, what = 'u8'): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }

  u32(offset: number, what = 'u32'): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, this.littleEndian);
  }

  i32(offset: number, what = 'i32'): number {
    this.check(offset, 4, what);
    return this.view.getInt32(offset, this.littleEndian);
  }

  /** A pointer-sized word as a number; values beyond 2^53 are not addresses this library handles. */
  word(offset: number, ptrSize: 4 | 8, what = 'word'): number {
    if (ptrSize === 4) return this.u32(offset, what);
    this.check(offset, 8, what);
    const v = this.view.getBigUint64(offset, this.littleEndian);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GoBinaryError(`${what} 0x${v.toString(16)} too large`, this.where, offset);
    return Number(v);
  }

  /**
   * Whether the NUL-terminated string at `offset` is exactly `utf8` (bytes, then a NUL), compared
   * in place: no string is decoded. False, not an error, for an offset outside the data.
   */
  cstringIs(offset: number, utf8: Uint8Array): boolean {
    const bytes = this.bytes;
    if (!Number.isInteger(offset) || offset < 0 || offset + utf8.length >= bytes.length) return false;
    for (let k = 0; k < utf8.length; k++) if (bytes[offset + k] !== utf8[k]) return false;
    return bytes[offset + utf8.length] === 0;
  }

  /** A NUL-terminated UTF-8 string of at most `maxLength` bytes. */
  cstring(offset: number, maxLength: number, what = 'string'): string {
    this.check(offset, 1, what);
    const limit = Math.min(this.bytes.length, offset + maxLength + 1);
    const end = this.bytes.subarray(offset, limit).indexOf(0);
    if (end < 0) throw new GoBinaryError(`${what} has no NUL within ${maxLength} bytes`, this.where, offset);
    return utf8.decode(this.bytes.subarray(offset, offset + end));
  }
}

const utf8 = new TextDecoder('utf-8');

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Reads a uvarint (Go's encoding/binary) at `offset`; returns the value and the bytes used. */
export function readUvarint(bytes: Uint8Array, offset: number, where: string): { value: number; size: number } {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 8; i++) {
    const b = bytes[offset + i];
    if (b === undefined) throw new GoBinaryError('uvarint runs past the end', where, offset);
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return { value, size: i + 1 };
    mult *= 128;
  }
  throw new GoBinaryError('uvarint longer than 8 bytes', where, offset);
}
