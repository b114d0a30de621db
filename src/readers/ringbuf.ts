// BPF ring buffer consumer (map type RINGBUF): the reader's policy (which map, mapping it, waiting,
// one reader per map, closing); the records and positions are read through RingBufferRing
// (ring-access.ts), which needs no kernel.
import { MappedRegion, PAGE_SIZE, PROT_READ, PROT_WRITE, Epoll } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';
import { checkBatchSize, DEFAULT_BATCH_SIZE, type RecordBatch } from './batch.js';
import { RingBufferRing, warmRingScanOnce } from './ring-access.js';
import { claimMap, ReaderError, releaseMap, type ReaderMap } from './shared.js';

export { ReaderError, type RingBufferMap } from './shared.js';

/** Options of RingBufferReader. */
export interface RingBufferReaderOptions {
  /** Most records `pollBatch` hands out per call of its callback (default 4096). */
  batchSize?: number;
  /**
   * Whether `pollBatch` fills `offsets` and `lengths` for every record of a strided batch (one
   * whose `stride` is nonzero: records of one length back to back, as a program that outputs one
   * struct makes). Default true. With false, a strided batch fills only `offsets[0]` and
   * `lengths[0]`, and the callback must step by `batch.stride` (batches with `stride` 0 are filled
   * whole as ever); for records of one size, the reader then stores nothing per record.
   */
  fillOffsets?: boolean;
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
  readonly #ring: RingBufferRing;
  readonly #epoll: Epoll;
  readonly #name: string;
  readonly #claim: string;
  /** Set by close(): the ring's loops test it after every callback. */
  readonly #closedFlag = new Uint8Array(1);
  #closed = false;

  /** Maps the RINGBUF `map` for reading. */
  constructor(map: ReaderMap & { info(): { id: number } }, options: RingBufferReaderOptions = {}) {
    warmRingScanOnce();
    if (map.type !== MapType.RINGBUF)
      throw new ReaderError(
        `map "${map.name}" is not a ring buffer (type ${map.type}); create it with type 'RINGBUF'`,
        'ERR_READER_MAP_TYPE',
      );
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, ReaderError);
    const size = map.maxEntries;
    // Offsets into the twice-mapped data area stay below 2^31 (the hot loops do 32-bit arithmetic).
    if (size > 2 ** 30)
      throw new ReaderError(`ring buffer "${map.name}" is ${size} bytes; the reader handles rings up to 1 GiB`, 'ERR_READER_SIZE');
    this.#claim = claimMap(map, 'ring buffer', 'a ring has one consumer position, so two readers would each see part of the records');
    this.#name = map.name;
    try {
      this.#consumer = new MappedRegion(map.fd, PAGE_SIZE, PROT_READ | PROT_WRITE, 0);
    } catch (e) {
      releaseMap(this.#claim);
      throw e;
    }
    try {
      this.#producer = new MappedRegion(map.fd, PAGE_SIZE + 2 * size, PROT_READ, PAGE_SIZE);
    } catch (e) {
      this.#consumer.unmap();
      releaseMap(this.#claim);
      throw e;
    }
    try {
      this.#epoll = new Epoll(1);
      this.#epoll.add(map.fd, 0);
    } catch (e) {
      this.#consumer.unmap();
      this.#producer.unmap();
      releaseMap(this.#claim);
      throw e;
    }
    const p = this.#producer.buffer;
    this.#ring = new RingBufferRing(
      { consumer: this.#consumer.buffer, producer: p.subarray(0, PAGE_SIZE), data: p.subarray(PAGE_SIZE, PAGE_SIZE + 2 * size) },
      batchSize,
      this.#closedFlag,
      options.fillOffsets ?? true,
    );
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written by the producer and not yet consumed. */
  get pending(): number {
    if (this.#closed) return 0;
    return this.#ring.pending;
  }

  /**
   * Consumes the records available now, up to `max`, calling `onBatch` with batches of them in
   * place: `batch.offsets[i]` and `batch.lengths[i]`, for i < `batch.count`, locate record i in
   * `batch.data` (the ring's data area, mapped twice so no record wraps; offsets are 8-byte
   * aligned, so `batch.words[(offset >>> 2) + k]` is the record's 32-bit word k). The batch and
   * the records are valid until the callback returns; they are released to the producer after
   * that. Batches cover a few KiB of ring at most, so the records are still in cache when the
   * callback reads them. A batch of records of one length back to back has a nonzero
   * `batch.stride` (record i at `offsets[0] + i * stride`; see `fillOffsets`). Returns how many
   * records were delivered (discarded records are skipped and not counted).
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, max = Infinity): number {
    if (this.#closed) return 0;
    return this.#ring.pollBatch(onBatch, max);
  }

  /**
   * Like poll, without making a Buffer view per record: `onRecord` gets the mapped ring (the data
   * area, mapped twice so no record wraps), the record's offset in it and its length.
   */
  pollRaw(onRecord: (ring: Buffer, offset: number, length: number) => void, max = Infinity): number {
    if (this.#closed) return 0;
    return this.#ring.pollRaw(onRecord, max);
  }

  /**
   * Consumes the records available now, up to `max`, calling `onRecord` with each one in place (a
   * view of the ring, valid during the call only). Returns how many records were delivered
   * (discarded records are skipped and not counted).
   */
  poll(onRecord: (record: Buffer) => void, max = Infinity): number {
    if (this.#closed) return 0;
    return this.#ring.poll(onRecord, max);
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
    releaseMap(this.#claim);
    this.#epoll.close();
    this.#consumer.unmap();
    this.#producer.unmap();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** "RingBufferReader(<map name>)", for messages. */
  toString(): string {
    return `RingBufferReader(${this.#name})`;
  }
}
