// The GoroutineSummary of before column input (commit a3dd315), kept verbatim but for its name and
// imports as the oracle of test/goroutines-summary-columns.test.ts: the present class must agree
// with it on every transition stream.
// Aggregates transitions into what a Go developer asks first: how many goroutines, how long each
// spent in each state, how long runnable goroutines waited for a thread (scheduling latency).
// Intervals are measured per goroutine between a transition into a state and the next transition
// out of that same state; under a state filter, a gap (old state ≠ the state last seen) is not an
// interval, so no time is stretched across transitions the filter dropped.
import { G_SCAN, GoroutineState, stateName, type GoroutineTransition } from '../src/goroutines/record.js';

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
export function percentile(v: readonly number[], p: number): number {
  if (v.length === 0) return 0;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

/** Aggregates goroutine transitions into time per state, scheduling latency, per-function and per-wait-reason totals, and optionally the state slices themselves. */
export class ReferenceSummary {
  readonly #byKind = new Map<string, number>();
  readonly #goroutines = new Set<string>();
  readonly #current = new Map<string, { state: number; since: bigint; tid: number; waitReason?: string }>();
  /** Function holding the go statement that created the goroutine ("pid/goid"). */
  readonly #createdBy = new Map<string, string>();
  /** "file:line" of that go statement ("pid/goid"). */
  readonly #createdAt = new Map<string, string>();
  /** Start function per goroutine ("pid/goid"). */
  readonly #function = new Map<string, string>();
  /** Per goroutine: per state ns, per wait reason ns. */
  readonly #perGoroutine = new Map<string, { states: Map<string, bigint>; reasons: Map<string, bigint> }>();
  readonly #names: SummaryNames;
  readonly #timeIn = new Map<string, Map<string, bigint>>();
  readonly #latencies: number[] = [];
  /** Only these base states are timed (undefined: all but idle and dead). */
  readonly #timed: Set<number> | undefined;
  readonly slices: StateSlice[] = [];
  readonly #keepSlices: boolean;
  first: bigint | undefined;
  last = 0n;
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

  /** Accounts one transition: closes the interval of the goroutine's previous state when the transition leaves that same state. */
  add(t: GoroutineTransition): void {
    this.count++;
    if (this.first === undefined || t.timestamp < this.first) this.first = t.timestamp;
    if (t.timestamp > this.last) this.last = t.timestamp;
    const kind = `${stateName(t.oldState)} → ${stateName(t.newState)}`;
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
    if (t.goid === 0n) return; // no goroutine to credit (a goid read that failed)
    const g = `${t.pid}/${t.goid}`;
    this.#goroutines.add(g);
    if (t.startPc !== undefined && !this.#function.has(g)) {
      this.#function.set(g, this.functionName(t.startPc));
      if (t.createdAtPc) {
        // gopc is the return address of the call to newproc: pc-1 lies in the call itself, so the
        // line is the go statement's, as Go's traceback reports "created by".
        const pos = this.#names.positionAt?.(Number(t.createdAtPc) - 1);
        this.#createdBy.set(g, pos?.function ?? this.#names.functionAt?.(Number(t.createdAtPc)) ?? `0x${t.createdAtPc.toString(16)}`);
        if (pos?.file !== undefined && pos.line !== undefined) this.#createdAt.set(g, `${pos.file}:${pos.line}`);
      }
    }
    const cur = this.#current.get(g);
    if (cur && base(cur.state) !== base(t.oldState)) this.#outOfSequence++;
    if (cur && base(cur.state) === base(t.oldState)) {
      this.#spent(g, t.pid, t.goid, cur.state, cur.since, t.timestamp, cur.tid, cur.waitReason);
      if (base(cur.state) === GoroutineState.runnable && base(t.newState) === GoroutineState.running) {
        this.#latencies.push(Number(t.timestamp - cur.since) / 1000);
      }
    }
    this.#current.set(g, {
      state: t.newState,
      since: t.timestamp,
      tid: t.tid,
      waitReason: t.waitReason === undefined ? undefined : this.waitReasonName(t.waitReason),
    });
  }

  /** "main.worker", or the pc in hex when no function starts there. */
  functionName(pc: bigint): string {
    return this.#names.functionAt?.(Number(pc)) ?? `0x${pc.toString(16)}`;
  }

  /** "chan receive", or "waitReason N" when the names are unknown. */
  waitReasonName(reason: number): string {
    const n = this.#names.waitReasons?.[reason];
    return n === undefined ? `waitReason ${reason}` : n === '' ? 'none' : n;
  }

  /** The function whose go statement created goroutine `goid` of `pid`, when its birth was traced. */
  createdByOf(pid: number, goid: bigint): string | undefined {
    return this.#createdBy.get(`${pid}/${goid}`);
  }

  /** Goroutines alive now (neither idle nor dead), each with its state since its last transition. */
  live(): LiveGoroutine[] {
    const out: LiveGoroutine[] = [];
    for (const [g, cur] of this.#current) {
      const b = base(cur.state);
      if (b === GoroutineState.idle || b === GoroutineState.dead) continue;
      const [pid, goid] = g.split('/');
      out.push({
        pid: Number(pid),
        goid: BigInt(goid),
        state: stateName(b),
        since: cur.since,
        waitReason: b === GoroutineState.waiting ? cur.waitReason : undefined,
        function: this.#function.get(g),
      });
    }
    return out;
  }

  /** "file:line" of the go statement that created goroutine `goid` of `pid`, when known. */
  createdAtOf(pid: number, goid: bigint): string | undefined {
    return this.#createdAt.get(`${pid}/${goid}`);
  }

  /** The start function of goroutine `goid` of `pid`, when its birth was traced. */
  functionOf(pid: number, goid: bigint): string | undefined {
    return this.#function.get(`${pid}/${goid}`);
  }

  #spent(g: string, pid: number, goid: bigint, state: number, start: bigint, end: bigint, tid: number, waitReason?: string): void {
    const b = base(state);
    // Time on the free list (idle, dead) is not a goroutine's own time.
    if (b === GoroutineState.idle || b === GoroutineState.dead) return;
    if (this.#timed && !this.#timed.has(b)) return;
    const name = stateName(b);
    let m = this.#timeIn.get(name);
    if (!m) this.#timeIn.set(name, (m = new Map()));
    m.set(g, (m.get(g) ?? 0n) + (end - start));
    let per = this.#perGoroutine.get(g);
    if (!per) this.#perGoroutine.set(g, (per = { states: new Map(), reasons: new Map() }));
    per.states.set(name, (per.states.get(name) ?? 0n) + (end - start));
    if (b === GoroutineState.waiting && waitReason !== undefined)
      per.reasons.set(waitReason, (per.reasons.get(waitReason) ?? 0n) + (end - start));
    if (this.#keepSlices)
      this.slices.push({
        pid,
        goid,
        state: name,
        start,
        end,
        tid,
        function: this.#function.get(g),
        createdBy: this.#createdBy.get(g),
        createdAt: this.#createdAt.get(g),
        waitReason: b === GoroutineState.waiting ? waitReason : undefined,
      });
  }

  /** Closes the intervals still open at the last timestamp seen. */
  finish(): void {
    for (const [g, cur] of this.#current) {
      if (cur.since < this.last) {
        const [pid, goid] = g.split('/');
        this.#spent(g, Number(pid), BigInt(goid), cur.state, cur.since, this.last, cur.tid, cur.waitReason);
      }
    }
    this.#current.clear();
  }

  /** The aggregates of every transition added so far. */
  report(): SummaryReport {
    const timePerState: Record<string, StateTime> = {};
    for (const [state, m] of this.#timeIn) {
      const v = [...m.values()].map((x) => Number(x) / 1e6).sort((a, b) => a - b);
      timePerState[state] = {
        totalMs: v.reduce((s, x) => s + x, 0),
        goroutines: v.length,
        p50Ms: percentile(v, 50),
        p99Ms: percentile(v, 99),
      };
    }
    const lat = [...this.#latencies].sort((a, b) => a - b);
    const buckets: { leUs: number; count: number }[] = [];
    for (const x of lat) {
      const le = x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
      const last = buckets[buckets.length - 1];
      if (last && last.leUs === le) last.count++;
      else buckets.push({ leUs: le, count: 1 });
    }
    const byFunction: Record<string, FunctionSummary> = {};
    const groups = new Map<string, string[]>();
    for (const g of this.#goroutines) {
      const fn = this.#function.get(g) ?? '?';
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
        const by = this.#createdBy.get(g);
        if (by !== undefined) {
          const at = this.#createdAt.get(g);
          const site = at ? `${by} at ${at}` : by;
          createdAt[site] = (createdAt[site] ?? 0) + 1;
        }
        const per = this.#perGoroutine.get(g);
        if (!per) continue;
        for (const [s, ns] of per.states) {
          const list = states.get(s);
          if (list) list.push(Number(ns) / 1e6);
          else states.set(s, [Number(ns) / 1e6]);
        }
        for (const [r, ns] of per.reasons) {
          reasons[r] = (reasons[r] ?? 0) + Number(ns) / 1e6;
          waitReasons[r] = (waitReasons[r] ?? 0) + Number(ns) / 1e6;
        }
      }
      const timePerState: Record<string, StateTime> = {};
      for (const [s, v] of states) {
        v.sort((a, b) => a - b);
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
      byKind: Object.fromEntries([...this.#byKind].sort((a, b) => b[1] - a[1])),
      goroutines: this.#goroutines.size,
      durationMs: this.first === undefined ? 0 : Number(this.last - this.first) / 1e6,
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
}
