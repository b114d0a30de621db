// The four AF_XDP rings: single-producer single-consumer queues the kernel and this process share
// through mmap. Each has a u32 producer index, a u32 consumer index and a u32 flags word; indices
// run freely and wrap at 2^32, and the slot is index & (size - 1). Same discipline as the BPF ring
// buffer reader (src/readers/ringbuf.ts): the other side's index is read with acquire semantics
// (Atomics.load) before the slots it covers, and ours is published with release semantics
// (Atomics.store) after the slots are written or read. The other side's index is cached and
// refreshed only when the cached value says the ring looks full or empty, so a batch costs one
// shared-memory read and one write, whatever its size.
import { MappedRegion, PROT_READ, PROT_WRITE, MAP_SHARED } from '../syscall/index.js';

const MAP_POPULATE = 0x8000;
/** XDP_RING_NEED_WAKEUP: the kernel asks for a syscall before it looks at this ring again. */
const NEED_WAKEUP = 1;

/** Where the kernel put each part of a ring in its mapping (struct xdp_ring_offset). */
export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
  flags: number;
}

export class XskRing {
  readonly size: number;
  readonly mask: number;
  /** Bytes per slot: 8 (a UMEM address) for fill and completion, 16 (struct xdp_desc) for RX and TX. */
  readonly slotSize: number;
  readonly region: MappedRegion;
  /** The mapping as u32 words: indices, flags and slots are all read and written through it. */
  readonly words: Uint32Array;
  /** Word index of slot 0. */
  readonly base: number;
  readonly #producer: number;
  readonly #consumer: number;
  readonly #flags: number;
  /** Our own index (producer for fill/TX, consumer for RX/completion), as published last. */
  cachedOwn = 0;
  /** The kernel's index as last read. For a producer ring it is kept as consumer + size (the end of free space). */
  cachedOther = 0;
  readonly #isProducer: boolean;

  constructor(fd: number, pageOffset: number, size: number, slotSize: number, offsets: RingOffsets, isProducer: boolean) {
    this.size = size;
    this.mask = size - 1;
    this.slotSize = slotSize;
    this.#isProducer = isProducer;
    this.region = new MappedRegion(fd, offsets.desc + size * slotSize, PROT_READ | PROT_WRITE, pageOffset, MAP_SHARED | MAP_POPULATE);
    const b = this.region.buffer;
    this.words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    this.#producer = offsets.producer >>> 2;
    this.#consumer = offsets.consumer >>> 2;
    this.#flags = offsets.flags >>> 2;
    this.base = offsets.desc >>> 2;
    if (isProducer) {
      this.cachedOwn = Atomics.load(this.words, this.#producer);
      this.cachedOther = (Atomics.load(this.words, this.#consumer) + size) >>> 0;
    } else {
      this.cachedOwn = Atomics.load(this.words, this.#consumer);
      this.cachedOther = Atomics.load(this.words, this.#producer);
    }
  }

  /** Producer side: how many of `wanted` slots are free from cachedOwn on (refreshes the consumer only when short). */
  free(wanted: number): number {
    let n = (this.cachedOther - this.cachedOwn) >>> 0;
    if (n < wanted) {
      this.cachedOther = (Atomics.load(this.words, this.#consumer) + this.size) >>> 0;
      n = (this.cachedOther - this.cachedOwn) >>> 0;
    }
    return n < wanted ? n : wanted;
  }

  /** Producer side: publishes `count` filled slots (release). */
  submit(count: number): void {
    this.cachedOwn = (this.cachedOwn + count) >>> 0;
    Atomics.store(this.words, this.#producer, this.cachedOwn);
  }

  /** Consumer side: how many of up to `wanted` slots are ready from cachedOwn on (acquire). */
  ready(wanted: number): number {
    let n = (this.cachedOther - this.cachedOwn) >>> 0;
    if (n === 0) {
      this.cachedOther = Atomics.load(this.words, this.#producer);
      n = (this.cachedOther - this.cachedOwn) >>> 0;
    }
    return n < wanted ? n : wanted;
  }

  /** Consumer side: hands `count` slots back to the kernel (release). */
  release(count: number): void {
    this.cachedOwn = (this.cachedOwn + count) >>> 0;
    Atomics.store(this.words, this.#consumer, this.cachedOwn);
  }

  /** Word index of slot `index` (a free-running ring index). */
  slot(index: number): number {
    return this.base + (index & this.mask) * (this.slotSize >>> 2);
  }

  /** Entries the kernel has not consumed yet (producer rings) or we have not (consumer rings). */
  pending(): number {
    const p = Atomics.load(this.words, this.#producer);
    const c = Atomics.load(this.words, this.#consumer);
    return (p - c) >>> 0;
  }

  needsWakeup(): boolean {
    return (Atomics.load(this.words, this.#flags) & NEED_WAKEUP) !== 0;
  }

  get isProducer(): boolean {
    return this.#isProducer;
  }

  unmap(): void {
    this.region.unmap();
  }
}
