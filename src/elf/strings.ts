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

  /** The string starting at `offset`; `what` says whose name it is, for the error message. */
  get(offset: number, what: string): string {
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    // Offset 0 is the conventional empty name, even when the table itself is empty.
    if (offset === 0 && this.data.length === 0) return '';
    if (!(offset >= 0 && offset < this.data.length)) {
      throw new ElfError(
        `${what}: name offset 0x${offset.toString(16)} is outside the string table (size 0x${this.data.length.toString(16)})`,
        { offset: this.fileOffset, section: this.sectionName },
      );
    }
    const end = this.data.indexOf(0, offset);
    if (end < 0) {
      throw new ElfError(`${what}: name at offset 0x${offset.toString(16)} is not NUL-terminated`, {
        offset: this.fileOffset + offset,
        section: this.sectionName,
      });
    }
    const value = decoder.decode(this.data.subarray(offset, end));
    this.cache.set(offset, value);
    return value;
  }
}
