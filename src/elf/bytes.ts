// Bounds-checked, byte-order-aware reads over the file image. Every read goes through here so
// that a lying offset in the file becomes an ElfError naming the place, not a RangeError.
import { ElfError } from './errors.js';

const TWO_POW_32 = 4294967296;

export class ByteReader {
  readonly length: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
  ) {
    this.length = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when [offset, offset+size) lies inside the file. Safe for huge or fractional inputs. */
  contains(offset: number, size: number): boolean {
    return (
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(size) &&
      offset >= 0 &&
      size >= 0 &&
      offset <= this.length &&
      size <= this.length - offset
    );
  }

  /** Throws unless [offset, offset+size) lies inside the file. */
  require(offset: number, size: number, what: string, section?: string): void {
    if (!this.contains(offset, size)) {
      throw new ElfError(`${what} needs bytes 0x${hex(offset)}..0x${hex(offset + size)} but the file is only 0x${hex(this.length)} bytes`, {
        offset,
        section,
      });
    }
  }

  /** A view (no copy) of [offset, offset+size). */
  slice(offset: number, size: number, what: string, section?: string): Uint8Array {
    this.require(offset, size, what, section);
    return this.bytes.subarray(offset, offset + size);
  }

  u8(offset: number): number {
    this.require(offset, 1, 'a 1-byte field');
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    this.require(offset, 2, 'a 2-byte field');
    return this.view.getUint16(offset, this.littleEndian);
  }

  u32(offset: number): number {
    this.require(offset, 4, 'a 4-byte field');
    return this.view.getUint32(offset, this.littleEndian);
  }

  /** A 64-bit unsigned field as a number: exact below 2^53, nearest double above. */
  u64(offset: number): number {
    this.require(offset, 8, 'an 8-byte field');
    const lo = this.view.getUint32(offset + (this.littleEndian ? 0 : 4), this.littleEndian);
    const hi = this.view.getUint32(offset + (this.littleEndian ? 4 : 0), this.littleEndian);
    return hi * TWO_POW_32 + lo;
  }

  u64Big(offset: number): bigint {
    this.require(offset, 8, 'an 8-byte field');
    return this.view.getBigUint64(offset, this.littleEndian);
  }

  i64Big(offset: number): bigint {
    this.require(offset, 8, 'an 8-byte field');
    return this.view.getBigInt64(offset, this.littleEndian);
  }

  // The same reads without the range check, for the fields of a record whose bytes the caller
  // has already checked with require (a table's records: one check for all of them, rather than
  // one per field). DataView still throws a RangeError for a read past the end.

  u8Unchecked(offset: number): number {
    return this.view.getUint8(offset);
  }

  u16Unchecked(offset: number): number {
    return this.view.getUint16(offset, this.littleEndian);
  }

  u32Unchecked(offset: number): number {
    return this.view.getUint32(offset, this.littleEndian);
  }

  u64Unchecked(offset: number): number {
    const lo = this.view.getUint32(offset + (this.littleEndian ? 0 : 4), this.littleEndian);
    const hi = this.view.getUint32(offset + (this.littleEndian ? 4 : 0), this.littleEndian);
    return hi * TWO_POW_32 + lo;
  }

  u64BigUnchecked(offset: number): bigint {
    return this.view.getBigUint64(offset, this.littleEndian);
  }

  i64BigUnchecked(offset: number): bigint {
    return this.view.getBigInt64(offset, this.littleEndian);
  }
}

export function hex(n: number | bigint): string {
  return n.toString(16);
}
