// Our object load rounds in a process of their own, as each anchor has its own: what earlier
// benchmarks of a run left in the bench process (a grown heap, mapped rings, pool threads) does
// not weigh on them. Sync and async rounds alternate, after `warmup` loads of each that let the
// JIT compile the loader (the cold first load is measured apart: first-load.ts).
//   node --import tsx bench/lib/load-rounds.ts <object.o> <rounds> <warmup>
//   prints {"syncBestMs", "syncMedianMs", "asyncBestMs", "asyncMedianMs"} or {"syncError"/"asyncError"}
import { readFileSync } from 'node:fs';
import { loadCollection, loadCollectionAsync, type Collection } from '../../src/loader/index.js';

const [obj, roundsArg, warmupArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const warmup = Number(warmupArg);
type Mode = 'sync' | 'async';
const once = async (mode: Mode): Promise<number> => {
  const t0 = process.hrtime.bigint();
  // Reading the file included, as in bpf_object__open_file.
  const c: Collection = mode === 'sync' ? loadCollection(readFileSync(obj)) : await loadCollectionAsync(readFileSync(obj));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  const n = [Object.keys(c.programs).length, Object.keys(c.maps).length];
  c.close();
  if (n[0] !== 20 || n[1] !== 10) throw new Error(`${mode}: loaded ${n[0]} programs and ${n[1]} maps, expected 20 and 10`);
  return elapsed;
};
const ms: Record<Mode, number[]> = { sync: [], async: [] };
const errors: Partial<Record<Mode, string>> = {};
for (const mode of ['sync', 'async'] as const) {
  try {
    for (let i = 0; i < warmup; i++) await once(mode);
  } catch (e) {
    errors[mode] = `ours (${mode}): ${(e as Error).message.split('\n')[0]}`;
  }
}
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 === 0 ? (['sync', 'async'] as const) : (['async', 'sync'] as const)) {
    if (errors[mode] !== undefined) continue;
    try {
      ms[mode].push(await once(mode));
    } catch (e) {
      errors[mode] = `ours (${mode}): ${(e as Error).message.split('\n')[0]}`;
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out: Record<string, number | string> = {};
for (const mode of ['sync', 'async'] as const) {
  if (errors[mode] !== undefined) out[`${mode}Error`] = errors[mode];
  else {
    out[`${mode}BestMs`] = Math.min(...ms[mode]);
    out[`${mode}MedianMs`] = median(ms[mode]);
  }
}
console.log(JSON.stringify(out));
