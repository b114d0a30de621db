// The fixed-size record the goroutine probe writes to the ring buffer, and goroutine states.

/**
 * Byte layout of one record (little-endian, 56 bytes). The C probe in bpf/ writes the same.
 * aux1/aux2: on a birth (old state dead) g.startpc and g.gopc, minus the run-time address of
 * runtime.casgstatus (the probe's ip), so they need no load bias; on a transition into waiting,
 * aux1 = g.waitreason; otherwise 0 (and always 0 when the binary's g layout is unknown).
 */
export const RECORD = {
  size: 56,
  timestamp: 0,
  pid: 8,
  tid: 12,
  goid: 16,
  oldState: 24,
  newState: 28,
  gp: 32,
  aux1: 40,
  aux2: 48,
} as const;

/** One goroutine status change seen at runtime.casgstatus. */
export interface GoroutineTransition {
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  timestamp: bigint;
  pid: number;
  tid: number;
  /**
   * The goroutine's id. The tracer credits a goroutine's first transitions (idle → dead, dead →
   * runnable) to the goid its g carries next: Go before 1.24 assigns the goid only after making
   * the goroutine runnable, so the probe reads 0 or the id of the g's previous, dead goroutine.
   */
  goid: bigint;
  /** The goid as the probe read it from the g; differs from `goid` for births on Go before 1.24. */
  recordedGoid: bigint;
  /** Address of the runtime.g; g structs are reused once their goroutine is dead. */
  gp: bigint;
  /** On a birth: entry of the goroutine's function (g.startpc) as linked (a PIE's load bias removed). */
  startPc?: bigint;
  /** On a birth: pc of the go statement that created it (g.gopc). */
  createdAtPc?: bigint;
  /** On a transition into waiting: g.waitreason (names: GoBinaryInfo.waitReasons). */
  waitReason?: number;
  /** Raw states, the _Gscan bit (0x1000) included. */
  oldState: number;
  newState: number;
}

/** Decodes one ring buffer record (laid out as RECORD); birth pcs are set only when the old state is dead, the wait reason only on a transition into waiting. */
export function decodeTransition(b: Buffer): GoroutineTransition {
  const t: GoroutineTransition = {
    timestamp: b.readBigUInt64LE(RECORD.timestamp),
    pid: b.readUInt32LE(RECORD.pid),
    tid: b.readUInt32LE(RECORD.tid),
    goid: b.readBigUInt64LE(RECORD.goid),
    recordedGoid: b.readBigUInt64LE(RECORD.goid),
    oldState: b.readUInt32LE(RECORD.oldState),
    newState: b.readUInt32LE(RECORD.newState),
    gp: b.readBigUInt64LE(RECORD.gp),
  };
  const oldBase = t.oldState & ~G_SCAN;
  if (oldBase === GoroutineState.dead) {
    const pc = b.readBigUInt64LE(RECORD.aux1);
    if (pc !== 0n) {
      t.startPc = pc;
      t.createdAtPc = b.readBigUInt64LE(RECORD.aux2);
    }
  } else if ((t.newState & ~G_SCAN) === GoroutineState.waiting && oldBase !== GoroutineState.idle) {
    t.waitReason = b[RECORD.aux1];
  }
  return t;
}

/**
 * Record words the fast decoder reads: RECORD's offsets in 32-bit words (`W`) and in 64-bit
 * words (`D`), for records at 8-byte aligned offsets of host-endian views. The probe stores its
 * fields in the host's byte order; the architectures traced (x86-64, arm64) are little-endian,
 * as the Buffer decoder's reads assume too (the wait reason is the low byte of its word).
 */
const W = {
  pid: RECORD.pid >>> 2,
  tid: RECORD.tid >>> 2,
  oldState: RECORD.oldState >>> 2,
  newState: RECORD.newState >>> 2,
  gpLow: RECORD.gp >>> 2,
  gpHigh: (RECORD.gp >>> 2) + 1,
  aux1Low: RECORD.aux1 >>> 2,
  aux1High: (RECORD.aux1 >>> 2) + 1,
} as const;
const D = {
  timestamp: RECORD.timestamp >>> 3,
  goid: RECORD.goid >>> 3,
  gp: RECORD.gp >>> 3,
  aux1: RECORD.aux1 >>> 3,
  aux2: RECORD.aux2 >>> 3,
} as const;
const DEAD = 6; // GoroutineState.dead, which is defined below
const WAITING = 4;
const IDLE = 0;
const NOT_SCAN = ~0x1000;

/**
 * decodeTransition for a record in place in a reader's batch: `words` and `doubles` are the same
 * memory as 32- and 64-bit words, `offset` the record's byte offset (8-byte aligned). One BigInt
 * per 64-bit field (a BigUint64Array load), no Buffer view, no intermediate BigInt arithmetic.
 */
export function decodeTransitionAt(words: Uint32Array, doubles: BigUint64Array, offset: number): GoroutineTransition {
  const w = offset >>> 2;
  const d = offset >>> 3;
  const goid = doubles[d + D.goid];
  const oldState = words[w + W.oldState];
  const newState = words[w + W.newState];
  const oldBase = oldState & NOT_SCAN;
  // One object literal per shape (the properties decodeTransition ends up with, in its order):
  // the object is allocated at its final size, with no hidden-class transition after.
  if (oldBase === DEAD) {
    if ((words[w + W.aux1Low] | words[w + W.aux1High]) !== 0) {
      return {
        timestamp: doubles[d + D.timestamp],
        pid: words[w + W.pid],
        tid: words[w + W.tid],
        goid,
        recordedGoid: goid,
        oldState,
        newState,
        gp: doubles[d + D.gp],
        startPc: doubles[d + D.aux1],
        createdAtPc: doubles[d + D.aux2],
      };
    }
  } else if ((newState & NOT_SCAN) === WAITING && oldBase !== IDLE) {
    return {
      timestamp: doubles[d + D.timestamp],
      pid: words[w + W.pid],
      tid: words[w + W.tid],
      goid,
      recordedGoid: goid,
      oldState,
      newState,
      gp: doubles[d + D.gp],
      waitReason: words[w + W.aux1Low] & 0xff,
    };
  }
  return {
    timestamp: doubles[d + D.timestamp],
    pid: words[w + W.pid],
    tid: words[w + W.tid],
    goid,
    recordedGoid: goid,
    oldState,
    newState,
    gp: doubles[d + D.gp],
  };
}

/** Goroutine states of runtime/runtime2.go; _Gscan is OR-ed onto a state while the GC scans the stack. */
export const GoroutineState = {
  idle: 0,
  runnable: 1,
  running: 2,
  syscall: 3,
  waiting: 4,
  moribund_unused: 5,
  dead: 6,
  enqueue_unused: 7,
  copystack: 8,
  preempted: 9,
  leaked: 10,
  deadextra: 11,
} as const;
/** Name of a goroutine status: a key of GoroutineState ("idle", "runnable", "running", ...). */
export type GoroutineStateName = keyof typeof GoroutineState;
/** The _Gscan bit the runtime sets on a status while the garbage collector scans the goroutine's stack. */
export const G_SCAN = 0x1000;

const NAMES = Object.keys(GoroutineState) as GoroutineStateName[];

/** "runnable", "running", ... with "+scan" when the _Gscan bit is set; unknown values as numbers. */
export function stateName(state: number): string {
  const base = NAMES[state & ~G_SCAN] ?? `state ${state & ~G_SCAN}`;
  return state & G_SCAN ? `${base}+scan` : base;
}

/** The state names a filter accepts, as a bit mask over the low bits of a state (old or new). */
export function stateMask(names: readonly string[]): number {
  let mask = 0;
  for (const n of names) {
    const v = (GoroutineState as Record<string, number>)[n];
    if (v === undefined) throw new Error(`unknown goroutine state "${n}"; known: ${NAMES.join(', ')}`);
    mask |= 1 << v;
  }
  return mask;
}
