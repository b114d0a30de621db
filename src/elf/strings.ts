// A string table section (SHT_STRTAB): NUL-terminated names addressed by byte offset.
import { ElfError } from './errors.js';

const decoder = new TextDecoder('utf-8');

export class StringTable {
  private readonly cache = new Map<number, string>();

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
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    // Offset 0 is the conventional empty name, even when the table itself is empty.
    if (offset === 0 && this.data.length === 0) return '';
    if (!(offset >= 0 && offset < this.data.length)) {
      throw new ElfError(
        `${describe(what)}: name offset 0x${offset.toString(16)} is outside the string table (size 0x${this.data.length.toString(16)})`,
        { offset: this.fileOffset, section: this.sectionName },
      );
    }
    const end = this.data.indexOf(0, offset);
    if (end < 0) {
      throw new ElfError(`${describe(what)}: name at offset 0x${offset.toString(16)} is not NUL-terminated`, {
        offset: this.fileOffset + offset,
        section: this.sectionName,
      });
    }
    const value = decodeName(this.data, offset, end);
    this.cache.set(offset, value);
    return value;
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
