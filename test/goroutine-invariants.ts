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
 * Per goroutine (pid, goid), in delivery order: each old state equals the previous new state (the
 * _Gscan bit aside); a goroutine that died (X → dead, X not idle) never moves again; every goid in
 * `printed` was traced. Goid 0 (a failed read) is no goroutine and is skipped.
 */
export function checkInvariants(transitions: readonly GoroutineTransition[], printed: readonly bigint[] = []): InvariantReport {
  const last = new Map<string, number>();
  const died = new Set<string>();
  const chainBreaks: string[] = [];
  const movesAfterDeath: string[] = [];
  for (const t of transitions) {
    if (t.goid === 0n) continue;
    const g = `${t.pid}/${t.goid}`;
    if (died.has(g)) movesAfterDeath.push(`${g}: ${stateName(t.oldState)} → ${stateName(t.newState)} after it died`);
    const prev = last.get(g);
    if (prev !== undefined && base(prev) !== base(t.oldState))
      chainBreaks.push(`${g}: previous new state ${stateName(prev)}, then ${stateName(t.oldState)} → ${stateName(t.newState)}`);
    last.set(g, t.newState);
    if (base(t.newState) === GoroutineState.dead && base(t.oldState) !== GoroutineState.idle) died.add(g);
  }
  const goids = new Set([...last.keys()].map((g) => BigInt(g.split('/')[1])));
  return { goroutines: last.size, chainBreaks, movesAfterDeath, missing: printed.filter((g) => !goids.has(g)) };
}
