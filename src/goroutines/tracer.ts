// Traces goroutine state changes of Go programs: a uprobe on runtime.casgstatus, a probe assembled
// for the target's Go version, records through a ring buffer.
import { existsSync, readFileSync } from 'node:fs';
import type { Instruction } from '../asm/index.js';
import { X86_64_PT_REGS, type GoBinaryInfo } from '../go/index.js';
import { attachUprobe, type PerfEventLink } from '../links/index.js';
import { LinkError } from '../links/link.js';
import { BpfMap } from '../maps/index.js';
import { Program } from '../programs/index.js';
import { RingBufferReader } from '../readers/index.js';
import { openGoBinary } from '../symbols/index.js';
import { dupFd, Epoll, EPOLLET, EPOLLIN, SyscallError } from '../syscall/index.js';
import { loadCollection, loadCollectionSpec, type Collection } from '../loader/index.js';
import { u32, u64 } from '../codec/index.js';
import { compareMinor } from '../go/index.js';
import { GoroutineAttribution, isBirth } from './attribution.js';
import { TransitionColumns, type GoroutineTransitionColumns } from './columns.js';
import { watchProcessExit, type ProcessExitWatch } from './process-exit.js';
import { buildCasgstatusProbe, CONFIG, STATS, STATS_ENTRIES } from './probe.js';
import { decodeTransitionAt, RECORD, stateMask, type GoroutineTransition } from './record.js';
import type { RecordBatch } from '../readers/batch.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/** A goroutine tracer that cannot be set up or used. */
export class GoroutineTracerError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_GOROUTINE_TRACER. */
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_GOROUTINE_TRACER', message, options);
  }
}

/** Version, goid offset, calling convention and functions of the Go executable at `path` (the same as openGoBinary). */
export function inspectGoBinary(path: string): GoBinaryInfo {
  return openGoBinary(path);
}

/** What to trace and how. */
export interface GoroutineTracerOptions {
  /** The Go executable. */
  binary: string;
  /** Only this process; without it, every process running the executable. */
  pid?: number;
  /**
   * Only transitions into or out of these states ("runnable", "running", "waiting", ...): the
   * kernel passes a transition when its old or its new state is listed, so each interval spent in
   * a listed state is seen from its start to its end.
   */
  states?: readonly string[];
  /** Ring buffer size in bytes (a power of two, page multiple; default 8 MiB). */
  ringSize?: number;
  /**
   * Wake the reader once this many bytes are unread rather than per record (default: an eighth of
   * the ring, at most 256 KiB; 0 = per record). What stays below it is read after `maxLatencyMs`.
   */
  wakeupBytes?: number;
  /** Longest a record waits in the ring before wait() reports it when batching (default 50 ms). */
  maxLatencyMs?: number;
  /**
   * Which probe: the program assembled here for this binary (default), or the C one compiled into
   * bpf/goroutines.o, loaded with its `volatile const` offsets set for this binary. Both write the
   * same records.
   */
  probe?: 'assembler' | 'c';
}

/** Builds the probe program for `info` (exposed so tests can compare it with the C probe). */
export function casgstatusProbe(info: GoBinaryInfo): Instruction[] {
  return buildCasgstatusProbe({ abi: info.abi, goidOffset: info.goidOffset, fields: info.goroutineFields, ipRegOffset: ipRegOffset(info) });
}

/** Where the uprobe's context keeps the instruction pointer: x86-64 pt_regs.ip, arm64 user_pt_regs.pc. */
function ipRegOffset(info: GoBinaryInfo): number {
  return info.abi.kind === 'unsupported' ? X86_64_PT_REGS.ip : info.abi.pc.ptRegsOffset;
}

const C_PROBE = new URL('../../bpf/goroutines.o', import.meta.url);

/** The C probe from bpf/goroutines.o, its offsets set for the binary `info` describes. */
function loadCProbe(info: GoBinaryInfo, ringSize?: number): Collection {
  const spec = loadCollectionSpec(readFileSync(C_PROBE), { name: 'goroutines.o' });
  const abi = info.abi;
  if (abi.kind === 'unsupported') throw new GoroutineTracerError(abi.reason);
  spec.variables.goid_offset.set(info.goidOffset);
  if (info.goroutineFields) {
    spec.variables.waitreason_offset.set(info.goroutineFields.waitreason);
    spec.variables.startpc_offset.set(info.goroutineFields.startpc);
    spec.variables.gopc_offset.set(info.goroutineFields.gopc);
    spec.variables.ip_reg.set(ipRegOffset(info));
  }
  spec.variables.sp_reg.set(abi.sp.ptRegsOffset);
  if (abi.kind === 'stack') {
    spec.variables.stack_abi.set(1);
  } else {
    spec.variables.gp_reg.set(abi.gp.ptRegsOffset);
    spec.variables.old_reg.set(abi.old.ptRegsOffset);
    spec.variables.new_reg.set(abi.new.ptRegsOffset);
  }
  if (ringSize) spec.maps.events.maxEntries = ringSize;
  return loadCollection(spec);
}

/** Records per delivery of pollColumns (and the columns' first capacity). */
const COLUMN_BATCH = 4096;

/** Counters of a goroutine tracer. */
export interface GoroutineTracerStats {
  /** Records the kernel could not place: the ring was full. */
  lost: bigint;
  /** Records whose goid could not be read from the target's memory (goid 0). */
  goidReadFailures: bigint;
  /** Records that passed the pid and state filters: delivered + lost once everything is drained. */
  records: bigint;
  /** Births never followed by another transition of their g, so without a goid (see GoroutineAttribution). */
  unattributed: number;
}

/** Options of GoroutineTracer.wait. */
export interface WaitOptions {
  /** Aborting makes the wait resolve false at once. */
  signal?: AbortSignal;
}

/** Traces goroutine status changes of a Go executable with a uprobe on runtime.casgstatus and a ring buffer. Iterate it, or use poll, wait and finish. */
export class GoroutineTracer implements AsyncIterable<GoroutineTransition> {
  readonly info: GoBinaryInfo;
  readonly binary: string;
  /** The kernel's id of the uprobe program (bpftool prog show id N), e.g. to check it is gone after close. */
  readonly programId: number;
  readonly pid: number | undefined;
  /** Everything opened, closed in this order: link first, maps last. */
  readonly #owned: { close(): void }[];
  readonly #link: { close(): void };
  readonly #stats: BpfMap<number, bigint>;
  readonly #reader: RingBufferReader;
  readonly #attribution: GoroutineAttribution;
  readonly #exit: ProcessExitWatch | undefined;
  readonly #maxLatencyMs: number;
  readonly #batching: boolean;
  /** Unread bytes that make wait() return at once when batching (the probe's wake-up threshold). */
  readonly #wakeupBytes: number;
  /**
   * Edge-triggered epoll on the ring: it reports the probe's wake-ups only, not "data available"
   * (a ring buffer's poll is level-triggered on any unread byte, which would end every wait at
   * once while a few records lie below the batching threshold).
   */
  readonly #wakeups: Epoll;
  #finalStats: GoroutineTracerStats | undefined;
  /** Link-time address of runtime.casgstatus: the base of the pcs the probe sends. */
  readonly #casgstatus: bigint;
  /** The reader's last wait: after close it returns at once, and then its epoll set is freed. */
  #lastWait: Promise<void> = Promise.resolve();
  #detached = false;
  #closed = false;
  /**
   * The pending waits' wake-ups, called on close() and when the target exits. A set rather than
   * reactions on a long-lived promise: a wait that ends removes its own, so a tracer that waits
   * for hours keeps nothing of its past waits.
   */
  readonly #waiters = new Set<() => void>();
  /**
   * How the tracer is read: per transition object (poll, finish, iteration) or in columns
   * (pollColumns, finishColumns). Each keeps its own births held back for their goid, so a tracer
   * is read one way from its first read on.
   */
  #mode: 'objects' | 'columns' | undefined;
  /** CLOCK_MONOTONIC at open: the columns' timeBase. */
  readonly #openedAt: bigint;
  #columns: TransitionColumns | undefined;

  private constructor(
    binary: string,
    info: GoBinaryInfo,
    options: GoroutineTracerOptions,
    parts: {
      owned: { close(): void }[];
      link: { close(): void };
      stats: BpfMap<number, bigint>;
      reader: RingBufferReader;
      wakeups: Epoll;
      wakeupBytes: number;
      programId: number;
      openedAt: bigint;
    },
  ) {
    this.#openedAt = parts.openedAt;
    this.binary = binary;
    this.programId = parts.programId;
    this.info = info;
    this.pid = options.pid;
    this.#owned = parts.owned;
    this.#link = parts.link;
    this.#stats = parts.stats;
    this.#reader = parts.reader;
    this.#wakeupBytes = parts.wakeupBytes;
    this.#batching = parts.wakeupBytes > 0;
    this.#wakeups = parts.wakeups;
    this.#maxLatencyMs = options.maxLatencyMs ?? 50;
    this.#attribution = new GoroutineAttribution({ goidAssignedBeforeBirth: compareMinor(info.version, { major: 1, minor: 24 }) >= 0 });
    this.#exit = options.pid === undefined ? undefined : watchProcessExit(options.pid);
    this.#casgstatus = BigInt(info.functions.lookup('runtime.casgstatus') ?? 0);
    void this.#exit?.exited.then(() => this.#wakeWaiters());
  }

  /** Inspects the binary, loads the probe, attaches it to runtime.casgstatus. */
  static open(options: GoroutineTracerOptions): GoroutineTracer {
    const info = inspectGoBinary(options.binary);
    if (info.abi.kind === 'unsupported') throw new GoroutineTracerError(`${options.binary}: ${info.abi.reason}`);
    if (options.pid !== undefined && !existsSync(`/proc/${options.pid}`))
      throw new GoroutineTracerError(`process ${options.pid} is gone (or never existed)`);
    const ringSize = options.ringSize ?? 8 * 1024 * 1024;
    const wakeupBytes = options.wakeupBytes ?? Math.min(ringSize / 8, 256 * 1024);
    if (!Number.isInteger(wakeupBytes) || wakeupBytes < 0 || wakeupBytes > ringSize) {
      throw new GoroutineTracerError(`wakeupBytes ${wakeupBytes} must be an integer from 0 to the ring size ${ringSize}`);
    }
    const openedAt = process.hrtime.bigint();
    const opened: { close(): void }[] = [];
    const keep = <T extends { close(): void }>(x: T): T => {
      opened.push(x);
      return x;
    };
    try {
      let events: BpfMap;
      let config: BpfMap<number, Buffer>;
      let stats: BpfMap<number, bigint>;
      let program: Program;
      if (options.probe === 'c') {
        const c = keep(loadCProbe(info, ringSize));
        events = c.maps.events as BpfMap;
        config = BpfMap.fromFd(dupFd((c.maps.config as BpfMap).fd), { key: u32 });
        stats = BpfMap.fromFd(dupFd((c.maps.stats as BpfMap).fd), { key: u32, value: u64 });
        keep(config);
        keep(stats);
        program = c.programs.casgstatus;
      } else {
        events = keep(BpfMap.create({ type: 'RINGBUF', maxEntries: ringSize, name: 'go_events' }));
        config = keep(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: CONFIG.size, maxEntries: 1, name: 'go_config' }, { key: u32 }));
        stats = keep(
          BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: STATS_ENTRIES, name: 'go_stats' }, { key: u32, value: u64 }),
        );
        program = keep(
          Program.load({ type: 'KPROBE', instructions: casgstatusProbe(info), maps: { events, config, stats }, name: 'casgstatus' }),
        );
      }
      const value = Buffer.alloc(CONFIG.size);
      value.writeUInt32LE(options.pid ?? 0, CONFIG.pid);
      value.writeUInt32LE(stateMask(options.states ?? []), CONFIG.stateMask);
      value.writeUInt32LE(wakeupBytes, CONFIG.wakeupBytes);
      config.update(0, value);
      // The reader before the link: no record is written before something can read it.
      const reader = keep(new RingBufferReader(events));
      const wakeups = keep(new Epoll(1));
      wakeups.add(events.fd, 0, EPOLLIN + EPOLLET); // + : EPOLLET is bit 31, and | would make it negative
      let link: PerfEventLink;
      try {
        link = keep(attachUprobe(program, options.binary, { symbol: 'runtime.casgstatus', pid: options.pid }));
      } catch (e) {
        if (e instanceof LinkError && e.cause instanceof SyscallError && e.cause.code === 'ESRCH') {
          throw new GoroutineTracerError(`process ${options.pid} is gone`);
        }
        throw e;
      }
      return new GoroutineTracer(options.binary, info, options, {
        owned: opened.reverse(),
        link,
        stats,
        reader,
        wakeups,
        wakeupBytes,
        programId: program.info().id,
        openedAt,
      });
    } catch (e) {
      for (const x of opened.reverse()) x.close();
      throw e;
    }
  }

  /**
   * Delivers the transitions recorded so far, each credited to its goroutine. A goroutine's birth
   * (idle → dead, dead → runnable) is delivered with its g's next transition, once its goid is
   * known; finish() delivers or counts what is still held. Returns how many were delivered.
   * A callback that throws ends the poll (the transitions after it come with the next poll); one
   * that closes the tracer ends it too.
   */
  poll(onTransition: (t: GoroutineTransition) => void, max = Infinity): number {
    if (this.#closed) return 0;
    this.#use('objects');
    let n = 0;
    const emit = (t: GoroutineTransition): void => {
      n++;
      onTransition(t);
    };
    while (this.#carried.length > 0 && !this.#closed) this.#attribution.push(this.#carried.shift()!, emit);
    if (this.#closed) return n;
    // Records in place, many per call (the reader's batch API): numbers from the record's 32-bit
    // words, one BigInt per 64-bit field, no Buffer view per record.
    this.#reader.pollBatch((batch) => this.#decodeBatch(batch, emit), max);
    return n;
  }

  /**
   * Delivers the transitions recorded so far in columns (typed arrays, numbers, no object or
   * BigInt per transition): the fast way to read a busy trace. `onBatch` is called once per
   * batch: up to 4096 records read from the ring, with the births they release; the columns are reused,
   * valid until it returns. Transitions come in the order and with the goids poll() gives them.
   * A tracer is read either this way or through poll()/finish()/iteration, not both (the births
   * each holds back for their goid are its own): the other way then throws GoroutineTracerError.
   * A callback that throws ends the poll (the batch it was handed counts as delivered); one that
   * closes the tracer ends it too. Returns how many transitions were delivered.
   */
  pollColumns(onBatch: (columns: GoroutineTransitionColumns) => void, max = Infinity): number {
    if (this.#closed) return 0;
    const columns = this.#columnsInUse();
    const add = this.#addRecords;
    let n = 0;
    let read = 0;
    while (read < max && !this.#closed) {
      // Up to COLUMN_BATCH records per delivery: the reader's batches (4 KiB of ring each) are
      // gathered first, so the callback runs once per few thousand transitions.
      const want = Math.min(max - read, COLUMN_BATCH);
      columns.count = 0;
      const got = this.#reader.pollBatch(add, want);
      read += got;
      if (columns.count > 0) {
        n += columns.count;
        onBatch(columns);
      }
      if (got < want) break; // the ring is drained (or holds a record still being written)
    }
    return n;
  }

  readonly #addRecords = (batch: RecordBatch): void => this.#columns!.addRecords(batch.words, batch.offsets, batch.count);

  /**
   * finish() for a tracer read with pollColumns: detach, drain the ring, deliver what is left and
   * the births still held (or count them in `unattributed`), read the stats; then close.
   */
  finishColumns(onBatch: (columns: GoroutineTransitionColumns) => void): GoroutineTracerStats {
    if (this.#finalStats) return { ...this.#finalStats };
    if (this.#closed) throw new GoroutineTracerError('finishColumns() after close()');
    const columns = this.#columnsInUse();
    this.detach();
    this.pollColumns(onBatch);
    if (!this.#closed) {
      columns.count = 0;
      columns.flushHeld();
      if (columns.count > 0) onBatch(columns);
    }
    if (!this.#finalStats) {
      if (this.#closed) throw new GoroutineTracerError('the tracer was closed during finishColumns()');
      this.#finalStats = this.stats();
    }
    this.close();
    return { ...this.#finalStats };
  }

  #columnsInUse(): TransitionColumns {
    this.#use('columns');
    return (this.#columns ??= new TransitionColumns({
      timeBase: this.#openedAt,
      casgstatus: this.#casgstatus,
      goidAssignedBeforeBirth: compareMinor(this.info.version, { major: 1, minor: 24 }) >= 0,
      capacity: COLUMN_BATCH,
    }));
  }

  #use(mode: 'objects' | 'columns'): void {
    if (this.#mode === mode) return;
    if (this.#mode !== undefined) {
      const was = this.#mode === 'objects' ? 'poll(), finish() or iteration' : 'pollColumns() or finishColumns()';
      throw new GoroutineTracerError(
        `this tracer is read with ${was}: use one way per tracer (each holds back births until their goid is known)`,
      );
    }
    this.#mode = mode;
  }

  /** The ring's data area as 64-bit words, made once per mapping. */
  #doubles: BigUint64Array | undefined;
  /** Transitions of a batch whose delivery threw, after the one that threw: the next poll delivers them first. */
  readonly #carried: GoroutineTransition[] = [];

  #decodeBatch(batch: RecordBatch, emit: (t: GoroutineTransition) => void): void {
    const words = batch.words;
    let doubles = this.#doubles;
    if (doubles === undefined || doubles.buffer !== words.buffer || doubles.byteOffset !== words.byteOffset) {
      doubles = this.#doubles = new BigUint64Array(words.buffer, words.byteOffset, words.length >>> 1);
    }
    const offsets = batch.offsets;
    const count = batch.count;
    const attribution = this.#attribution;
    let i = 0;
    try {
      for (; i < count; i++) {
        const offset = offsets[i];
        const t = this.#decode(words, doubles, offset);
        const w = (offset + RECORD.gp) >>> 2;
        attribution.pushAt(t, words[w] + words[w + 1] * 0x1_0000_0000, isBirth(t), emit);
        // The callback closed the tracer: the ring is unmapped, read nothing more of it.
        if (this.#closed) return;
      }
    } catch (e) {
      // The reader releases a batch whole once its callback returns or throws; what follows the
      // record whose delivery threw is kept for the next poll rather than lost.
      if (!this.#closed) for (let j = i + 1; j < count; j++) this.#carried.push(this.#decode(words, doubles, offsets[j]));
      throw e;
    }
  }

  #decode(words: Uint32Array, doubles: BigUint64Array, offset: number): GoroutineTransition {
    const t = decodeTransitionAt(words, doubles, offset);
    if (t.startPc !== undefined) {
      // The probe sent them relative to runtime.casgstatus as loaded: rebase on its link-time address.
      t.startPc = BigInt.asUintN(64, t.startPc + this.#casgstatus);
      t.createdAtPc = BigInt.asUintN(64, t.createdAtPc! + this.#casgstatus);
    }
    return t;
  }

  /**
   * Resolves true when records may be available; false on timeout, once the target is gone, once
   * closed, or when `signal` aborts. With batched wake-ups a record waits at most maxLatencyMs.
   */
  async wait(timeoutMs = -1, options: WaitOptions = {}): Promise<boolean> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    const signal = options.signal;
    let wake!: () => void;
    const stop = new Promise<false>((r) => (wake = () => r(false)));
    this.#waiters.add(wake);
    signal?.addEventListener('abort', wake, { once: true });
    // When batching, records below the threshold are reported once they may have waited
    // maxLatencyMs: those unread now arrived after the caller's last poll, so from now on.
    let due = Date.now() + this.#maxLatencyMs;
    try {
      for (;;) {
        if (this.#closed || signal?.aborted || this.#exit?.hasExited) return false;
        const pending = this.#reader.pending;
        const now = Date.now();
        if (pending > 0 && (!this.#batching || pending >= this.#wakeupBytes || now >= due)) return true;
        // Nothing unread at the latency deadline: the next record gets a full maxLatencyMs.
        if (pending === 0 && now >= due) due = now + this.#maxLatencyMs;
        const left = deadline - now;
        if (left <= 0) return false;
        const slice = this.#batching ? Math.min(left, due - now) : left;
        const waiting = this.#wakeups.wait(slice === Infinity ? -1 : Math.ceil(slice));
        this.#lastWait = waiting.then(
          () => undefined,
          () => undefined,
        );
        const ready = await Promise.race([waiting, stop]);
        if (ready === false || this.#closed) return false;
        // A wake-up or the end of a slice: the checks above decide (a wake-up may be a stale
        // one, from records a poll has already read).
      }
    } finally {
      this.#waiters.delete(wake);
      signal?.removeEventListener('abort', wake);
    }
  }

  /** Bytes of records in the ring not yet read. */
  get pendingRecords(): number {
    return this.#closed ? 0 : this.#reader.pending;
  }

  /** Resolves once the traced process (options.pid) has exited; never without a pid. */
  get targetExited(): Promise<void> {
    return this.#exit ? this.#exit.exited : new Promise<void>(() => undefined);
  }

  /** True once the traced process (options.pid) has exited. */
  get targetHasExited(): boolean {
    return this.#exit?.hasExited ?? false;
  }

  /** Records lost and counted in the kernel; after finish(), the figures as they were at the end. */
  stats(): GoroutineTracerStats {
    if (this.#finalStats) return { ...this.#finalStats };
    if (this.#closed) throw new GoroutineTracerError('stats() after close(): call finish() first to keep the final figures');
    return {
      lost: this.#stats.lookup(STATS.lost) ?? 0n,
      goidReadFailures: this.#stats.lookup(STATS.goidReadFailures) ?? 0n,
      records: this.#stats.lookup(STATS.records) ?? 0n,
      unattributed: this.#mode === 'columns' ? this.#columns!.unattributed : this.#attribution.unattributed,
    };
  }

  /** Removes the uprobe: nothing more is recorded, what is in the ring can still be read. */
  detach(): void {
    if (this.#detached || this.#closed) return;
    this.#detached = true;
    this.#link.close();
  }

  /**
   * Ends the trace in the order that loses nothing: detach, drain the ring, deliver or count the
   * births still held, read the stats; then close. Returns the final stats.
   */
  finish(onTransition: (t: GoroutineTransition) => void): GoroutineTracerStats {
    if (this.#finalStats) return { ...this.#finalStats };
    if (this.#closed) throw new GoroutineTracerError('finish() after close()');
    this.#use('objects');
    this.detach();
    this.poll(onTransition);
    this.#attribution.flush(onTransition);
    this.#finalStats = this.stats();
    this.close();
    return { ...this.#finalStats };
  }

  /**
   * Transitions as they come, until the target exits, close() or finish() is called; at the
   * target's exit the ring is drained and held births delivered before the iteration ends.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<GoroutineTransition> {
    const queue: GoroutineTransition[] = [];
    const push = (t: GoroutineTransition): void => {
      queue.push(t);
    };
    while (!this.#closed) {
      this.poll(push, 4096);
      while (queue.length) yield queue.shift()!;
      if (this.#exit?.hasExited) {
        this.finish(push);
        await this.#lastWait;
        while (queue.length) yield queue.shift()!;
        return;
      }
      if (this.#reader.pending === 0) await this.wait(-1);
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once nothing of the tracer is left in flight (a wait that close() interrupted has returned). */
  settled(): Promise<void> {
    return this.#lastWait;
  }

  /** Detaches and frees everything; a pending wait resolves false. Records still in the ring are dropped: finish() reads them. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#exit?.stop();
    this.#wakeWaiters();
    for (const x of this.#owned) {
      if (x === this.#link && this.#detached) continue;
      x.close();
    }
  }

  #wakeWaiters(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}
