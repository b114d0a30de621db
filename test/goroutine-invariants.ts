// Invariants every traced run must satisfy, whatever the Go version: they hold for the real
// runtime, so a violation is the tracer's fault (a transition credited to the wrong goroutine).
import { G_SCAN, GoroutineState, stateName, type GoroutineTransition } from '../src/goroutines/index.js';

const base = (s: number): number => s & ~G_SCAN;

export interface InvariantReport {
  goroutines: number;
  /** "goid: previous new state X, then old state Y". */
  chainBreaks: string[];
  /** "goid: moved after it died". */
  movesAfterDeath: string[];
  /** Goids the program printed that the trace never saw. */
  missing: bigint[];
}

/**
 * Whether a running <-> syscall edge can happen without a casgstatus call. From Go 1.26,
 * reentersyscall and exitsyscall switch the status with their own CompareAndSwap and call
 * casgstatus only when it fails (a _Gscan bit set by the GC, a synctest bubble). So one side of a
 * syscall can be seen and the other not: "running, then syscall → running" is the runtime's own
 * behaviour there, not a transition lost or credited to the wrong goroutine.
 */
function unseenSyscallEdge(goMinor: number, prev: number, old: number): boolean {
  if (goMinor < 26) return false;
  const a = base(prev);
  const b = base(old);
  return (a === GoroutineState.running && b === GoroutineState.syscall) || (a === GoroutineState.syscall && b === GoroutineState.running);
}

/**
 * Per goroutine (pid, goid), in delivery order: each old state equals the previous new state (the
 * _Gscan bit aside, and the unseen syscall edges of Go 1.26 and later); a goroutine that died
 * (X → dead, X not idle) never moves again; every goid in `printed` was traced. Goid 0 (a failed
 * read) is no goroutine and is skipped. `goMinor` is the traced binary's Go 1.x release.
 */
export function checkInvariants(
  transitions: readonly GoroutineTransition[],
  goMinor: number,
  printed: readonly bigint[] = [],
): InvariantReport {
  const last = new Map<string, number>();
  const died = new Set<string>();
  const chainBreaks: string[] = [];
  const movesAfterDeath: string[] = [];
  for (const t of transitions) {
    if (t.goid === 0n) continue;
    const g = `${t.pid}/${t.goid}`;
    if (died.has(g)) movesAfterDeath.push(`${g}: ${stateName(t.oldState)} → ${stateName(t.newState)} after it died`);
    const prev = last.get(g);
    if (prev !== undefined && base(prev) !== base(t.oldState) && !unseenSyscallEdge(goMinor, prev, t.oldState))
      chainBreaks.push(`${g}: previous new state ${stateName(prev)}, then ${stateName(t.oldState)} → ${stateName(t.newState)}`);
    last.set(g, t.newState);
    if (base(t.newState) === GoroutineState.dead && base(t.oldState) !== GoroutineState.idle) died.add(g);
  }
  const goids = new Set([...last.keys()].map((g) => BigInt(g.split('/')[1])));
  return { goroutines: last.size, chainBreaks, movesAfterDeath, missing: printed.filter((g) => !goids.has(g)) };
}
