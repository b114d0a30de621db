// Codecs built from BTF: a map whose key and value types are known (from an object's BTF, or the
// kernel's for a map opened by id) reads and writes plain JS values instead of bytes. Struct and
// union members by name, ints as numbers up to 32 bits and bigints above, bool, enums by name,
// char arrays as strings, pointers as bigints. Host (little-endian) byte order, as the maps use.
import type { Btf, BtfType, Member } from '../btf/index.js';
import { CodecError, type Codec } from './index.js';

/** Options of the codec built from a BTF type. */
export interface BtfCodecOptions {
  /** Decode char arrays as NUL-terminated strings (default true); false gives bytes. */
  readonly charArraysAsStrings?: boolean;
}

type AnyCodec = Codec<unknown>;

/** A codec for values of BTF type `typeId`. */
export function btfCodec(btf: Btf, typeId: number, options: BtfCodecOptions = {}): Codec<unknown> {
  return build(btf, typeId, { strings: options.charArraysAsStrings ?? true, depth: 0 });
}

interface Context {
  readonly strings: boolean;
  readonly depth: number;
}

function build(btf: Btf, typeId: number, ctx: Context): AnyCodec {
  if (ctx.depth > 64) throw new CodecError(`BTF type ${typeId} nests too deeply for a codec`);
  const t = btf.resolve(typeId);
  const next = { ...ctx, depth: ctx.depth + 1 };
  switch (t.kind) {
    case 'int':
      return intCodec(t.size, t.signed, t.bool, t.bits, t.bitOffset, nameOf(t));
    case 'ptr':
      return intCodec(8, false, false, 64, 0, 'pointer');
    case 'enum':
    case 'enum64':
      return enumCodec(t);
    case 'float':
      if (t.size === 4)
        return { size: 4, align: 4, encode: (v, b, o) => void b.writeFloatLE(num(v, 'float'), o), decode: (b, o) => b.readFloatLE(o) };
      if (t.size === 8)
        return { size: 8, align: 8, encode: (v, b, o) => void b.writeDoubleLE(num(v, 'double'), o), decode: (b, o) => b.readDoubleLE(o) };
      return rawCodec(t.size);
    case 'array': {
      const element = btf.resolve(t.type);
      if (ctx.strings && element.kind === 'int' && element.size === 1 && (element.char || element.name === 'char'))
        return stringCodec(t.length);
      return arrayCodec(build(btf, t.type, next), t.length);
    }
    case 'struct':
    case 'union':
      return compositeCodec(btf, t.size, t.members, t.kind === 'union', next);
    case 'datasec':
      return compositeCodec(
        btf,
        t.size,
        t.vars.map((v) => ({ name: btf.nameOf(v.type), type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 })),
        false,
        next,
      );
    case 'var':
      return build(btf, t.type, next);
    default:
      throw new CodecError(`no codec for BTF ${t.kind} ${JSON.stringify(t.name)} (type id ${typeId})`);
  }
}

function nameOf(t: BtfType): string {
  return t.name || t.kind;
}

function num(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new CodecError(`${what}: expected a number, got ${typeof v}`);
}

function big(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new CodecError(`${what}: expected a bigint or an integer, got ${typeof v === 'number' ? v : typeof v}`);
}

/** Reads `size` bytes as an unsigned bigint (little-endian). */
function readUnsigned(b: Buffer, o: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) {
    const byte = b[o + i];
    if (byte === undefined) throw new CodecError(`${size} bytes at offset ${o} run past the end of a ${b.length}-byte buffer`);
    v = (v << 8n) | BigInt(byte);
  }
  return v;
}

function writeUnsigned(b: Buffer, o: number, size: number, v: bigint): void {
  // A Buffer ignores writes past its end; a value cut short that way must not pass silently.
  if (!(o >= 0 && o + size <= b.length)) throw new CodecError(`${size} bytes at offset ${o} run past the end of a ${b.length}-byte buffer`);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    b[o + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function intCodec(size: number, signed: boolean, bool: boolean, bits: number, bitOffset: number, what: string): AnyCodec {
  const asBigint = size > 4;
  const width = bits || size * 8;
  const min = signed ? -(1n << BigInt(width - 1)) : 0n;
  const max = signed ? (1n << BigInt(width - 1)) - 1n : (1n << BigInt(width)) - 1n;
  return {
    size,
    align: Math.min(size, 8),
    encode(v, b, o) {
      const x = big(v, what);
      if (x < min || x > max) throw new CodecError(`${what}: ${x} does not fit in ${width} ${signed ? 'signed' : 'unsigned'} bits`);
      writeUnsigned(b, o, size, BigInt.asUintN(width, x) << BigInt(bitOffset));
    },
    decode(b, o) {
      let x = (readUnsigned(b, o, size) >> BigInt(bitOffset)) & ((1n << BigInt(width)) - 1n);
      if (signed) x = BigInt.asIntN(width, x);
      if (bool) return x !== 0n;
      return asBigint ? x : Number(x);
    },
  };
}

function enumCodec(t: Extract<BtfType, { kind: 'enum' | 'enum64' }>): AnyCodec {
  const byName = new Map<string, bigint>();
  const byValue = new Map<bigint, string>();
  for (const v of t.values) {
    const value = BigInt(v.value);
    byName.set(v.name, value);
    if (!byValue.has(value)) byValue.set(value, v.name);
  }
  const base = intCodec(t.size, t.signed, false, t.size * 8, 0, `enum ${t.name}`);
  return {
    size: t.size,
    align: t.size,
    encode(v, b, o) {
      if (typeof v === 'string') {
        const value = byName.get(v);
        if (value === undefined) throw new CodecError(`enum ${t.name}: no value named ${v}; known: ${[...byName.keys()].join(', ')}`);
        writeUnsigned(b, o, t.size, value);
        return;
      }
      base.encode(v, b, o);
    },
    decode(b, o) {
      const raw = BigInt.asUintN(t.size * 8, readUnsigned(b, o, t.size));
      const value = t.signed ? BigInt.asIntN(t.size * 8, raw) : raw;
      return byValue.get(value) ?? (t.size > 4 ? value : Number(value));
    },
  };
}

function rawCodec(size: number): AnyCodec {
  return {
    size,
    align: 1,
    encode(v, b, o) {
      if (!(v instanceof Uint8Array) || v.length > size) throw new CodecError(`expected at most ${size} bytes`);
      b.fill(0, o, o + size);
      b.set(v, o);
    },
    decode: (b, o) => Buffer.from(b.subarray(o, o + size)),
  };
}

function stringCodec(size: number): AnyCodec {
  return {
    size,
    align: 1,
    encode(v, b, o) {
      if (v instanceof Uint8Array) {
        if (v.length > size) throw new CodecError(`char[${size}]: ${v.length} bytes given`);
        b.fill(0, o, o + size);
        b.set(v, o);
        return;
      }
      if (typeof v !== 'string') throw new CodecError(`char[${size}]: expected a string, got ${typeof v}`);
      const n = Buffer.byteLength(v);
      if (n > size) throw new CodecError(`char[${size}]: "${v}" is ${n} bytes`);
      b.fill(0, o, o + size);
      b.write(v, o, 'utf8');
    },
    decode(b, o) {
      const end = b.indexOf(0, o);
      return b.toString('utf8', o, end < 0 || end > o + size ? o + size : end);
    },
  };
}

function arrayCodec(element: AnyCodec, length: number): AnyCodec {
  return {
    size: element.size * length,
    align: element.align,
    encode(v, b, o) {
      if (!Array.isArray(v) || v.length > length)
        throw new CodecError(`array of ${length}: expected an array of at most ${length} elements`);
      b.fill(0, o, o + element.size * length);
      for (let i = 0; i < v.length; i++) element.encode(v[i], b, o + i * element.size);
    },
    decode(b, o) {
      const out: unknown[] = new Array(length);
      for (let i = 0; i < length; i++) out[i] = element.decode(b, o + i * element.size);
      return out;
    },
  };
}

interface Field {
  readonly name: string;
  readonly offset: number;
  readonly codec: AnyCodec;
  /** Bitfield members: mask and shift inside their storage unit. */
  readonly bits?: { readonly unitSize: number; readonly shift: number; readonly width: number; readonly signed: boolean };
}

function compositeCodec(btf: Btf, size: number, members: readonly Member[], union: boolean, ctx: Context): AnyCodec {
  const fields: Field[] = [];
  let align = 1;
  const add = (list: readonly Member[], base: number): void => {
    for (const m of list) {
      const bitOffset = base + m.bitOffset;
      const resolved = btf.resolve(m.type);
      // Anonymous struct and union members: their fields read as the parent's, as in C.
      if (m.name === '' && (resolved.kind === 'struct' || resolved.kind === 'union')) {
        add(resolved.members, bitOffset);
        continue;
      }
      if (m.bitfieldSize > 0) {
        const unitSize = resolved.kind === 'int' || resolved.kind === 'enum' ? resolved.size : 4;
        const unitStart = Math.floor(bitOffset / (unitSize * 8)) * unitSize;
        const signed = resolved.kind === 'int' && resolved.signed;
        fields.push({
          name: m.name,
          offset: unitStart,
          codec: intCodec(unitSize, false, false, unitSize * 8, 0, m.name),
          bits: { unitSize, shift: bitOffset - unitStart * 8, width: m.bitfieldSize, signed },
        });
        continue;
      }
      if (bitOffset % 8 !== 0) throw new CodecError(`member ${m.name} is not byte-aligned`);
      const codec = build(btf, m.type, ctx);
      align = Math.max(align, codec.align);
      fields.push({ name: m.name, offset: bitOffset / 8, codec });
    }
  };
  add(members, 0);
  return {
    size,
    align,
    encode(v, b, o) {
      if (v === null || typeof v !== 'object')
        throw new CodecError(`expected an object with fields ${fields.map((f) => f.name).join(', ')}`);
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!fields.some((f) => f.name === key))
          throw new CodecError(`no field named ${key}; fields: ${fields.map((f) => f.name).join(', ')}`);
      }
      b.fill(0, o, o + size);
      for (const f of fields) {
        if (!(f.name in record)) continue;
        if (union && record[f.name] === undefined) continue;
        if (f.bits) {
          const at = o + f.offset;
          const x = BigInt.asUintN(f.bits.width, big(record[f.name], f.name));
          const mask = ((1n << BigInt(f.bits.width)) - 1n) << BigInt(f.bits.shift);
          const unit = readUnsigned(b, at, f.bits.unitSize);
          writeUnsigned(b, at, f.bits.unitSize, (unit & ~mask) | (x << BigInt(f.bits.shift)));
        } else {
          f.codec.encode(record[f.name], b, o + f.offset);
        }
      }
    },
    decode(b, o) {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        if (f.bits) {
          let x = (readUnsigned(b, o + f.offset, f.bits.unitSize) >> BigInt(f.bits.shift)) & ((1n << BigInt(f.bits.width)) - 1n);
          if (f.bits.signed) x = BigInt.asIntN(f.bits.width, x);
          out[f.name] = f.bits.width > 32 ? x : Number(x);
        } else {
          out[f.name] = f.codec.decode(b, o + f.offset);
        }
      }
      return out;
    },
  };
}
