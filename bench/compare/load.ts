// Object load: bench/anchors/bpf/many.bpf.c (20 programs, 10 maps) through loadCollection, against
// libbpf's and cilium/ebpf's ELF loaders, verification included. Two rows for ours: loadCollection
// (sync: one program verified after another, as libbpf and cilium do) and loadCollectionAsync
// (programs verified concurrently on libuv's pool). Their rounds alternate, so that the machine's
// noise hits both alike; ours and the anchors take turns of a few rounds each, for the same reason.
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { field, runAnchor, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { num, rows, type Cell } from '../lib/table.js';

const ratioText = (a: Cell, b: Cell): string => {
  const x = num(a);
  const y = num(b);
  return x !== undefined && y !== undefined && y > 0 ? `${(x / y).toFixed(2)}×` : '-';
};

type Mode = 'sync' | 'async';

export async function benchLoad(b: AnchorBuild): Promise<void> {
  log('object load');
  const obj = b.objects.many;
  // Ours in a fresh process, as each anchor: see bench/lib/load-rounds.ts. The three loaders take
  // turns, a few rounds each (P.loadChunks turns), so that a minute when the machine is slower
  // weighs on all of them alike rather than on whichever ran then; each figure is the best round
  // of all its turns, and the median of its turns' medians.
  const roundsScript = fileURLToPath(new URL('../lib/load-rounds.ts', import.meta.url));
  const perTurn = Math.max(1, Math.round(P.loadRounds / P.loadChunks));
  const turns: Record<'ours' | 'libbpf' | 'cilium', AnchorResult[]> = { ours: [], libbpf: [], cilium: [] };
  for (let t = 0; t < P.loadChunks; t++) {
    turns.ours.push(
      runAnchor(process.execPath, [...process.execArgv, roundsScript, obj, String(perTurn), String(P.loadWarmup)], undefined),
    );
    turns.libbpf.push(runAnchor(b.libbpf.load, [obj, String(perTurn)], b.errors.libbpf));
    turns.cilium.push(runAnchor(b.cilium, ['load', obj, String(perTurn)], b.errors.cilium));
  }
  const r = combineTurns(turns.ours);
  const lb = combineTurns(turns.libbpf);
  const cl = combineTurns(turns.cilium);
  // load-rounds.ts reports a mode that failed as a string field ("syncError", "asyncError").
  const failed = (mode: Mode): unknown => (r as Record<string, unknown>)[`${mode}Error`];
  const ourCell = (mode: Mode): Cell => (failed(mode) !== undefined ? { error: String(failed(mode)) } : field(r, `${mode}BestMs`));
  const ours: Record<Mode, Cell> = { sync: ourCell('sync'), async: ourCell('async') };
  const medianOf = (mode: Mode): string => num(field(r, `${mode}MedianMs`))?.toFixed(2) ?? '-';

  // The first load of a fresh process, ours and libbpf's (its warm-up round): what a program that
  // loads once at start-up waits for. Ours runs in a new Node process each time (same loader flags).
  const firsts: number[] = [];
  const script = fileURLToPath(new URL('../lib/first-load.ts', import.meta.url));
  for (let i = 0; i < 5; i++) {
    const r = runAnchor(process.execPath, [...process.execArgv, script, obj], undefined);
    const ms = num(field(r, 'ms'));
    if (ms !== undefined) firsts.push(ms);
  }
  const firstOurs = firsts.length ? `${median(firsts).toFixed(1)} ms (median of ${firsts.length} fresh processes)` : 'did not run';

  const anchors = `medians libbpf ${num(field(lb, 'medianMs'))?.toFixed(2) ?? '-'}, cilium ${num(field(cl, 'medianMs'))?.toFixed(2) ?? '-'} ms`;
  const firstLoad = `first load in a fresh process: ours (loadCollection) ${firstOurs}, libbpf ${num(field(lb, 'firstMs'))?.toFixed(1) ?? '-'} ms (ours includes starting koffi and probing the kernel's BTF features, and runs its JavaScript before the JIT has compiled it)`;
  const common = `bench/anchors/bpf/many.bpf.c; best of ${perTurn * P.loadChunks} rounds, taken in ${P.loadChunks} turns of ${perTurn} in which ours, libbpf and cilium follow one another (figures: the best round of all turns; medians: of the turns' medians); ours: sync and async rounds alternating in a Node process of their own per turn (as each anchor has its own) after ${P.loadWarmup} warm-up loads of each (the JIT's; the cold load is the first-load figure); bpf_object__open_file + bpf_object__load / LoadCollectionSpec + NewCollection load one program after another (verification included); ${firstLoad}`;
  rows.push({
    metric: 'object load, 20 programs + 10 maps',
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    ours: ours.sync,
    libbpf: field(lb, 'bestMs'),
    cilium: field(cl, 'bestMs'),
    note: `${common}; ours: loadCollection (sync: this thread lays out each program's request and a helper thread verifies those laid out already, then both verify the rest, two at once on 2 CPUs, src/syscall/verifier-thread.ts; the anchors load one after another); medians ours ${medianOf('sync')} (async ${medianOf('async')}), ${anchors}`,
  });
  rows.push({
    metric: 'object load, programs verified concurrently',
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    ours: ours.async,
    libbpf: field(lb, 'bestMs'),
    cilium: field(cl, 'bestMs'),
    note: `${common}; ours: loadCollectionAsync (programs handed to libuv's pool as laid out, 8 pending at most, verified ${process.env.UV_THREADPOOL_SIZE ?? 4} at once by its threads on ${availableParallelism()} CPUs; the anchors load one after another as above); medians ours ${medianOf('async')} (sync ${medianOf('sync')}), ${anchors}`,
  });
  rows.push({
    metric: 'object load floor: the kernel in bpf(2)',
    unit: 'ms',
    better: 'lower',
    ours: typeof ours.sync === 'number' && typeof ours.async === 'number' ? Math.min(ours.sync, ours.async) : ours.async,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: "kernel's bpf(2) time", value: field(lb, 'kernelBestMs') },
    note: `the physical floor: the time the kernel spends in the ${num(field(lb, 'kernelCalls')) ?? '?'} bpf(2) calls of libbpf's load (BTF load, map creation, verification; libbpf's feature probes left out), timed around each call in the libbpf anchor's own rounds (bench/anchors/libbpf/load.c), best of its rounds; made one after another, as libbpf makes them, no loader goes below it; libbpf's best ${num(field(lb, 'bestMs'))?.toFixed(2) ?? '-'} ms is ${ratioText(field(lb, 'bestMs'), field(lb, 'kernelBestMs'))} of it; ours: the better of loadCollection (best ${typeof ours.sync === 'number' ? ours.sync.toFixed(2) : '-'} ms) and loadCollectionAsync (best ${typeof ours.async === 'number' ? ours.async.toFixed(2) : '-'} ms), whose verification of two or more programs at once is what can go below it`,
  });
}

/**
 * One result from several turns of the same loader: the least of each best (`bestMs`,
 * `...BestMs`), the median of each median (`medianMs`, `...MedianMs`), the first turn's other
 * figures. A turn's error, or an `...Error` field of any turn, stays one in the whole, as it
 * would have been in a single run.
 */
function combineTurns(results: AnchorResult[]): AnchorResult {
  const failedTurn = results.find((x) => 'error' in x);
  if (failedTurn !== undefined) return failedTurn;
  const all = results as Record<string, number | string>[];
  const out: Record<string, number | string> = { ...all[0] };
  for (const key of Object.keys(out)) {
    const values = all.map((x) => x[key]);
    if (values.some((v) => typeof v === 'string')) {
      out[key] = values.find((v) => typeof v === 'string') as string;
      continue;
    }
    const numbers = values.filter((v): v is number => typeof v === 'number');
    if (/(^b|B)estMs$/.test(key)) out[key] = Math.min(...numbers);
    else if (/(^m|M)edianMs$/.test(key)) out[key] = median(numbers);
  }
  return out as AnchorResult;
}
