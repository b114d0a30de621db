// BPF ring buffer consumer (map type RINGBUF). The kernel maps the data area twice back to back, so
// a record that wraps is still contiguous and can be handed out in place, without a copy.
import { MappedRegion, PAGE_SIZE, PROT_READ, PROT_WRITE, Epoll } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';
import {
  advancePosition, Batch, Bytes, checkBatchSize, DEFAULT_BATCH_SIZE, LOW_WORD, toLimit, type RecordBatch,
} from './batch.js';

/** Map ids with a live reader in this process: a ring has one consumer position, shared by all. */
const readersByMapId = new Set<number>();

// Record header: u32 length with the busy (bit 31) and discard (bit 30) flags, u32 page offset.
const DISCARD_BIT = 0x4000_0000;
const LENGTH_MASK = 0x3fff_ffff;
// pollBatch covers at most this much ring per batch, so the records are still in L1 when the
// callback reads them; poll and pollRaw release consumed space to the producer this often.
const BATCH_BYTES = 4096;
const PASS_BYTES = 65536;

/**
 * On x86 a plain load is an acquire load and a plain store a release store (see PLAIN_LOADS_ACQUIRE
 * in batch.ts). Kept a module-local constant so that the compiled loops fold the test away.
 */
const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';

export class ReaderError extends EbpfError {
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_READER', message, options);
  }
}

/** Where the last loop of a RingLoops stopped: an offset in the data area. */
let loopEnd = 0;
/** Where the loops put what they read to touch cache lines (so the reads are not optimized away). */
let touchSink = 0;

type RawCallback = (ring: Buffer, offset: number, length: number) => void;

/**
 * The hot loops over the records between offsets `start` and `end` of one ring's data area.
 * raw and views are written out separately rather than one calling the other through a wrapper
 * callback: each call site then sees one callback shape, which V8 can inline.
 */
interface RingLoops {
  /** Finds up to `limit` records, writing their offsets and lengths into the batch arrays. */
  scan(start: number, end: number, limit: number): number;
  /** Hands up to `limit` records to `onRecord` as offsets. */
  raw(onRecord: RawCallback, start: number, end: number, limit: number): number;
  /** Hands up to `limit` records to `onRecord` as views. */
  views(onRecord: (record: Buffer) => void, start: number, end: number, limit: number): number;
}

/** The scan loop of ringLoops, made on its own (warmRingLoops makes one too). */
function scanLoop(ringView: DataView, ringHeaders: Int32Array, batchOffsets: Uint32Array, batchLengths: Uint32Array): RingLoops['scan'] {
  return (start: number, end: number, limit: number): number => {
    const view = ringView;
    const headers = ringHeaders;
    const offsets = batchOffsets;
    const lengths = batchLengths;
    // Module constants as locals: a closure whose context V8 does not fold reads module
    // constants through the context chain, on every iteration.
    const plain = PLAIN_LOADS_ACQUIRE;
    let offset = start;
    let count = 0;
    let length = -1;
    let touched = 0;
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
      // A record longer than a cache line: read its second line too, so that the lines read
      // form a dense stream the hardware prefetcher follows (headers alone skip lines).
      if (length > 56) touched ^= view.getInt32(offset + 64, true);
      offsets[count] = offset + 8;
      lengths[count] = length;
      count++;
      offset += (length + 15) & ~7; // the 8-byte header and the record, rounded up to 8
    }
    loopEnd = offset;
    touchSink = touched;
    return count;
  };
}

/**
 * The loops of one reader, as closures over its ring's views. V8 inlines them into the poll
 * methods that call them (while a process has a few readers), and then the views are constants of
 * the compiled code: the loops do not reload their pointers and lengths after every store.
 *
 * Each loop steps over discarded records, stops at a busy one (reserved, not yet committed), and
 * returns how many records it found or delivered; `loopEnd` is where it stopped, past the last
 * record it handed out (also when a callback throws, or closed the reader: `closed[0]` set).
 *
 * `length` is the previous record's: while records keep the same length, the header compares
 * equal, that branch is predicted, and the next header's address does not wait for this load (no
 * chain of dependent loads through the ring).
 */
function ringLoops(ringView: DataView, ringHeaders: Int32Array, ringData: Buffer, batchOffsets: Uint32Array, batchLengths: Uint32Array, closedFlag: Uint8Array): RingLoops {
  // Each loop copies what it uses of the closure to locals first: when V8 does not fold the
  // closure's context to constants (a process with several readers), locals are not reloaded on
  // every iteration.
  return {
    scan: scanLoop(ringView, ringHeaders, batchOffsets, batchLengths),

    raw(onRecord: RawCallback, start: number, end: number, limit: number): number {
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
        loopEnd = offset;
        touchSink = touched;
      }
      return delivered;
    },

    views(onRecord: (record: Buffer) => void, start: number, end: number, limit: number): number {
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
          onRecord(data.subarray(at, at + length));
          if (closed[0] !== 0) break;
        }
      } finally {
        loopEnd = offset;
        touchSink = touched;
      }
      return delivered;
    },
  };
}

/**
 * Runs every path of the scan loop once, on a small ring made up here (records short and long, a
 * discarded one, a busy one), so that V8 has type feedback for all of them when it compiles it:
 * otherwise the first long or discarded record of a real ring deoptimizes pollBatch mid-stream.
 * (Not the loops with callbacks: a callback made up here would make their call sites polymorphic.)
 */
function warmRingLoops(): void {
  const size = 4096;
  const bytes = new ArrayBuffer(2 * size);
  const view = new DataView(bytes);
  let end = 0;
  for (const [header, length] of [[16, 16], [100, 100], [DISCARD_BIT | 16, 16], [16, 16], [0x8000_0000 | 16, 16]]) {
    view.setInt32(end, header, true);
    end += (length + 15) & ~7;
  }
  const scan = scanLoop(view, new Int32Array(bytes), new Uint32Array(8), new Uint32Array(8));
  for (let i = 0; i < 30; i++) scan(0, end, 8); // enough calls for V8 to keep feedback
}
warmRingLoops();

/** What a ring buffer reader needs of a map: a BpfMap fits. */
export interface RingBufferMap {
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly name: string;
}

export interface RingBufferReaderOptions {
  /** Most records `pollBatch` hands out per call of its callback (default 4096). */
  batchSize?: number;
}

/**
 * Reads records from a BPF ring buffer. `poll` hands each record to a callback as a Buffer over the
 * ring itself (valid only during the callback: copy what you keep); `pollRaw` hands out offsets
 * instead of views; `pollBatch` hands out many records' offsets at once, the fastest way. The async
 * iterator yields copies. Waiting happens on another thread through epoll, so Node's event loop
 * keeps running.
 *
 * Records are released to the producer (consumer_pos advanced) only after the callbacks that got
 * them have returned; a callback that throws ends the poll, and the records up to and including
 * the one it was given count as consumed. A callback may close the reader: the poll then returns
 * at once (the ring is unmapped: do not touch the record after `close()`).
 *
 * Ordering: producer_pos and every record header are read with acquire loads (a producer commits a
 * record by clearing its busy bit with a release store), and consumer_pos is written with release
 * stores, the pairing the kernel's producer expects. On x86 every load is an acquire and every
 * store a release, and V8 keeps typed-array accesses in program order, so there they are plain
 * loads and stores (as libbpf's smp_load_acquire and smp_store_release compile to plain movs); on
 * other architectures they are Atomics.load and Atomics.store.
 *
 * Speed: the loops run over the mapped ring with 32-bit arithmetic and no allocation, BigInt or
 * native call per record; `pollBatch` is the fastest (its callback loops over a batch's offsets
 * itself, with its totals in locals), then `pollRaw`; `poll` makes a Buffer view per record.
 */
export class RingBufferReader {
  readonly #consumer: MappedRegion;
  readonly #producer: MappedRegion;
  readonly #consumerPos: BigUint64Array;
  readonly #producerPos: BigUint64Array;
  /** consumer_pos and producer_pos as 32-bit words: their low halves are all a poll needs. */
  readonly #consumerWords: Uint32Array;
  readonly #producerWords: Uint32Array;
  readonly #headers: Int32Array;
  readonly #view: DataView;
  readonly #data: Buffer;
  readonly #mask: number;
  readonly #epoll: Epoll;
  readonly #name: string;
  readonly #mapId: number;
  readonly #batch: Batch;
  readonly #loops: RingLoops;
  /** Set by close(): the loops test it after every callback. */
  readonly #closedFlag = new Uint8Array(1);
  #closed = false;

  constructor(map: RingBufferMap & { info(): { id: number } }, options: RingBufferReaderOptions = {}) {
    if (map.type !== MapType.RINGBUF) throw new ReaderError(`map "${map.name}" is not a ring buffer (type ${map.type}); create it with type 'RINGBUF'`);
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, ReaderError);
    this.#mapId = map.info().id;
    if (readersByMapId.has(this.#mapId)) {
      throw new ReaderError(`ring buffer "${map.name}" (id ${this.#mapId}) already has a reader in this process: a ring has one consumer position, so two readers would each see part of the records; read it with one reader and fan out in JavaScript`);
    }
    const size = map.maxEntries;
    // Offsets into the twice-mapped data area stay below 2^31 (the hot loops do 32-bit arithmetic).
    if (size > 2 ** 30) throw new ReaderError(`ring buffer "${map.name}" is ${size} bytes; the reader handles rings up to 1 GiB`);
    this.#name = map.name;
    this.#mask = size - 1;
    this.#consumer = new MappedRegion(map.fd, PAGE_SIZE, PROT_READ | PROT_WRITE, 0);
    try {
      this.#producer = new MappedRegion(map.fd, PAGE_SIZE + 2 * size, PROT_READ, PAGE_SIZE);
    } catch (e) {
      this.#consumer.unmap();
      throw e;
    }
    try {
      this.#epoll = new Epoll(1);
      this.#epoll.add(map.fd, 0);
    } catch (e) {
      this.#consumer.unmap();
      this.#producer.unmap();
      throw e;
    }
    readersByMapId.add(this.#mapId);
    const c = this.#consumer.buffer;
    const p = this.#producer.buffer;
    this.#consumerPos = new BigUint64Array(c.buffer, c.byteOffset, 1);
    this.#producerPos = new BigUint64Array(p.buffer, p.byteOffset, 1);
    this.#consumerWords = new Uint32Array(c.buffer, c.byteOffset, 2);
    this.#producerWords = new Uint32Array(p.buffer, p.byteOffset, 2);
    this.#data = p.subarray(PAGE_SIZE, PAGE_SIZE + 2 * size);
    this.#headers = new Int32Array(p.buffer, p.byteOffset + PAGE_SIZE, (2 * size) / 4);
    this.#view = new DataView(p.buffer, p.byteOffset + PAGE_SIZE, 2 * size);
    this.#batch = new Batch(new Bytes(this.#data), batchSize, -1);
    this.#loops = ringLoops(this.#view, this.#headers, this.#data, this.#batch.offsets, this.#batch.lengths, this.#closedFlag);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written by the producer and not yet consumed. */
  get pending(): number {
    if (this.#closed) return 0;
    return Number(Atomics.load(this.#producerPos, 0) - Atomics.load(this.#consumerPos, 0));
  }

  /**
   * Bytes between consumer position `consumer` (low 32 bits) and producer_pos, read with acquire
   * semantics. The ring is at most 1 GiB, so the low halves' difference is the whole one.
   */
  #available(consumer: number): number {
    const producer = PLAIN_LOADS_ACQUIRE ? this.#producerWords[LOW_WORD] : Atomics.load(this.#producerWords, LOW_WORD);
    return (producer - consumer) >>> 0;
  }

  /** Releases `bytes` more to the producer; returns the new consumer position (low 32 bits). */
  #release(consumer: number, bytes: number): number {
    return advancePosition(this.#consumerWords, LOW_WORD, this.#consumerPos, consumer, bytes);
  }

  /**
   * Consumes the records available now, up to `max`, calling `onBatch` with batches of them in
   * place: `batch.offsets[i]` and `batch.lengths[i]`, for i < `batch.count`, locate record i in
   * `batch.data` (the ring's data area, mapped twice so no record wraps; offsets are 8-byte
   * aligned, so `batch.words[(offset >>> 2) + k]` is the record's 32-bit word k). The batch and
   * the records are valid until the callback returns; they are released to the producer after
   * that. Batches cover a few KiB of ring at most, so the records are still in cache when the
   * callback reads them. Returns how many records were delivered (discarded records are skipped
   * and not counted).
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, max = Infinity): number {
    if (this.#closed) return 0;
    const batch = this.#batch;
    const loops = this.#loops;
    const mask = this.#mask;
    const capacity = batch.offsets.length | 0; // an int32, so the scan compares integers
    let consumer = this.#consumerWords[LOW_WORD]; // written by this reader only
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.#available(consumer);
      if (available === 0) break;
      // The data area is mapped twice, so from `start` (< size) the next `available` (<= size)
      // bytes are contiguous: offsets run on without wrapping.
      const start = consumer & mask;
      const left = limit - delivered;
      const count = loops.scan(start, start + (available < BATCH_BYTES ? available : BATCH_BYTES), left < capacity ? left : capacity);
      const scanned = loopEnd - start;
      if (scanned === 0) break; // a busy record
      if (count > 0) {
        batch.count = count;
        try {
          onBatch(batch);
        } catch (e) {
          // The callback is done with the batch: release it (unless it closed the reader).
          if (!this.#closed) this.#release(consumer, scanned);
          throw e;
        } finally {
          batch.count = 0;
        }
        delivered += count;
        if (this.#closed) break;
      }
      consumer = this.#release(consumer, scanned);
    }
    return delivered;
  }

  /**
   * Like poll, without making a Buffer view per record: `onRecord` gets the mapped ring (the data
   * area, mapped twice so no record wraps), the record's offset in it and its length.
   */
  pollRaw(onRecord: (ring: Buffer, offset: number, length: number) => void, max = Infinity): number {
    if (this.#closed) return 0;
    const loops = this.#loops;
    const mask = this.#mask;
    let consumer = this.#consumerWords[LOW_WORD];
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.#available(consumer);
      if (available === 0) break;
      const start = consumer & mask;
      const end = start + (available < PASS_BYTES ? available : PASS_BYTES);
      try {
        delivered += loops.raw(onRecord, start, end, limit - delivered);
      } catch (e) {
        if (!this.#closed) this.#release(consumer, loopEnd - start); // through the record that threw
        throw e;
      }
      if (this.#closed) break;
      const stop = loopEnd;
      if (stop !== start) consumer = this.#release(consumer, stop - start);
      if (stop < end) break; // a busy record, or `max` reached
    }
    return delivered;
  }

  /**
   * Consumes the records available now, up to `max`, calling `onRecord` with each one in place (a
   * view of the ring, valid during the call only). Returns how many records were delivered
   * (discarded records are skipped and not counted).
   */
  poll(onRecord: (record: Buffer) => void, max = Infinity): number {
    if (this.#closed) return 0;
    const loops = this.#loops;
    const mask = this.#mask;
    let consumer = this.#consumerWords[LOW_WORD];
    const limit = toLimit(max);
    let delivered = 0;
    while (delivered < limit) {
      const available = this.#available(consumer);
      if (available === 0) break;
      const start = consumer & mask;
      const end = start + (available < PASS_BYTES ? available : PASS_BYTES);
      try {
        delivered += loops.views(onRecord, start, end, limit - delivered);
      } catch (e) {
        if (!this.#closed) this.#release(consumer, loopEnd - start);
        throw e;
      }
      if (this.#closed) break;
      const stop = loopEnd;
      if (stop !== start) consumer = this.#release(consumer, stop - start);
      if (stop < end) break;
    }
    return delivered;
  }

  /** Resolves when records may be available (true) or after `timeoutMs` (false); false once closed. */
  async wait(timeoutMs = -1): Promise<boolean> {
    if (this.#closed) return false;
    if (this.pending > 0) return true;
    const ready = await this.#epoll.wait(timeoutMs);
    return !this.#closed && ready.length > 0;
  }

  /** Waits and consumes until closed: `onRecord` gets each record in place. */
  async consume(onRecord: (record: Buffer) => void): Promise<void> {
    while (!this.#closed) {
      this.poll(onRecord);
      await this.wait();
    }
  }

  /** Records as copies, until the reader is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    const batch: Buffer[] = [];
    while (!this.#closed) {
      this.poll((r) => batch.push(Buffer.from(r)));
      while (batch.length) yield batch.shift()!;
      if (!(await this.wait())) {
        if (this.#closed) return;
      }
    }
  }

  /** Stops reading: a pending wait resolves (false) and iteration ends. The map stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedFlag[0] = 1;
    readersByMapId.delete(this.#mapId);
    this.#epoll.close();
    this.#consumer.unmap();
    this.#producer.unmap();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `RingBufferReader(${this.#name})`;
  }
}
