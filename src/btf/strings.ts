// BTF string sections: NUL-terminated strings addressed by byte offset. Split BTF continues the
// base's offsets, so lookups below `firstOffset` are handed to the base table.
import { isAscii } from 'node:buffer';
import { BtfError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class StringTable {
  /** Whole table decoded once when it is pure ASCII, so byte offsets equal string indexes. */
  private ascii: string | undefined;
  private asciiChecked = false;
  private lookups = 0;
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly bytes: Uint8Array,
    /** Absolute offset of bytes[0]: the base table's length for split BTF, else 0. */
    readonly firstOffset: number,
    /** Byte offset of the table inside the blob, for error messages. */
    private readonly blobOffset: number,
    private readonly base: StringTable | undefined,
  ) {}

  /** One past the last valid absolute offset. */
  get end(): number {
    return this.firstOffset + this.bytes.length;
  }

  /** The table holding an absolute offset and the index inside its bytes, or undefined if out of range. */
  locate(offset: number): { bytes: Uint8Array; index: number } | undefined {
    if (offset < this.firstOffset) return this.base?.locate(offset);
    const index = offset - this.firstOffset;
    return index < this.bytes.length ? { bytes: this.bytes, index } : undefined;
  }

  /** This table's own bytes, starting at absolute offset firstOffset. */
  get ownBytes(): Uint8Array {
    return this.bytes;
  }

  get(offset: number, typeId?: number): string {
    if (offset < this.firstOffset) {
      if (this.base !== undefined) return this.base.get(offset, typeId);
      if (offset === 0) return '';
    }
    const local = offset - this.firstOffset;
    if (!Number.isInteger(local) || local < 0 || local >= this.bytes.length) {
      throw new BtfError(`string offset ${offset} is outside the string section (${this.end} bytes)`, {
        offset: this.blobOffset,
        typeId,
      });
    }
    const text = this.asciiText();
    if (text !== undefined) {
      const end = text.indexOf('\0', local);
      if (end < 0) throw this.unterminated(offset, typeId);
      return text.slice(local, end);
    }
    const cached = this.cache.get(local);
    if (cached !== undefined) return cached;
    const end = this.bytes.indexOf(0, local);
    if (end < 0) throw this.unterminated(offset, typeId);
    const s = decodeName(this.bytes, local, end);
    this.cache.set(local, s);
    return s;
  }

  private unterminated(offset: number, typeId: number | undefined): BtfError {
    return new BtfError(`string at offset ${offset} is not NUL-terminated`, {
      offset: this.blobOffset + offset - this.firstOffset,
      typeId,
    });
  }

  /**
   * The whole table as one string once enough strings were asked for: decoding it costs
   * milliseconds on the kernel's table, which a few lookups should not pay, while walking every
   * type would decode each string separately. A small table (an object file's: a few KiB) is
   * decoded after a handful of lookups, since decoding one string costs about as much as
   * decoding a kilobyte.
   */
  private asciiText(): string | undefined {
    if (!this.asciiChecked) {
      if (++this.lookups < Math.min(WHOLE_TABLE_AFTER, this.bytes.length >> 10)) return undefined;
      this.asciiChecked = true;
      if (isAscii(this.bytes)) {
        this.ascii = utf8.decode(this.bytes);
        this.cache.clear();
      }
    }
    return this.ascii;
  }
}

/** Strings decoded one by one, at most, before the whole table is decoded at once. */
const WHOLE_TABLE_AFTER = 4096;

/** Short ASCII names (nearly all of them) are built directly: cheaper than a TextDecoder call. */
function decodeName(bytes: Uint8Array, from: number, to: number): string {
  if (to - from <= 64) {
    let s = '';
    for (let i = from; i < to; i++) {
      const c = bytes[i];
      if (c === undefined || c >= 0x80) return utf8.decode(bytes.subarray(from, to));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(from, to));
}

const utf8Encoder = new TextEncoder();

/**
 * Builds a string section, storing each distinct string once. Offset 0 is the empty string.
 * For split BTF, pass the base table's length: offsets then continue after it.
 */
export class StringTableBuilder {
  private readonly offsets = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** `firstOffset` is the offset of the first string: 0, or the base table's length for split BTF. */
  constructor(readonly firstOffset = 0) {
    this.add('');
    // Split tables also start with a NUL (older libbpf insists), but names use the base's ''.
    this.offsets.set('', 0);
  }

  /** Adds `s` unless already present and returns its offset; throws a BtfError if it contains NUL. */
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    if (s.includes('\0')) throw new BtfError(`string ${JSON.stringify(s)} contains NUL`);
    const encoded = utf8Encoder.encode(s);
    const offset = this.firstOffset + this.length;
    this.chunks.push(encoded, new Uint8Array(1));
    this.length += encoded.length + 1;
    this.offsets.set(s, offset);
    return offset;
  }

  /** Length in bytes of the strings added so far, NULs included. */
  get size(): number {
    return this.length;
  }

  /** The string section: each string followed by a NUL, in order of addition. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
