// The one error type the BTF layer throws. Malformed input must surface as this, never as a
// RangeError or TypeError from an out-of-bounds read, so callers can catch one thing.

export interface BtfErrorDetails {
  /** Byte offset into the blob where the problem was found, when known. */
  offset?: number;
  /** Type id involved, when known. */
  typeId?: number;
}

export class BtfError extends Error {
  readonly offset: number | undefined;
  readonly typeId: number | undefined;

  constructor(message: string, details: BtfErrorDetails = {}, options?: { cause?: unknown }) {
    const where: string[] = [];
    if (details.typeId !== undefined) where.push(`type id ${details.typeId}`);
    if (details.offset !== undefined) where.push(`byte offset 0x${details.offset.toString(16)}`);
    super(where.length > 0 ? `${message} (${where.join(', ')})` : message, options);
    this.name = 'BtfError';
    this.offset = details.offset;
    this.typeId = details.typeId;
  }
}
