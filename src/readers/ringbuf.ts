// BPF ring buffer consumer (map type RINGBUF). The kernel maps the data area twice back to back, so
// a record that wraps is still contiguous and can be handed out in place, without a copy.
import { MappedRegion, PAGE_SIZE, PROT_READ, PROT_WRITE, Epoll } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';

/** Map ids with a live reader in this process: a ring has one consumer position, shared by all. */
const readersByMapId = new Set<number>();

const BUSY_BIT = 0x8000_0000;
const DISCARD_BIT = 0x4000_0000;
const HEADER_SIZE = 8;

export class ReaderError extends Error {
  override name = 'ReaderError';
}

/** What a ring buffer reader needs of a map: a BpfMap fits. */
export interface RingBufferMap {
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly name: string;
}

/**
 * Reads records from a BPF ring buffer. `poll` hands each record to a callback as a Buffer over the
 * ring itself (valid only during the callback: copy what you keep); the async iterator yields copies.
 * Waiting happens on another thread through epoll, so Node's event loop keeps running.
 *
 * Ordering: producer_pos and record headers are read with Atomics.load and consumer_pos is written
 * with Atomics.store, the acquire/release pairing the kernel's producer expects.
 */
export class RingBufferReader {
  readonly #consumer: MappedRegion;
  readonly #producer: MappedRegion;
  readonly #consumerPos: BigInt64Array;
  readonly #producerPos: BigInt64Array;
  readonly #headers: Int32Array;
  readonly #data: Buffer;
  readonly #mask: number;
  readonly #epoll: Epoll;
  readonly #name: string;
  readonly #mapId: number;
  #closed = false;

  constructor(map: RingBufferMap & { info(): { id: number } }) {
    if (map.type !== MapType.RINGBUF) throw new ReaderError(`map "${map.name}" is not a ring buffer (type ${map.type}); create it with type 'RINGBUF'`);
    this.#mapId = map.info().id;
    if (readersByMapId.has(this.#mapId)) {
      throw new ReaderError(`ring buffer "${map.name}" (id ${this.#mapId}) already has a reader in this process: a ring has one consumer position, so two readers would each see part of the records; read it with one reader and fan out in JavaScript`);
    }
    const size = map.maxEntries;
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
    this.#consumerPos = new BigInt64Array(c.buffer, c.byteOffset, 1);
    this.#producerPos = new BigInt64Array(p.buffer, p.byteOffset, 1);
    this.#data = p.subarray(PAGE_SIZE, PAGE_SIZE + 2 * size);
    this.#headers = new Int32Array(p.buffer, p.byteOffset + PAGE_SIZE, (2 * size) / 4);
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
   * Consumes the records available now, up to `max`, calling `onRecord` with each one in place.
   * Returns how many records were delivered (discarded records are skipped and not counted).
   */
  poll(onRecord: (record: Buffer) => void, max = Infinity): number {
    const data = this.#data;
    return this.pollRaw((ring, offset, length) => onRecord(data.subarray(offset, offset + length)), max);
  }

  /**
   * Like poll, without making a Buffer view per record: `onRecord` gets the mapped ring (the data
   * area, mapped twice so no record wraps), the record's offset in it and its length. The fastest
   * way to read many small records.
   */
  pollRaw(onRecord: (ring: Buffer, offset: number, length: number) => void, max = Infinity): number {
    if (this.#closed) return 0;
    let consumer = Atomics.load(this.#consumerPos, 0);
    let delivered = 0;
    try {
      for (;;) {
        const producer = Atomics.load(this.#producerPos, 0);
        if (consumer >= producer || delivered >= max) break;
        // Positions only grow; their low bits index the ring.
        let offset = Number(consumer & BigInt(this.#mask));
        let advanced = 0;
        let available = Number(producer - consumer);
        while (available > 0 && delivered < max) {
          const header = Atomics.load(this.#headers, offset >> 2) >>> 0;
          if (header & BUSY_BIT) break;
          const length = header & ~(BUSY_BIT | DISCARD_BIT);
          const step = (HEADER_SIZE + length + 7) & ~7;
          if (!(header & DISCARD_BIT)) {
            onRecord(this.#data, offset + HEADER_SIZE, length);
            delivered++;
            // The callback may have closed the reader: the ring is unmapped then.
            if (this.#closed) return delivered;
          }
          advanced += step;
          available -= step;
          offset = (offset + step) & this.#mask;
        }
        if (advanced === 0) break;
        consumer += BigInt(advanced);
        // Release the space to the producer only after the callbacks are done with it.
        Atomics.store(this.#consumerPos, 0, consumer);
      }
    } finally {
      if (!this.#closed) Atomics.store(this.#consumerPos, 0, consumer);
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
