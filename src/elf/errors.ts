// The one error type the ELF reader throws. Malformed input must surface as this, never as a
// RangeError or TypeError from an out-of-bounds read, so callers can catch one thing.
import { EbpfError } from '../errors/index.js';

/** Where an ElfError was found; each known field is appended to the message. */
export interface ElfErrorDetails {
  /** File offset where the problem was found, when known. */
  offset?: number;
  /** Name of the section involved, when known. */
  section?: string;
}

export class ElfError extends EbpfError {
  readonly offset: number | undefined;
  readonly section: string | undefined;

  /** Creates the error; `details` (section, file offset, ...) are appended to the message. */
  constructor(message: string, details: ElfErrorDetails = {}, options?: { cause?: unknown }) {
    const where: string[] = [];
    if (details.section !== undefined) where.push(`section ${JSON.stringify(details.section)}`);
    if (details.offset !== undefined) where.push(`file offset 0x${details.offset.toString(16)}`);
    super('ERR_ELF', where.length > 0 ? `${message} (${where.join(', ')})` : message, options);
    this.name = 'ElfError';
    this.offset = details.offset;
    this.section = details.section;
  }
}
