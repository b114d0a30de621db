// Perf event array consumer: one perf ring per CPU, each filled by bpf_perf_event_output on that CPU.
import {
  closeFd, Epoll, mapElemRaw, MappedRegion, PAGE_SIZE, perfEventOpen, PROT_READ, PROT_WRITE,
} from '../syscall/index.js';
import { BpfCommand, MapType } from '../uapi/bpf.js';
import { onlineCpus } from '../maps/cpus.js';
import { ReaderError, type RingBufferMap } from './ringbuf.js';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10n;
const PERF_SAMPLE_RAW = 0x400n;
const WATERMARK_FLAG = 1n << 14n;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
// struct perf_event_mmap_page
const DATA_HEAD = 1024;
const DATA_TAIL = 1032;
const DATA_OFFSET = 1040;
const DATA_SIZE = 1048;

export interface PerfReaderOptions {
  /** Data pages per CPU ring, a power of two (default 8, 32 KiB). */
  pagesPerCpu?: number;
  /** Wake the reader once this many bytes are waiting instead of after every record. */
  watermarkBytes?: number;
}

interface CpuRing {
  cpu: number;
  fd: number;
  region: MappedRegion;
  words: BigInt64Array;
  data: Buffer;
  size: number;
}

/**
 * Reads a PERF_EVENT_ARRAY map: opens a BPF-output perf event per online CPU, stores it in the map
 * at that CPU's index, and reads the rings. Samples that do not wrap the ring end are handed out in
 * place; wrapped ones are copied. Lost-record counts from the kernel are added to `lost`.
 */
export class PerfEventArrayReader {
  readonly #rings: CpuRing[] = [];
  readonly #epoll: Epoll;
  readonly #mapFd: number;
  readonly #lostByCpu = new Map<number, number>();
  #closed = false;
  #lost = 0;

  constructor(map: RingBufferMap, options: PerfReaderOptions = {}) {
    if (map.type !== MapType.PERF_EVENT_ARRAY) throw new ReaderError(`map "${map.name}" is not a perf event array (type ${map.type})`);
    const pages = options.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) throw new ReaderError(`pagesPerCpu must be a power of two, got ${pages}`);
    this.#mapFd = map.fd;
    this.#epoll = new Epoll(64);
    try {
      for (const cpu of onlineCpus()) {
        if (cpu >= map.maxEntries) throw new ReaderError(`map "${map.name}" has ${map.maxEntries} entries but CPU ${cpu} is online; size it to the possible CPUs`);
        this.#openCpu(cpu, pages, options.watermarkBytes);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #openCpu(cpu: number, pages: number, watermark: number | undefined): void {
    const fd = perfEventOpen({
      type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW,
      samplePeriod: 1n, wakeupEvents: watermark ?? 1, flags: watermark ? WATERMARK_FLAG : 0n,
    }, -1, cpu);
    let region: MappedRegion;
    try {
      region = new MappedRegion(fd, PAGE_SIZE * (1 + pages), PROT_READ | PROT_WRITE);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    const b = region.buffer;
    const offset = Number(b.readBigUInt64LE(DATA_OFFSET)) || PAGE_SIZE;
    const size = Number(b.readBigUInt64LE(DATA_SIZE)) || PAGE_SIZE * pages;
    const ring: CpuRing = { cpu, fd, region, words: new BigInt64Array(b.buffer, b.byteOffset, PAGE_SIZE / 8), data: b.subarray(offset, offset + size), size };
    this.#rings.push(ring);
    this.#epoll.add(fd, this.#rings.length - 1);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(cpu);
    const value = Buffer.alloc(4);
    value.writeUInt32LE(fd);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.#mapFd, key, value, null, 0);
    if (ret < 0) throw new ReaderError(`cannot store the perf event of CPU ${cpu} in the map: errno ${-ret}`);
  }

  /** Records the kernel dropped because a ring was full, in total. */
  get lost(): number {
    return this.#lost;
  }

  /** Lost records per CPU. */
  get lostByCpu(): ReadonlyMap<number, number> {
    return this.#lostByCpu;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Consumes what is in the rings now. `onSample` gets the CPU and the raw sample (in place when it
   * does not wrap; valid during the call only). Returns the number of samples delivered.
   */
  poll(onSample: (cpu: number, sample: Buffer) => void): number {
    let n = 0;
    for (const ring of this.#rings) {
      if (this.#closed) break;
      n += this.#drain(ring, onSample);
    }
    return n;
  }

  #drain(ring: CpuRing, onSample: (cpu: number, sample: Buffer) => void): number {
    // Positions are u64 in the ring's header, but as Numbers they stay exact for 2^53 bytes:
    // plain arithmetic per record, BigInt only once per drain.
    const head = Number(Atomics.load(ring.words, DATA_HEAD / 8));
    let tail = Number(Atomics.load(ring.words, DATA_TAIL / 8));
    const { size, data } = ring;
    let n = 0;
    while (tail < head) {
      const at = tail % size;
      const header = at + 8 <= size ? data : this.#read(ring, at, 8);
      const h = header === data ? at : 0;
      const type = header.readUInt32LE(h);
      const recordSize = header.readUInt16LE(h + 6);
      if (recordSize < 8) break; // corrupt: stop rather than spin
      if (type === PERF_RECORD_SAMPLE) {
        const bodyAt = (at + 8) % size;
        const rawSize = bodyAt + 4 <= size ? data.readUInt32LE(bodyAt) : this.#read(ring, bodyAt, 4).readUInt32LE(0);
        const sampleAt = (bodyAt + 4) % size;
        onSample(ring.cpu, sampleAt + rawSize <= size ? data.subarray(sampleAt, sampleAt + rawSize) : this.#read(ring, sampleAt, rawSize));
        n++;
      } else if (type === PERF_RECORD_LOST) {
        const lost = Number(this.#read(ring, (at + 16) % size, 8).readBigUInt64LE(0));
        this.#lost += lost;
        this.#lostByCpu.set(ring.cpu, (this.#lostByCpu.get(ring.cpu) ?? 0) + lost);
      }
      tail += recordSize;
      if (this.#closed) return n;
    }
    Atomics.store(ring.words, DATA_TAIL / 8, BigInt(tail));
    return n;
  }

  /** `length` bytes at ring offset `at`: a view when contiguous, a copy when the record wraps. */
  #read(ring: CpuRing, at: number, length: number): Buffer {
    if (at + length <= ring.size) return ring.data.subarray(at, at + length);
    const first = ring.size - at;
    return Buffer.concat([ring.data.subarray(at), ring.data.subarray(0, length - first)]);
  }

  async wait(timeoutMs = -1): Promise<boolean> {
    if (this.#closed) return false;
    const ready = await this.#epoll.wait(timeoutMs);
    return !this.#closed && ready.length > 0;
  }

  /** Samples as copies with their CPU, until closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<{ cpu: number; sample: Buffer }> {
    const batch: { cpu: number; sample: Buffer }[] = [];
    while (!this.#closed) {
      this.poll((cpu, s) => batch.push({ cpu, sample: Buffer.from(s) }));
      while (batch.length) yield batch.shift()!;
      await this.wait();
    }
  }

  /** Removes the perf events from the map and closes them; a pending wait resolves (false). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#epoll.close();
    const key = Buffer.alloc(4);
    for (const ring of this.#rings) {
      key.writeUInt32LE(ring.cpu);
      mapElemRaw(BpfCommand.MAP_DELETE_ELEM, this.#mapFd, key, null, null, 0);
      ring.region.unmap();
      closeFd(ring.fd);
    }
    this.#rings.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
