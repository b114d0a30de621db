// Our object loads in a process of their own that stays up, as each anchor's does (serve mode,
// bench/lib/anchors.ts AnchorSession): what earlier benchmarks of a run left in the bench process
// (a grown heap, mapped rings, pool threads) does not weigh on them, and bench/compare/load.ts can
// have ours and the anchors take turns load by load. First `warmup` loads of each mode, which let
// the JIT compile the loader (the cold first load is measured apart: first-load.ts); then one load
// per command.
//   node --import tsx bench/lib/load-rounds.ts <object.o> <warmup>
//   ready         -> {"warmupMs": …} once the warm-up is done
//   sync | async  -> {"ms": …}: one loadCollection | loadCollectionAsync
// A mode whose load failed (in the warm-up or later) answers {"failed": "…"} from then on rather
// than {"error"}: an error ends the whole session (AnchorSession), and the other mode still measures.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadCollection, loadCollectionAsync, type Collection } from '../../src/loader/index.js';

const [obj, warmupArg] = process.argv.slice(2);
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

const failed: Partial<Record<Mode, string>> = {};
/** One load of `mode`, its time; undefined when it failed (now or before: failed[mode] says why). */
const tryOnce = async (mode: Mode): Promise<number | undefined> => {
  if (failed[mode] !== undefined) return undefined;
  try {
    return await once(mode);
  } catch (e) {
    failed[mode] = `ours (${mode}): ${(e as Error).message.split('\n')[0]}`;
    return undefined;
  }
};

const t0 = process.hrtime.bigint();
for (const mode of ['sync', 'async'] as const) for (let i = 0; i < warmup; i++) await tryOnce(mode);
const warmupMs = Number(process.hrtime.bigint() - t0) / 1e6;

const answer = (x: object): void => console.log(JSON.stringify(x));
for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  if (command === '') continue;
  if (command === 'ready') answer({ warmupMs });
  else if (command === 'sync' || command === 'async') {
    const ms = await tryOnce(command);
    answer(ms !== undefined ? { ms } : { failed: failed[command] });
  } else {
    answer({ error: `unknown command ${command}` });
    process.exit(2);
  }
}
