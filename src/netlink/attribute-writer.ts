// Building netlink attributes (struct nlattr: u16 length, u16 type, payload padded to 4 bytes).
import { align4, writeS32, writeU16, writeU32 } from './host-order.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/** Set on an attribute's type when its payload is itself a list of attributes. */
export const NLA_F_NESTED = 0x8000;
/** Set when the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER = 0x4000;
/** The bits of nla_type that are the type proper. */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

const NLA_HDRLEN = 4;
const MAX_ATTRIBUTE_LENGTH = 0xffff;

/** A netlink attribute that cannot be encoded (too long, or a bad value). */
export class AttributeEncodeError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_NETLINK_ENCODE. */
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_NETLINK_ENCODE', message, options);
  }
}

/** Appends attributes in order; nested() builds a nest from a callback. */
export class AttributeWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  /** Bytes written so far, padding included. */
  get length(): number {
    return this.#length;
  }

  /** Appends an attribute with `payload` as it is; throws AttributeEncodeError when it exceeds 65535 bytes. */
  bytes(type: number, payload: Uint8Array): this {
    const length = NLA_HDRLEN + payload.byteLength;
    if (length > MAX_ATTRIBUTE_LENGTH)
      throw new AttributeEncodeError(
        `attribute ${type & NLA_TYPE_MASK} is ${length} bytes; netlink attributes hold at most ${MAX_ATTRIBUTE_LENGTH}`,
      );
    const out = new Uint8Array(align4(length));
    writeU16(out, 0, length);
    writeU16(out, 2, type);
    out.set(payload, NLA_HDRLEN);
    this.#parts.push(out);
    this.#length += out.byteLength;
    return this;
  }

  /** Appends a u8 attribute. */
  u8(type: number, value: number): this {
    return this.bytes(type, Uint8Array.of(value & 0xff));
  }

  /** Appends a u16 attribute, in host byte order. */
  u16(type: number, value: number): this {
    const b = new Uint8Array(2);
    writeU16(b, 0, value);
    return this.bytes(type, b);
  }

  /** Appends a u32 attribute, in host byte order. */
  u32(type: number, value: number): this {
    const b = new Uint8Array(4);
    writeU32(b, 0, value);
    return this.bytes(type, b);
  }

  /** Appends an s32 attribute, in host byte order. */
  s32(type: number, value: number): this {
    const b = new Uint8Array(4);
    writeS32(b, 0, value);
    return this.bytes(type, b);
  }

  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept the terminator). */
  string(type: number, value: string): this {
    const text = new TextEncoder().encode(value);
    const b = new Uint8Array(text.byteLength + 1);
    b.set(text);
    return this.bytes(type, b);
  }

  /** A nest: NLA_F_NESTED is set on the type, the payload is what `build` writes. */
  nested(type: number, build: (inner: AttributeWriter) => void): this {
    const inner = new AttributeWriter();
    build(inner);
    return this.bytes(type | NLA_F_NESTED, inner.finish());
  }

  /** The attributes written so far, concatenated. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}
