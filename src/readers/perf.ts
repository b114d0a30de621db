// Perf event array consumer: one perf ring per CPU, each filled by bpf_perf_event_output on that
// CPU. The reader's policy (opening the perf events, storing them in the map, waiting, one reader
// per map, overwritable rings, closing); each ring's records are read through PerfRing
// (perf-access.ts), which needs no kernel.
import {
  dupFd,
  Epoll,
  ioctl,
  mapElemRaw,
  MappedRegion,
  OwnedFd,
  PAGE_SIZE,
  perfEventOpen,
  PROT_READ,
  PROT_WRITE,
} from '../syscall/index.js';
import { BpfCommand, MapType } from '../uapi/bpf.js';
import { onlineCpus } from '../kernel/cpus.js';
import { Batch, Bytes, checkBatchSize, DEFAULT_BATCH_SIZE, type RecordBatch } from './batch.js';
import {
  PERF_DATA_OFFSET,
  PERF_DATA_SIZE,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PerfRing,
  WrapScratch,
  type PerfRawCallback,
  type PerfRingShared,
  type PerfViewCallback,
} from './perf-access.js';
import { claimMap, LostCounter, ReaderError, releaseMap, toLimit, type ReaderMap } from './shared.js';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10n;
const PERF_SAMPLE_RAW = 0x400n;
const WATERMARK_FLAG = 1n << 14n;
const WRITE_BACKWARD_FLAG = 1n << 27n;
/** ioctl PERF_EVENT_IOC_PAUSE_OUTPUT: _IOW('$', 9, __u32). */
const PERF_EVENT_IOC_PAUSE_OUTPUT = 0x40042409;

/** Options of PerfEventArrayReader. */
export interface PerfReaderOptions {
  /** Data pages per CPU ring, a power of two (default 8, 32 KiB). */
  pagesPerCpu?: number;
  /**
   * Wake the reader once this many bytes are waiting in a CPU's ring instead of after every
   * sample; a function gives each CPU its own (undefined: wake per sample). Below the ring's size.
   */
  watermarkBytes?: number | ((cpu: number) => number | undefined);
  /** Wake the reader after this many samples in a CPU's ring (default 1); ignored with watermarkBytes. */
  wakeupEvents?: number;
  /**
   * Overwritable rings (write_backward): the kernel never waits for the reader and overwrites the
   * oldest samples, so each ring holds the newest ones, a flight recorder. A poll pauses the
   * rings' output, hands out what was written since the last poll (newest first, at most a ring's
   * worth per CPU) and resumes them. Samples written while paused are counted in `lost`.
   */
  overwritable?: boolean;
  /** Most samples `pollBatch` hands out per call of its callback (default 4096). */
  batchSize?: number;
  /**
   * Whether `pollBatch` fills `offsets` and `lengths` for every sample of a strided batch (one
   * whose `stride` is nonzero: samples of one size back to back, as a program that outputs one
   * struct makes). Default true. With false, a strided batch fills only `offsets[0]` and
   * `lengths[0]`, and the callback must step by `batch.stride` (other batches are filled whole);
   * for samples of one size, the reader then stores nothing per sample.
   */
  fillOffsets?: boolean;
}

/** One CPU's perf event: its fd (owned: `.value` throws once closed) and mapping, and the ring over it. */
interface CpuEvent {
  readonly cpu: number;
  readonly fd: OwnedFd;
  readonly region: MappedRegion;
  readonly ring: PerfRing;
}

/**
 * Reads a PERF_EVENT_ARRAY map: opens a BPF-output perf event per online CPU, stores it in the map
 * at that CPU's index, and reads the rings. Samples that do not wrap the ring end are handed out in
 * place; wrapped ones are copied into a scratch buffer first. Lost-record counts from the kernel
 * are added to `lost`. One reader per map in a process: the map has one perf event per CPU slot.
 *
 * `poll` hands out each sample as a Buffer, `pollRaw` as an offset and length in a buffer, and
 * `pollBatch` hands out many samples' offsets at once, the fastest way. Samples are handed back to
 * the kernel (data_tail advanced) only after the callbacks that got them have returned; a callback
 * that throws ends the poll, and the samples up to and including the one it was given count as
 * consumed. A callback may close the reader: the poll then returns at once.
 *
 * Ordering: data_head is loaded with acquire semantics and data_tail stored with release
 * semantics, as the kernel's perf ring expects (see shared.ts).
 */
export class PerfEventArrayReader {
  readonly #events: CpuEvent[] = [];
  readonly #epoll: Epoll;
  /** The reader's own reference to the map (a dup of its fd), so closing the BpfMap first leaves no stale number here. */
  readonly #map: OwnedFd;
  readonly #name: string;
  readonly #claim: string;
  readonly #overwritable: boolean;
  /** What the rings share: batch, closed flag, lost counts, scratch buffer. */
  readonly #shared: PerfRingShared;
  #closed = false;

  /** Opens a perf event and its ring for each online CPU and puts them in the PERF_EVENT_ARRAY `map`. */
  constructor(map: ReaderMap & { info?(): { id: number } }, options: PerfReaderOptions = {}) {
    warmPerfScanOnce();
    if (map.type !== MapType.PERF_EVENT_ARRAY)
      throw new ReaderError(`map "${map.name}" is not a perf event array (type ${map.type})`, 'ERR_READER_MAP_TYPE');
    const pages = options.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0 || pages * PAGE_SIZE > 2 ** 30) {
      throw new ReaderError(`pagesPerCpu must be a power of two, at most ${2 ** 30 / PAGE_SIZE}, got ${pages}`, 'ERR_READER_OPTION');
    }
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, ReaderError);
    const wakeupEvents = options.wakeupEvents ?? 1;
    if (!Number.isInteger(wakeupEvents) || wakeupEvents < 1 || wakeupEvents > 0xffff_ffff) {
      throw new ReaderError(`wakeupEvents must be a positive integer, got ${wakeupEvents}`, 'ERR_READER_OPTION');
    }
    const option = options.watermarkBytes;
    const watermarkOf = (cpu: number): number | undefined => (typeof option === 'function' ? option(cpu) : option);
    this.#shared = {
      batch: new Batch(new Bytes(Buffer.alloc(0)), batchSize, -1),
      closed: new Uint8Array(1),
      lost: new LostCounter(),
      scratch: new WrapScratch(),
      fillOffsets: options.fillOffsets ?? true,
    };
    this.#name = map.name;
    this.#overwritable = options.overwritable === true;
    const cpus = onlineCpus();
    for (const cpu of cpus) {
      if (cpu >= map.maxEntries)
        throw new ReaderError(
          `map "${map.name}" has ${map.maxEntries} entries but CPU ${cpu} is online; size it to the possible CPUs`,
          'ERR_READER_SIZE',
        );
      const watermark = watermarkOf(cpu);
      if (watermark !== undefined && (!Number.isInteger(watermark) || watermark < 1 || watermark >= pages * PAGE_SIZE)) {
        throw new ReaderError(
          `watermarkBytes for CPU ${cpu} must be an integer from 1 to ${pages * PAGE_SIZE - 1} (below the ring's size), got ${watermark}`,
          'ERR_READER_OPTION',
        );
      }
    }
    this.#claim = claimMap(
      map,
      'perf event array',
      "the map has one perf event per CPU slot, so a second reader would take the first one's slots",
    );
    let own: OwnedFd | undefined;
    try {
      own = new OwnedFd(dupFd(map.fd), `perf event array "${map.name}" (the reader's reference)`, this);
      this.#epoll = new Epoll(64);
    } catch (e) {
      own?.close();
      releaseMap(this.#claim);
      throw e;
    }
    this.#map = own;
    try {
      for (const cpu of cpus) this.#openCpu(cpu, pages, watermarkOf(cpu), wakeupEvents);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #openCpu(cpu: number, pages: number, watermark: number | undefined, wakeupEvents: number): void {
    const fd = perfEventOpen(
      {
        type: PERF_TYPE_SOFTWARE,
        config: PERF_COUNT_SW_BPF_OUTPUT,
        sampleType: PERF_SAMPLE_RAW,
        samplePeriod: 1n,
        wakeupEvents: watermark ?? wakeupEvents,
        flags: (watermark ? WATERMARK_FLAG : 0n) | (this.#overwritable ? WRITE_BACKWARD_FLAG : 0n),
      },
      -1,
      cpu,
    );
    // Owned from the start: if the reader is dropped without close() the collector closes it, and
    // every failure below closes it here.
    const owned = new OwnedFd(fd, `perf event of CPU ${cpu} for map "${this.#name}"`, this);
    let region: MappedRegion;
    try {
      // A read-only mapping is what makes a write_backward ring overwritable: the kernel then
      // ignores data_tail.
      region = new MappedRegion(fd, PAGE_SIZE * (1 + pages), this.#overwritable ? PROT_READ : PROT_READ | PROT_WRITE);
    } catch (e) {
      owned.close();
      throw e;
    }
    const b = region.buffer;
    const offset = Number(b.readBigUInt64LE(PERF_DATA_OFFSET)) || PAGE_SIZE;
    const size = Number(b.readBigUInt64LE(PERF_DATA_SIZE)) || PAGE_SIZE * pages;
    const ring = new PerfRing(cpu, b.subarray(0, PAGE_SIZE), b.subarray(offset, offset + size), this.#shared);
    // From here the event is the reader's: close() unmaps and closes it, whatever fails next.
    this.#events.push({ cpu, fd: owned, region, ring });
    this.#epoll.add(fd, this.#events.length - 1);
    const key = Buffer.alloc(4);
    key.writeUInt32LE(cpu);
    const value = Buffer.alloc(4);
    value.writeUInt32LE(fd);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, this.#map.value, key, value, null, 0);
    if (ret < 0) throw new ReaderError(`cannot store the perf event of CPU ${cpu} in the map: errno ${-ret}`, 'ERR_READER_MAP_UPDATE');
  }

  /** Records the kernel dropped because a ring was full (or paused), in total. */
  get lost(): number {
    return this.#shared.lost.total;
  }

  /** Lost records per CPU. */
  get lostByCpu(): ReadonlyMap<number, number> {
    return this.#shared.lost.byCpu;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the rings are overwritable (see PerfReaderOptions.overwritable). */
  get overwritable(): boolean {
    return this.#overwritable;
  }

  /** Pauses (true) or resumes (false) the kernel's output into every CPU's ring. */
  #pause(paused: boolean): void {
    for (const e of this.#events) ioctl(e.fd.value, PERF_EVENT_IOC_PAUSE_OUTPUT, paused ? 1 : 0, 'ioctl(PERF_EVENT_IOC_PAUSE_OUTPUT)');
  }

  /**
   * An overwritable reader's poll: output paused, each ring's samples written since the last read
   * handed out newest first by `each` (a ring, its window), output resumed.
   */
  #pollBackward(each: (ring: PerfRing, start: number, chunk: number, limit: number) => number, max: number): number {
    if (this.#closed) return 0;
    const limit = toLimit(max);
    let delivered = 0;
    this.#pause(true);
    try {
      for (const { ring } of this.#events) {
        if (this.#closed || delivered >= limit) break;
        const { start, chunk } = ring.backwardWindow();
        if (chunk > 0) delivered += each(ring, start, chunk, limit - delivered);
      }
    } finally {
      if (!this.#closed) this.#pause(false);
    }
    return delivered;
  }

  /**
   * Consumes what is in the rings now, up to `max` samples. `onSample` gets the CPU and the raw
   * sample (in place when it does not wrap, else a copy; valid during the call only). Returns the
   * number of samples delivered.
   */
  poll(onSample: PerfViewCallback, max = Infinity): number {
    if (this.#overwritable) return this.#pollBackward((ring, start, chunk, limit) => ring.views(onSample, start, chunk, limit), max);
    const limit = toLimit(max);
    let delivered = 0;
    for (const { ring } of this.#events) {
      if (this.#closed || delivered >= limit) break;
      delivered += ring.poll(onSample, limit - delivered);
    }
    return delivered;
  }

  /**
   * Like poll, without making a Buffer view per sample: `onSample` gets the CPU, a buffer, and the
   * sample's offset and length in it. The buffer is the CPU's ring, or a scratch copy for a sample
   * that wraps the ring's end.
   */
  pollRaw(onSample: PerfRawCallback, max = Infinity): number {
    if (this.#overwritable) return this.#pollBackward((ring, start, chunk, limit) => ring.raw(onSample, start, chunk, limit), max);
    const limit = toLimit(max);
    let delivered = 0;
    for (const { ring } of this.#events) {
      if (this.#closed || delivered >= limit) break;
      delivered += ring.pollRaw(onSample, limit - delivered);
    }
    return delivered;
  }

  /**
   * Consumes what is in the rings now, up to `max` samples, calling `onBatch` with batches of
   * them, one CPU's at a time (`batch.cpu`): sample i, for i < `batch.count`, is the
   * `batch.lengths[i]` bytes at `batch.offsets[i]` in `batch.data`, the CPU's ring (or, for a
   * sample that wraps the ring's end, alone in its batch, a copy in a scratch buffer). Offsets are
   * 4-byte aligned: `batch.words[(offset >>> 2) + k]` is the sample's 32-bit word k. The batch and
   * the samples are valid until the callback returns; they are handed back to the kernel after
   * that. Batches cover a few KiB of ring at most, so the samples are still in cache when the
   * callback reads them. A batch of samples of one size back to back has a nonzero `batch.stride`
   * (sample i at `offsets[0] + i * stride`; see `fillOffsets`). Returns the number of samples
   * delivered. (Overwritable rings: one sample per batch, newest first.)
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, max = Infinity): number {
    if (this.#overwritable) {
      const batch = this.#shared.batch;
      return this.#pollBackward(
        (ring, start, chunk, limit) =>
          ring.raw(
            (cpu, data, offset, length) => {
              batch.use(data === ring.data ? ring.bytes : this.#shared.scratch.bytes, cpu);
              batch.offsets[0] = offset;
              batch.lengths[0] = length;
              batch.count = 1;
              try {
                onBatch(batch);
              } finally {
                batch.count = 0;
              }
            },
            start,
            chunk,
            limit,
          ),
        max,
      );
    }
    const limit = toLimit(max);
    let delivered = 0;
    for (const { ring } of this.#events) {
      if (this.#closed || delivered >= limit) break;
      delivered += ring.pollBatch(onBatch, limit - delivered);
    }
    return delivered;
  }

  /** Resolves when samples may be available (true) or after `timeoutMs` (false); false once closed. */
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
    this.#shared.closed[0] = 1;
    releaseMap(this.#claim);
    this.#epoll?.close();
    const key = Buffer.alloc(4);
    const mapFd = this.#map.raw;
    for (const e of this.#events) {
      key.writeUInt32LE(e.cpu);
      mapElemRaw(BpfCommand.MAP_DELETE_ELEM, mapFd, key, null, null, 0);
      try {
        e.region.unmap();
      } finally {
        e.fd.close();
      }
    }
    this.#events.length = 0;
    this.#map.close();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** "PerfEventArrayReader(<map name>)", for messages. */
  toString(): string {
    return `PerfEventArrayReader(${this.#name})`;
  }
}

/**
 * Runs every path of the perf scan loops once, on a small ring made up here (samples short and
 * long, a LOST record, a sample wrapping the ring's end), so that V8 has type feedback for all of
 * them when it compiles them (see warmRingScan in ring-access.ts).
 */
function warmPerfScan(): void {
  const size = 4096;
  const data = Buffer.alloc(size);
  const words = new Uint32Array(data.buffer, data.byteOffset, size / 4);
  const put = (at: number, type: number, recordSize: number): number => {
    words[at >>> 2] = type;
    words[(at >>> 2) + 1] = recordSize << 16;
    words[((at + 8) & (size - 1)) >>> 2] = recordSize - 12;
    return at + recordSize;
  };
  let end = put(0, PERF_RECORD_SAMPLE, 32);
  end = put(end, PERF_RECORD_SAMPLE, 112);
  end = put(end, PERF_RECORD_LOST, 24);
  end = put(end, PERF_RECORD_SAMPLE, 32);
  put(size - 48, PERF_RECORD_SAMPLE, 32);
  put(size - 16, PERF_RECORD_SAMPLE, 32); // wraps: 8 bytes at the end, the rest at the start
  for (const fillOffsets of [true, false]) {
    const shared: PerfRingShared = {
      batch: new Batch(new Bytes(Buffer.alloc(0)), 8, -1),
      closed: new Uint8Array(1),
      lost: new LostCounter(),
      scratch: new WrapScratch(),
      fillOffsets,
    };
    const ring = new PerfRing(0, Buffer.alloc(PAGE_SIZE), data, shared);
    for (let i = 0; i < 30; i++) {
      // enough calls for V8 to keep feedback
      ring.scan(0, end, 8);
      ring.scan(0, 32, 8); // a strided batch
      ring.scan(0, end, 1);
      ring.scan(size - 48, 48, 8); // the fast loop stops before the wrapping record
      ring.scan(size - 16, 16, 8); // the fast loop hands the wrapping record over
      ring.scan(size - 16, 32, 8);
    }
  }
}

let perfScanWarmed = false;

/** Warms the scan loops once per thread, when the first reader is made (never at import). */
function warmPerfScanOnce(): void {
  if (perfScanWarmed) return;
  perfScanWarmed = true;
  warmPerfScan();
}
