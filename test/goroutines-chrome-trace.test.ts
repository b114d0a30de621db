// The Chrome/Perfetto trace of the goroutine tracer, from hand-made slices. What is checked is what
// the viewers need (read from Perfetto's JSON importer and its UI's track naming): every slice's
// (pid, tid) track has a name, a track's tid is the number the viewer shows after that name (the
// goid for a goroutine, the real thread id for an OS thread), a goid equal to a thread id of the
// same process does not merge two tracks, slices on one track never overlap (Perfetto moves an
// overlapping complete event to an overflow track and counts an import error), times are in µs,
// and a slice's ts + dur is exactly the next slice's ts whichever way a viewer adds them: in
// doubles (Chromium's DevTools dropped slices whose sum came out a hair past the next ts) or in ns
// rounded one by one (Perfetto's importer: llround(us * 1000)).
import { describe, expect, it } from 'vitest';
import { chromeTrace, THREAD_PROCESS_BASE, type TraceEvent } from '../src/goroutines/chrome-trace.js';
import { seededRandom } from './support/random.js';
import type { StateSlice } from '../src/goroutines/summary.js';

const MS = 1_000_000n;
const T0 = 5_000n * MS;

// Process 4242: goroutine 7 runs on OS thread 4242 (the main thread), waits on a channel, then runs
// on OS thread 7 (a thread id equal to its own goid); goroutine 8 runs on thread 4242 while 7 waits.
// Process 99: goroutine 7 again (another process, another goroutine), running on thread 100.
const SLICES: StateSlice[] = [
  {
    pid: 4242,
    goid: 7n,
    state: 'runnable',
    start: T0,
    end: T0 + 1n * MS,
    tid: 4242,
    function: 'main.worker',
    createdBy: 'main.main',
    createdAt: './app.go:12',
  },
  {
    pid: 4242,
    goid: 7n,
    state: 'running',
    start: T0 + 1n * MS,
    end: T0 + 3n * MS,
    tid: 4242,
    function: 'main.worker',
    createdBy: 'main.main',
    createdAt: './app.go:12',
  },
  {
    pid: 4242,
    goid: 7n,
    state: 'waiting',
    start: T0 + 3n * MS,
    end: T0 + 6n * MS,
    tid: 4242,
    function: 'main.worker',
    createdBy: 'main.main',
    createdAt: './app.go:12',
    waitReason: 'chan receive',
  },
  { pid: 4242, goid: 8n, state: 'running', start: T0 + 3n * MS, end: T0 + 5n * MS, tid: 4242 },
  {
    pid: 4242,
    goid: 7n,
    state: 'running',
    start: T0 + 6n * MS,
    end: T0 + 6n * MS,
    tid: 7,
    function: 'main.worker',
    createdBy: 'main.main',
    createdAt: './app.go:12',
  },
  { pid: 99, goid: 7n, state: 'running', start: T0 + 2n * MS, end: T0 + 4n * MS, tid: 100, function: 'main.other' },
];

const trace = chromeTrace(SLICES, {
  binary: '/usr/bin/app',
  goroutineName: (pid, goid) => (pid === 4242 && goid === 7n ? 'main.worker' : pid === 99 ? 'main.other' : undefined),
});
const events = trace.traceEvents;
const key = (e: TraceEvent): string => `${e.pid}/${e.tid}`;
const threadName = (pid: number, tid: number): unknown[] =>
  events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.tid === tid).map((e) => e.args!.name);
const processName = (pid: number): unknown[] =>
  events.filter((e) => e.ph === 'M' && e.name === 'process_name' && e.pid === pid).map((e) => e.args!.name);
const slicesOn = (pid: number, tid: number): TraceEvent[] => events.filter((e) => e.ph === 'X' && e.pid === pid && e.tid === tid);

describe('chromeTrace', () => {
  it('is JSON of the trace-event format: X slices with ts/dur in µs from the first slice, M metadata with args', () => {
    const parsed = JSON.parse(JSON.stringify(trace)) as typeof trace;
    expect(parsed.displayTimeUnit).toBe('ms');
    for (const e of parsed.traceEvents) {
      expect(['X', 'M']).toContain(e.ph);
      expect(Number.isInteger(e.pid) && e.pid > 0 && e.pid < 2 ** 32).toBe(true);
      if (e.tid !== undefined) expect(Number.isInteger(e.tid) && e.tid >= 0 && e.tid < 2 ** 32).toBe(true);
      if (e.ph === 'X') expect(e.ts! >= 0 && e.dur! >= 0).toBe(true);
      if (e.ph === 'M') expect(e.args).toBeDefined();
    }
    // goroutine 7's waiting slice: 3 ms after the first slice, 3 ms long.
    const waiting = slicesOn(4242, 7).find((e) => e.args!.waitReason === 'chan receive')!;
    expect([waiting.ts, waiting.dur, waiting.name]).toEqual([3000, 3000, 'waiting: chan receive']);
    // A zero-length slice stays zero-length: any width would overlap the slice that follows it.
    expect(slicesOn(4242, 7).find((e) => e.ts === 6000 && e.name === 'running')!.dur).toBe(0);
  });

  it('one track per goroutine: tid = goid, named by goid and start function, in the traced process', () => {
    expect(threadName(4242, 7)).toEqual(['goroutine 7 main.worker']);
    expect(threadName(4242, 8)).toEqual(['goroutine 8']);
    expect(threadName(99, 7)).toEqual(['goroutine 7 main.other']);
    expect(slicesOn(4242, 7).map((e) => e.name)).toEqual(['runnable', 'running', 'waiting: chan receive', 'running']);
    expect(slicesOn(4242, 8).map((e) => e.name)).toEqual(['running']);
    expect(slicesOn(99, 7).map((e) => e.name)).toEqual(['running']);
    // The viewer adds the pid to a process's name; the name carries none.
    expect(processName(4242)).toEqual(['/usr/bin/app goroutines']);
    expect(processName(99)).toEqual(['/usr/bin/app goroutines']);
  });

  it('slice args: wait reason, start function, creation site, thread', () => {
    const waiting = slicesOn(4242, 7).find((e) => e.name === 'waiting: chan receive')!;
    expect(waiting.args).toEqual({
      goid: 7,
      thread: 4242,
      startFunction: 'main.worker',
      createdBy: 'main.main',
      createdAt: './app.go:12',
      waitReason: 'chan receive',
    });
    expect(slicesOn(4242, 8)[0]!.args).toEqual({ goid: 8, thread: 4242 });
  });

  it('one track per OS thread, tid = the real thread id, in a group of its own per traced process', () => {
    const threads = THREAD_PROCESS_BASE + 4242;
    expect(processName(threads)).toEqual(['/usr/bin/app OS threads of pid 4242']);
    expect(threadName(threads, 4242)).toEqual(['thread']);
    expect(threadName(threads, 7)).toEqual(['thread']);
    expect(threadName(THREAD_PROCESS_BASE + 99, 100)).toEqual(['thread']);
    // What each thread ran, in order: goroutine 7 then 8 on the main thread, 7 again on thread 7.
    expect(slicesOn(threads, 4242).map((e) => [e.name, e.ts, e.dur])).toEqual([
      ['goroutine 7 main.worker', 1000, 2000],
      ['goroutine 8', 3000, 2000],
    ]);
    expect(slicesOn(threads, 7).map((e) => [e.name, e.ts])).toEqual([['goroutine 7 main.worker', 6000]]);
    expect(slicesOn(THREAD_PROCESS_BASE + 99, 100).map((e) => e.name)).toEqual(['goroutine 7 main.other']);
    // Thread 7 of process 4242 is not goroutine 7's track.
    expect(slicesOn(4242, 7).every((e) => e.cat === 'goroutine')).toBe(true);
    // Goroutines first, then the OS threads, per traced process in order of appearance.
    const order = events.filter((e) => e.name === 'process_sort_index').map((e) => [e.pid, e.args!.sort_index]);
    expect(order).toEqual([
      [4242, 0],
      [threads, 1],
      [99, 2],
      [THREAD_PROCESS_BASE + 99, 3],
    ]);
  });

  it('every slice is on a named track of a named process, and no two slices of a track overlap', () => {
    const named = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map(key));
    const processes = new Set(events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid));
    const byTrack = new Map<string, TraceEvent[]>();
    for (const e of events.filter((x) => x.ph === 'X')) {
      expect(named.has(key(e))).toBe(true);
      expect(processes.has(e.pid)).toBe(true);
      byTrack.set(key(e), [...(byTrack.get(key(e)) ?? []), e]);
    }
    expect(byTrack.size).toBe(6);
    for (const slices of byTrack.values()) {
      const sorted = [...slices].sort((a, b) => a.ts! - b.ts!);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.ts!).toBeGreaterThanOrEqual(sorted[i - 1]!.ts! + sorted[i - 1]!.dur!);
    }
    // Exactly one name per track and per process.
    expect(events.filter((e) => e.name === 'thread_name').length).toBe(named.size);
    expect(events.filter((e) => e.name === 'process_name').length).toBe(processes.size);
  });

  it("a slice's end is exactly the next slice's start, added in doubles (DevTools, catapult) or in rounded ns (Perfetto)", () => {
    // One goroutine through 2000 back-to-back slices of random ns lengths (0 to 100 µs), as the
    // summary makes them: each starts where the previous one ended. The first pair is from a real
    // trace: 674.234 + 35.166 µs is 709.4000000000001 in doubles.
    const random = seededRandom(14);
    const slices: StateSlice[] = [];
    const states = ['runnable', 'running', 'syscall', 'waiting'];
    let t = T0 + 674_234n;
    slices.push({ pid: 1, goid: 1n, state: 'runnable', start: T0, end: t, tid: 1 });
    slices.push({ pid: 1, goid: 1n, state: 'running', start: t, end: t + 35_166n, tid: 1 });
    t += 35_166n;
    for (let i = 0; i < 2000; i++) {
      const end = t + BigInt(Math.floor(random() * 100_000));
      slices.push({ pid: 1, goid: 1n, state: states[i % 4]!, start: t, end, tid: 1 });
      t = end;
    }
    const x = chromeTrace(slices, { binary: 'x' }).traceEvents.filter((e) => e.ph === 'X' && e.pid === 1);
    expect(x.length).toBe(slices.length);
    const perfettoNs = (us: number): number => Math.round(us * 1000);
    for (let i = 1; i < x.length; i++) {
      const prev = x[i - 1]!;
      const next = x[i]!;
      expect(prev.ts! + prev.dur!).toBe(next.ts);
      expect(perfettoNs(prev.ts!) + perfettoNs(prev.dur!)).toBe(perfettoNs(next.ts!));
      // Within 125 ns of the true times (one rounding of each end).
      expect(Math.abs(next.ts! * 1000 - Number(slices[i]!.start - T0))).toBeLessThanOrEqual(62.5);
    }
  });

  it('no slices: an empty trace', () => {
    expect(chromeTrace([], { binary: 'x' })).toEqual({ traceEvents: [], displayTimeUnit: 'ms' });
  });
});
