// Chrome trace-event JSON (opens in Perfetto and chrome://tracing): one track per goroutine with
// its states as slices, and one track per OS thread with the goroutines it ran.
import type { StateSlice } from './summary.js';

/** Thread tracks live in the same process as the goroutine tracks, past any goid. */
const THREAD_TRACK_BASE = 1_000_000_000;

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

/** Chrome trace-event JSON (Perfetto, chrome://tracing) for `slices`: one track per goroutine, one per OS thread with the goroutines it ran, times in microseconds from `origin` (default: the earliest slice start). */
export function chromeTrace(slices: readonly StateSlice[], options: { binary: string; origin?: bigint; goroutineName?: (pid: number, goid: bigint) => string | undefined }): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const t0 = options.origin ?? slices.reduce((m, s) => (s.start < m ? s.start : m), slices[0]?.start ?? 0n);
  const us = (ns: bigint): number => Number(ns - t0) / 1000;
  const events: TraceEvent[] = [];
  const goroutineTracks = new Set<string>();
  const threadTracks = new Set<string>();
  const pids = new Set<number>();
  for (const s of slices) {
    pids.add(s.pid);
    const g = `${s.pid}/${s.goid}`;
    if (!goroutineTracks.has(g)) {
      goroutineTracks.add(g);
      const fn = options.goroutineName?.(s.pid, s.goid);
      events.push({ ph: 'M', name: 'thread_name', pid: s.pid, tid: Number(s.goid), args: { name: fn ? `goroutine ${s.goid} ${fn}` : `goroutine ${s.goid}` } });
    }
    const dur = Math.max(0.001, Number(s.end - s.start) / 1000);
    const args: Record<string, unknown> = { goid: Number(s.goid), thread: s.tid };
    if (s.function) args.startFunction = s.function;
    if (s.createdBy) args.createdBy = s.createdBy;
    if (s.createdAt) args.createdAt = s.createdAt;
    if (s.waitReason) args.waitReason = s.waitReason;
    events.push({ ph: 'X', name: s.waitReason ? `waiting: ${s.waitReason}` : s.state, cat: 'goroutine', pid: s.pid, tid: Number(s.goid), ts: us(s.start), dur, args });
    if (s.state === 'running') {
      const t = `${s.pid}/${s.tid}`;
      if (!threadTracks.has(t)) {
        threadTracks.add(t);
        events.push({ ph: 'M', name: 'thread_name', pid: s.pid, tid: THREAD_TRACK_BASE + s.tid, args: { name: `thread ${s.tid}` } });
        events.push({ ph: 'M', name: 'thread_sort_index', pid: s.pid, tid: THREAD_TRACK_BASE + s.tid, args: { sort_index: -1 } });
      }
      events.push({ ph: 'X', name: s.function ? `goroutine ${s.goid} ${s.function}` : `goroutine ${s.goid}`, cat: 'thread', pid: s.pid, tid: THREAD_TRACK_BASE + s.tid, ts: us(s.start), dur, args: { goid: Number(s.goid), ...(s.function ? { startFunction: s.function } : {}) } });
    }
  }
  for (const pid of pids) events.push({ ph: 'M', name: 'process_name', pid, args: { name: `${options.binary} (${pid})` } });
  return { traceEvents: events, displayTimeUnit: 'ms' };
}
