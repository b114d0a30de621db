// User ring buffer producer (map type USER_RINGBUF): user space writes records in place, and a BPF
// program takes them with bpf_user_ringbuf_drain. The same layout as a ring buffer with the roles
// swapped: this side owns producer_pos and the record headers, the kernel owns consumer_pos.
// UserRingBufferRing is the access to the memory (no kernel; a unit test makes one up),
// UserRingBufferProducer the policy (which map, mapping it, waiting for space, one producer per map).
import { Epoll, MappedRegion, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';
import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HEADER_SIZE } from './ring-access.js';
import { advancePosition, claimMap, LOW_WORD, ReaderError, releaseMap, type ReaderMap } from './shared.js';

/** See PLAIN_LOADS_ACQUIRE in shared.ts. */
const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';
const EPOLLOUT = 4;
/** Edge-triggered: a wait returns after the kernel wakes writers (a drain took records), not while the ring merely has a few free bytes. */
const EPOLLET = 0x8000_0000;

/** The memory of one user ring buffer, as the kernel lays it out (or a test makes it up). */
export interface UserRingBufferViews {
  /** The consumer page (consumer_pos at 0), read-only here: the kernel's. */
  readonly consumer: Buffer;
  /** The producer page (producer_pos at 0), read-write: this side's. */
  readonly producer: Buffer;
  /** The data area, `2 * size` bytes: the ring mapped twice back to back, read-write. */
  readonly data: Buffer;
}

/**
 * Reservations in one user ring buffer. `reserve` takes the space for a record at producer_pos:
 * it writes the record's 8-byte header (its length with the busy bit) and then advances
 * producer_pos with a release store, so the kernel sees the header before the space; the record
 * is then written in place and published by `submit`, a release store of the header without the
 * busy bit (or `discard`, with the discard bit: the kernel steps over it). The kernel's drain stops
 * at a busy record, so records reach the program in reservation order, each once it is submitted.
 * consumer_pos is read with an acquire load before space is reused. On x86 these are plain loads
 * and stores (see shared.ts); elsewhere Atomics.
 */
export class UserRingBufferRing {
  readonly size: number;
  readonly mask: number;
  /** The data area (mapped twice, so a record that wraps is contiguous from its offset). */
  readonly data: Buffer;
  readonly #headers: Int32Array;
  readonly #consumerWords: Uint32Array;
  readonly #consumerPos: BigUint64Array;
  readonly #producerWords: Uint32Array;
  readonly #producerPos: BigUint64Array;

  constructor(views: UserRingBufferViews) {
    const { consumer, producer, data } = views;
    this.size = data.length / 2;
    this.mask = this.size - 1;
    this.data = data;
    this.#headers = new Int32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
    this.#consumerWords = new Uint32Array(consumer.buffer, consumer.byteOffset, 2);
    this.#consumerPos = new BigUint64Array(consumer.buffer, consumer.byteOffset, 1);
    this.#producerWords = new Uint32Array(producer.buffer, producer.byteOffset, 2);
    this.#producerPos = new BigUint64Array(producer.buffer, producer.byteOffset, 1);
  }

  /** Bytes reserved and not yet taken by the kernel (headers included). */
  get pending(): number {
    return Number(Atomics.load(this.#producerPos, 0) - Atomics.load(this.#consumerPos, 0));
  }

  /** Bytes a record takes in the ring: its header and itself, rounded up to 8. */
  static footprint(length: number): number {
    return (length + RINGBUF_HEADER_SIZE + 7) & ~7;
  }

  /**
   * Reserves `length` bytes for a record and returns their offset in `data`, or -1 when the ring
   * has not that much free space now. The record must then be submitted or discarded; records
   * reserved after it reach the kernel only once it is.
   */
  reserve(length: number): number {
    const total = UserRingBufferRing.footprint(length);
    if (!Number.isInteger(length) || length < 0 || total > this.size) {
      throw new ReaderError(
        `a user ring buffer record of ${length} bytes does not fit a ${this.size}-byte ring (each record takes its length plus an 8-byte header, rounded up to 8)`,
        'ERR_READER_RECORD_SIZE',
      );
    }
    const consumer = PLAIN_LOADS_ACQUIRE ? this.#consumerWords[LOW_WORD] : Atomics.load(this.#consumerWords, LOW_WORD);
    const producer = this.#producerWords[LOW_WORD]; // written by this side only
    const used = (producer - consumer) >>> 0; // the ring is smaller than 4 GiB
    if (this.size - used < total) return -1;
    const at = producer & this.mask;
    // The header (busy: the kernel must not take the record yet) before the space is published.
    const h = at >>> 2;
    this.#headers[h] = length | RINGBUF_BUSY_BIT;
    this.#headers[h + 1] = 0;
    advancePosition(this.#producerWords, LOW_WORD, this.#producerPos, producer, total);
    return at + RINGBUF_HEADER_SIZE;
  }

  /** Publishes the record reserved at `offset` (as `reserve` returned it). */
  submit(offset: number): void {
    this.#commit(offset, 0);
  }

  /** Gives the record reserved at `offset` up: the kernel steps over it. */
  discard(offset: number): void {
    this.#commit(offset, RINGBUF_DISCARD_BIT);
  }

  #commit(offset: number, flags: number): void {
    const h = ((offset - RINGBUF_HEADER_SIZE) & this.mask) >>> 2;
    const header = this.#headers[h];
    if (
      !Number.isInteger(offset) ||
      offset < RINGBUF_HEADER_SIZE ||
      offset >= 2 * this.size ||
      (offset & 7) !== 0 ||
      (header & RINGBUF_BUSY_BIT) === 0
    ) {
      throw new ReaderError(
        `no reserved record at offset ${offset} of the user ring buffer (already submitted or discarded, or not an offset reserve() returned)`,
        'ERR_READER_NOT_RESERVED',
      );
    }
    const next = (header & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) | flags;
    if (PLAIN_LOADS_ACQUIRE)
      this.#headers[h] = next; // x86: a plain store is a release store
    else Atomics.store(this.#headers, h, next);
  }
}

/** Options of UserRingBufferProducer (none yet). */
export interface UserRingBufferProducerOptions {
  /** Nothing yet: reserved for options such as a wake-up policy. */
  readonly [key: string]: never;
}

/**
 * Writes records into a USER_RINGBUF map for a BPF program to drain with
 * `bpf_user_ringbuf_drain`. Zero-copy: `reserve(length)` returns a Buffer over the ring itself
 * (or `reserveRaw` an offset into `data`), the caller fills it, and `submit` publishes it (or
 * `discard` gives it up). `write(bytes)` does all three for a record already in a Buffer. When the
 * ring is full, reserve returns undefined (-1 for reserveRaw); `reserveWait` waits for the kernel
 * to drain records (the program calls the drain without BPF_RB_NO_WAKEUP) and reserves then.
 * One producer per map in a process: the ring has one producer position.
 */
export class UserRingBufferProducer {
  readonly #consumer: MappedRegion;
  readonly #producer: MappedRegion;
  readonly #ring: UserRingBufferRing;
  readonly #epoll: Epoll;
  readonly #name: string;
  readonly #claim: string;
  #closed = false;

  /** Maps the USER_RINGBUF `map` for writing. */
  constructor(map: ReaderMap & { info?(): { id: number } }, _options: UserRingBufferProducerOptions = {}) {
    if (map.type !== MapType.USER_RINGBUF)
      throw new ReaderError(
        `map "${map.name}" is not a user ring buffer (type ${map.type}); create it with type 'USER_RINGBUF'`,
        'ERR_READER_MAP_TYPE',
      );
    const size = map.maxEntries;
    if (size > 2 ** 30)
      throw new ReaderError(`user ring buffer "${map.name}" is ${size} bytes; the producer handles rings up to 1 GiB`, 'ERR_READER_SIZE');
    this.#claim = claimMap(
      map,
      'user ring buffer producer',
      "a ring has one producer position, so two producers would overwrite each other's records",
    );
    this.#name = map.name;
    const undo: (() => void)[] = [() => releaseMap(this.#claim)];
    const fail = (e: unknown): never => {
      for (const u of undo.reverse()) u();
      throw e;
    };
    let consumer: MappedRegion | undefined;
    let producer: MappedRegion | undefined;
    let epoll: Epoll | undefined;
    try {
      // The kernel's page: read-only (it refuses a writable mapping of it).
      consumer = new MappedRegion(map.fd, PAGE_SIZE, PROT_READ, 0);
      undo.push(() => consumer!.unmap());
      producer = new MappedRegion(map.fd, PAGE_SIZE + 2 * size, PROT_READ | PROT_WRITE, PAGE_SIZE);
      undo.push(() => producer!.unmap());
      epoll = new Epoll(1);
      undo.push(() => epoll!.close());
      epoll.add(map.fd, 0, (EPOLLOUT | EPOLLET) >>> 0);
    } catch (e) {
      fail(e);
    }
    this.#consumer = consumer!;
    this.#producer = producer!;
    this.#epoll = epoll!;
    const p = this.#producer.buffer;
    this.#ring = new UserRingBufferRing({
      consumer: this.#consumer.buffer,
      producer: p.subarray(0, PAGE_SIZE),
      data: p.subarray(PAGE_SIZE, PAGE_SIZE + 2 * size),
    });
  }

  #check(): UserRingBufferRing {
    if (this.#closed) throw new ReaderError(`user ring buffer producer of "${this.#name}" is closed`, 'ERR_READER_CLOSED');
    return this.#ring;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The ring's data area (mapped twice): `reserveRaw` offsets point into it. */
  get data(): Buffer {
    return this.#check().data;
  }

  /** The ring's size in bytes. */
  get size(): number {
    return this.#ring.size;
  }

  /** Bytes reserved and not yet drained by the kernel. */
  get pending(): number {
    return this.#closed ? 0 : this.#ring.pending;
  }

  /** Reserves `length` bytes: their offset in `data`, or -1 when the ring has no room now. */
  reserveRaw(length: number): number {
    return this.#check().reserve(length);
  }

  /**
   * Reserves `length` bytes and returns them as a Buffer over the ring (undefined when the ring
   * has no room now). Fill it, then `submit` or `discard` it; don't touch it after.
   */
  reserve(length: number): Buffer | undefined {
    const ring = this.#check();
    const at = ring.reserve(length);
    return at < 0 ? undefined : ring.data.subarray(at, at + length);
  }

  /** Publishes a record from `reserve` (a Buffer) or `reserveRaw` (an offset). */
  submit(record: Buffer | number): void {
    this.#check().submit(this.#offsetOf(record));
  }

  /** Gives up a record from `reserve` or `reserveRaw`: the kernel steps over it. */
  discard(record: Buffer | number): void {
    this.#check().discard(this.#offsetOf(record));
  }

  /** Copies `bytes` into a new record and submits it; false when the ring has no room now. */
  write(bytes: Uint8Array): boolean {
    const ring = this.#check();
    const at = ring.reserve(bytes.length);
    if (at < 0) return false;
    ring.data.set(bytes, at);
    ring.submit(at);
    return true;
  }

  #offsetOf(record: Buffer | number): number {
    if (typeof record === 'number') return record;
    const data = this.#ring.data;
    if (record.buffer !== data.buffer)
      throw new ReaderError(
        'not a record of this user ring buffer (submit and discard take what reserve returned)',
        'ERR_READER_NOT_RESERVED',
      );
    return record.byteOffset - data.byteOffset;
  }

  /**
   * Resolves true once the kernel has taken records since the last wait (its drain wakes writers
   * unless the program passed BPF_RB_NO_WAKEUP; the first wait also returns when the ring has any
   * room), false after `timeoutMs` or once closed. reserveWait is the loop most callers want.
   */
  async waitForSpace(timeoutMs = -1): Promise<boolean> {
    if (this.#closed) return false;
    const ready = await this.#epoll.wait(timeoutMs);
    return !this.#closed && ready.length > 0;
  }

  /**
   * Like reserve, waiting up to `timeoutMs` (-1: without end) for the kernel to drain enough
   * records; undefined on timeout or once closed.
   */
  async reserveWait(length: number, timeoutMs = -1): Promise<Buffer | undefined> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return undefined;
      const record = this.reserve(length);
      if (record) return record;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.waitForSpace(left === Infinity ? -1 : Math.ceil(left));
    }
  }

  /** Unmaps the ring; records submitted stay for the program to drain. The map stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseMap(this.#claim);
    this.#epoll.close();
    this.#consumer.unmap();
    this.#producer.unmap();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** "UserRingBufferProducer(<map name>)", for messages. */
  toString(): string {
    return `UserRingBufferProducer(${this.#name})`;
  }
}
