// Object load: bench/anchors/bpf/many.bpf.c (20 programs, 10 maps) through loadCollection, against
// libbpf's and cilium/ebpf's ELF loaders, verification included. Two rows for ours: loadCollection
// (sync: one program verified after another, as libbpf and cilium do) and loadCollectionAsync
// (programs verified concurrently on libuv's pool). Ours (both modes in one Node process), libbpf
// and cilium each run in a process of their own that stays up (serve mode), and follow one another
// load by load (bench/lib/turns.ts): this machine's speed swings by a third or more from one second
// to the next, and turns of a few milliseconds put all of them under the same second.
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { AnchorSession, field, runAnchor, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { num, rows, type Cell } from '../lib/table.js';
import { takeTurns, type Tally } from '../lib/turns.js';

const ratioText = (a: Cell, b: Cell): string => {
  const x = num(a);
  const y = num(b);
  return x !== undefined && y !== undefined && y > 0 ? `${(x / y).toFixed(2)}×` : '-';
};

type Loader = 'sync' | 'async' | 'libbpf' | 'cilium';

export async function benchLoad(b: AnchorBuild): Promise<void> {
  log('object load');
  const obj = b.objects.many;
  const { t, libbpfFirst } = await loadTurns(b, obj);
  const ours: Record<'sync' | 'async', Cell> = { sync: t.sync.best('ms'), async: t.async.best('ms') };
  const lbBest = t.libbpf.best('ms');
  const kernelBest = t.libbpf.best('kernelMs');
  const medianOf = (side: Loader): string => num(t[side].median('ms'))?.toFixed(2) ?? '-';

  // The first load of a fresh process, ours and libbpf's (the first load of its session): what a program that
  // loads once at start-up waits for. Ours runs in a new Node process each time (same loader flags).
  const firsts: number[] = [];
  const script = fileURLToPath(new URL('../lib/first-load.ts', import.meta.url));
  for (let i = 0; i < 5; i++) {
    const r = runAnchor(process.execPath, [...process.execArgv, script, obj], undefined);
    const ms = num(field(r, 'ms'));
    if (ms !== undefined) firsts.push(ms);
  }
  const firstOurs = firsts.length ? `${median(firsts).toFixed(1)} ms (median of ${firsts.length} fresh processes)` : 'did not run';

  const anchors = `medians libbpf ${medianOf('libbpf')}, cilium ${medianOf('cilium')} ms`;
  const firstLoad = `first load in a fresh process: ours (loadCollection) ${firstOurs}, libbpf ${num(libbpfFirst)?.toFixed(1) ?? '-'} ms (ours includes starting koffi and probing the kernel's BTF features, and runs its JavaScript before the JIT has compiled it)`;
  const common = `bench/anchors/bpf/many.bpf.c; best of ${P.loadRounds} rounds in which ours (sync, async), libbpf and cilium follow one another load by load (in orders where each takes each place, and follows each other, equally often: bench/lib/turns.ts), each in a process of its own that stays up; ours after ${P.loadWarmup} warm-up loads of each mode (the JIT's; the cold load is the first-load figure), each anchor after its first load; medians: of each side's rounds; bpf_object__open_file + bpf_object__load / LoadCollectionSpec + NewCollection load one program after another (verification included); ${firstLoad}`;
  rows.push({
    metric: 'object load, 20 programs + 10 maps',
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    ours: ours.sync,
    libbpf: lbBest,
    cilium: t.cilium.best('ms'),
    note: `${common}; ours: loadCollection (sync: this thread lays out each program's request and a helper thread verifies those laid out already, then both verify the rest, two at once on 2 CPUs, src/syscall/verifier-thread.ts; the anchors load one after another); medians ours ${medianOf('sync')} (async ${medianOf('async')}), ${anchors}`,
  });
  rows.push({
    metric: 'object load, programs verified concurrently',
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    ours: ours.async,
    libbpf: lbBest,
    cilium: t.cilium.best('ms'),
    note: `${common}; ours: loadCollectionAsync (programs handed to libuv's pool as laid out, 8 pending at most, verified ${process.env.UV_THREADPOOL_SIZE ?? 4} at once by its threads on ${availableParallelism()} CPUs; the anchors load one after another as above); medians ours ${medianOf('async')} (sync ${medianOf('sync')}), ${anchors}`,
  });
  rows.push({
    metric: 'object load floor: the kernel in bpf(2)',
    unit: 'ms',
    better: 'lower',
    ours: typeof ours.sync === 'number' && typeof ours.async === 'number' ? Math.min(ours.sync, ours.async) : ours.async,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: "kernel's bpf(2) time", value: kernelBest },
    note: `the physical floor: the time the kernel spends in the ${t.libbpf.values('kernelCalls')?.[0] ?? '?'} bpf(2) calls of libbpf's load (BTF load, map creation, verification; libbpf's feature probes left out), timed around each call in the libbpf anchor's own rounds (bench/anchors/libbpf/load.c), best of its rounds; made one after another, as libbpf makes them, no loader goes below it; libbpf's best ${num(lbBest)?.toFixed(2) ?? '-'} ms is ${ratioText(lbBest, kernelBest)} of it; ours: the better of loadCollection (best ${typeof ours.sync === 'number' ? ours.sync.toFixed(2) : '-'} ms) and loadCollectionAsync (best ${typeof ours.async === 'number' ? ours.async.toFixed(2) : '-'} ms), whose verification of two or more programs at once is what can go below it`,
  });
}

/**
 * Ours, libbpf and cilium each started in serve mode, then P.loadRounds rounds in which our sync
 * load, our async load, libbpf's and cilium's follow one another. Ours warms up first, alone, so
 * that its warm-up loads do not run while an anchor measures; each anchor's first load (libbpf
 * probes the kernel's features in it) stays out of its rounds, as ours' warm-up does, and
 * libbpf's is the first-load figure's. Every session is closed whatever fails; a side that fails
 * keeps its error for its cells.
 */
async function loadTurns(b: AnchorBuild, obj: string): Promise<{ t: Record<Loader, Tally>; libbpfFirst: Cell }> {
  const script = fileURLToPath(new URL('../lib/load-rounds.ts', import.meta.url));
  const ours = AnchorSession.start('ours', process.execPath, [...process.execArgv, script, obj, String(P.loadWarmup)], undefined);
  const sessions = [ours];
  try {
    await ours.ask('ready');
    const libbpf = AnchorSession.start('libbpf', b.libbpf.load, ['serve', obj], b.errors.libbpf);
    const cilium = AnchorSession.start('cilium', b.cilium, ['serve', 'load', obj], b.errors.cilium);
    sessions.push(libbpf, cilium);
    const libbpfFirst = field(await libbpf.ask('load'), 'ms');
    await cilium.ask('load');
    // load-rounds.ts answers a load of one mode that failed as {"failed"}, not {error}: an error would
    // end the session, and with it the other mode's rounds.
    const ourLoad = (mode: 'sync' | 'async') => async (): Promise<AnchorResult> => {
      const res = await ours.ask(mode);
      const failed = (res as Record<string, unknown>).failed;
      return typeof failed === 'string' ? { error: failed } : res;
    };
    const t = await takeTurns(
      { sync: ourLoad('sync'), async: ourLoad('async'), libbpf: () => libbpf.ask('load'), cilium: () => cilium.ask('load') },
      P.loadRounds,
    );
    return { t, libbpfFirst };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}
