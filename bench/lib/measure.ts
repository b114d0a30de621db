// How the comparison benchmarks measure: the run's parameters (full or --quick) and the best-round
// timer shared by the single-operation benchmarks (bench/run.ts measures the same way).

export const quick = process.argv.includes('--quick');

export const P = quick
  ? {
      // One cycle of the orders (bench/lib/turns.ts): each side takes each place once.
      drainRounds: { ring: 4, perf: 4 },
      liveWrites: 300_000,
      liveRounds: 1,
      budgetMs: 300,
      batchRounds: 20,
      hashTurns: 2,
      btfRounds: 5,
      loadRounds: 8,
      loadWarmup: 20,
    }
  : {
      // Drain rounds in which ours (pollBatch, pollRaw), libbpf and cilium take turns (bench/compare/
      // records.ts), in cycles of 4 (bench/lib/turns.ts). Each round fills the ring four times, and
      // the fills are the cost: perf rings ~1.5 s with 16 B records, ~0.35 s with 128 B (12 rounds
      // make as many fills as the earlier 3 runs x (4 + 4 ours, 4 libbpf, 4 cilium) rounds of a
      // process each, and take as long); the ring buffer's 30-65 ms, so it takes many more rounds
      // for a few seconds (2026-12-07).
      drainRounds: { ring: 32, perf: 12 },
      liveWrites: 1_000_000,
      liveRounds: 3,
      budgetMs: 2000,
      batchRounds: 200,
      hashTurns: 16,
      btfRounds: 20,
      // Multiples of 4: the four loaders' orders repeat every 4 rounds (bench/lib/turns.ts williams).
      loadRounds: 40,
      // V8 reaches its steady state on the loader only after a hundred loads or more: in a fresh
      // process the median sync load of many.bpf.o was 10.2 ms at loads 30-45, 9.5 at 100-115 and
      // 6.5 at 250-265 (async 11.1, 7.2, 5.7; 2026-12-07). The cold load has a row of its own.
      loadWarmup: 150,
    };

export const log = (s: string): void => console.error(s);

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Best round's ns/op over rounds of 2,000 calls of `op`, until the budget is spent. */
export function measure(op: () => void, budgetMs = P.budgetMs): number {
  for (let i = 0; i < 2000; i++) op();
  let best = Infinity;
  const end = Date.now() + budgetMs;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) op();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 2000);
  }
  return best;
}
