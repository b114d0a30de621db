// Reading netlink attributes. A parsed list keeps each attribute's payload as a view into the
// reply; typed getters check the payload size and throw NetlinkParseError when it is wrong.
import { NLA_F_NESTED, NLA_TYPE_MASK } from './attribute-writer.js';
import { NetlinkParseError } from './errors.js';
import { align4, readS32, readU16, readU32, readU64, readU8 } from './host-order.js';

const NLA_HDRLEN = 4;

/** One parsed netlink attribute; its payload is a view into the message. */
export interface Attribute {
  /** The type without the NESTED and NET_BYTEORDER flag bits. */
  readonly type: number;
  /** NLA_F_NESTED was set (many older kernels nest without setting it). */
  readonly nestedFlag: boolean;
  readonly payload: Uint8Array;
  /** Offset of the attribute header in the buffer given to parse(), plus its base offset. */
  readonly offset: number;
}

/** A parsed run of netlink attributes with typed getters; a getter whose payload has the wrong size throws NetlinkParseError. */
export class Attributes {
  readonly list: readonly Attribute[];

  private constructor(list: Attribute[]) {
    this.list = list;
  }

  /**
   * Parses a run of attributes. `baseOffset` is added to reported offsets so errors point into the
   * whole message. Trailing bytes shorter than a header are an error, as is a length past the end.
   */
  static parse(bytes: Uint8Array, baseOffset = 0): Attributes {
    const list: Attribute[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      if (bytes.byteLength - at < NLA_HDRLEN)
        throw new NetlinkParseError(`${bytes.byteLength - at} stray bytes after the last attribute`, baseOffset + at);
      const length = readU16(bytes, at, 'attribute length');
      const rawType = readU16(bytes, at + 2, 'attribute type');
      if (length < NLA_HDRLEN) throw new NetlinkParseError(`attribute length ${length} is shorter than its header`, baseOffset + at);
      if (at + length > bytes.byteLength)
        throw new NetlinkParseError(
          `attribute ${rawType & NLA_TYPE_MASK} claims ${length} bytes but ${bytes.byteLength - at} remain`,
          baseOffset + at,
        );
      list.push({
        type: rawType & NLA_TYPE_MASK,
        nestedFlag: (rawType & NLA_F_NESTED) !== 0,
        payload: bytes.subarray(at + NLA_HDRLEN, at + length),
        offset: baseOffset + at,
      });
      at += align4(length);
    }
    return new Attributes(list);
  }

  /** Whether an attribute of this type is present. */
  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  /** The last attribute of this type (the kernel's own parsers let a later one win too). */
  get(type: number): Attribute | undefined {
    return this.list.findLast((attribute) => attribute.type === type);
  }

  /** Every attribute of this type, in order (for arrays encoded as repeated attributes). */
  all(type: number): Attribute[] {
    return this.list.filter((a) => a.type === type);
  }

  /** The u8 value of the last attribute of this type, or undefined when absent. */
  u8(type: number): number | undefined {
    const a = this.#sized(type, 1, 'u8');
    return a && readU8(a.payload, 0, 'u8 attribute');
  }

  /** The u16 value (host byte order) of the last attribute of this type, or undefined when absent. */
  u16(type: number): number | undefined {
    const a = this.#sized(type, 2, 'u16');
    return a && readU16(a.payload, 0, 'u16 attribute');
  }

  /** The u32 value (host byte order) of the last attribute of this type, or undefined when absent. */
  u32(type: number): number | undefined {
    const a = this.#sized(type, 4, 'u32');
    return a && readU32(a.payload, 0, 'u32 attribute');
  }

  /** The s32 value (host byte order) of the last attribute of this type, or undefined when absent. */
  s32(type: number): number | undefined {
    const a = this.#sized(type, 4, 's32');
    return a && readS32(a.payload, 0, 's32 attribute');
  }

  /** The u64 value (host byte order) of the last attribute of this type, or undefined when absent. */
  u64(type: number): bigint | undefined {
    const a = this.#sized(type, 8, 'u64');
    return a && readU64(a.payload, 0, 'u64 attribute');
  }

  /** A string attribute, up to its first NUL (or the whole payload when it has none). */
  string(type: number): string | undefined {
    const a = this.get(type);
    if (!a) return undefined;
    const end = a.payload.indexOf(0);
    return new TextDecoder().decode(end < 0 ? a.payload : a.payload.subarray(0, end));
  }

  /** The raw payload of the last attribute of this type, or undefined when absent. */
  binary(type: number): Uint8Array | undefined {
    return this.get(type)?.payload;
  }

  /** The attributes nested in this one (whether or not the sender set NLA_F_NESTED). */
  nested(type: number): Attributes | undefined {
    const a = this.get(type);
    return a && Attributes.parse(a.payload, a.offset + NLA_HDRLEN);
  }

  #sized(type: number, size: number, kind: string): Attribute | undefined {
    const a = this.get(type);
    if (a && a.payload.byteLength !== size) {
      throw new NetlinkParseError(`attribute ${type} should be a ${kind} (${size} bytes) but holds ${a.payload.byteLength}`, a.offset);
    }
    return a;
  }
}
