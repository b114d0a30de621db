// Access to one CPU's perf ring through its views: the records between data_tail and data_head (or,
// for an overwritable ring, from data_head back to where the last read began), and giving their
// space back. No kernel here: a reader builds one per CPU over the mapped pages, a unit test over
// made-up ones. Samples that wrap the ring's end are copied to a scratch buffer; all others are
// handed out in place.
import { type Batch, Bytes, wordsOf, type RecordBatch } from './batch.js';
import { advancePosition, LOW_WORD, type LostCounter } from './shared.js';

export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
// struct perf_event_mmap_page
export const PERF_DATA_HEAD = 1024;
export const PERF_DATA_TAIL = 1032;
export const PERF_DATA_OFFSET = 1040;
export const PERF_DATA_SIZE = 1048;
// Indexes of data_head's and data_tail's low 32 bits in the control page.
const HEAD_LOW = PERF_DATA_HEAD / 4 + LOW_WORD;
const TAIL_LOW = PERF_DATA_TAIL / 4 + LOW_WORD;
/** poll and pollRaw give consumed space back to the kernel this often. */
const PASS_BYTES = 65536;
/** pollBatch covers at most this much ring per batch, so the samples are still in L1 when read. */
const BATCH_BYTES = 4096;

/** See PLAIN_LOADS_ACQUIRE in shared.ts: module-local, so that the compiled loops fold the test away. */
const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';

export type PerfRawCallback = (cpu: number, data: Buffer, offset: number, length: number) => void;
export type PerfViewCallback = (cpu: number, sample: Buffer) => void;

/** Where samples that wrap a ring's end are copied, shared by a reader's rings. */
export class WrapScratch {
  bytes = new Bytes(Buffer.alloc(0));

  /** Copies the `length` bytes at `at` of `ring`, which wrap its end, to the start of the scratch buffer. */
  copy(ring: PerfRing, at: number, length: number): Bytes {
    let bytes = this.bytes;
    if (bytes.data.length < length) {
      bytes = new Bytes(Buffer.alloc(Math.max(64, 2 ** Math.ceil(Math.log2(length)))));
      this.bytes = bytes;
    }
    const first = ring.size - at;
    ring.data.copy(bytes.data, 0, at, ring.size);
    ring.data.copy(bytes.data, first, 0, length - first);
    return bytes;
  }
}

/** What the rings of one reader share. */
export interface PerfRingShared {
  /** The reader's batch (its offsets and lengths arrays are the scan's output). */
  readonly batch: Batch;
  /** Set by the owner (the reader's close()); the loops test it after every callback. */
  readonly closed: Uint8Array;
  readonly lost: LostCounter;
  readonly scratch: WrapScratch;
  /** False: a strided batch fills only offsets[0] and lengths[0] (see PerfReaderOptions.fillOffsets). */
  readonly fillOffsets?: boolean;
}

/**
 * One CPU's perf ring. `scan`, `raw` and `views` are the hot loops over the records from ring
 * offset `start`, `chunk` bytes: each returns how many samples it found or delivered and leaves in
 * `done` the bytes it consumed, through the last sample it handed out (also when a callback throws
 * or closes the reader); `scan` leaves in `scanned` the memory its batch is in (the ring, or the
 * scratch copy of one wrapped sample). Records are 8-byte aligned and sized, so a header (and a
 * LOST record's count) never wraps the ring's end; a sample's body may. A record size below 8
 * (corrupt) stops a loop. LOST records are added to the shared counter.
 *
 * `raw` and `views` are closures over the ring's views, made once per ring (see RingBufferRing for
 * why); `scan`, the hottest, is one function for all rings (see perfScan). `head` in the loops is
 * the previous record's size word: while records keep the same size, that
 * branch is predicted and the next header's address does not wait for this header's load.
 */
export class PerfRing {
  readonly cpu: number;
  /** The control page as 32-bit words: data_head's and data_tail's low halves. */
  readonly control: Uint32Array;
  /** data_head and data_tail as u64. */
  readonly head: BigUint64Array;
  readonly tail: BigUint64Array;
  readonly data: Buffer;
  readonly words: Uint32Array;
  /** The ring as 64-bit floats: a record header's 8 bytes in one load, compared whole (see perfScan). */
  readonly doubles: Float64Array;
  /** data and words again, for batches. */
  readonly bytes: Bytes;
  readonly size: number;
  readonly mask: number;
  readonly shared: PerfRingShared;
  /** Bytes of ring the last loop consumed. */
  done = 0;
  /** The last scan's stride: bytes from one sample's record to the next when all are alike (see perfScan), else 0. */
  stride = 0;
  /** The memory the last scan's batch is in. */
  scanned: Bytes;
  /** What the loops read to touch cache lines (kept, so the reads are not optimized away). */
  touched = 0;
  /** Overwritable rings: data_head where the last read began (the newest record already read). */
  readFrom = 0n;
  /** Hands up to `limit` samples from `start`, `chunk` bytes, to `onSample` as offsets in a buffer. */
  readonly raw: (onSample: PerfRawCallback, start: number, chunk: number, limit: number) => number;
  /** Hands up to `limit` samples from `start`, `chunk` bytes, to `onSample` as views. */
  readonly views: (onSample: PerfViewCallback, start: number, chunk: number, limit: number) => number;

  constructor(cpu: number, control: Buffer, data: Buffer, shared: PerfRingShared) {
    if ((data.length & (data.length - 1)) !== 0 || data.length < 8) throw new Error(`perf ring size ${data.length} is not a power of two`);
    this.cpu = cpu;
    this.control = new Uint32Array(control.buffer, control.byteOffset, PERF_DATA_SIZE / 4 + 2);
    this.head = new BigUint64Array(control.buffer, control.byteOffset + PERF_DATA_HEAD, 1);
    this.tail = new BigUint64Array(control.buffer, control.byteOffset + PERF_DATA_TAIL, 1);
    this.data = data;
    this.words = wordsOf(data);
    if (data.byteOffset % 8 !== 0) throw new Error('perf ring data must be 8-byte aligned');
    this.doubles = new Float64Array(data.buffer, data.byteOffset, data.length >>> 3);
    this.bytes = new Bytes(data);
    this.scanned = this.bytes;
    this.size = data.length;
    this.mask = data.length - 1;
    this.shared = shared;
    this.raw = rawLoop(this, this.words, data, this.size, cpu, shared.closed, shared.scratch);
    this.views = viewsLoop(this, this.words, data, this.size, cpu, shared.closed, shared.scratch);
  }

  /** Bytes waiting after data_tail `tail` (low 32 bits); data_head is read with acquire semantics. */
  available(tail: number): number {
    const head = PLAIN_LOADS_ACQUIRE ? this.control[HEAD_LOW] : Atomics.load(this.control, HEAD_LOW);
    return (head - tail) >>> 0;
  }

  /** Hands `bytes` more back to the kernel (data_tail, release); returns the new tail's low 32 bits. */
  advance(tail: number, bytes: number): number {
    return advancePosition(this.control, TAIL_LOW, this.tail, tail, bytes);
  }

  /** Adds a LOST record's count (a u64 at `wordIndex` of the ring). */
  addLost(wordIndex: number): void {
    const words = this.words;
    this.shared.lost.add(this.cpu, words[wordIndex + LOW_WORD] + words[wordIndex + 1 - LOW_WORD] * 2 ** 32);
  }

  /** Finds up to `limit` samples from `start`, `chunk` bytes, writing their offsets and lengths into the batch (see perfScan). */
  scan(start: number, chunk: number, limit: number): number {
    const batch = this.shared.batch;
    return perfScan(
      this,
      this.words,
      this.doubles,
      this.size,
      batch.offsets,
      batch.lengths,
      start,
      chunk,
      limit,
      this.shared.fillOffsets !== false,
    );
  }

  /** scan where the records wrap the ring's end: positions masked, a wrapped sample copied, alone in its batch. */
  scanWrapping(start: number, chunk: number, limit: number): number {
    const { words, size, mask } = this;
    const offsets = this.shared.batch.offsets;
    const lengths = this.shared.batch.lengths;
    let bytes = this.bytes;
    let pos = 0;
    let count = 0;
    this.stride = 0;
    while (pos < chunk && count < limit) {
      const at = (start + pos) & mask;
      const w = at >>> 2;
      const step = words[w + 1] >>> 16;
      if (step < 8) break;
      const type = words[w];
      if (type === PERF_RECORD_SAMPLE) {
        const rawSize = words[((at + 8) & mask) >>> 2] | 0;
        const sampleAt = (at + 12) & mask;
        if (sampleAt + rawSize > size) {
          if (count > 0) break; // the batch ends before it
          bytes = this.shared.scratch.copy(this, sampleAt, rawSize);
          offsets[0] = 0;
          lengths[0] = rawSize;
          count = 1;
          pos += step;
          break;
        }
        offsets[count] = sampleAt;
        lengths[count] = rawSize;
        count++;
      } else if (type === PERF_RECORD_LOST) {
        this.addLost(((at + 16) & mask) >>> 2);
      }
      pos += step;
    }
    this.done = pos;
    this.scanned = bytes;
    return count;
  }

  /**
   * Consumes this ring's samples, up to `limit` (a small integer), calling `onBatch` with batches
   * of them; each batch is handed back to the kernel after its callback returns (or throws).
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, limit: number): number {
    const batch = this.shared.batch;
    const closed = this.shared.closed;
    const capacity = batch.offsets.length | 0; // an int32, so the scan compares integers
    const mask = this.mask;
    let tail = this.control[TAIL_LOW]; // written by this side only
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(tail);
      if (available === 0) break;
      const left = limit - delivered;
      const count = this.scan(tail & mask, available < BATCH_BYTES ? available : BATCH_BYTES, left < capacity ? left : capacity);
      const scanned = this.done;
      if (scanned === 0) break; // a corrupt record
      if (count > 0) {
        batch.use(this.scanned, this.cpu);
        batch.count = count;
        batch.stride = this.stride;
        try {
          onBatch(batch);
        } catch (e) {
          if (closed[0] === 0) this.advance(tail, scanned);
          throw e;
        } finally {
          batch.count = 0;
          batch.stride = 0;
        }
        delivered += count;
        if (closed[0] !== 0) return delivered;
      }
      tail = this.advance(tail, scanned);
    }
    return delivered;
  }

  /** Consumes this ring's samples, up to `limit`, one `onSample` call each with a buffer and an offset. */
  pollRaw(onSample: PerfRawCallback, limit: number): number {
    const closed = this.shared.closed;
    const mask = this.mask;
    let tail = this.control[TAIL_LOW];
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(tail);
      if (available === 0) break;
      const chunk = available < PASS_BYTES ? available : PASS_BYTES;
      try {
        delivered += this.raw(onSample, tail & mask, chunk, limit - delivered);
      } catch (e) {
        if (closed[0] === 0) this.advance(tail, this.done); // through the sample that threw
        throw e;
      }
      if (closed[0] !== 0) return delivered;
      const done = this.done;
      if (done !== 0) tail = this.advance(tail, done);
      if (done < chunk) break; // `limit` reached, or a corrupt record
    }
    return delivered;
  }

  /** Consumes this ring's samples, up to `limit`, one `onSample` call each with a view. */
  poll(onSample: PerfViewCallback, limit: number): number {
    const closed = this.shared.closed;
    const mask = this.mask;
    let tail = this.control[TAIL_LOW];
    let delivered = 0;
    while (delivered < limit) {
      const available = this.available(tail);
      if (available === 0) break;
      const chunk = available < PASS_BYTES ? available : PASS_BYTES;
      try {
        delivered += this.views(onSample, tail & mask, chunk, limit - delivered);
      } catch (e) {
        if (closed[0] === 0) this.advance(tail, this.done);
        throw e;
      }
      if (closed[0] !== 0) return delivered;
      const done = this.done;
      if (done !== 0) tail = this.advance(tail, done);
      if (done < chunk) break;
    }
    return delivered;
  }

  /**
   * An overwritable (write_backward) ring: the kernel writes each record below the previous one
   * and moves data_head down, never waiting for the reader, so the ring always holds the newest
   * records. Returns where they are: `start` (data_head masked) and the bytes of whole records
   * from there that were written since the last read (at most the ring's size; a record cut by
   * the newest ones, at the far end, is left out), and remembers data_head for the next read.
   * The kernel must not write meanwhile: the owner pauses the ring's output first.
   */
  backwardWindow(): { start: number; chunk: number } {
    const head = Atomics.load(this.head, 0);
    let window = this.readFrom - head;
    if (window < 0n) window += 1n << 64n;
    const limit = window > BigInt(this.size) ? this.size : Number(window);
    const start = Number(head & BigInt(this.mask));
    // Whole records only: walk the headers (never wrapping, as records are 8-byte aligned).
    const { words, mask } = this;
    let pos = 0;
    while (pos < limit) {
      const step = words[(((start + pos) & mask) >>> 2) + 1] >>> 16;
      if (step < 8 || pos + step > limit) break;
      pos += step;
    }
    this.readFrom = head;
    return { start, chunk: pos };
  }
}

/**
 * PerfRing.scan. One module function for every ring, with the views as arguments, not a closure
 * per ring: a reader has a ring per CPU, and a call site that sees several closures is
 * polymorphic, so V8 no longer folds their views to constants; measured on made-up rings with two
 * rings alternating, 6.6-8.6 ns per 32-byte record through per-ring closures against 4.3-4.5
 * through one function (bench/perf-scan-ab.ts, -ab2.ts, -param.ts). Finds up to `limit` samples
 * from `start`, `chunk` bytes, writing their offsets and lengths into the batch. Records that do
 * not wrap the ring's end (nearly all) are walked with plain offsets; from the first that does,
 * and for a chunk that reaches the end, scanWrapping takes over.
 *
 * A sample's raw size is its record's size less 12 (header and u32 size): the kernel pads the raw
 * data so that the u32 and the data fill whole u64s, and the reader asks for PERF_SAMPLE_RAW
 * only, so nothing else is in the record. The loop takes it from the header it already loaded
 * (one load per record less), and tests only after the loop whether the last sample wraps the
 * ring's end (only the last can: the chunk ends before the ring does).
 *
 * Before that loop, a first phase walks a run of samples of one size with nothing stored per
 * sample (a header word equal to the first one and the SAMPLE type mean a sample like it, `step`
 * bytes on), as ringScan does for a ring buffer: if the run ends the batch, the batch is strided
 * (`ring.stride` = step; offsets and lengths filled afterwards only with `fill`, offsets[0] and
 * lengths[0] always); otherwise the run's offsets are filled and the general loop goes on.
 */
function perfScan(
  ring: PerfRing,
  words: Uint32Array,
  doubles: Float64Array,
  size: number,
  offsets: Uint32Array,
  lengths: Uint32Array,
  start: number,
  chunk: number,
  limit: number,
  fill: boolean,
): number {
  if (start + chunk > size) return ring.scanWrapping(start, chunk, limit);
  const wordMask = (size >>> 2) - 1;
  const SAMPLE = PERF_RECORD_SAMPLE; // locals, not module constants, in the loop
  const end = start + chunk;
  let at = start;
  let count = 0;
  let touched = 0;
  ring.stride = 0;
  const w0 = at >>> 2;
  const first = words[w0 + 1] | 0;
  const step = first >>> 16;
  if (step >= 16 && words[w0] === SAMPLE && limit > 0) {
    const rawSize = step - 12;
    const long = rawSize > 52;
    // The whole 8-byte header (type, misc, size) in one load, compared as a double: equal doubles
    // are equal bytes, except NaN (never equal: the run just ends, and the general loop goes on)
    // and +0/-0 (impossible: the type word, the low half, is SAMPLE).
    const header = doubles[at >>> 3];
    if (!long) {
      // Eight headers per turn while eight samples fit before `end`, as ringScan does (measured
      // there); a mismatch leaves the eight to the loop below.
      const step8 = 8 * step;
      const q = step >>> 3;
      while (at + step8 <= end && count + 8 <= limit) {
        const d = at >>> 3;
        if (
          doubles[d] !== header ||
          doubles[d + q] !== header ||
          doubles[d + 2 * q] !== header ||
          doubles[d + 3 * q] !== header ||
          doubles[d + 4 * q] !== header ||
          doubles[d + 5 * q] !== header ||
          doubles[d + 6 * q] !== header ||
          doubles[d + 7 * q] !== header
        )
          break;
        count += 8;
        at += step8;
      }
    }
    while (at < end && count < limit) {
      if (doubles[at >>> 3] !== header) break;
      if (long) touched ^= words[((at >>> 2) + 16) & wordMask]; // as in the general loop
      count++;
      at += step;
    }
    if (at > size) {
      // The last sample wraps the ring's end: not in this batch.
      count--;
      at -= step;
    }
    const uniform = at >= end || count >= limit;
    offsets[0] = start + 12;
    lengths[0] = rawSize;
    if (!uniform || fill) {
      let sampleAt = start + 12;
      for (let i = 1; i < count; i++) {
        sampleAt += step;
        offsets[i] = sampleAt;
        lengths[i] = rawSize;
      }
    }
    if (uniform) {
      ring.stride = step;
      ring.done = at - start;
      ring.scanned = ring.bytes;
      ring.touched = touched;
      return count;
    }
  }
  for (;;) {
    // Samples only: no call in this loop, so V8 keeps its values in registers.
    let head = -1;
    let step = 0;
    let rawSize = 0;
    while (at < end && count < limit) {
      const w = at >>> 2;
      const sizeWord = words[w + 1] | 0; // u16 misc, u16 size
      if (sizeWord !== head) {
        step = sizeWord >>> 16;
        if (step < 16) break;
        head = sizeWord;
        rawSize = step - 12;
      }
      if (words[w] !== SAMPLE) break;
      // A record longer than a cache line: read its second line too, so that the lines read
      // form a dense stream the hardware prefetcher follows.
      if (rawSize > 52) touched ^= words[(w + 16) & wordMask];
      offsets[count] = at + 12;
      lengths[count] = rawSize;
      count++;
      at += step;
    }
    if (at > size) {
      // The last sample wraps the ring's end: not in this batch.
      count--;
      at -= step;
    }
    if (at >= end || count >= limit) break;
    // Stopped at a record that is corrupt, wraps the ring's end, or is not a sample.
    const w = at >>> 2;
    const recordSize = words[w + 1] >>> 16;
    if (recordSize < 8) break;
    if (at + recordSize > size) {
      if (at === start) return ring.scanWrapping(start, chunk, limit);
      break;
    }
    // Other records are stepped over (a sample shorter than 16 bytes cannot be one).
    if (words[w] === PERF_RECORD_LOST) ring.addLost(w + 4);
    at += recordSize;
  }
  ring.done = at - start;
  ring.scanned = ring.bytes;
  ring.touched = touched;
  return count;
}

/** PerfRing.raw, as a closure over the ring's views. */
function rawLoop(
  ring: PerfRing,
  ringWords: Uint32Array,
  ringData: Buffer,
  ringSize: number,
  ringCpu: number,
  closedFlag: Uint8Array,
  scratch: WrapScratch,
): PerfRing['raw'] {
  return (onSample: PerfRawCallback, start: number, chunk: number, limit: number): number => {
    const words = ringWords;
    const data = ringData;
    const size = ringSize;
    const mask = ringSize - 1;
    const cpu = ringCpu;
    const closed = closedFlag;
    const SAMPLE = PERF_RECORD_SAMPLE;
    let pos = 0;
    let delivered = 0;
    let head = -1;
    let touched = 0;
    try {
      while (pos < chunk && delivered < limit) {
        const at = (start + pos) & mask;
        const w = at >>> 2;
        const sizeWord = words[w + 1] | 0;
        if (sizeWord !== head) {
          if (sizeWord >>> 16 < 8) break;
          head = sizeWord;
        }
        const type = words[w];
        pos += head >>> 16;
        if (type === SAMPLE) {
          const rawSize = words[((at + 8) & mask) >>> 2] | 0;
          const sampleAt = (at + 12) & mask;
          delivered++;
          if (sampleAt + rawSize <= size) {
            if (rawSize > 52) touched ^= words[w + 16]; // as in scan
            onSample(cpu, data, sampleAt, rawSize);
          } else {
            onSample(cpu, scratch.copy(ring, sampleAt, rawSize).data, 0, rawSize);
          }
          if (closed[0] !== 0) break;
        } else if (type === PERF_RECORD_LOST) {
          ring.addLost(((at + 16) & mask) >>> 2);
        }
      }
    } finally {
      ring.done = pos;
      ring.touched = touched;
    }
    return delivered;
  };
}

/** PerfRing.views, as a closure over the ring's views. */
function viewsLoop(
  ring: PerfRing,
  ringWords: Uint32Array,
  ringData: Buffer,
  ringSize: number,
  ringCpu: number,
  closedFlag: Uint8Array,
  scratch: WrapScratch,
): PerfRing['views'] {
  return (onSample: PerfViewCallback, start: number, chunk: number, limit: number): number => {
    const words = ringWords;
    const data = ringData;
    const size = ringSize;
    const mask = ringSize - 1;
    const cpu = ringCpu;
    const closed = closedFlag;
    const SAMPLE = PERF_RECORD_SAMPLE;
    let pos = 0;
    let delivered = 0;
    let head = -1;
    try {
      while (pos < chunk && delivered < limit) {
        const at = (start + pos) & mask;
        const w = at >>> 2;
        const sizeWord = words[w + 1] | 0;
        if (sizeWord !== head) {
          if (sizeWord >>> 16 < 8) break;
          head = sizeWord;
        }
        const type = words[w];
        pos += head >>> 16;
        if (type === SAMPLE) {
          const rawSize = words[((at + 8) & mask) >>> 2] | 0;
          const sampleAt = (at + 12) & mask;
          delivered++;
          if (sampleAt + rawSize <= size) onSample(cpu, data.subarray(sampleAt, sampleAt + rawSize));
          else onSample(cpu, scratch.copy(ring, sampleAt, rawSize).data.subarray(0, rawSize));
          if (closed[0] !== 0) break;
        } else if (type === PERF_RECORD_LOST) {
          ring.addLost(((at + 16) & mask) >>> 2);
        }
      }
    } finally {
      ring.done = pos;
    }
    return delivered;
  };
}
