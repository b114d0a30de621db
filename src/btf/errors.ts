// The one error type the BTF layer throws. Malformed input must surface as this, never as a
// RangeError or TypeError from an out-of-bounds read, so callers can catch one thing.
import { EbpfError } from '../errors/index.js';

/** Where a BtfError was found; each known field is appended to the message. */
export interface BtfErrorDetails {
  /** Byte offset into the blob where the problem was found, when known. */
  offset?: number;
  /** Type id involved, when known. */
  typeId?: number;
}

export class BtfError extends EbpfError {
  readonly offset: number | undefined;
  readonly typeId: number | undefined;

  /** Creates the error; `details` (type id, byte offset, ...) are appended to the message. */
  constructor(message: string, details: BtfErrorDetails = {}, options?: { cause?: unknown }) {
    const where: string[] = [];
    if (details.typeId !== undefined) where.push(`type id ${details.typeId}`);
    if (details.offset !== undefined) where.push(`byte offset 0x${details.offset.toString(16)}`);
    super('ERR_BTF', where.length > 0 ? `${message} (${where.join(', ')})` : message, options);
    this.name = 'BtfError';
    this.offset = details.offset;
    this.typeId = details.typeId;
  }
}
