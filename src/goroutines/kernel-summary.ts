// The goroutine summary computed in the kernel: time per state and per wait reason, interval
// histograms and transition counts, kept in maps by the aggregating probe (summary-probe.ts). No
// record crosses to user space per event, so a goroutine-heavy program pays little more than the
// uprobe trap itself; the reader fetches a few thousand counters when it wants the figures.
import { existsSync } from 'node:fs';
import type { GoBinaryInfo } from '../go/index.js';
import { attachUprobe } from '../links/index.js';
import { LinkError } from '../links/link.js';
import { BpfMap, possibleCpus } from '../maps/index.js';
import { Program } from '../programs/index.js';
import { SyscallError } from '../syscall/index.js';
import { u32, u64 } from '../codec/index.js';
import { watchProcessExit, type ProcessExitWatch } from './process-exit.js';
import { stateName } from './record.js';
import {
  buildSummaryProbe,
  G_KEY,
  G_VALUE,
  SCHED_LATENCY_ROW,
  SUMMARY_BUCKETS,
  SUMMARY_CONFIG,
  SUMMARY_REASONS,
  SUMMARY_STATES,
  SUMS,
} from './summary-probe.js';
import { GoroutineTracerError, inspectGoBinary } from './tracer.js';

/** What to summarize. */
export interface GoroutineSummaryProbeOptions {
  /** The Go executable. */
  binary: string;
  /** Only this process; without it, every process running the executable. */
  pid?: number;
  /**
   * Most goroutines (g structs) alive at once that the per-g map can follow (default 65536). A g
   * beyond it is not timed, and KernelSummary.stats.updateFailures says how often that happened.
   */
  maxGoroutines?: number;
}

/** Time spent in one state (or waiting for one reason), over every goroutine. */
export interface KernelStateTime {
  /** Total, closed intervals plus the open ones closed at the read (ms). */
  totalMs: number;
  /** Intervals that ended while traced. */
  intervals: number;
  /** Of totalMs, the part from intervals still open at the read. */
  openMs: number;
  /** Intervals still open at the read. */
  open: number;
}

/** A log2 histogram of interval lengths: bucket i holds lengths from lowNs up to (not including) highNs. */
export interface Log2Histogram {
  /** Intervals counted. */
  count: number;
  /** Non-empty buckets, shortest first. */
  buckets: { lowNs: number; highNs: number; count: number }[];
  /** Upper bound of the bucket holding the median (µs): the median is below it. */
  p50UsAtMost: number;
  /** Upper bound of the bucket holding the 99th percentile (µs). */
  p99UsAtMost: number;
}

/** Counters of the kernel side that say how complete the summary is. */
export interface KernelSummaryStats {
  /**
   * Transitions whose old state differs from the state their g last entered (one was missed): no
   * interval counted. From Go 1.26 the runtime enters and leaves syscalls with its own
   * compare-and-swap and calls casgstatus only when that fails, so a running ⇄ syscall switch
   * seen on one side only shows up here now and then; before 1.26 any count means a missed call.
   */
  chainBreaks: number;
  /** g entries the full per-g map could not take (raise maxGoroutines). */
  updateFailures: number;
  /** Wait reasons that could not be read from the target (their time is under "unknown"). */
  reasonReadFailures: number;
}

/** What GoroutineSummaryProbe.read returns. */
export interface KernelSummary {
  /** Transitions seen (that passed the pid filter). */
  transitions: number;
  /** Transitions per kind ("running → waiting"), most frequent first. */
  byKind: Record<string, number>;
  /** Goroutines born (dead → runnable, or → waiting) while traced. */
  births: number;
  /** Goroutines that died (→ dead) while traced. */
  deaths: number;
  /** Goroutines with an open interval at the read (alive, and seen to move at least once). */
  live: number;
  /** From open() to the end of the summary (ms). */
  durationMs: number;
  /** CLOCK_MONOTONIC ns where open intervals were closed: the latest transition once the probe is detached or the target gone, otherwise the read. */
  until: bigint;
  /** Time per state ("running", "runnable", "waiting", "syscall", ...); idle and dead are not a goroutine's own time and are left out. */
  timePerState: Record<string, KernelStateTime>;
  /** Time spent waiting, per wait reason (names from the binary's runtime; "unknown" when the reason could not be read). */
  waitReasons: Record<string, KernelStateTime>;
  /** Per state, the lengths of its intervals that ended while traced. */
  histograms: Record<string, Log2Histogram>;
  /** runnable intervals ended by running: how long runnable goroutines waited for a thread. */
  schedulingLatency: Log2Histogram;
  /** How complete the figures are. */
  stats: KernelSummaryStats;
}

/** Options of GoroutineSummaryProbe.waitForExit. */
export interface SummaryWaitOptions {
  /** Aborting makes the wait resolve false at once. */
  signal?: AbortSignal;
  /** Resolve false after this long (default: no limit). */
  timeoutMs?: number;
}

/** Sums of the per-CPU "sums" map, one number per slot. */
type Sums = Float64Array;

/** Upper bound (µs) of the bucket holding percentile `p` of `h`. */
function percentileBound(buckets: { highNs: number; count: number }[], count: number, p: number): number {
  if (count === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * count));
  let seen = 0;
  for (const b of buckets) {
    seen += b.count;
    if (seen >= rank) return b.highNs / 1000;
  }
  return buckets[buckets.length - 1]!.highNs / 1000;
}

function histogram(sums: Sums, row: number): Log2Histogram {
  const buckets: Log2Histogram['buckets'] = [];
  let count = 0;
  for (let i = 0; i < SUMMARY_BUCKETS; i++) {
    const n = sums[SUMS.hist + row * SUMMARY_BUCKETS + i]!;
    if (n === 0) continue;
    count += n;
    buckets.push({ lowNs: i === 0 ? 0 : 2 ** i, highNs: 2 ** (i + 1), count: n });
  }
  return { count, buckets, p50UsAtMost: percentileBound(buckets, count, 50), p99UsAtMost: percentileBound(buckets, count, 99) };
}

/**
 * Summarizes the goroutines of a Go program in the kernel: an aggregating uprobe on
 * runtime.casgstatus, no ring buffer. read() returns the figures so far at any time; finish()
 * detaches, reads and closes.
 */
export class GoroutineSummaryProbe {
  /** What the binary is (version, offsets, wait reason names). */
  readonly info: GoBinaryInfo;
  /** The traced executable. */
  readonly binary: string;
  /** The traced process, when one was given. */
  readonly pid: number | undefined;
  readonly #program: Program;
  readonly #maps: { close(): void }[];
  readonly #sums: BpfMap<number, bigint>;
  readonly #gstate: BpfMap;
  #link: { close(): void } | undefined;
  readonly #exit: ProcessExitWatch | undefined;
  /** CLOCK_MONOTONIC at attach time (the same clock as bpf_ktime_get_ns). */
  readonly #openedAt: bigint;
  #closed = false;
  #closedSignal: { promise: Promise<void>; resolve(): void };
  #final: KernelSummary | undefined;

  private constructor(
    binary: string,
    info: GoBinaryInfo,
    pid: number | undefined,
    parts: { program: Program; maps: { close(): void }[]; sums: BpfMap<number, bigint>; gstate: BpfMap; link: { close(): void } },
  ) {
    this.binary = binary;
    this.info = info;
    this.pid = pid;
    this.#program = parts.program;
    this.#maps = parts.maps;
    this.#sums = parts.sums;
    this.#gstate = parts.gstate;
    this.#link = parts.link;
    this.#openedAt = process.hrtime.bigint();
    this.#exit = pid === undefined ? undefined : watchProcessExit(pid);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#closedSignal = { promise, resolve };
  }

  /** Inspects the binary, loads the aggregating probe, attaches it to runtime.casgstatus. */
  static open(options: GoroutineSummaryProbeOptions): GoroutineSummaryProbe {
    const info = inspectGoBinary(options.binary);
    if (info.abi.kind === 'unsupported') throw new GoroutineTracerError(`${options.binary}: ${info.abi.reason}`);
    if (options.pid !== undefined && !existsSync(`/proc/${options.pid}`))
      throw new GoroutineTracerError(`process ${options.pid} is gone (or never existed)`);
    const maxGoroutines = options.maxGoroutines ?? 65536;
    if (!Number.isInteger(maxGoroutines) || maxGoroutines < 1)
      throw new GoroutineTracerError(`maxGoroutines must be a positive integer, not ${maxGoroutines}`);
    const opened: { close(): void }[] = [];
    const keep = <T extends { close(): void }>(x: T): T => {
      opened.push(x);
      return x;
    };
    try {
      const config = keep(
        BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: SUMMARY_CONFIG.size, maxEntries: 1, name: 'gsum_config' }, { key: u32 }),
      );
      const gstate = keep(
        BpfMap.create({ type: 'HASH', keySize: G_KEY.size, valueSize: G_VALUE.size, maxEntries: maxGoroutines, name: 'gsum_g' }),
      );
      const sums = keep(
        BpfMap.create(
          { type: 'PERCPU_ARRAY', keySize: 4, valueSize: 8, maxEntries: SUMS.size, name: 'gsum_sums' },
          { key: u32, value: u64 },
        ),
      );
      const program = keep(
        Program.load({
          type: 'KPROBE',
          name: 'casgstatus_sum',
          instructions: buildSummaryProbe({ abi: info.abi, waitreasonOffset: info.goroutineFields?.waitreason }),
          maps: { config, gstate, sums },
        }),
      );
      const value = Buffer.alloc(SUMMARY_CONFIG.size);
      value.writeUInt32LE(options.pid ?? 0, SUMMARY_CONFIG.pid);
      config.update(0, value);
      let link: { close(): void };
      try {
        link = keep(attachUprobe(program, options.binary, { symbol: 'runtime.casgstatus', pid: options.pid }));
      } catch (e) {
        if (e instanceof LinkError && e.cause instanceof SyscallError && e.cause.code === 'ESRCH') {
          throw new GoroutineTracerError(`process ${options.pid} is gone`);
        }
        throw e;
      }
      return new GoroutineSummaryProbe(options.binary, info, options.pid, { program, maps: [config, sums], sums, gstate, link });
    } catch (e) {
      for (const x of opened.reverse()) x.close();
      throw e;
    }
  }

  /** Resolves once the traced process (options.pid) has exited; never without a pid. */
  get targetExited(): Promise<void> {
    return this.#exit ? this.#exit.exited : new Promise<void>(() => undefined);
  }

  /** True once the traced process (options.pid) has exited. */
  get targetHasExited(): boolean {
    return this.#exit?.hasExited ?? false;
  }

  /** Resolves true once the target has exited; false when `signal` aborts, the timeout passes or the probe is closed. */
  async waitForExit(options: SummaryWaitOptions = {}): Promise<boolean> {
    if (this.targetHasExited) return true;
    if (this.#closed || options.signal?.aborted) return false;
    const stops: Promise<boolean>[] = [this.targetExited.then(() => true), this.#closedSignal.promise.then(() => false)];
    let onAbort: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (options.signal) {
      const signal = options.signal;
      stops.push(
        new Promise<boolean>((r) => {
          onAbort = () => r(false);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      );
    }
    if (options.timeoutMs !== undefined) stops.push(new Promise<boolean>((r) => (timer = setTimeout(() => r(false), options.timeoutMs))));
    try {
      return await Promise.race(stops);
    } finally {
      if (onAbort) options.signal!.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    }
  }

  /** Removes the uprobe: the figures stop changing and can still be read. */
  detach(): void {
    if (this.#closed || !this.#link) return;
    this.#link.close();
    this.#link = undefined;
  }

  /** Whether the uprobe is still attached. */
  get attached(): boolean {
    return !this.#closed && this.#link !== undefined;
  }

  /** Id of the loaded probe program (as bpftool lists it). */
  get programId(): number {
    return this.#program.info().id;
  }

  /**
   * The figures so far. Intervals still open are closed at `until`: by default the read itself
   * while the probe is attached and the target alive, else the latest transition seen. Without a
   * pid, the goroutines of a process that exited while traced stay open until then too (the
   * kernel sees no transition out of their last state).
   */
  read(options: { until?: bigint } = {}): KernelSummary {
    if (this.#final) return this.#final;
    if (this.#closed) throw new GoroutineTracerError('read() after close(): call finish() to keep the final figures');
    // One batch call for every slot; the raw values are possible CPUs × 8 bytes per slot.
    const sums: Sums = new Float64Array(SUMS.size);
    const cpus = possibleCpus();
    let lastTs = 0n;
    let cursor: Buffer | undefined;
    for (;;) {
      const r = this.#sums.lookupBatchRaw(SUMS.size, cursor);
      for (let i = 0; i < r.count; i++) {
        const slot = r.keys.readUInt32LE(i * 4);
        if (slot === SUMS.lastTimestamp) {
          for (let c = 0; c < cpus; c++) {
            const v = r.values.readBigUInt64LE((i * cpus + c) * 8);
            if (v > lastTs) lastTs = v;
          }
          continue;
        }
        let total = 0;
        for (let c = 0; c < cpus; c++) total += Number(r.values.readBigUInt64LE((i * cpus + c) * 8));
        sums[slot] = total;
      }
      if (r.done || r.count === 0) break;
      cursor = r.cursor;
    }
    const ended = !this.attached || this.targetHasExited;
    const until = options.until ?? (ended ? (lastTs > 0n ? lastTs : this.#openedAt) : process.hrtime.bigint());

    const reasonName = (slot: number): string => {
      if (slot >= SUMMARY_REASONS - 1) return 'unknown';
      const n = this.info.waitReasons?.[slot];
      return n === undefined ? `waitReason ${slot}` : n === '' ? 'none' : n;
    };
    const stateTimes = new Map<number, KernelStateTime>();
    const reasonTimes = new Map<number, KernelStateTime>();
    const entry = (m: Map<number, KernelStateTime>, k: number): KernelStateTime => {
      let e = m.get(k);
      if (!e) m.set(k, (e = { totalMs: 0, intervals: 0, openMs: 0, open: 0 }));
      return e;
    };
    for (let s = 0; s < SUMMARY_STATES; s++) {
      const n = sums[SUMS.stateCount + s]!;
      if (n > 0) Object.assign(entry(stateTimes, s), { totalMs: sums[SUMS.stateNs + s]! / 1e6, intervals: n });
    }
    for (let r = 0; r < SUMMARY_REASONS; r++) {
      const n = sums[SUMS.reasonCount + r]!;
      if (n > 0) Object.assign(entry(reasonTimes, r), { totalMs: sums[SUMS.reasonNs + r]! / 1e6, intervals: n });
    }
    // Open intervals: every g entry of the per-g map (dead gs have none).
    let live = 0;
    for (const [, value] of this.#gstate.lookupBatch()) {
      const since = value.readBigUInt64LE(G_VALUE.since);
      const state = value.readUInt32LE(G_VALUE.state);
      live++;
      if (since >= until) continue;
      const ms = Number(until - since) / 1e6;
      for (const e of state === 4
        ? [entry(stateTimes, state), entry(reasonTimes, value.readUInt32LE(G_VALUE.reason))]
        : [entry(stateTimes, state)]) {
        e.totalMs += ms;
        e.openMs += ms;
        e.open++;
      }
    }
    const timePerState: Record<string, KernelStateTime> = {};
    for (const [s, e] of [...stateTimes].sort((a, b) => b[1].totalMs - a[1].totalMs)) timePerState[stateName(s)] = e;
    const waitReasons: Record<string, KernelStateTime> = {};
    for (const [r, e] of [...reasonTimes].sort((a, b) => b[1].totalMs - a[1].totalMs)) waitReasons[reasonName(r)] = e;
    const kinds: [string, number][] = [];
    let transitions = 0;
    for (let o = 0; o < SUMMARY_STATES; o++) {
      for (let n = 0; n < SUMMARY_STATES; n++) {
        const c = sums[SUMS.pairs + o * SUMMARY_STATES + n]!;
        if (c === 0) continue;
        transitions += c;
        kinds.push([`${stateName(o)} → ${stateName(n)}`, c]);
      }
    }
    const histograms: Record<string, Log2Histogram> = {};
    for (let s = 0; s < SUMMARY_STATES; s++) {
      const h = histogram(sums, s);
      if (h.count > 0) histograms[stateName(s)] = h;
    }
    return {
      transitions,
      byKind: Object.fromEntries(kinds.sort((a, b) => b[1] - a[1])),
      births: sums[SUMS.births]!,
      deaths: sums[SUMS.deaths]!,
      live,
      durationMs: Math.max(0, Number(until - this.#openedAt) / 1e6),
      until,
      timePerState,
      waitReasons,
      histograms,
      schedulingLatency: histogram(sums, SCHED_LATENCY_ROW),
      stats: {
        chainBreaks: sums[SUMS.chainBreaks]!,
        updateFailures: sums[SUMS.updateFailures]!,
        reasonReadFailures: sums[SUMS.reasonReadFailures]!,
      },
    };
  }

  /** Ends the summary: detach, read (open intervals closed at the latest transition), close. Later calls return the same figures. */
  finish(): KernelSummary {
    if (this.#final) return this.#final;
    if (this.#closed) throw new GoroutineTracerError('finish() after close()');
    this.detach();
    this.#final = this.read();
    this.close();
    return this.#final;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Detaches and frees everything; a pending waitForExit resolves false. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#exit?.stop();
    this.#closedSignal.resolve();
    this.#link?.close();
    this.#link = undefined;
    this.#program.close();
    this.#gstate.close();
    for (const m of this.#maps) m.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}
