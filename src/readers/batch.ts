// What the readers' pollBatch hands out: many records at once, located by offset in one buffer.

/**
 * A batch of records handed to a `pollBatch` callback, all in place in `data`: record i (for
 * i < `count`) is the `lengths[i]` bytes at `offsets[i]`. Only the first `count` entries of
 * `offsets` and `lengths` are meaningful. The object, its arrays and the bytes are reused: they are
 * valid until the callback returns; copy what you keep.
 *
 * `words` and `view` are `data` again (same memory) as host-endian 32-bit words and as a DataView.
 * Record offsets are 4-byte aligned (8-byte in a ring buffer), so a record's 32-bit word k is
 * `words[(offsets[i] >>> 2) + k]`.
 */
export interface RecordBatch {
  readonly data: Buffer;
  readonly words: Uint32Array;
  readonly view: DataView;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  /**
   * Nonzero when every record of the batch has the same length, `lengths[0]`, and they lie
   * `stride` bytes apart with nothing between them: record i is at `offsets[0] + i * stride`
   * (and `stride` is a multiple of 4, so its word k is `words[(offsets[0] + i * stride >>> 2) + k]`).
   * Zero when lengths differ or something lies among the records (a discarded record, a LOST
   * record, a wrapped sample), and possibly for alike records too (a perf batch that reaches the
   * ring's end): nonzero is a promise, zero only says to use `offsets`. A consumer of a strided
   * batch can step through the records without reading `offsets` and `lengths`; with the readers'
   * `fillOffsets: false` a strided batch fills only `offsets[0]` and `lengths[0]`, which saves the
   * reader two stores per record.
   */
  readonly stride: number;
  /** The CPU whose perf ring the records come from; -1 for a ring buffer. */
  readonly cpu: number;
}

/** Bytes that records are in, with the same memory as 32-bit words and as a DataView. */
export class Bytes {
  readonly data: Buffer;
  readonly words: Uint32Array;
  readonly view: DataView;

  constructor(data: Buffer) {
    this.data = data;
    this.words = wordsOf(data);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
}

/** The readers' own mutable batch. */
export class Batch implements RecordBatch {
  data: Buffer;
  words: Uint32Array;
  view: DataView;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  count = 0;
  stride = 0;
  cpu: number;

  constructor(bytes: Bytes, capacity: number, cpu: number) {
    this.data = bytes.data;
    this.words = bytes.words;
    this.view = bytes.view;
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.cpu = cpu;
  }

  /** Points the batch at other bytes (a perf ring, the copy area). */
  use(bytes: Bytes, cpu: number): void {
    this.data = bytes.data;
    this.words = bytes.words;
    this.view = bytes.view;
    this.cpu = cpu;
  }
}

export function wordsOf(data: Buffer): Uint32Array {
  if (data.byteOffset % 4 !== 0) throw new Error('record data must be 4-byte aligned');
  return new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
}

export const DEFAULT_BATCH_SIZE = 4096;

export function checkBatchSize(n: number, E: new (message: string) => Error): number {
  if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw new E(`batchSize must be an integer from 1 to ${1 << 24}, got ${n}`);
  return n;
}
