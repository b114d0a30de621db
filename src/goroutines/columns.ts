// Goroutine transitions as columns: what GoroutineTracer.pollColumns hands out. The records of a
// reader batch are decoded and attributed (births credited to the goid their g carries next, as
// GoroutineAttribution does for objects) straight into reused typed arrays, so delivering an event
// allocates nothing: no object, no BigInt. Measured on the bench workload (760k events in 2.8 s on
// 2 CPUs), the object path spent ~270 ns of the tracing process's CPU per event, most of it making
// one object and three BigInts per record and collecting them again; that CPU is taken from the
// traced program.
import { RECORD, type GoroutineTransition } from './record.js';
import { GoroutineTracerError } from './tracer.js';

/**
 * A batch of goroutine transitions, column by column: transition i (for i < `count`) is
 * `pid[i]`, `goid[i]`, `oldState[i]` → `newState[i]`, ... Only the first `count` entries of each
 * column are meaningful. The object and its arrays are reused: they are valid until the callback
 * returns; copy what you keep (or call `transition(i)` for an object of its own).
 *
 * Numbers instead of BigInts: addresses (gp, pcs) of user space fit in 53 bits on x86-64 and arm64;
 * goids are counters that stay far below 2^53 (`goid` and `recordedGoid` are exact up to 2^53; above,
 * `goidExact` is false for the row and `transition(i)` still gives the exact BigInt); times are
 * nanoseconds since `timeBase` (exact for 104 days after it).
 */
export interface GoroutineTransitionColumns {
  /** Rows in this batch: the first `count` entries of every column. */
  readonly count: number;
  /**
   * CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, process.hrtime.bigint's clock) that `time` counts
   * from: the tracer's opening. A transition's timestamp is `timeBase + BigInt(time[i])`.
   */
  readonly timeBase: bigint;
  /** Nanoseconds from `timeBase` to the transition (negative never in practice: records are made after it). */
  readonly time: Float64Array;
  /** Process (thread group) id. */
  readonly pid: Uint32Array;
  /** OS thread that made the transition. */
  readonly tid: Uint32Array;
  /** The goroutine's id, births credited as GoroutineTransition.goid says. */
  readonly goid: Float64Array;
  /** The goid as the probe read it from the g. */
  readonly recordedGoid: Float64Array;
  /** 1 when `goid` and `recordedGoid` of the row are exact (below 2^53), else 0: use transition(i). */
  readonly goidExact: Uint8Array;
  /** Address of the runtime.g. */
  readonly gp: Float64Array;
  /** Raw states, the _Gscan bit (0x1000) included. */
  readonly oldState: Uint32Array;
  readonly newState: Uint32Array;
  /** On a birth, g.startpc as linked (a PIE's load bias removed); 0 when the record has none. */
  readonly startPc: Float64Array;
  /** On a birth, g.gopc as linked; 0 when the record has none. */
  readonly createdAtPc: Float64Array;
  /** On a transition into waiting, g.waitreason; -1 when the record has none. */
  readonly waitReason: Int16Array;
  /** Transition i as the object GoroutineTracer.poll delivers (the same properties, BigInts exact). */
  transition(i: number): GoroutineTransition;
}

/** Words of a record (RECORD in 32-bit words). */
const WORDS = RECORD.size >>> 2;
const TS = RECORD.timestamp >>> 2;
const PID = RECORD.pid >>> 2;
const TID = RECORD.tid >>> 2;
const GOID = RECORD.goid >>> 2;
const OLD = RECORD.oldState >>> 2;
const NEW = RECORD.newState >>> 2;
const GP = RECORD.gp >>> 2;
const AUX1 = RECORD.aux1 >>> 2;
const AUX2 = RECORD.aux2 >>> 2;
const IDLE = 0;
const WAITING = 4;
const DEAD = 6;
const NOT_SCAN = ~0x1000;
const TWO32 = 0x1_0000_0000;
/** Highest 32-bit word of a 64-bit value below 2^53. */
const EXACT_HIGH = 0x1f_ffff;

/** The tracer's columns and the births they hold back; reused from batch to batch. */
export class TransitionColumns implements GoroutineTransitionColumns {
  count = 0;
  readonly timeBase: bigint;
  readonly #baseHigh: number;
  readonly #baseLow: number;
  /** Link-time address of runtime.casgstatus as a number: the base of the pcs the probe sends. */
  readonly #casgstatus: number;
  readonly #casgstatusBig: bigint;
  time!: Float64Array;
  pid!: Uint32Array;
  tid!: Uint32Array;
  goid!: Float64Array;
  recordedGoid!: Float64Array;
  goidExact!: Uint8Array;
  gp!: Float64Array;
  oldState!: Uint32Array;
  newState!: Uint32Array;
  startPc!: Float64Array;
  createdAtPc!: Float64Array;
  waitReason!: Int16Array;
  /** Each row's goid and recordedGoid as 32-bit words (low, high, low, high), for transition(i)'s BigInts. */
  #goidWords!: Uint32Array;
  /** Each row's gp, start pc and creation pc as the record had them (low, high words), for transition(i). */
  #wideWords!: Uint32Array;
  #capacity = 0;

  /**
   * Births waiting for the goid their g carries next: an open-addressing hash table on typed arrays
   * keyed by (pid, g address), whose value is the first held record's slot in `#heldRows` (a
   * record's words, copied), the next ones chained through `#heldNext`. Not a Map: every record
   * looks its g up, and a Map keyed by a 40-bit address (a heap number) cost more than all the
   * rest of the decoding (measured ~30 ns of ~60 per record with bench/goroutines' stream).
   */
  #keyPid = new Uint32Array(256);
  #keyLow = new Uint32Array(256);
  #keyHigh = new Uint32Array(256);
  /** First held slot of the entry, -1 when the entry is empty. */
  #head = new Int32Array(256).fill(-1);
  /** When the entry's first birth was held: flushHeld delivers in that order, as GoroutineAttribution does. */
  #since = new Float64Array(256);
  #entries = 0;
  #sequence = 0;
  #heldRows = new Uint32Array(64 * WORDS);
  #heldNext = new Int32Array(64);
  #heldFree = -1;
  #heldUsed = 0;
  /** Births held now. */
  heldCount = 0;
  /** Processes in the order their first record came (flushHeld's order, as GoroutineAttribution's). */
  readonly #pids = new Map<number, number>();
  #lastPid = -1;
  readonly #goidBeforeBirth: boolean;
  /** Births released at the end without a goid to give them. */
  unattributed = 0;

  constructor(options: { timeBase: bigint; casgstatus: bigint; goidAssignedBeforeBirth: boolean; capacity?: number }) {
    this.timeBase = options.timeBase;
    this.#baseHigh = Number(options.timeBase >> 32n);
    this.#baseLow = Number(options.timeBase & 0xffff_ffffn);
    this.#casgstatusBig = options.casgstatus;
    this.#casgstatus = Number(options.casgstatus);
    this.#goidBeforeBirth = options.goidAssignedBeforeBirth;
    this.#grow(options.capacity ?? 4096);
  }

  #grow(capacity: number): void {
    const n = this.count;
    const grown = <T extends Float64Array | Uint32Array | Uint8Array | Int16Array>(
      old: T | undefined,
      make: (n: number) => T,
      per = 1,
    ): T => {
      const a = make(capacity * per);
      if (old !== undefined && n > 0) a.set(old.subarray(0, n * per) as never);
      return a;
    };
    this.time = grown(this.time, (k) => new Float64Array(k));
    this.pid = grown(this.pid, (k) => new Uint32Array(k));
    this.tid = grown(this.tid, (k) => new Uint32Array(k));
    this.goid = grown(this.goid, (k) => new Float64Array(k));
    this.recordedGoid = grown(this.recordedGoid, (k) => new Float64Array(k));
    this.goidExact = grown(this.goidExact, (k) => new Uint8Array(k));
    this.gp = grown(this.gp, (k) => new Float64Array(k));
    this.oldState = grown(this.oldState, (k) => new Uint32Array(k));
    this.newState = grown(this.newState, (k) => new Uint32Array(k));
    this.startPc = grown(this.startPc, (k) => new Float64Array(k));
    this.createdAtPc = grown(this.createdAtPc, (k) => new Float64Array(k));
    this.waitReason = grown(this.waitReason, (k) => new Int16Array(k));
    this.#goidWords = grown(this.#goidWords, (k) => new Uint32Array(k), 4);
    this.#wideWords = grown(this.#wideWords, (k) => new Uint32Array(k), 6);
    this.#capacity = capacity;
  }

  /**
   * Decodes and attributes the records at `offsets[0..count)` of `words` into the columns, after
   * the rows already there. Births are held (copied) until their g moves again.
   */
  addRecords(words: Uint32Array, offsets: Uint32Array, count: number): void {
    // Room for every record and every held birth, so a batch is never cut in two.
    if (this.count + count + this.heldCount > this.#capacity) this.#grow(2 * (this.count + count + this.heldCount));
    // The common record (no birth, nothing held for its g) is written here with the columns in
    // locals; births, releases and pcs go through #row.
    const time = this.time;
    const pidOf = this.pid;
    const tid = this.tid;
    const goid = this.goid;
    const recordedGoid = this.recordedGoid;
    const goidExact = this.goidExact;
    const gpOf = this.gp;
    const oldStates = this.oldState;
    const newStates = this.newState;
    const startPc = this.startPc;
    const createdAtPc = this.createdAtPc;
    const waitReason = this.waitReason;
    const goidWords = this.#goidWords;
    const wideWords = this.#wideWords;
    const baseHigh = this.#baseHigh;
    const baseLow = this.#baseLow;
    for (let i = 0; i < count; i++) {
      const w = offsets[i] >>> 2;
      const oldState = words[w + OLD];
      const newState = words[w + NEW];
      const oldBase = oldState & NOT_SCAN;
      const pid = words[w + PID];
      if (pid !== this.#lastPid) this.#seePid(pid);
      if (oldBase === IDLE || (oldBase === DEAD && (newState & NOT_SCAN) !== DEAD)) {
        this.#hold(words, w);
        continue;
      }
      const goidLow = words[w + GOID];
      const goidHigh = words[w + GOID + 1];
      const gpLow = words[w + GP];
      const gpHigh = words[w + GP + 1];
      if (this.heldCount !== 0) {
        const e = this.#find(pid, gpLow, gpHigh);
        if (e >= 0) {
          const first = this.#head[e];
          this.#remove(e);
          this.#release(first, goidLow, goidHigh);
        }
      }
      if (oldBase === DEAD) {
        // dead → dead: the pcs rule of #row applies.
        this.#row(words, w, goidLow, goidHigh);
        continue;
      }
      const k = this.count++;
      time[k] = (words[w + TS + 1] - baseHigh) * TWO32 + (words[w + TS] - baseLow);
      pidOf[k] = pid;
      tid[k] = words[w + TID];
      const g = goidHigh * TWO32 + goidLow;
      goid[k] = g;
      recordedGoid[k] = g;
      goidExact[k] = goidHigh <= EXACT_HIGH ? 1 : 0;
      const x = k << 2;
      goidWords[x] = goidLow;
      goidWords[x + 1] = goidHigh;
      goidWords[x + 2] = goidLow;
      goidWords[x + 3] = goidHigh;
      oldStates[k] = oldState;
      newStates[k] = newState;
      gpOf[k] = gpHigh * TWO32 + gpLow;
      const y = k * 6;
      wideWords[y] = gpLow;
      wideWords[y + 1] = gpHigh;
      startPc[k] = 0;
      createdAtPc[k] = 0;
      waitReason[k] = (newState & NOT_SCAN) === WAITING && oldBase !== IDLE ? words[w + AUX1] & 0xff : -1;
    }
  }

  /** Births still held at the end: delivered with their own goid from Go 1.24, else counted in `unattributed`. */
  flushHeld(): void {
    const chains: { pid: number; since: number; first: number }[] = [];
    for (let e = 0; e < this.#head.length; e++) {
      if (this.#head[e] !== -1) chains.push({ pid: this.#pids.get(this.#keyPid[e])!, since: this.#since[e], first: this.#head[e] });
    }
    chains.sort((a, b) => a.pid - b.pid || a.since - b.since);
    for (const { first } of chains) {
      for (let s = first; s !== -1;) {
        const w = s * WORDS;
        const rows = this.#heldRows;
        if (this.#goidBeforeBirth && (rows[w + GOID] | rows[w + GOID + 1]) !== 0) {
          if (this.count === this.#capacity) this.#grow(2 * this.#capacity);
          this.#row(rows, w, rows[w + GOID], rows[w + GOID + 1]);
        } else {
          this.unattributed++;
        }
        const next = this.#heldNext[s];
        this.#free(s);
        s = next;
      }
    }
    this.#head.fill(-1);
    this.#entries = 0;
  }

  #seePid(pid: number): void {
    this.#lastPid = pid;
    if (!this.#pids.has(pid)) this.#pids.set(pid, this.#pids.size);
  }

  /** Home entry of a key: g structs are 8-byte aligned, so the address's low bits carry nothing. */
  #home(pid: number, low: number, high: number): number {
    return Math.imul((low >>> 3) ^ Math.imul(high, 0x85eb_ca6b) ^ Math.imul(pid, 0xc2b2_ae35), 0x9e37_79b1) >>> 0;
  }

  /** The entry of (pid, g address), or -1. */
  #find(pid: number, low: number, high: number): number {
    const mask = this.#head.length - 1;
    for (let e = this.#home(pid, low, high) & mask; ; e = (e + 1) & mask) {
      if (this.#head[e] === -1) return -1;
      if (this.#keyLow[e] === low && this.#keyHigh[e] === high && this.#keyPid[e] === pid) return e;
    }
  }

  /** Empties entry `e`, moving later entries of its probe run back so that no lookup stops short. */
  #remove(e: number): void {
    const mask = this.#head.length - 1;
    let hole = e;
    for (let j = (e + 1) & mask; this.#head[j] !== -1; j = (j + 1) & mask) {
      const home = this.#home(this.#keyPid[j], this.#keyLow[j], this.#keyHigh[j]) & mask;
      // Entry j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      this.#keyPid[hole] = this.#keyPid[j];
      this.#keyLow[hole] = this.#keyLow[j];
      this.#keyHigh[hole] = this.#keyHigh[j];
      this.#head[hole] = this.#head[j];
      this.#since[hole] = this.#since[j];
      hole = j;
    }
    this.#head[hole] = -1;
    this.#entries--;
  }

  #hold(words: Uint32Array, w: number): void {
    let s = this.#heldFree;
    if (s !== -1) {
      this.#heldFree = this.#heldNext[s];
    } else {
      s = this.#heldUsed++;
      if (s === this.#heldNext.length) {
        const rows = new Uint32Array(2 * this.#heldRows.length);
        rows.set(this.#heldRows);
        this.#heldRows = rows;
        const next = new Int32Array(2 * this.#heldNext.length);
        next.set(this.#heldNext);
        this.#heldNext = next;
      }
    }
    // Word by word: a subarray would make a typed array object per birth.
    const rows = this.#heldRows;
    const to = s * WORDS;
    for (let j = 0; j < WORDS; j++) rows[to + j] = words[w + j];
    this.#heldNext[s] = -1;
    this.heldCount++;
    const pid = words[w + PID];
    const low = words[w + GP];
    const high = words[w + GP + 1];
    const e = this.#find(pid, low, high);
    if (e >= 0) {
      let last = this.#head[e];
      while (this.#heldNext[last] !== -1) last = this.#heldNext[last];
      this.#heldNext[last] = s;
      return;
    }
    if (2 * (this.#entries + 1) > this.#head.length) this.#rehash(2 * this.#head.length);
    const mask = this.#head.length - 1;
    let f = this.#home(pid, low, high) & mask;
    while (this.#head[f] !== -1) f = (f + 1) & mask;
    this.#keyPid[f] = pid;
    this.#keyLow[f] = low;
    this.#keyHigh[f] = high;
    this.#head[f] = s;
    this.#since[f] = this.#sequence++;
    this.#entries++;
  }

  #rehash(size: number): void {
    const [pids, lows, highs, heads, since] = [this.#keyPid, this.#keyLow, this.#keyHigh, this.#head, this.#since];
    this.#keyPid = new Uint32Array(size);
    this.#keyLow = new Uint32Array(size);
    this.#keyHigh = new Uint32Array(size);
    this.#head = new Int32Array(size).fill(-1);
    this.#since = new Float64Array(size);
    const mask = size - 1;
    for (let e = 0; e < heads.length; e++) {
      if (heads[e] === -1) continue;
      let f = this.#home(pids[e], lows[e], highs[e]) & mask;
      while (this.#head[f] !== -1) f = (f + 1) & mask;
      this.#keyPid[f] = pids[e];
      this.#keyLow[f] = lows[e];
      this.#keyHigh[f] = highs[e];
      this.#head[f] = heads[e];
      this.#since[f] = since[e];
    }
  }

  #free(s: number): void {
    this.#heldNext[s] = this.#heldFree;
    this.#heldFree = s;
    this.heldCount--;
  }

  /** The births chained from `slot`, in the order held, with the goid their g carries now. */
  #release(slot: number, goidLow: number, goidHigh: number): void {
    for (let s = slot; s !== -1;) {
      this.#row(this.#heldRows, s * WORDS, goidLow, goidHigh);
      const next = this.#heldNext[s];
      this.#free(s);
      s = next;
    }
  }

  /** Appends the record at word `w` of `src` as a row, credited to goid (`goidLow`, `goidHigh`). */
  #row(src: Uint32Array, w: number, goidLow: number, goidHigh: number): void {
    const k = this.count++;
    this.time[k] = (src[w + TS + 1] - this.#baseHigh) * TWO32 + (src[w + TS] - this.#baseLow);
    this.pid[k] = src[w + PID];
    this.tid[k] = src[w + TID];
    const recordedLow = src[w + GOID];
    const recordedHigh = src[w + GOID + 1];
    this.goid[k] = goidHigh * TWO32 + goidLow;
    this.recordedGoid[k] = recordedHigh * TWO32 + recordedLow;
    this.goidExact[k] = goidHigh <= EXACT_HIGH && recordedHigh <= EXACT_HIGH ? 1 : 0;
    const g = k << 2;
    this.#goidWords[g] = goidLow;
    this.#goidWords[g + 1] = goidHigh;
    this.#goidWords[g + 2] = recordedLow;
    this.#goidWords[g + 3] = recordedHigh;
    const oldState = src[w + OLD];
    const newState = src[w + NEW];
    this.oldState[k] = oldState;
    this.newState[k] = newState;
    const gpLow = src[w + GP];
    const gpHigh = src[w + GP + 1];
    this.gp[k] = gpHigh * TWO32 + gpLow;
    const x = k * 6;
    this.#wideWords[x] = gpLow;
    this.#wideWords[x + 1] = gpHigh;
    const oldBase = oldState & NOT_SCAN;
    const aux1Low = src[w + AUX1];
    const aux1High = src[w + AUX1 + 1];
    if (oldBase === DEAD && (aux1Low | aux1High) !== 0) {
      // Sent relative to runtime.casgstatus as loaded (two's complement): rebased on its link-time address.
      const aux2Low = src[w + AUX2];
      const aux2High = src[w + AUX2 + 1];
      this.startPc[k] = (aux1High | 0) * TWO32 + aux1Low + this.#casgstatus;
      this.createdAtPc[k] = (aux2High | 0) * TWO32 + aux2Low + this.#casgstatus;
      this.#wideWords[x + 2] = aux1Low;
      this.#wideWords[x + 3] = aux1High;
      this.#wideWords[x + 4] = aux2Low;
      this.#wideWords[x + 5] = aux2High;
      this.waitReason[k] = -1;
    } else {
      this.startPc[k] = 0;
      this.createdAtPc[k] = 0;
      this.waitReason[k] = (newState & NOT_SCAN) === WAITING && oldBase !== IDLE && oldBase !== DEAD ? aux1Low & 0xff : -1;
    }
  }

  transition(i: number): GoroutineTransition {
    if (!(i >= 0 && i < this.count && Number.isInteger(i)))
      throw new GoroutineTracerError(`transition ${i} is not in this batch: its rows are 0 to ${this.count - 1}`);
    const g = i << 2;
    const x = i * 6;
    const words = (low: number, high: number): bigint => (BigInt(high) << 32n) | BigInt(low);
    const t: GoroutineTransition = {
      timestamp: this.timeBase + BigInt(this.time[i]),
      pid: this.pid[i],
      tid: this.tid[i],
      goid: words(this.#goidWords[g], this.#goidWords[g + 1]),
      recordedGoid: words(this.#goidWords[g + 2], this.#goidWords[g + 3]),
      oldState: this.oldState[i],
      newState: this.newState[i],
      gp: words(this.#wideWords[x], this.#wideWords[x + 1]),
    };
    if (this.startPc[i] !== 0) {
      t.startPc = BigInt.asUintN(64, words(this.#wideWords[x + 2], this.#wideWords[x + 3]) + this.#casgstatusBig);
      t.createdAtPc = BigInt.asUintN(64, words(this.#wideWords[x + 4], this.#wideWords[x + 5]) + this.#casgstatusBig);
    }
    if (this.waitReason[i] >= 0) t.waitReason = this.waitReason[i];
    return t;
  }
}
