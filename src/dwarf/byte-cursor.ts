import { DwarfError } from './errors.js';

/**
 * A bounds-checked read position in one section. Every read checks the end first, so lying sizes
 * turn into a DwarfError naming the section and offset instead of a RangeError or garbage.
 */
export class ByteCursor {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly section: string,
    public offset = 0,
    readonly littleEndian = true,
    /** Reads stop here (exclusive); a unit uses its own end so it cannot read into the next one. */
    readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (end > bytes.length) throw this.error(`end 0x${end.toString(16)} beyond section size 0x${bytes.length.toString(16)}`);
  }

  error(message: string, at = this.offset): DwarfError {
    return new DwarfError(message, this.section, at);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  need(n: number, what: string): void {
    if (!(n >= 0) || this.offset + n > this.end) {
      throw this.error(`${what} needs ${n} bytes, only ${Math.max(0, this.end - this.offset)} left`);
    }
  }

  u8(): number {
    this.need(1, 'u8');
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.view.getUint16(this.offset, this.littleEndian);
    this.offset += 2;
    return v;
  }

  u24(): number {
    this.need(3, 'u24');
    const v = this.view;
    const o = this.offset;
    this.offset += 3;
    return this.littleEndian ? v.getUint16(o, true) | (v.getUint8(o + 2) << 16) : (v.getUint16(o, false) << 8) | v.getUint8(o + 2);
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.view.getUint32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8, 'u64');
    const v = this.view.getBigUint64(this.offset, this.littleEndian);
    this.offset += 8;
    return v;
  }

  /** A u64 used as an offset or size: must fit a JS number, which any real section does. */
  u64Number(): number {
    const at = this.offset;
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(`64-bit value 0x${v.toString(16)} too large for an offset`, at);
    return Number(v);
  }

  /** Reads an unsigned integer of 1, 2, 4 or 8 bytes as a number (offsets, sizes, indexes). */
  uN(size: number): number {
    switch (size) {
      case 1:
        return this.u8();
      case 2:
        return this.u16();
      case 4:
        return this.u32();
      case 8:
        return this.u64Number();
      default:
        throw this.error(`unsupported integer size ${size}`);
    }
  }

  /** Reads an address of `size` bytes, kept as bigint: addresses may use all 64 bits. */
  address(size: number): bigint {
    switch (size) {
      case 1:
        return BigInt(this.u8());
      case 2:
        return BigInt(this.u16());
      case 4:
        return BigInt(this.u32());
      case 8:
        return this.u64();
      default:
        throw this.error(`unsupported address size ${size}`);
    }
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
    this.offset += n;
  }

  bytesOf(n: number, what = 'block'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** ULEB128 as bigint; stops with an error after 10 bytes' worth of payload beyond 64 bits. */
  ulebBig(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.lebByte('ULEB128', start);
      if (shift < 64n) result |= BigInt(byte & 0x7f) << shift;
      else if ((byte & 0x7f) !== 0) throw this.error('ULEB128 wider than 64 bits', start);
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 16n * 7n) throw this.error('ULEB128 longer than 16 bytes', start);
    }
  }

  /** SLEB128 as bigint, sign-extended, limited to 64 bits. */
  slebBig(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      byte = this.lebByte('SLEB128', start);
      if (shift < 64n) result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (shift > 16n * 7n) throw this.error('SLEB128 longer than 16 bytes', start);
    } while (byte & 0x80);
    if (shift < 64n && byte & 0x40) result -= 1n << shift;
    return BigInt.asIntN(64, result);
  }

  /** ULEB128 as a number (codes, counts, offsets); larger than 2^53 is an error, not a rounding. */
  uleb(): number {
    const start = this.offset;
    let result = 0;
    let mult = 1;
    for (let i = 0; ; i++) {
      const byte = this.lebByte('ULEB128', start);
      result += (byte & 0x7f) * mult;
      if ((byte & 0x80) === 0) break;
      mult *= 128;
      if (i >= 8) {
        this.offset = start;
        const big = this.ulebBig();
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(`ULEB128 value 0x${big.toString(16)} too large`, start);
        return Number(big);
      }
    }
    return result;
  }

  /** The next byte of a LEB128 number that starts at `start`, moving past it. */
  private lebByte(what: string, start: number): number {
    const byte = this.offset < this.end ? this.bytes[this.offset] : undefined;
    if (byte === undefined) throw this.error(`${what} runs past the end`, start);
    this.offset++;
    return byte;
  }

  /** NUL-terminated string decoded as UTF-8. */
  cstring(): string {
    const start = this.offset;
    const nul = this.bytes.indexOf(0, start);
    if (nul < 0 || nul >= this.end) throw this.error('string has no NUL terminator', start);
    this.offset = nul + 1;
    return decodeUtf8(this.bytes.subarray(start, nul));
  }
}

const utf8 = new TextDecoder('utf-8');

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Reads a NUL-terminated string at `offset` of a string section (.debug_str, .debug_line_str). */
export function stringAt(bytes: Uint8Array, section: string, offset: number): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= bytes.length) {
    throw new DwarfError(
      `string offset 0x${offset.toString(16)} outside the section (size 0x${bytes.length.toString(16)})`,
      section,
      offset,
    );
  }
  return new ByteCursor(bytes, section, offset).cstring();
}
