// Perf event array consumer: one perf ring per CPU, each filled by bpf_perf_event_output on that CPU.
import {
  closeFd, Epoll, mapElemRaw, MappedRegion, PAGE_SIZE, perfEventOpen, PROT_READ, PROT_WRITE,
} from '../syscall/index.js';
import { BpfCommand, MapType } from '../uapi/bpf.js';
import { onlineCpus } from '../kernel/cpus.js';
import { ReaderError, type RingBufferMap } from './ringbuf.js';
import {
  advancePosition, Batch, Bytes, checkBatchSize, DEFAULT_BATCH_SIZE, LOW_WORD, toLimit, wordsOf, type RecordBatch,
} from './batch.js';

/** As in ringbuf.ts: module-local, so that the compiled loops fold the test away. */
const PLAIN_LOADS_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';
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
  /** Most samples `pollBatch` hands out per call of its callback (default 4096). */
  batchSize?: number;
}

/** One CPU's perf ring. (A class: the made-up ring of warmPerfLoops has the same shape.) */
class CpuRing {
  readonly cpu: number;
  readonly fd: number;
  readonly region: MappedRegion | undefined;
  /** The control page as 32-bit words: data_head's and data_tail's low halves. */
  readonly control: Uint32Array;
  /** data_tail, for the rare store of all 64 bits. */
  readonly tail: BigUint64Array;
  readonly data: Buffer;
  readonly words: Uint32Array;
  /** data and words again, for batches. */
  readonly bytes: Bytes;
  readonly size: number;
  readonly mask: number;
  loops!: PerfLoops;

  constructor(cpu: number, fd: number, region: MappedRegion | undefined, control: Uint32Array, tail: BigUint64Array, data: Buffer) {
    this.cpu = cpu;
    this.fd = fd;
    this.region = region;
    this.control = control;
    this.tail = tail;
    this.data = data;
    this.words = wordsOf(data);
    this.bytes = new Bytes(data);
    this.size = data.length;
    this.mask = data.length - 1;
  }
}

// Indexes of data_head's and data_tail's low 32 bits in the control page.
const HEAD_LOW = DATA_HEAD / 4 + LOW_WORD;
const TAIL_LOW = DATA_TAIL / 4 + LOW_WORD;
/** poll and pollRaw give consumed space back to the kernel this often. */
const PASS_BYTES = 65536;
/** pollBatch covers at most this much ring per batch, so the samples are still in L1 when read. */
const BATCH_BYTES = 4096;

/** Bytes of ring the last loop of a PerfLoops consumed. */
let loopDone = 0;
/**
 * The bytes the last scan's batch is in: its ring's, or the scratch buffer when the batch is one
 * sample that wraps the ring's end, copied there.
 */
let loopBytes: Bytes | undefined;
/** Where the loops put what they read to touch cache lines (so the reads are not optimized away). */
let touchSink = 0;

type RawCallback = (cpu: number, data: Buffer, offset: number, length: number) => void;

/**
 * The hot loops over the records from offset `at` of one CPU's ring, `chunk` bytes at most.
 * raw and views are written out separately rather than one calling the other through a wrapper
 * callback: each call site then sees one callback shape, which V8 can inline.
 */
interface PerfLoops {
  /** Finds up to `limit` samples, writing their offsets and lengths into the batch arrays. */
  scan(at: number, chunk: number, limit: number): number;
  /** Hands up to `limit` samples to `onSample` as offsets. */
  raw(onSample: RawCallback, at: number, chunk: number, limit: number): number;
  /** Hands up to `limit` samples to `onSample` as views. */
  views(onSample: (cpu: number, sample: Buffer) => void, at: number, chunk: number, limit: number): number;
}

/**
 * What the loops share with the reader: lost-record counts, and the scratch buffer where samples
 * that wrap a ring's end are copied. (A class with module functions, not callbacks: their call
 * sites in the loops then see one target whichever reader runs them.)
 */
class PerfState {
  lost = 0;
  readonly lostByCpu = new Map<number, number>();
  scratch = new Bytes(Buffer.alloc(0));
}

/** Adds a LOST record's count (a u64 at `wordIndex` of the ring). */
function addLost(state: PerfState, ring: CpuRing, wordIndex: number): void {
  const { words } = ring;
  const lost = words[wordIndex + LOW_WORD] + words[wordIndex + 1 - LOW_WORD] * 2 ** 32;
  state.lost += lost;
  state.lostByCpu.set(ring.cpu, (state.lostByCpu.get(ring.cpu) ?? 0) + lost);
}

/** Copies the `length` bytes at `at` of a ring, which wrap its end, to the start of the scratch buffer. */
function copyWrapped(state: PerfState, ring: CpuRing, at: number, length: number): Bytes {
  let scratch = state.scratch;
  if (scratch.data.length < length) {
    scratch = new Bytes(Buffer.alloc(Math.max(64, 2 ** Math.ceil(Math.log2(length)))));
    state.scratch = scratch;
  }
  const first = ring.size - at;
  ring.data.copy(scratch.data, 0, at, ring.size);
  ring.data.copy(scratch.data, first, 0, length - first);
  return scratch;
}

/**
 * The scan loop of perfLoops, made on its own (warmPerfLoops makes one too). Records that do not
 * wrap the ring's end (nearly all) are walked with plain offsets; from the first that does, and
 * for a batch that starts less than `chunk` bytes before the end, perfScanWrapping takes over.
 */
function perfScanLoop(ring: CpuRing, batchOffsets: Uint32Array, batchLengths: Uint32Array, state: PerfState): PerfLoops['scan'] {
  const ringWords = ring.words;
  const ringSize = ring.size;
  const ringBytes = ring.bytes;
  return (start: number, chunk: number, limit: number): number => {
    if (start + chunk > ringSize) return scanWrapping(ring, batchOffsets, batchLengths, state, start, chunk, limit);
    const words = ringWords;
    const offsets = batchOffsets;
    const lengths = batchLengths;
    const size = ringSize;
    const SAMPLE = PERF_RECORD_SAMPLE; // locals, not module constants, in the loop (see ringLoops)
    const end = start + chunk;
    let at = start;
    let count = 0;
    let touched = 0;
    for (;;) {
      // Samples only: no call in this loop, so V8 keeps its values in registers.
      let head = -1;
      while (at < end && count < limit) {
        const w = at >>> 2;
        const sizeWord = words[w + 1] | 0; // u16 misc, u16 size
        if (sizeWord !== head) {
          if (sizeWord >>> 16 < 8 || words[w] !== SAMPLE) break;
          head = sizeWord;
        }
        const next = at + (head >>> 16);
        if (next > size || words[w] !== SAMPLE) break;
        const rawSize = words[w + 2] | 0;
        // A record longer than a cache line: read its second line too (see ringLoops).
        if (rawSize > 52) touched ^= words[w + 16];
        offsets[count] = at + 12;
        lengths[count] = rawSize;
        count++;
        at = next;
      }
      if (at >= end || count >= limit) break;
      // Stopped at a record that is corrupt, wraps the ring's end, or is not a sample.
      const w = at >>> 2;
      const step = words[w + 1] >>> 16;
      if (step < 8) break;
      if (at + step > size) {
        // The wrapping loop takes it from here.
        if (at === start) return scanWrapping(ring, batchOffsets, batchLengths, state, start, chunk, limit);
        break;
      }
      if (words[w] === PERF_RECORD_LOST) addLost(state, ring, w + 4);
      at += step;
    }
    loopDone = at - start;
    loopBytes = ringBytes;
    touchSink = touched;
    return count;
  };
}

/** perfScanLoop where the records wrap the ring's end: positions masked, a wrapped sample copied. */
function scanWrapping(ring: CpuRing, offsets: Uint32Array, lengths: Uint32Array, state: PerfState, start: number, chunk: number, limit: number): number {
  const { words, size, mask } = ring;
  let bytes = ring.bytes;
  let pos = 0;
  let count = 0;
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
        bytes = copyWrapped(state, ring, sampleAt, rawSize);
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
      addLost(state, ring, ((at + 16) & mask) >>> 2);
    }
    pos += step;
  }
  loopDone = pos;
  loopBytes = bytes;
  return count;
}

/**
 * Runs every path of the scan loops once, on a small ring made up here (samples short and long,
 * a LOST record, a sample wrapping the ring's end), so that V8 has type feedback for all of them
 * when it compiles them (see warmRingLoops in ringbuf.ts).
 */
function warmPerfLoops(): void {
  const size = 4096;
  const bytes = new ArrayBuffer(size);
  const words = new Uint32Array(bytes);
  const data = Buffer.from(bytes);
  const put = (at: number, type: number, recordSize: number, rawSize: number): number => {
    words[at >>> 2] = type;
    words[(at >>> 2) + 1] = recordSize << 16;
    words[((at + 8) & (size - 1)) >>> 2] = rawSize;
    return at + recordSize;
  };
  let end = put(0, PERF_RECORD_SAMPLE, 32, 20);
  end = put(end, PERF_RECORD_SAMPLE, 112, 100);
  end = put(end, PERF_RECORD_LOST, 24, 0);
  end = put(end, PERF_RECORD_SAMPLE, 32, 20);
  put(size - 48, PERF_RECORD_SAMPLE, 32, 20);
  put(size - 16, PERF_RECORD_SAMPLE, 32, 20); // wraps: 8 bytes at the end, the rest at the start
  const ring = new CpuRing(0, -1, undefined, new Uint32Array(PAGE_SIZE / 4), new BigUint64Array(1), data);
  const scan = perfScanLoop(ring, new Uint32Array(8), new Uint32Array(8), new PerfState());
  for (let i = 0; i < 30; i++) { // enough calls for V8 to keep feedback
    scan(0, end, 8);
    scan(size - 48, 48, 8); // the fast loop stops before the wrapping record
    scan(size - 16, 16, 8); // the fast loop hands the wrapping record over
    scan(size - 16, 32, 8);
  }
}
warmPerfLoops();

/**
 * The loops of one CPU's ring, as closures over its views (see ringLoops in ringbuf.ts). They walk
 * `pos` from 0 to `chunk` bytes past ring offset `start`. Records are 8-byte aligned and sized, so
 * a header (and a LOST record's count) never wraps the ring's end; a sample's body may, and is
 * then copied. Each loop returns how many samples it found or delivered; `loopDone` is the bytes
 * it consumed, through the last sample it handed out (also when a callback throws or closes the
 * reader). A record size below 8 (corrupt) stops it.
 *
 * `head` is the previous record's size word: while records keep the same size, that branch is
 * predicted and the next header's address does not wait for this header's load. Each loop copies
 * what it uses of the closure to locals: with several rings (one closure each) V8 does not fold
 * the closure's context to constants, and locals are not reloaded after every store.
 */
function perfLoops(ring: CpuRing, batchOffsets: Uint32Array, batchLengths: Uint32Array, closedFlag: Uint8Array, state: PerfState): PerfLoops {
  const ringWords = ring.words;
  const ringData = ring.data;
  const ringSize = ring.size;
  const ringMask = ring.mask;
  const ringCpu = ring.cpu;
  return {
    scan: perfScanLoop(ring, batchOffsets, batchLengths, state),

    raw(onSample: RawCallback, start: number, chunk: number, limit: number): number {
      const words = ringWords;
      const data = ringData;
      const size = ringSize;
      const mask = ringMask;
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
              onSample(cpu, copyWrapped(state, ring, sampleAt, rawSize).data, 0, rawSize);
            }
            if (closed[0] !== 0) break;
          } else if (type === PERF_RECORD_LOST) {
            addLost(state, ring, ((at + 16) & mask) >>> 2);
          }
        }
      } finally {
        loopDone = pos;
        touchSink = touched;
      }
      return delivered;
    },

    views(onSample: (cpu: number, sample: Buffer) => void, start: number, chunk: number, limit: number): number {
      const words = ringWords;
      const data = ringData;
      const size = ringSize;
      const mask = ringMask;
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
            else onSample(cpu, copyWrapped(state, ring, sampleAt, rawSize).data.subarray(0, rawSize));
            if (closed[0] !== 0) break;
          } else if (type === PERF_RECORD_LOST) {
            addLost(state, ring, ((at + 16) & mask) >>> 2);
          }
        }
      } finally {
        loopDone = pos;
      }
      return delivered;
    },
  };
}

/**
 * Reads a PERF_EVENT_ARRAY map: opens a BPF-output perf event per online CPU, stores it in the map
 * at that CPU's index, and reads the rings. Samples that do not wrap the ring end are handed out in
 * place; wrapped ones are copied into a scratch buffer first. Lost-record counts from the kernel
 * are added to `lost`.
 *
 * `poll` hands out each sample as a Buffer, `pollRaw` as an offset and length in a buffer, and
 * `pollBatch` hands out many samples' offsets at once, the fastest way. Samples are handed back to
 * the kernel (data_tail advanced) only after the callbacks that got them have returned; a callback
 * that throws ends the poll, and the samples up to and including the one it was given count as
 * consumed. A callback may close the reader: the poll then returns at once.
 *
 * Ordering: data_head is loaded with acquire semantics and data_tail stored with release
 * semantics, as the kernel's perf ring expects (on x86, where every load is an acquire and every
 * store a release, with plain typed-array accesses, as V8 keeps them in program order; elsewhere
 * with Atomics).
 */
export class PerfEventArrayReader {
  readonly #rings: CpuRing[] = [];
  readonly #epoll: Epoll;
  readonly #mapFd: number;
  readonly #batch: Batch;
  /** Set by close(): the loops test it after every callback. */
  readonly #closedFlag = new Uint8Array(1);
  /** Lost-record counts and the scratch buffer, shared with the loops. */
  readonly #state = new PerfState();
  #closed = false;

  constructor(map: RingBufferMap, options: PerfReaderOptions = {}) {
    if (map.type !== MapType.PERF_EVENT_ARRAY) throw new ReaderError(`map "${map.name}" is not a perf event array (type ${map.type})`);
    const pages = options.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0 || pages * PAGE_SIZE > 2 ** 30) {
      throw new ReaderError(`pagesPerCpu must be a power of two, at most ${2 ** 30 / PAGE_SIZE}, got ${pages}`);
    }
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, ReaderError);
    this.#batch = new Batch(new Bytes(Buffer.alloc(0)), batchSize, -1);
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
    const data = b.subarray(offset, offset + size);
    const ring = new CpuRing(cpu, fd, region, new Uint32Array(b.buffer, b.byteOffset, PAGE_SIZE / 4), new BigUint64Array(b.buffer, b.byteOffset + DATA_TAIL, 1), data);
    ring.loops = perfLoops(ring, this.#batch.offsets, this.#batch.lengths, this.#closedFlag, this.#state);
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
    return this.#state.lost;
  }

  /** Lost records per CPU. */
  get lostByCpu(): ReadonlyMap<number, number> {
    return this.#state.lostByCpu;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting in a ring after data_tail `tail` (low 32 bits); data_head is read with acquire semantics. */
  #available(ring: CpuRing, tail: number): number {
    const head = PLAIN_LOADS_ACQUIRE ? ring.control[HEAD_LOW] : Atomics.load(ring.control, HEAD_LOW);
    return (head - tail) >>> 0;
  }

  /**
   * Consumes what is in the rings now, up to `max` samples. `onSample` gets the CPU and the raw
   * sample (in place when it does not wrap, else a copy; valid during the call only). Returns the
   * number of samples delivered.
   */
  poll(onSample: (cpu: number, sample: Buffer) => void, max = Infinity): number {
    const limit = toLimit(max);
    let delivered = 0;
    for (const ring of this.#rings) {
      if (this.#closed) break;
      const { loops, mask } = ring;
      let tail = ring.control[TAIL_LOW]; // written by this reader only
      while (delivered < limit) {
        const available = this.#available(ring, tail);
        if (available === 0) break;
        const chunk = available < PASS_BYTES ? available : PASS_BYTES;
        try {
          delivered += loops.views(onSample, tail & mask, chunk, limit - delivered);
        } catch (e) {
          if (!this.#closed) advancePosition(ring.control, TAIL_LOW, ring.tail, tail, loopDone); // through the sample that threw
          throw e;
        }
        if (this.#closed) return delivered;
        const done = loopDone;
        if (done !== 0) tail = advancePosition(ring.control, TAIL_LOW, ring.tail, tail, done);
        if (done < chunk) break; // `max` reached, or a corrupt record
      }
    }
    return delivered;
  }

  /**
   * Like poll, without making a Buffer view per sample: `onSample` gets the CPU, a buffer, and the
   * sample's offset and length in it. The buffer is the CPU's ring, or a scratch copy for a sample
   * that wraps the ring's end.
   */
  pollRaw(onSample: (cpu: number, data: Buffer, offset: number, length: number) => void, max = Infinity): number {
    const limit = toLimit(max);
    let delivered = 0;
    for (const ring of this.#rings) {
      if (this.#closed) break;
      const { loops, mask } = ring;
      let tail = ring.control[TAIL_LOW];
      while (delivered < limit) {
        const available = this.#available(ring, tail);
        if (available === 0) break;
        const chunk = available < PASS_BYTES ? available : PASS_BYTES;
        try {
          delivered += loops.raw(onSample, tail & mask, chunk, limit - delivered);
        } catch (e) {
          if (!this.#closed) advancePosition(ring.control, TAIL_LOW, ring.tail, tail, loopDone);
          throw e;
        }
        if (this.#closed) return delivered;
        const done = loopDone;
        if (done !== 0) tail = advancePosition(ring.control, TAIL_LOW, ring.tail, tail, done);
        if (done < chunk) break;
      }
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
   * callback reads them. Returns the number of samples delivered.
   */
  pollBatch(onBatch: (batch: RecordBatch) => void, max = Infinity): number {
    const batch = this.#batch;
    const capacity = batch.offsets.length | 0; // an int32, so the scan compares integers
    const limit = toLimit(max);
    let delivered = 0;
    for (const ring of this.#rings) {
      if (this.#closed) break;
      const { loops, mask } = ring;
      let tail = ring.control[TAIL_LOW];
      while (delivered < limit) {
        const available = this.#available(ring, tail);
        if (available === 0) break;
        const left = limit - delivered;
        const count = loops.scan(tail & mask, available < BATCH_BYTES ? available : BATCH_BYTES, left < capacity ? left : capacity);
        const scanned = loopDone;
        if (scanned === 0) break; // a corrupt record
        if (count > 0) {
          batch.use(loopBytes!, ring.cpu);
          batch.count = count;
          try {
            onBatch(batch);
          } catch (e) {
            if (!this.#closed) advancePosition(ring.control, TAIL_LOW, ring.tail, tail, scanned);
            throw e;
          } finally {
            batch.count = 0;
          }
          delivered += count;
          if (this.#closed) return delivered;
        }
        tail = advancePosition(ring.control, TAIL_LOW, ring.tail, tail, scanned);
      }
    }
    return delivered;
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
    this.#closedFlag[0] = 1;
    this.#epoll.close();
    const key = Buffer.alloc(4);
    for (const ring of this.#rings) {
      key.writeUInt32LE(ring.cpu);
      mapElemRaw(BpfCommand.MAP_DELETE_ELEM, this.#mapFd, key, null, null, 0);
      ring.region?.unmap();
      closeFd(ring.fd);
    }
    this.#rings.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
