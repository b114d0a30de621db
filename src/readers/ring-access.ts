// Access to one BPF ring buffer (map type RINGBUF) through its views: the records between the
// consumer and producer positions, and giving their space back. No kernel here: a reader builds one
// over the mapped pages, a unit test over made-up ones. The kernel maps the data area twice back
// to back, so a record that wraps is still contiguous and is handed out in place, without a copy.
import { Batch, Bytes, type RecordBatch } from './batch.js';
import { advancePosition, LOW_WORD, toLimit } from './shared.js';

// Record header: u32 length with the busy (bit 31) and discard (bit 30) flags, u32 page offset.
export const RINGBUF_BUSY_BIT = 0x8000_0000;
export const RINGBUF_DISCARD_BIT = 0x4000_0000;
export const RINGBUF_LENGTH_MASK = 0x3fff_ffff;
export const RINGBUF_HEADER_SIZE = 8;
const LENGTH_MASK = RINGBUF_LENGTH_MASK;
// pollBatch covers at most this much ring per batch, so the records are still in L1 when the
// callback reads them; poll and pollRaw release consumed space to the producer this often.
const BATCH_BYTES = 4096;
const PASS_BYTES = 65536;

/** See PLAIN_LOADS_ACQUIRE in shared.ts: module-local, so that the compiled loops fold the test away. */
const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';

export type RingRawCallback = (ring: Buffer, offset: number, length: number) => void;

/** The memory of one ring buffer, as the kernel lays it out (or a test makes it up). */
export interface RingBufferViews {
  /** The consumer page (consumer_pos at 0), read-write. */
  readonly consumer: Buffer;
  /** The producer page (producer_pos at 0), read-only. */
  readonly producer: Buffer;
  /** The data area, `2 * size` bytes: the ring mapped twice back to back. */
  readonly data: Buffer;
}

/**
 * One ring buffer's records and positions. `scan`, `raw` and `views` are the hot loops over the
 * records between two offsets of the data area: each steps over discarded records, stops at a
 * busy one (reserved, not yet committed), returns how many records it found or delivered and
 * leaves in `end` where it stopped, past the last record it handed out (also when a callback
 * throws, or sets `closed[0]`). The poll methods run them from the consumer position and release
 * what they consumed.
 *
 * The loops are closures over the ring's views, made once per ring, not methods: V8 inlines them
 * into the poll methods that call them (while a process has a few rings), and then the views are
 * constants of the compiled code, with no reload of their pointers and lengths after every store
 * (measured: a method reading them from `this` took 4.7-5.1 ns per 24-byte record where the
 * closure takes 3.1, bench/ring-scan-ab.ts). raw and views are written out separately rather than
 * one calling the other through a wrapper callback: each call site then sees one callback shape,
 * which V8 can inline. `length` in the loops is the previous record's: while records keep the
 * same length, the header compares equal, that branch is predicted, and the next header's address
 * does not wait for this load (no chain of dependent loads through the ring). Each loop copies what
 * it uses of the closure to locals first: when V8 does not fold the closure's context to constants
 * (a process with several rings), locals are not reloaded on every iteration.
 */
export class RingBufferRing {
  readonly size: number;
  readonly mask: number;
  readonly data: Buffer;
  readonly view: DataView;
  /** The data area as 32-bit words, for Atomics.load of headers where plain loads are not acquires. */
  readonly headers: Int32Array;
  /** consumer_pos and producer_pos as u64 and as 32-bit words (their low halves are all a poll needs). */
  readonly consumerPos: BigUint64Array;
  readonly consumerWords: Uint32Array;
  readonly producerPos: BigUint64Array;
  readonly producerWords: Uint32Array;
  readonly batch: Batch;
  /** Set by the owner (the reader's close()); the loops test it after every callback. */
  readonly closed: Uint8Array;
  /** Where the last loop stopped: an offset in the data area. */
  end = 0;
  /** The last scan's stride: bytes from one record to the next when all are alike (see ringScan), else 0. */
  stride = 0;
  /** Whether scans fill every offset and length of a strided batch (see RingBufferReaderOptions.fillOffsets). */
  readonly fillOffsets: boolean;
  /** Hands up to `limit` records from `start` to `end` to `onRecord` as offsets in the data area. */
  readonly raw: (onRecord: RingRawCallback, start: number, end: number, limit: number) => number;
  /** Hands up to `limit` records from `start` to `end` to `onRecord` as views of the data area. */
  readonly views: (onRecord: (record: Buffer) => void, start: number, end: number, limit: number) => number;
  /** What the loops read to touch cache lines (kept, so the reads are not optimized away). */
  touched = 0;

  constructor(views: RingBufferViews, batchSize: number, closed = new Uint8Array(1), fillOffsets = true) {
    const { consumer, producer, data } = views;
    this.size = data.length / 2;
    this.mask = this.size - 1;
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.headers = new Int32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
    this.consumerPos = new BigUint64Array(consumer.buffer, consumer.byteOffset, 1);
    this.consumerWords = new Uint32Array(consumer.buffer, consumer.byteOffset, 2);
    this.producerPos = new BigUint64Array(producer.buffer, producer.byteOffset, 1);
    this.producerWords = new Uint32Array(producer.buffer, producer.byteOffset, 2);
    this.batch = new Batch(new Bytes(data), batchSize, -1);
    this.closed = closed;
    this.fillOffsets = fillOffsets;
    this.raw = rawLoop(this, this.view, this.headers, data, closed);
    this.views = viewsLoop(this, this.view, this.headers, data, closed);
  }

  /**
   * Finds up to `limit` records from `start` to `end`, writing their offsets and lengths into the
   * batch, and sets `stride` (see ringScan).
   */
  scan(start: number, end: number, limit: number): number {
    const batch = this.batch;
    return ringScan(this, this.view, this.headers, batch.offsets, batch.lengths, start, end, limit, this.fillOffsets);
  }

  /** Bytes written by the producer and not yet consumed. */
  get pending(): number {
    return Number(Atomics.load(this.producerPos, 0) - Atomics.load(this.consumerPos, 0));
  }

  /**
   * Bytes between consumer position `consumer` (low 32 bits) and producer_pos, read with acquire
   * semantics. The ring is at most 1 GiB, so the low halves' difference is the whole one.
   */
  available(consumer: number): number {
    const producer = PLAIN_LOADS_ACQUIRE ? this.producerWords[LOW_WORD] : Atomics.load(this.producerWords, LOW_WORD);
    return (producer - consumer) >>> 0;
  }

  /** Releases `bytes` more to the producer; returns the new consumer position (low 32 bits). */
  release(consumer: number, bytes: number): number {
    return advancePosition(this.consumerWords, LOW_WORD, this.consumerPos, consumer, bytes);
  }

  /**
   * Consumes the records available now, up to `max`, handing them to `onBatch` in batches of at
   * most a few KiB of ring (still in cache when the callback reads them), released after each
   * callback returns. A callback that throws: its batch counts as consumed. Returns the records
   * delivered (discarded ones are skipped and not counted).
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, max: number): number {
    const batch = this.batch;
    const mask = this.mask;
    const closed = this.closed;
    const capacity = batch.offsets.length | 0; // an int32, so the scan compares integers
    let consumer = this.consumerWords[LOW_WORD]; // written by this side only
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(consumer);
      if (available === 0) break;
      // The data area is mapped twice, so from `start` (< size) the next `available` (<= size)
      // bytes are contiguous: offsets run on without wrapping.
      const start = consumer & mask;
      const left = limit - delivered;
      const count = this.scan(start, start + (available < BATCH_BYTES ? available : BATCH_BYTES), left < capacity ? left : capacity);
      const scanned = this.end - start;
      if (scanned === 0) break; // a busy record
      if (count > 0) {
        batch.count = count;
        batch.stride = this.stride;
        try {
          onBatch(batch);
        } catch (e) {
          // The callback is done with the batch: release it (unless it closed the reader).
          if (closed[0] === 0) this.release(consumer, scanned);
          throw e;
        } finally {
          batch.count = 0;
          batch.stride = 0;
        }
        delivered += count;
        if (closed[0] !== 0) break;
      }
      consumer = this.release(consumer, scanned);
    }
    return delivered;
  }

  /** Like pollBatch, one record per call: `onRecord` gets the data area, the record's offset and length. */
  pollRaw(onRecord: RingRawCallback, max: number): number {
    const mask = this.mask;
    const closed = this.closed;
    let consumer = this.consumerWords[LOW_WORD];
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(consumer);
      if (available === 0) break;
      const start = consumer & mask;
      const end = start + (available < PASS_BYTES ? available : PASS_BYTES);
      try {
        delivered += this.raw(onRecord, start, end, limit - delivered);
      } catch (e) {
        if (closed[0] === 0) this.release(consumer, this.end - start); // through the record that threw
        throw e;
      }
      if (closed[0] !== 0) break;
      const stop = this.end;
      if (stop !== start) consumer = this.release(consumer, stop - start);
      if (stop < end) break; // a busy record, or `max` reached
    }
    return delivered;
  }

  /** Like pollRaw, with each record as a view of the data area. */
  poll(onRecord: (record: Buffer) => void, max: number): number {
    const mask = this.mask;
    const closed = this.closed;
    let consumer = this.consumerWords[LOW_WORD];
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(consumer);
      if (available === 0) break;
      const start = consumer & mask;
      const end = start + (available < PASS_BYTES ? available : PASS_BYTES);
      try {
        delivered += this.views(onRecord, start, end, limit - delivered);
      } catch (e) {
        if (closed[0] === 0) this.release(consumer, this.end - start);
        throw e;
      }
      if (closed[0] !== 0) break;
      const stop = this.end;
      if (stop !== start) consumer = this.release(consumer, stop - start);
      if (stop < end) break;
    }
    return delivered;
  }
}

/**
 * RingBufferRing.scan. One module function for every ring, with the views as arguments, not a
 * closure per ring: every process that reads has at least two rings (the one warmRingScan makes
 * and the reader's), and a call site that has seen two closures no longer folds their views to
 * constants. Measured on a kernel-filled 16 MiB ring, 24-byte records, a reader present (a
 * prototype of bench/drain.ts's loops, not kept): the closure scan and a loop over the offsets
 * took 6.8-8.9 ns per record, this function storing offsets 6.4-7.5, and the first phase below
 * with the consumer stepping by stride 4.0-6.1. On a ring the reader scans again (still in
 * cache) all of them run at 2.3-3 ns: a drain is bound by memory, and stores per record cost.
 *
 * It runs in two phases. The first walks a run of records of one length with nothing stored per
 * record: a header equal to the first one means a record like it, `step` bytes on. If the run
 * ends the batch (the chunk or `limit` is reached, or a busy record), the batch is strided
 * (`ring.stride` = step) and its offsets and lengths are filled afterwards in a tight loop only if
 * `fill` is set (offsets[0] and lengths[0] always are). Otherwise (a discarded record, or another
 * length) the run's offsets are filled and the second phase goes on as a general loop, storing
 * each record's offset and length.
 *
 * The first phase reads short records' headers eight at a time. Measured on the kernel-filled ring
 * of bench/drain.ts (16-byte records, pollBatch with the bench's callback, both versions in one
 * process, 40 rounds each): best 5.1 -> 3.9-4.2 ns per record, the scan alone (an empty callback) 3.9 -> 3.2;
 * four at a time gave 4.3-4.5. A record-by-record loop spends as much on its own tests and
 * counters as on the loads, which do not depend on one another here.
 */
function ringScan(
  ring: RingBufferRing,
  view: DataView,
  headers: Int32Array,
  offsets: Uint32Array,
  lengths: Uint32Array,
  start: number,
  end: number,
  limit: number,
  fill: boolean,
): number {
  const plain = PLAIN_LOADS_ACQUIRE;
  let offset = start;
  let count = 0;
  let touched = 0;
  ring.stride = 0;
  if (offset < end && limit > 0) {
    const first = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
    if (first >>> 30 === 0) {
      const length = first;
      const step = (length + 15) & ~7; // the 8-byte header and the record, rounded up to 8
      const long = length > 56;
      let header = first;
      if (!long) {
        // Eight headers per turn while eight records fit: the loop's tests and counters once per
        // eight records (see the function's comment). A mismatch anywhere leaves the eight to the
        // loop below, which stops at the first one that differs.
        const step8 = 8 * step;
        while (offset + step8 <= end && count + 8 <= limit) {
          const h0 = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
          const h1 = plain ? view.getInt32(offset + step, true) : Atomics.load(headers, (offset + step) >> 2);
          const h2 = plain ? view.getInt32(offset + 2 * step, true) : Atomics.load(headers, (offset + 2 * step) >> 2);
          const h3 = plain ? view.getInt32(offset + 3 * step, true) : Atomics.load(headers, (offset + 3 * step) >> 2);
          const h4 = plain ? view.getInt32(offset + 4 * step, true) : Atomics.load(headers, (offset + 4 * step) >> 2);
          const h5 = plain ? view.getInt32(offset + 5 * step, true) : Atomics.load(headers, (offset + 5 * step) >> 2);
          const h6 = plain ? view.getInt32(offset + 6 * step, true) : Atomics.load(headers, (offset + 6 * step) >> 2);
          const h7 = plain ? view.getInt32(offset + 7 * step, true) : Atomics.load(headers, (offset + 7 * step) >> 2);
          if ((h0 ^ length) | (h1 ^ length) | (h2 ^ length) | (h3 ^ length) | (h4 ^ length) | (h5 ^ length) | (h6 ^ length) | (h7 ^ length))
            break;
          count += 8;
          offset += step8;
        }
      }
      while (offset < end && count < limit) {
        header = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
        if (header !== length) break;
        // A record longer than a cache line: read its second line too, so that the lines read
        // form a dense stream the hardware prefetcher follows (headers alone skip lines).
        if (long) touched ^= view.getInt32(offset + 64, true);
        count++;
        offset += step;
      }
      const uniform = offset >= end || count >= limit || header < 0; // the batch ends with the run
      offsets[0] = start + 8;
      lengths[0] = length;
      if (!uniform || fill) {
        let at = start + 8;
        for (let i = 1; i < count; i++) {
          at += step;
          offsets[i] = at;
          lengths[i] = length;
        }
      }
      if (uniform) {
        ring.stride = step;
        ring.end = offset;
        ring.touched = touched;
        return count;
      }
    }
  }
  let length = -1;
  while (offset < end && count < limit) {
    const header = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
    if (header !== length) {
      if (header >>> 30 !== 0) {
        if (header < 0) break; // busy
        offset = (offset + (header & LENGTH_MASK) + 15) & ~7; // discarded
        continue;
      }
      length = header;
    }
    if (length > 56) touched ^= view.getInt32(offset + 64, true); // as in the first phase
    offsets[count] = offset + 8;
    lengths[count] = length;
    count++;
    offset += (length + 15) & ~7;
  }
  ring.end = offset;
  ring.touched = touched;
  return count;
}

/** RingBufferRing.raw, as a closure over the ring's views. */
function rawLoop(
  ring: RingBufferRing,
  ringView: DataView,
  ringHeaders: Int32Array,
  ringData: Buffer,
  closedFlag: Uint8Array,
): RingBufferRing['raw'] {
  return (onRecord: RingRawCallback, start: number, end: number, limit: number): number => {
    const view = ringView;
    const headers = ringHeaders;
    const data = ringData;
    const closed = closedFlag;
    const plain = PLAIN_LOADS_ACQUIRE;
    let offset = start;
    let delivered = 0;
    let length = -1;
    let touched = 0;
    try {
      while (offset < end && delivered < limit) {
        const header = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
        if (header !== length) {
          if (header >>> 30 !== 0) {
            if (header < 0) break;
            offset = (offset + (header & LENGTH_MASK) + 15) & ~7;
            continue;
          }
          length = header;
        }
        if (length > 56) touched ^= view.getInt32(offset + 64, true); // as in scan
        const at = offset + 8;
        offset += (length + 15) & ~7;
        delivered++;
        onRecord(data, at, length);
        if (closed[0] !== 0) break;
      }
    } finally {
      ring.end = offset;
      ring.touched = touched;
    }
    return delivered;
  };
}

/** RingBufferRing.views, as a closure over the ring's views. */
function viewsLoop(
  ring: RingBufferRing,
  ringView: DataView,
  ringHeaders: Int32Array,
  ringData: Buffer,
  closedFlag: Uint8Array,
): RingBufferRing['views'] {
  return (onRecord: (record: Buffer) => void, start: number, end: number, limit: number): number => {
    const view = ringView;
    const headers = ringHeaders;
    const data = ringData;
    const closed = closedFlag;
    const plain = PLAIN_LOADS_ACQUIRE;
    let offset = start;
    let delivered = 0;
    let length = -1;
    try {
      while (offset < end && delivered < limit) {
        const header = plain ? view.getInt32(offset, true) : Atomics.load(headers, offset >> 2);
        if (header !== length) {
          if (header >>> 30 !== 0) {
            if (header < 0) break;
            offset = (offset + (header & LENGTH_MASK) + 15) & ~7;
            continue;
          }
          length = header;
        }
        const at = offset + 8;
        offset += (length + 15) & ~7;
        delivered++;
        onRecord(data.subarray(at, at + length));
        if (closed[0] !== 0) break;
      }
    } finally {
      ring.end = offset;
    }
    return delivered;
  };
}

/**
 * Runs every path of the scan once, on a small ring made up here (records short and long, a
 * discarded one, a busy one), so that V8 has type feedback for all of them when it compiles it:
 * otherwise the first long or discarded record of a real ring deoptimizes pollBatch mid-stream.
 * (Not the loops with callbacks: a callback made up here would make their call sites polymorphic.)
 */
function warmRingScan(): void {
  const size = 4096;
  const data = Buffer.alloc(2 * size);
  let end = 0;
  for (const [header, length] of [
    [16, 16],
    [100, 100],
    [RINGBUF_DISCARD_BIT | 16, 16],
    [16, 16],
    [RINGBUF_BUSY_BIT | 16, 16],
  ]) {
    data.writeUInt32LE(header >>> 0, end);
    end += (length + 15) & ~7;
  }
  // Mixed records (the general phase), a run that reaches the chunk's end, one that meets `limit`
  // and one that ends at a busy record (strided batches); with and without filling offsets.
  for (const fill of [true, false]) {
    const ring = new RingBufferRing({ consumer: Buffer.alloc(8), producer: Buffer.alloc(8), data }, 8, undefined, fill);
    for (let i = 0; i < 30; i++) {
      ring.scan(0, end, 8); // enough calls for V8 to keep feedback
      ring.scan(0, 24, 8);
      ring.scan(0, end, 1);
      ring.scan(160, end, 8);
    }
  }
}

let ringScanWarmed = false;

/** Warms the scan loop once per thread, when the first reader is made (never at import). */
export function warmRingScanOnce(): void {
  if (ringScanWarmed) return;
  ringScanWarmed = true;
  warmRingScan();
}
