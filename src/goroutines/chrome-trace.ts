// Chrome trace-event JSON (opens in Perfetto and chrome://tracing): one track per goroutine with
// its states as slices, and one track per OS thread with the goroutines it ran.
//
// Both viewers title a thread track with its thread_name followed by its tid, and a process with its
// process_name followed by its pid. So the tid of every track is the number worth showing: a
// goroutine track's tid is its goid, an OS thread track's tid is the thread's real id. The two
// number spaces overlap (a goid can equal a thread id of the same process), so the OS threads of
// process P live in a process of their own, pid THREAD_PROCESS_BASE + P (past any real pid; the
// kernel's pid_max is at most 2^22), and names carry no pid or tid that the viewer adds anyway.
//
// Times are microseconds, quantized to 1/8 µs (125 ns). A viewer finds where a slice ends by adding
// ts and dur: Perfetto in integer ns after rounding each (llround(us * 1000)), Chromium's DevTools
// and catapult in doubles. With times to the ns (3 decimals), the double sum is often a hair past
// the next slice's ts (674.234 + 35.166 = 709.4000000000001), so the next slice looks like a child
// that outlives its parent, and DevTools dropped such slices. Multiples of 1/8 are exact in binary
// and have at most 3 decimals, so both ways of adding give exactly the next slice's ts.
import type { StateSlice } from './summary.js';

/** The pid of the track group that holds the OS threads of process P is THREAD_PROCESS_BASE + P. */
export const THREAD_PROCESS_BASE = 1_000_000_000;

/** Trace times are multiples of this many ns (1/8 µs): see the comment at the top. */
export const TIME_QUANTUM_NS = 125;

/** One event of the Chrome trace-event format: a complete slice (`X`) or metadata (`M`). */
export interface TraceEvent {
  ph: 'X' | 'M';
  name: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

/** Chrome trace-event JSON (Perfetto, chrome://tracing) for `slices`: one track per goroutine (tid = goid) in the traced process's group, one track per OS thread (tid = the thread's id) with the goroutines it ran in a group of its own (pid THREAD_PROCESS_BASE + pid), times in microseconds from `origin` (default: the earliest slice start). */
export function chromeTrace(
  slices: readonly StateSlice[],
  options: { binary: string; origin?: bigint; goroutineName?: (pid: number, goid: bigint) => string | undefined },
): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const t0 = options.origin ?? slices.reduce((m, s) => (s.start < m ? s.start : m), slices[0]?.start ?? 0n);
  // In eighths of a µs from t0, rounded to nearest: monotonic, so slices that did not overlap in ns
  // do not overlap here.
  const eighths = (ns: bigint): number => Math.round(Number(ns - t0) / TIME_QUANTUM_NS);
  const events: TraceEvent[] = [];
  const goroutineTracks = new Set<string>();
  const threadTracks = new Set<string>();
  const pids: number[] = [];
  const threadPids = new Set<number>();
  for (const s of slices) {
    if (!pids.includes(s.pid)) pids.push(s.pid);
    const g = `${s.pid}/${s.goid}`;
    if (!goroutineTracks.has(g)) {
      goroutineTracks.add(g);
      const fn = options.goroutineName?.(s.pid, s.goid);
      events.push({
        ph: 'M',
        name: 'thread_name',
        pid: s.pid,
        tid: Number(s.goid),
        args: { name: fn ? `goroutine ${s.goid} ${fn}` : `goroutine ${s.goid}` },
      });
    }
    const start = eighths(s.start);
    const ts = start / 8;
    const dur = (eighths(s.end) - start) / 8;
    const args: Record<string, unknown> = { goid: Number(s.goid), thread: s.tid };
    if (s.function) args.startFunction = s.function;
    if (s.createdBy) args.createdBy = s.createdBy;
    if (s.createdAt) args.createdAt = s.createdAt;
    if (s.waitReason) args.waitReason = s.waitReason;
    events.push({
      ph: 'X',
      name: s.waitReason ? `waiting: ${s.waitReason}` : s.state,
      cat: 'goroutine',
      pid: s.pid,
      tid: Number(s.goid),
      ts,
      dur,
      args,
    });
    if (s.state === 'running') {
      const threadPid = THREAD_PROCESS_BASE + s.pid;
      threadPids.add(s.pid);
      const t = `${s.pid}/${s.tid}`;
      if (!threadTracks.has(t)) {
        threadTracks.add(t);
        events.push({ ph: 'M', name: 'thread_name', pid: threadPid, tid: s.tid, args: { name: 'thread' } });
      }
      events.push({
        ph: 'X',
        name: s.function ? `goroutine ${s.goid} ${s.function}` : `goroutine ${s.goid}`,
        cat: 'thread',
        pid: threadPid,
        tid: s.tid,
        ts,
        dur,
        args: { goid: Number(s.goid), ...(s.function ? { startFunction: s.function } : {}) },
      });
    }
  }
  // Each traced process's goroutines first, then its OS threads.
  pids.forEach((pid, i) => {
    events.push({ ph: 'M', name: 'process_name', pid, args: { name: `${options.binary} goroutines` } });
    events.push({ ph: 'M', name: 'process_sort_index', pid, args: { sort_index: 2 * i } });
    if (!threadPids.has(pid)) return;
    events.push({
      ph: 'M',
      name: 'process_name',
      pid: THREAD_PROCESS_BASE + pid,
      args: { name: `${options.binary} OS threads of pid ${pid}` },
    });
    events.push({ ph: 'M', name: 'process_sort_index', pid: THREAD_PROCESS_BASE + pid, args: { sort_index: 2 * i + 1 } });
  });
  return { traceEvents: events, displayTimeUnit: 'ms' };
}
