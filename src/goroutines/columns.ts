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
  readonly count: number;
  /**
   * CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, process.hrtime.bigint's clock) that `time` counts
   * from: the tracer's opening. A transition's timestamp is `timeBase + BigInt(time[i])`.
   */
  readonly timeBase: bigint;
  /** Nanoseconds from `timeBase` to the transition (negative never in practice: records are made after it). */
  readonly time: Float64Array;
  readonly pid: Uint32Array;
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
   * Births waiting for the goid their g carries next, per process then per g address: the slot of
   * the first in `#heldRows` (a record's words copied), the next ones chained through `#heldNext`.
   */
  readonly #held = new Map<number, Map<number, number>>();
  #heldRows = new Uint32Array(64 * WORDS);
  #heldNext = new Int32Array(64);
  #heldFree = -1;
  #heldUsed = 0;
  /** Births held now. */
  heldCount = 0;
  /** The last process looked up and its births (a trace is usually of one process). */
  #pid = -1;
  #ofPid: Map<number, number> | undefined;
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
    const grown = <T extends Float64Array | Uint32Array | Uint8Array | Int16Array>(old: T | undefined, make: (n: number) => T, per = 1): T => {
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
    for (let i = 0; i < count; i++) {
      const w = offsets[i] >>> 2;
      const oldBase = words[w + OLD] & NOT_SCAN;
      const pid = words[w + PID];
      let ofPid = this.#ofPid;
      if (pid !== this.#pid || ofPid === undefined) ofPid = this.#lookupPid(pid);
      const gp = words[w + GP + 1] * TWO32 + words[w + GP];
      if (oldBase === IDLE || (oldBase === DEAD && (words[w + NEW] & NOT_SCAN) !== DEAD)) {
        this.#hold(ofPid, gp, words, w);
        continue;
      }
      const goidLow = words[w + GOID];
      const goidHigh = words[w + GOID + 1];
      if (ofPid.size !== 0) {
        const slot = ofPid.get(gp);
        if (slot !== undefined) {
          ofPid.delete(gp);
          this.#release(slot, goidLow, goidHigh);
        }
      }
      this.#row(words, w, goidLow, goidHigh);
    }
  }

  /** Births still held at the end: delivered with their own goid from Go 1.24, else counted in `unattributed`. */
  flushHeld(): void {
    for (const ofPid of this.#held.values()) {
      for (const first of ofPid.values()) {
        for (let s = first; s !== -1; ) {
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
    }
    this.#held.clear();
    this.#pid = -1;
    this.#ofPid = undefined;
  }

  #lookupPid(pid: number): Map<number, number> {
    let ofPid = this.#held.get(pid);
    if (ofPid === undefined) this.#held.set(pid, (ofPid = new Map()));
    this.#pid = pid;
    this.#ofPid = ofPid;
    return ofPid;
  }

  #hold(ofPid: Map<number, number>, gp: number, words: Uint32Array, w: number): void {
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
    this.#heldRows.set(words.subarray(w, w + WORDS), s * WORDS);
    this.#heldNext[s] = -1;
    this.heldCount++;
    const first = ofPid.get(gp);
    if (first === undefined) {
      ofPid.set(gp, s);
      return;
    }
    let last = first;
    while (this.#heldNext[last] !== -1) last = this.#heldNext[last];
    this.#heldNext[last] = s;
  }

  #free(s: number): void {
    this.#heldNext[s] = this.#heldFree;
    this.#heldFree = s;
    this.heldCount--;
  }

  /** The births chained from `slot`, in the order held, with the goid their g carries now. */
  #release(slot: number, goidLow: number, goidHigh: number): void {
    for (let s = slot; s !== -1; ) {
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
    if (!(i >= 0 && i < this.count && Number.isInteger(i))) throw new GoroutineTracerError(`transition ${i} is not in this batch: its rows are 0 to ${this.count - 1}`);
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
