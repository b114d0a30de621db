// A string table section (SHT_STRTAB): NUL-terminated names addressed by byte offset.
import { isAscii } from 'node:buffer';
import { ElfError } from './errors.js';

const decoder = new TextDecoder('utf-8');
const AT_SIGN = 0x40;

/** Names decoded one by one, at most, before the whole table is decoded at once. */
const WHOLE_TABLE_AFTER = 4096;
/**
 * Larger tables are never decoded whole: names sliced from the table's string keep all of it
 * alive, which for the tens of megabytes of a big binary's .strtab is more than the names.
 */
const WHOLE_TABLE_MAX = 1 << 20;

export class StringTable {
  private readonly cache = new Map<number, string>();
  /**
   * The whole table as one string, when it is ASCII, so that byte offsets are string indexes:
   * decoded once enough names were asked for (at once for a small table, whose whole decoding
   * costs about as much as one name's: ~0.3 µs per TextDecoder call, and building a name a
   * character at a time costs more), and sliced from then on.
   */
  private text: string | undefined;
  private textChecked = false;
  private lookups = 0;

  /**
   * @param data the table's bytes
   * @param fileOffset where the table starts in the file, for error messages
   * @param sectionName the table's section name, for error messages
   */
  constructor(
    private readonly data: Uint8Array,
    private readonly fileOffset: number,
    private readonly sectionName: string | undefined,
  ) {}

  /**
   * The string starting at `offset`; `what` says whose name it is, for the error message (a
   * function when building that text costs: it is called only for an error).
   */
  get(offset: number, what: string | (() => string)): string {
    const text = this.text ?? this.wholeText();
    if (text === undefined) {
      const cached = this.cache.get(offset);
      if (cached !== undefined) return cached;
    }
    // Offset 0 is the conventional empty name, even when the table itself is empty.
    if (offset === 0 && this.data.length === 0) return '';
    if (!(offset >= 0 && offset < this.data.length)) {
      throw new ElfError(
        `${describe(what)}: name offset 0x${offset.toString(16)} is outside the string table (size 0x${this.data.length.toString(16)})`,
        { offset: this.fileOffset, section: this.sectionName },
      );
    }
    const end = text !== undefined ? text.indexOf('\0', offset) : this.data.indexOf(0, offset);
    if (end < 0) {
      throw new ElfError(`${describe(what)}: name at offset 0x${offset.toString(16)} is not NUL-terminated`, {
        offset: this.fileOffset + offset,
        section: this.sectionName,
      });
    }
    if (text !== undefined) return text.slice(offset, end);
    const value = decodeName(this.data, offset, end);
    this.cache.set(offset, value);
    return value;
  }

  /**
   * Whether the name at `offset` is exactly `utf8` (its bytes, then a NUL; with `versioned`, or
   * then an @), compared in the table's bytes: nothing decoded. False, not an error, for an
   * offset outside the table.
   */
  nameIs(offset: number, utf8: Uint8Array, versioned = false): boolean {
    const data = this.data;
    if (!(offset >= 0) || offset + utf8.length >= data.length) return false;
    for (let k = 0; k < utf8.length; k++) if (data[offset + k] !== utf8[k]) return false;
    const after = data[offset + utf8.length];
    // With `versioned`, "name@VERSION" and "name@@VERSION" are the name too.
    return after === 0 || (versioned && after === AT_SIGN);
  }

  private wholeText(): string | undefined {
    if (this.textChecked || this.data.length > WHOLE_TABLE_MAX) return undefined;
    if (++this.lookups < Math.min(WHOLE_TABLE_AFTER, this.data.length >> 10)) return undefined;
    this.textChecked = true;
    if (isAscii(this.data)) {
      this.text = decoder.decode(this.data);
      this.cache.clear();
    }
    return this.text;
  }
}

/** Short ASCII names (section and symbol names nearly all are) built directly: cheaper than a TextDecoder call. */
function decodeName(bytes: Uint8Array, from: number, to: number): string {
  if (to - from > 64) return decoder.decode(bytes.subarray(from, to));
  let s = '';
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return decoder.decode(bytes.subarray(from, to));
    s += String.fromCharCode(c);
  }
  return s;
}

const describe = (what: string | (() => string)): string => (typeof what === 'string' ? what : what());
