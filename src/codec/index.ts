// Fixed-layout codecs for map keys and values: numbers, bigints, byte arrays and C-like structs,
// laid out with C's natural alignment on the host's byte order (little-endian).
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/** Encodes values of T into exactly `size` bytes and back. */
export interface Codec<T> {
  readonly size: number;
  /** Alignment of the type in a C struct. */
  readonly align: number;
  /** Writes `value` into `target` at byte `offset`. */
  encode(value: T, target: Buffer, offset: number): void;
  /** Reads a value from `source` at byte `offset`. */
  decode(source: Buffer, offset: number): T;
}

/** A value that a codec cannot encode or decode. */
export class CodecError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_CODEC. */
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_CODEC', message, options);
  }
}

function intCodec(size: 1 | 2 | 4, signed: boolean): Codec<number> {
  const min = signed ? -(2 ** (size * 8 - 1)) : 0;
  const max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
  const name = `${signed ? 'i' : 'u'}${size * 8}`;
  return {
    size,
    align: size,
    encode(v, b, o) {
      if (!Number.isInteger(v) || v < min || v > max) throw new CodecError(`${name}: ${v} is not an integer in [${min}, ${max}]`);
      if (signed) b.writeIntLE(v, o, size);
      else b.writeUIntLE(v, o, size);
    },
    decode: signed ? (b, o) => b.readIntLE(o, size) : (b, o) => b.readUIntLE(o, size),
  };
}

function bigCodec(signed: boolean): Codec<bigint> {
  const name = signed ? 'i64' : 'u64';
  return {
    size: 8,
    align: 8,
    encode(v, b, o) {
      const x = typeof v === 'number' ? BigInt(v) : v;
      if (typeof x !== 'bigint') throw new CodecError(`${name}: expected a bigint, got ${typeof v}`);
      if (signed) {
        if (x < -(1n << 63n) || x >= 1n << 63n) throw new CodecError(`${name}: ${x} out of range`);
        b.writeBigInt64LE(x, o);
      } else {
        if (x < 0n || x >= 1n << 64n) throw new CodecError(`${name}: ${x} out of range`);
        b.writeBigUInt64LE(x, o);
      }
    },
    decode: signed ? (b, o) => b.readBigInt64LE(o) : (b, o) => b.readBigUInt64LE(o),
  };
}

/** Unsigned 8-bit integer, as a number. */
export const u8 = intCodec(1, false);
/** Unsigned 16-bit little-endian integer, as a number. */
export const u16 = intCodec(2, false);
/** Unsigned 32-bit little-endian integer, as a number. */
export const u32 = intCodec(4, false);
/** Signed 8-bit integer, as a number. */
export const i8 = intCodec(1, true);
/** Signed 16-bit little-endian integer, as a number. */
export const i16 = intCodec(2, true);
/** Signed 32-bit little-endian integer, as a number. */
export const i32 = intCodec(4, true);
/** Unsigned 64-bit little-endian integer, as a bigint. */
export const u64 = bigCodec(false);
/** Signed 64-bit little-endian integer, as a bigint. */
export const i64 = bigCodec(true);

/** 32-bit little-endian IEEE 754 float. */
export const f32: Codec<number> = {
  size: 4,
  align: 4,
  encode: (v, b, o) => void b.writeFloatLE(v, o),
  decode: (b, o) => b.readFloatLE(o),
};
/** 64-bit little-endian IEEE 754 float. */
export const f64: Codec<number> = {
  size: 8,
  align: 8,
  encode: (v, b, o) => void b.writeDoubleLE(v, o),
  decode: (b, o) => b.readDoubleLE(o),
};

/** Raw bytes of a fixed length; shorter input is zero-padded, longer is an error. */
export function bytes(size: number): Codec<Uint8Array> {
  return {
    size,
    align: 1,
    encode(v, b, o) {
      if (v.length > size) throw new CodecError(`bytes(${size}): got ${v.length} bytes`);
      b.set(v, o);
      b.fill(0, o + v.length, o + size);
    },
    decode: (b, o) => Buffer.from(b.subarray(o, o + size)),
  };
}

/** A NUL-padded string in a fixed char array. */
export function cstring(size: number): Codec<string> {
  return {
    size,
    align: 1,
    encode(v, b, o) {
      const n = Buffer.byteLength(v);
      if (n > size) throw new CodecError(`cstring(${size}): "${v}" is ${n} bytes`);
      b.fill(0, o, o + size);
      b.write(v, o, 'utf8');
    },
    decode(b, o) {
      const end = b.indexOf(0, o);
      return b.toString('utf8', o, end < 0 || end > o + size ? o + size : end);
    },
  };
}

/** A C array of `length` elements of `element`, as a JavaScript array. */
export function array<T>(element: Codec<T>, length: number): Codec<T[]> {
  return {
    size: element.size * length,
    align: element.align,
    encode(v, b, o) {
      if (v.length !== length) throw new CodecError(`array: expected ${length} elements, got ${v.length}`);
      let at = o;
      for (const x of v) {
        element.encode(x, b, at);
        at += element.size;
      }
    },
    decode(b, o) {
      const out: T[] = new Array(length);
      for (let i = 0; i < length; i++) out[i] = element.decode(b, o + i * element.size);
      return out;
    },
  };
}

type Fields = Record<string, Codec<unknown>>;
/** The JavaScript value of a struct codec: an object with one property per field. */
export type StructValue<F extends Fields> = { [K in keyof F]: F[K] extends Codec<infer T> ? T : never };

/** A C struct: fields in order, each at its natural alignment, padded to the largest alignment. */
export function struct<F extends Fields>(fields: F): Codec<StructValue<F>> & { offsets: Record<keyof F, number> } {
  let offset = 0;
  let align = 1;
  const offsets = {} as Record<keyof F, number>;
  const layout: { name: string; c: Codec<unknown>; at: number }[] = [];
  for (const [name, c] of Object.entries(fields)) {
    offset = Math.ceil(offset / c.align) * c.align;
    (offsets as Record<string, number>)[name] = offset;
    layout.push({ name, c, at: offset });
    offset += c.size;
    align = Math.max(align, c.align);
  }
  const size = Math.ceil(offset / align) * align;
  return {
    size,
    align,
    offsets,
    encode(v, b, o) {
      b.fill(0, o, o + size);
      for (const { name, c, at } of layout) {
        if (!(name in v)) throw new CodecError(`struct: missing field "${name}"`);
        c.encode((v as Record<string, unknown>)[name], b, o + at);
      }
    },
    decode(b, o) {
      const out: Record<string, unknown> = {};
      for (const { name, c, at } of layout) out[name] = c.decode(b, o + at);
      return out as StructValue<F>;
    },
  };
}

/** Encodes a value into a new Buffer of the codec's size. */
export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const b = Buffer.alloc(codec.size);
  codec.encode(value, b, 0);
  return b;
}

// Codecs built from BTF types (a map's key and value types in a clang object).
export { btfCodec, type BtfCodecOptions } from './btf.js';
