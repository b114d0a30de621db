// The streaming summary across state changes a casgstatus uprobe cannot see: a GC stack scan parks
// a running goroutine through runtime.suspendG (running → preempted → waiting, each by
// compare-and-swap, not casgstatus), and the next record the probe sees is waiting → runnable.
// Made-up transitions here (the runtime's order of operations, from Go's proc.go), no kernel.
import { describe, expect, it } from 'vitest';
import { GoroutineState, GoroutineSummary, type GoroutineTransition } from '../src/goroutines/index.js';

const ms = 1_000_000n;
const tr = (at: bigint, oldState: number, newState: number): GoroutineTransition => ({
  timestamp: at * ms,
  pid: 10,
  tid: 11,
  goid: 7n,
  recordedGoid: 7n,
  gp: 0xc000001000n,
  oldState,
  newState,
});
const { runnable, running, waiting } = GoroutineState;

describe('GoroutineSummary: transitions out of sequence', () => {
  it('counts a gap and credits no time across it (running is not stretched over an unseen park)', () => {
    const s = new GoroutineSummary();
    s.add(tr(0n, runnable, running)); // running from 0 ms
    // Unseen: at ~5 ms suspendG parks it (running → preempted → waiting by CAS).
    s.add(tr(100n, waiting, runnable)); // seen: old state waiting, but the last seen was running
    s.add(tr(103n, runnable, running));
    s.add(tr(110n, running, waiting));
    const r = s.report();
    expect(r.outOfSequence).toBe(1);
    // running: only 103 → 110 (7 ms); the 0 → 100 stretch is not credited to running.
    expect(r.timePerState.running!.totalMs).toBe(7);
    expect(r.timePerState.runnable!.totalMs).toBe(3);
  });

  it('a chain that holds has no gap', () => {
    const s = new GoroutineSummary();
    s.add(tr(0n, runnable, running));
    s.add(tr(4n, running, waiting));
    s.add(tr(9n, waiting, runnable));
    s.add(tr(10n, runnable, running));
    expect(s.report().outOfSequence).toBe(0);
  });
});
