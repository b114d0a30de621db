// Implementations taking turns one operation at a time, each asking its own long-lived process
// (AnchorSession) for one measured operation per round. This machine's speed swings by a third or
// more from one second to the next; turns of a few milliseconds put every side under the same
// second, where turns of whole runs compared them under different machines.
import type { AnchorResult } from './anchors.js';
import { median } from './measure.js';
import type { Cell } from './table.js';

/** One side's answers over the rounds: each numeric field's values, or the error that ended it. */
export class Tally {
  readonly #values = new Map<string, number[]>();
  #error: string | undefined;

  get error(): string | undefined {
    return this.#error;
  }

  add(res: AnchorResult): void {
    if ('error' in res) {
      this.#error ??= String(res.error);
      return;
    }
    for (const [key, v] of Object.entries(res)) {
      if (typeof v !== 'number') continue;
      const xs = this.#values.get(key);
      if (xs) xs.push(v);
      else this.#values.set(key, [v]);
    }
  }

  /** Every round's value of `key`, in the order taken. */
  values(key: string): number[] | undefined {
    return this.#values.get(key);
  }

  /** The least value of `key` (the best round's, for times), or the side's error. */
  best(key: string): Cell {
    return this.#figure(key, (xs) => Math.min(...xs));
  }

  /** The greatest value of `key` (the best round's, for rates), or the side's error. */
  highest(key: string): Cell {
    return this.#figure(key, (xs) => Math.max(...xs));
  }

  /** The median of `key` over the rounds, or the side's error. */
  median(key: string): Cell {
    return this.#figure(key, median);
  }

  #figure(key: string, of: (xs: number[]) => number): Cell {
    if (this.#error !== undefined) return { error: this.#error };
    const xs = this.#values.get(key);
    return xs?.length ? of(xs) : { error: `no ${key}` };
  }
}

/**
 * `rounds` rounds in each of which every side is asked once, one after another, in the orders of
 * a balanced Latin square (williams; rounds a multiple of its rows keep the balance): each side
 * takes each place alike and, within a round, follows each other side directly alike, so that what
 * one side leaves behind (its caches, its threads or garbage collector still winding down) weighs
 * on every other alike. A side that answered an error is not asked again; its tally keeps it.
 */
export async function takeTurns<S extends string>(
  sides: Record<S, () => Promise<AnchorResult>>,
  rounds: number,
): Promise<Record<S, Tally>> {
  const names = Object.keys(sides) as S[];
  const tallies = Object.fromEntries(names.map((s) => [s, new Tally()])) as Record<S, Tally>;
  const orders = williams(names.length);
  for (let r = 0; r < rounds; r++) {
    for (const i of orders[r % orders.length]) {
      const side = names[i];
      if (tallies[side].error === undefined) tallies[side].add(await sides[side]());
    }
  }
  return tallies;
}

/**
 * Orders of n sides (Williams' design): the first row 0, 1, n-1, 2, n-2, ..., each next row the
 * one before plus one (mod n); for odd n the rows reversed too. Every side takes every place once
 * per n rows, and directly follows every other side equally often (once per n rows for even n,
 * twice per 2n rows for odd n); a plain rotation would keep the same neighbours in every round.
 */
function williams(n: number): number[][] {
  const first = [0];
  for (let k = 1, lo = 1, hi = n - 1; k < n; k++) first.push(k % 2 === 1 ? lo++ : hi--);
  const rows = first.map((_, i) => first.map((x) => (x + i) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}
