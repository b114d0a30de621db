// Credits each transition to the goroutine it belongs to, whatever the runtime's order of
// operations. A goroutine is born on a g taken from the free list: idle → dead for a new g, then
// dead → runnable (or → waiting for a parked coroutine). Before Go 1.24 newproc1 makes the g
// runnable first and assigns the goid after, so the probe reads 0 or the goid of the g's previous,
// dead goroutine. Go 1.24 moved the assignment before the casgstatus ("Get a goid and switch to
// runnable", with the new tracer's traceAcquire). Either way the next transition of the same g
// carries the new goid: births are held per g address and released with that goid.
import { GoroutineState, G_SCAN, type GoroutineTransition } from './record.js';

const IDLE = GoroutineState.idle;
const DEAD = GoroutineState.dead;

function base(state: number): number {
  return state & ~G_SCAN;
}

/** A transition that takes a g off the free list (or a new g onto it): its goid is not yet known. */
export function isBirth(t: GoroutineTransition): boolean {
  const from = base(t.oldState);
  return from === IDLE || (from === DEAD && base(t.newState) !== DEAD);
}

/** Holds each goroutine birth until the next transition of the same g gives its goid, then emits the transitions with the goid filled in. */
export class GoroutineAttribution {
  /**
   * True from Go 1.24: a birth's own record already carries the new goid, so a birth still held
   * at the end (a goroutine created but never scheduled while traced) can be given it.
   */
  readonly #goidBeforeBirth: boolean;
  /**
   * Births per process, then per g address (as a number: user-space addresses fit in 53 bits),
   * waiting for the goid their g carries next. Numbers, not "pid:gp" strings: this lookup runs
   * for every record, and a string key costs a BigInt formatting and a string hash each time.
   */
  readonly #held = new Map<number, Map<number, GoroutineTransition[]>>();
  /** The last process looked up and its births (a trace is usually of one process). */
  #pid = -1;
  #ofPid: Map<number, GoroutineTransition[]> | undefined;
  /** Transitions released at the end without a goid to give them (their g never moved again). */
  unattributed = 0;

  /** `goidAssignedBeforeBirth`: true from Go 1.24, where the birth record already carries the new goid. */
  constructor(options: { goidAssignedBeforeBirth: boolean }) {
    this.#goidBeforeBirth = options.goidAssignedBeforeBirth;
  }

  /** Delivers `t` (and any births of its g held so far) to `emit`, in per-goroutine order. */
  push(t: GoroutineTransition, emit: (t: GoroutineTransition) => void): void {
    this.pushAt(t, Number(t.gp), isBirth(t), emit);
  }

  /**
   * push() for a caller that already has `t.gp` as a number (`gp`) and knows whether `t` is a
   * birth (isBirth), as the tracer does from the record's words without BigInt arithmetic.
   */
  pushAt(t: GoroutineTransition, gp: number, birth: boolean, emit: (t: GoroutineTransition) => void): void {
    let ofPid = this.#ofPid;
    if (t.pid !== this.#pid || ofPid === undefined) {
      ofPid = this.#held.get(t.pid);
      if (ofPid === undefined) this.#held.set(t.pid, (ofPid = new Map()));
      this.#pid = t.pid;
      this.#ofPid = ofPid;
    }
    const held = ofPid.size === 0 ? undefined : ofPid.get(gp);
    if (birth) {
      if (held) held.push(t);
      else ofPid.set(gp, [t]);
      return;
    }
    if (held) {
      ofPid.delete(gp);
      for (const h of held) {
        h.goid = t.goid;
        emit(h);
      }
    }
    emit(t);
  }

  /** Births still held. */
  get pending(): number {
    let n = 0;
    for (const ofPid of this.#held.values()) for (const h of ofPid.values()) n += h.length;
    return n;
  }

  /**
   * Ends the trace. Births whose g never moved again: from Go 1.24 their record's goid is the
   * goroutine's own and they are delivered; before, it is 0 or a dead goroutine's, so they are
   * counted in `unattributed`, not guessed.
   */
  flush(emit: (t: GoroutineTransition) => void): void {
    for (const ofPid of this.#held.values()) {
      for (const held of ofPid.values()) {
        for (const h of held) {
          if (this.#goidBeforeBirth && h.goid !== 0n) emit(h);
          else this.unattributed++;
        }
      }
    }
    this.#held.clear();
    this.#pid = -1;
    this.#ofPid = undefined;
  }
}
