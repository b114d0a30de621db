// The live view (`ebpf goroutines --top`): one screen, redrawn every second, of the goroutines
// alive now: how many in each state, per start function, and the longest waiters with their
// reasons. Pure text from a snapshot, so it is the same in a terminal, a pipe or a test.
import type { LiveGoroutine } from './summary.js';

/** What one frame of the live view (`--top`) shows: the goroutines alive now and the run's counters. */
export interface TopFrame {
  title: string;
  /** CLOCK_MONOTONIC ns of the frame; waits are measured up to it. */
  now: bigint;
  live: readonly LiveGoroutine[];
  transitions: number;
  lost: bigint | number;
  /** Lines for the per-function and the waiter tables (default 10 each). */
  rows?: number;
}

const STATES = ['running', 'runnable', 'syscall', 'waiting', 'preempted', 'copystack'] as const;

function ms(ns: bigint): string {
  const v = Number(ns) / 1e6;
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(1)} ms`;
}

/** The frame as text lines (no control characters). */
export function renderTop(f: TopFrame): string[] {
  const rows = f.rows ?? 10;
  const byState = new Map<string, number>();
  const byFunction = new Map<string, Map<string, number>>();
  for (const g of f.live) {
    byState.set(g.state, (byState.get(g.state) ?? 0) + 1);
    const fn = g.function ?? '?';
    let m = byFunction.get(fn);
    if (!m) byFunction.set(fn, (m = new Map()));
    m.set(g.state, (m.get(g.state) ?? 0) + 1);
  }
  const others = [...byState.keys()].filter((s) => !(STATES as readonly string[]).includes(s));
  const columns = [...STATES.filter((s) => byState.has(s) || s === 'running' || s === 'runnable' || s === 'waiting'), ...others];
  const lines: string[] = [];
  lines.push(`${f.title}  —  ${f.live.length} goroutines, ${f.transitions} transitions, ${f.lost} lost`);
  lines.push(columns.map((s) => `${s} ${byState.get(s) ?? 0}`).join('   '));
  lines.push('');
  lines.push(`${'START FUNCTION'.padEnd(44)} ${'TOTAL'.padStart(6)} ${columns.map((s) => s.toUpperCase().padStart(10)).join('')}`);
  const fns = [...byFunction]
    .map(([fn, m]) => ({ fn, m, n: [...m.values()].reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.n - a.n || (a.fn < b.fn ? -1 : 1));
  for (const { fn, m, n } of fns.slice(0, rows)) {
    lines.push(
      `${fn.length > 44 ? `…${fn.slice(-43)}` : fn.padEnd(44)} ${String(n).padStart(6)} ${columns.map((s) => String(m.get(s) ?? 0).padStart(10)).join('')}`,
    );
  }
  if (fns.length > rows) lines.push(`… ${fns.length - rows} more functions`);
  lines.push('');
  lines.push(`${'LONGEST WAITERS'.padEnd(16)} ${'WAITING'.padStart(10)}  ${'WHY'.padEnd(24)} START FUNCTION`);
  const waiters = f.live.filter((g) => g.state === 'waiting').sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0));
  for (const g of waiters.slice(0, rows)) {
    const waited = f.now > g.since ? f.now - g.since : 0n;
    lines.push(`${`goroutine ${g.goid}`.padEnd(16)} ${ms(waited).padStart(10)}  ${(g.waitReason ?? '?').padEnd(24)} ${g.function ?? '?'}`);
  }
  if (waiters.length === 0) lines.push('(none waiting)');
  return lines;
}
