// Aggregates transitions into what a Go developer asks first: how many goroutines, how long each
// spent in each state, how long runnable goroutines waited for a thread (scheduling latency).
// Intervals are measured per goroutine between a transition into a state and the next transition
// out of that same state; under a state filter, a gap (old state ≠ the state last seen) is not an
// interval, so no time is stretched across transitions the filter dropped.
import type { GoroutineTransitionColumns } from './columns.js';
import { G_SCAN, GoroutineState, stateName, type GoroutineTransition } from './record.js';

/** A stretch of time one goroutine spent in one state, from `start` to `end` (timestamps of the transitions into and out of it). */
export interface StateSlice {
  pid: number;
  goid: bigint;
  state: string;
  start: bigint;
  end: bigint;
  /** OS thread that made the transition starting the slice: for "running", the thread it ran on. */
  tid: number;
  /** The goroutine's start function, when its birth was traced and the binary's g layout is known. */
  function?: string;
  /** The function whose go statement created the goroutine. */
  createdBy?: string;
  /** Where that go statement is: "file:line" (from the pclntab's line tables). */
  createdAt?: string;
  /** For "waiting": why (runtime2.go's name). */
  waitReason?: string;
}

/** A goroutine as it is now: the state it entered at `since` (CLOCK_MONOTONIC ns). */
export interface LiveGoroutine {
  pid: number;
  goid: bigint;
  state: string;
  since: bigint;
  waitReason?: string;
  function?: string;
}

export interface FunctionSummary {
  goroutines: number;
  /** Per state: total over the function's goroutines, and per goroutine p50/p99. */
  timePerState: Record<string, StateTime>;
  /** Time spent waiting, per wait reason, over the function's goroutines (ms). */
  waitReasons: Record<string, number>;
  /** Goroutines per creation site ("main.main at main.go:42"), when births were traced. */
  createdAt: Record<string, number>;
}

export interface SummaryNames {
  /** Function whose entry is `pc` (GoBinaryInfo.functions.nameAt). */
  functionAt?(pc: number): string | undefined;
  /** runtime.waitReason names by value (GoBinaryInfo.waitReasons). */
  waitReasons?: readonly string[];
  /** Function, file and line of the instruction at `pc` (GoBinaryInfo.functions.positionAt). */
  positionAt?(pc: number): { function: string; file?: string; line?: number } | undefined;
}

/** Time goroutines spent in one state: the total, how many goroutines, and per-goroutine percentiles (milliseconds). */
export interface StateTime {
  totalMs: number;
  goroutines: number;
  /** Per goroutine time in the state. */
  p50Ms: number;
  p99Ms: number;
}

/** Scheduling latency (runnable until running) in microseconds: count, percentiles, maximum and buckets. */
export interface LatencyHistogram {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Power-of-two buckets: count of latencies ≤ leUs (and above the previous bucket). */
  buckets: { leUs: number; count: number }[];
}

/** What GoroutineSummary.report returns: counts of transitions by kind, goroutines, duration, time per state, scheduling latency, per start function and per wait reason. */
export interface SummaryReport {
  transitions: number;
  byKind: Record<string, number>;
  goroutines: number;
  durationMs: number;
  timePerState: Record<string, StateTime>;
  schedulingLatency: LatencyHistogram;
  /** Goroutines grouped by start function ("?" when their birth was not traced). */
  byFunction: Record<string, FunctionSummary>;
  /** Time spent waiting per wait reason, all goroutines (ms). */
  waitReasons: Record<string, number>;
  /**
   * Transitions whose old state is not the state the goroutine was last seen entering (the scan
   * bit aside). No interval is credited across such a gap. Under a state filter they are the
   * filter's doing; without one, state changes the runtime made without casgstatus: a GC stack
   * scan parks a running goroutine through runtime.suspendG (running → preempted → waiting by
   * compare-and-swap), and from Go 1.26 entersyscall/exitsyscall switch running ⇄ syscall by their
   * own compare-and-swap, so a uprobe on casgstatus cannot see them.
   */
  outOfSequence: number;
}

function base(state: number): number {
  return state & ~G_SCAN;
}

/** Value at percentile `p` of sorted `v` (nearest rank). */
export function percentile(v: ArrayLike<number>, p: number): number {
  if (v.length === 0) return 0;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

/** A goid as the summary keys it: a number below 2^53 (exact), the BigInt itself above. */
type GoidKey = number | bigint;

function goidKey(goid: bigint): GoidKey {
  return goid <= MAX_EXACT_BIG ? Number(goid) : goid;
}

const MAX_EXACT_BIG = 9_007_199_254_740_991n; // Number.MAX_SAFE_INTEGER, as a literal: nothing runs at import

/** The empty lists a Goroutine starts with (never written: the first entry replaces them). */
const NONE: number[] = [];

/**
 * One goroutine as the summary follows it: made at its first transition, then updated in place, so
 * a transition costs no allocation. Times are nanoseconds from the summary's base (numbers: exact
 * while a trace spans less than 104 days).
 */
class Goroutine {
  #big: bigint | undefined;
  /** In the summary's set of goroutines with a current state (cleared by finish()). */
  current = false;
  state = 0;
  since = 0;
  tid = 0;
  /** Wait reason of the current state's entry, -1 for none. */
  reason = -1;
  function: string | undefined;
  createdBy: string | undefined;
  createdAt: string | undefined;
  /** Base states the goroutine was timed in (first time first) and the ns in each (made at the first). */
  stateKeys: number[] = NONE;
  stateNs: number[] = NONE;
  /** Wait reasons (numbers) it waited for (first time first) and the ns of each (made at the first). */
  reasonKeys: number[] = NONE;
  reasonNs: number[] = NONE;

  constructor(
    readonly pid: number,
    readonly goid: GoidKey,
  ) {}

  get goidBig(): bigint {
    return (this.#big ??= typeof this.goid === 'bigint' ? this.goid : BigInt(this.goid));
  }
}

/**
 * `v` sorted ascending, as a Float64Array: its sort compares numbers natively, where Array#sort
 * calls a comparator per comparison (the summary of 100k goroutines spent most of its report()
 * there). The same order for the values a summary holds (no NaN, no -0).
 */
function sortNumbers(v: readonly number[]): Float64Array {
  return Float64Array.from(v).sort();
}

/** Aggregates goroutine transitions into time per state, scheduling latency, per-function and per-wait-reason totals, and optionally the state slices themselves. */
export class GoroutineSummary {
  /**
   * Transitions per kind, keyed by (old << 16 | new) while both states fit 16 bits (a number: no
   * string per transition), else by "old/new"; named in report(), in the order first seen.
   */
  readonly #byKind = new Map<number | string, number>();
  /** Every goroutine seen, in the order first seen. */
  readonly #all: Goroutine[] = [];
  readonly #byPid = new Map<number, Map<GoidKey, Goroutine>>();
  #lastPid = -1;
  #lastPidMap: Map<GoidKey, Goroutine> | undefined;
  /** Goroutines with a state since their last transition, in the order first seen. */
  readonly #current = new Set<Goroutine>();
  readonly #names: SummaryNames;
  /** Base states timed so far, in the order first timed (report()'s order). */
  readonly #statesTimed: number[] = [];
  readonly #latencies: number[] = [];
  /** Only these base states are timed (undefined: all but idle and dead). */
  readonly #timed: Set<number> | undefined;
  readonly slices: StateSlice[] = [];
  readonly #keepSlices: boolean;
  /** The timestamp times are counted from: the first one seen. */
  #base: bigint | undefined;
  #firstNs = Infinity;
  #lastNs = -Infinity;
  count = 0;
  #outOfSequence = 0;

  /** `states` limits which states are timed (default: all but idle and dead); `keepSlices` keeps every StateSlice in `slices`; `names` resolves function and wait reason names. */
  constructor(options: { states?: readonly string[]; keepSlices?: boolean; names?: SummaryNames } = {}) {
    this.#keepSlices = options.keepSlices ?? false;
    this.#names = options.names ?? {};
    if (options.states && options.states.length > 0) {
      this.#timed = new Set(options.states.map((s) => (GoroutineState as Record<string, number>)[s]));
    }
  }

  /** Earliest timestamp added (undefined before any). */
  get first(): bigint | undefined {
    return this.#firstNs === Infinity ? undefined : this.#base! + BigInt(this.#firstNs);
  }

  /** Latest timestamp added (0n before any). */
  get last(): bigint {
    return this.#lastNs === -Infinity ? 0n : this.#base! + BigInt(this.#lastNs);
  }

  /** Accounts one transition: closes the interval of the goroutine's previous state when the transition leaves that same state. */
  add(t: GoroutineTransition): void {
    this.#base ??= t.timestamp;
    this.#account(
      t.pid,
      t.goid === 0n ? 0 : goidKey(t.goid),
      Number(t.timestamp - this.#base),
      t.tid,
      t.oldState,
      t.newState,
      t.waitReason ?? -1,
      t.startPc,
      t.createdAtPc,
    );
  }

  /**
   * Accounts rows `start` to `end` (default: all) of a batch GoroutineTracer.pollColumns delivered,
   * with the same results as add() of the same transitions in the same order, and no object or
   * BigInt per row (rows whose goid or pcs are beyond 2^53 go through `transition(i)` and add()).
   */
  addColumns(batch: GoroutineTransitionColumns, start = 0, end = batch.count): void {
    if (end <= start) return;
    this.#base ??= batch.timeBase;
    // Times of the batch from the summary's base: exact while both counts stay below 2^53.
    const shift = batch.timeBase === this.#base ? 0 : Number(batch.timeBase - this.#base);
    const { time, pid, tid, goid, goidExact, oldState, newState, waitReason, startPc, createdAtPc } = batch;
    for (let i = start; i < end; i++) {
      const pc = startPc[i];
      if (
        goidExact[i] === 0 ||
        (pc !== 0 && !(pc > 0 && pc <= Number.MAX_SAFE_INTEGER && createdAtPc[i] >= 0 && createdAtPc[i] <= Number.MAX_SAFE_INTEGER))
      ) {
        this.add(batch.transition(i));
        continue;
      }
      this.#account(
        pid[i],
        goid[i],
        time[i] + shift,
        tid[i],
        oldState[i],
        newState[i],
        waitReason[i],
        pc === 0 ? undefined : pc,
        pc === 0 ? undefined : createdAtPc[i],
      );
    }
  }

  #account(
    pid: number,
    goid: GoidKey,
    ns: number,
    tid: number,
    oldState: number,
    newState: number,
    waitReason: number,
    startPc: number | bigint | undefined,
    createdAtPc: number | bigint | undefined,
  ): void {
    this.count++;
    if (ns < this.#firstNs) this.#firstNs = ns;
    if (ns > this.#lastNs) this.#lastNs = ns;
    const kind = oldState <= 0xffff && newState <= 0xffff ? (oldState << 16) | newState : `${oldState}/${newState}`;
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
    if (goid === 0) return; // no goroutine to credit (a goid read that failed)
    const g = this.#goroutine(pid, goid);
    if (startPc !== undefined && g.function === undefined) {
      g.function = this.functionName(startPc);
      if (createdAtPc) {
        // gopc is the return address of the call to newproc: pc-1 lies in the call itself, so the
        // line is the go statement's, as Go's traceback reports "created by".
        const pos = this.#names.positionAt?.(Number(createdAtPc) - 1);
        g.createdBy = pos?.function ?? this.#names.functionAt?.(Number(createdAtPc)) ?? `0x${createdAtPc.toString(16)}`;
        if (pos?.file !== undefined && pos.line !== undefined) g.createdAt = `${pos.file}:${pos.line}`;
      }
    }
    if (g.current) {
      if (base(g.state) !== base(oldState)) {
        this.#outOfSequence++;
      } else {
        this.#spent(g, g.state, g.since, ns, g.tid, g.reason);
        if (base(g.state) === GoroutineState.runnable && base(newState) === GoroutineState.running) {
          this.#latencies.push((ns - g.since) / 1000);
        }
      }
    } else {
      g.current = true;
      this.#current.add(g);
    }
    g.state = newState;
    g.since = ns;
    g.tid = tid;
    g.reason = waitReason;
  }

  /** The goroutine (pid, goid), made at its first transition. */
  #goroutine(pid: number, goid: GoidKey): Goroutine {
    let m = this.#lastPidMap;
    if (pid !== this.#lastPid || m === undefined) {
      m = this.#byPid.get(pid);
      if (m === undefined) this.#byPid.set(pid, (m = new Map()));
      this.#lastPid = pid;
      this.#lastPidMap = m;
    }
    let g = m.get(goid);
    if (g === undefined) {
      m.set(goid, (g = new Goroutine(pid, goid)));
      this.#all.push(g);
    }
    return g;
  }

  #find(pid: number, goid: bigint | number): Goroutine | undefined {
    return this.#byPid.get(pid)?.get(typeof goid === 'bigint' ? goidKey(goid) : goid);
  }

  /** "main.worker", or the pc in hex when no function starts there. */
  functionName(pc: bigint | number): string {
    return this.#names.functionAt?.(Number(pc)) ?? `0x${pc.toString(16)}`;
  }

  /** "chan receive", or "waitReason N" when the names are unknown. */
  waitReasonName(reason: number): string {
    const n = this.#names.waitReasons?.[reason];
    return n === undefined ? `waitReason ${reason}` : n === '' ? 'none' : n;
  }

  /** The function whose go statement created goroutine `goid` of `pid`, when its birth was traced. */
  createdByOf(pid: number, goid: bigint | number): string | undefined {
    return this.#find(pid, goid)?.createdBy;
  }

  /** Goroutines alive now (neither idle nor dead), each with its state since its last transition. */
  live(): LiveGoroutine[] {
    const out: LiveGoroutine[] = [];
    for (const g of this.#current) {
      const b = base(g.state);
      if (b === GoroutineState.idle || b === GoroutineState.dead) continue;
      out.push({
        pid: g.pid,
        goid: g.goidBig,
        state: stateName(b),
        since: this.#base! + BigInt(g.since),
        waitReason: b === GoroutineState.waiting && g.reason >= 0 ? this.waitReasonName(g.reason) : undefined,
        function: g.function,
      });
    }
    return out;
  }

  /** "file:line" of the go statement that created goroutine `goid` of `pid`, when known. */
  createdAtOf(pid: number, goid: bigint | number): string | undefined {
    return this.#find(pid, goid)?.createdAt;
  }

  /** The start function of goroutine `goid` of `pid`, when its birth was traced (goid as a BigInt, or a number below 2^53). */
  functionOf(pid: number, goid: bigint | number): string | undefined {
    return this.#find(pid, goid)?.function;
  }

  #spent(g: Goroutine, state: number, start: number, end: number, tid: number, waitReason: number): void {
    const b = base(state);
    // Time on the free list (idle, dead) is not a goroutine's own time.
    if (b === GoroutineState.idle || b === GoroutineState.dead) return;
    if (this.#timed && !this.#timed.has(b)) return;
    const ns = end - start;
    let k = g.stateKeys.indexOf(b);
    if (k < 0) {
      if (g.stateKeys === NONE) {
        g.stateKeys = [];
        g.stateNs = [];
      }
      k = g.stateKeys.push(b) - 1;
      g.stateNs.push(0);
      if (!this.#statesTimed.includes(b)) this.#statesTimed.push(b);
    }
    g.stateNs[k] += ns;
    if (b === GoroutineState.waiting && waitReason >= 0) {
      let r = g.reasonKeys.indexOf(waitReason);
      if (r < 0) {
        if (g.reasonKeys === NONE) {
          g.reasonKeys = [];
          g.reasonNs = [];
        }
        r = g.reasonKeys.push(waitReason) - 1;
        g.reasonNs.push(0);
      }
      g.reasonNs[r] += ns;
    }
    if (this.#keepSlices)
      this.slices.push({
        pid: g.pid,
        goid: g.goidBig,
        state: stateName(b),
        start: this.#base! + BigInt(start),
        end: this.#base! + BigInt(end),
        tid,
        function: g.function,
        createdBy: g.createdBy,
        createdAt: g.createdAt,
        waitReason: b === GoroutineState.waiting && waitReason >= 0 ? this.waitReasonName(waitReason) : undefined,
      });
  }

  /** Closes the intervals still open at the last timestamp seen. */
  finish(): void {
    const last = this.#lastNs;
    for (const g of this.#current) {
      if (g.since < last) this.#spent(g, g.state, g.since, last, g.tid, g.reason);
      g.current = false;
    }
    this.#current.clear();
  }

  /** A goroutine's time per wait reason name (reasons of one name merged), in ns. */
  #reasonsByName(g: Goroutine): Map<string, number> {
    const m = new Map<string, number>();
    for (let r = 0; r < g.reasonKeys.length; r++) {
      const name = this.waitReasonName(g.reasonKeys[r]);
      m.set(name, (m.get(name) ?? 0) + g.reasonNs[r]);
    }
    return m;
  }

  /** The aggregates of every transition added so far. */
  report(): SummaryReport {
    const timePerState: Record<string, StateTime> = {};
    for (const b of this.#statesTimed) {
      const v: number[] = [];
      for (const g of this.#all) {
        const k = g.stateKeys.indexOf(b);
        if (k >= 0) v.push(g.stateNs[k] / 1e6);
      }
      const sorted = sortNumbers(v);
      timePerState[stateName(b)] = {
        totalMs: sorted.reduce((s, x) => s + x, 0),
        goroutines: sorted.length,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
      };
    }
    const lat = sortNumbers(this.#latencies);
    const buckets: { leUs: number; count: number }[] = [];
    for (const x of lat) {
      const le = x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
      const last = buckets[buckets.length - 1];
      if (last && last.leUs === le) last.count++;
      else buckets.push({ leUs: le, count: 1 });
    }
    const byFunction: Record<string, FunctionSummary> = {};
    const groups = new Map<string, Goroutine[]>();
    for (const g of this.#all) {
      const fn = g.function ?? '?';
      const list = groups.get(fn);
      if (list) list.push(g);
      else groups.set(fn, [g]);
    }
    const waitReasons: Record<string, number> = {};
    for (const [fn, gs] of groups) {
      const states = new Map<string, number[]>();
      const reasons: Record<string, number> = {};
      const createdAt: Record<string, number> = {};
      for (const g of gs) {
        const by = g.createdBy;
        if (by !== undefined) {
          const at = g.createdAt;
          const site = at ? `${by} at ${at}` : by;
          createdAt[site] = (createdAt[site] ?? 0) + 1;
        }
        for (let k = 0; k < g.stateKeys.length; k++) {
          const s = stateName(g.stateKeys[k]);
          const list = states.get(s);
          if (list) list.push(g.stateNs[k] / 1e6);
          else states.set(s, [g.stateNs[k] / 1e6]);
        }
        for (const [r, ns] of this.#reasonsByName(g)) {
          reasons[r] = (reasons[r] ?? 0) + Number(ns) / 1e6;
          waitReasons[r] = (waitReasons[r] ?? 0) + Number(ns) / 1e6;
        }
      }
      const timePerState: Record<string, StateTime> = {};
      for (const [s, list] of states) {
        const v = sortNumbers(list);
        timePerState[s] = {
          totalMs: v.reduce((x, y) => x + y, 0),
          goroutines: v.length,
          p50Ms: percentile(v, 50),
          p99Ms: percentile(v, 99),
        };
      }
      byFunction[fn] = { goroutines: gs.length, timePerState, waitReasons: reasons, createdAt };
    }
    return {
      byFunction,
      waitReasons,
      outOfSequence: this.#outOfSequence,
      transitions: this.count,
      byKind: Object.fromEntries([...this.#kindsByName()].sort((a, b) => b[1] - a[1])),
      goroutines: this.#all.length,
      durationMs: this.#firstNs === Infinity ? 0 : (this.#lastNs - this.#firstNs) / 1e6,
      timePerState,
      schedulingLatency: {
        count: lat.length,
        p50Us: percentile(lat, 50),
        p99Us: percentile(lat, 99),
        maxUs: lat.length ? lat[lat.length - 1] : 0,
        buckets,
      },
    };
  }

  /** Transitions per kind by name ("running → waiting"), in the order first seen. */
  #kindsByName(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [k, n] of this.#byKind) {
      const [o, w] = typeof k === 'number' ? [k >>> 16, k & 0xffff] : k.split('/').map(Number);
      const name = `${stateName(o)} → ${stateName(w)}`;
      m.set(name, (m.get(name) ?? 0) + n);
    }
    return m;
  }
}
