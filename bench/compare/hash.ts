// Single hash map operations through the public API (BpfMap.lookup, lookupInto, update) and a batch
// lookup, against libbpf and cilium/ebpf; and the floor: a raw bpf(2) loop in C (the libbpf anchor
// measures it beside its own calls), what a lookup costs with no library at all.
import { BpfMap } from '../../src/index.js';
import { AnchorSession, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, measure, P } from '../lib/measure.js';
import { rows } from '../lib/table.js';
import { takeTurns, type Tally } from '../lib/turns.js';

export async function benchHash(b: AnchorBuild): Promise<void> {
  log('hash map');
  // The anchors stay up (serve mode: each makes and fills its map once), and each operation is a
  // step in which ours, libbpf and cilium follow one another with a short budget each, for
  // P.hashTurns turns (bench/lib/turns.ts): this machine's speed swings by a third from one second
  // to the next, and implementations measured seconds apart would be compared under different
  // machines. Each figure is the best round of all its turns, against the anchors' best in the same
  // step.
  const turns = P.hashTurns;
  const budgetMs = Math.round(P.budgetMs / turns);
  const batchRounds = Math.ceil(P.batchRounds / turns);
  using m = BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 10_000, name: 'bench' });
  const key = Buffer.alloc(8);
  const value = Buffer.alloc(24, 7);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 10_000; i++) {
    key.writeBigUInt64LE(BigInt(i));
    m.update(key, value);
  }
  let k = 0;
  const nextKey = (): Buffer => {
    key.writeUInt32LE(k++ % 10_000);
    return key;
  };
  // Buffers made once and reused, as the libbpf anchor's static arrays: each call reads the whole
  // map (done, so the next call starts from the first entry again).
  const batch = m.batchBuffers(10_000);
  const batchRound = (): number => {
    let best = Infinity;
    for (let r = 0; r < batchRounds; r++) {
      const t0 = process.hrtime.bigint();
      const got = m.lookupBatchInto(batch);
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== 10_000 || !batch.done) throw new Error(`batch returned ${got}, done ${batch.done}`);
      best = Math.min(best, ns / got);
    }
    return best;
  };
  const libbpf = AnchorSession.start('libbpf hashmap', b.libbpf.hashmap, ['serve'], b.errors.libbpf);
  const cilium = AnchorSession.start('cilium hashmap', b.cilium, ['serve', 'hashmap'], b.errors.cilium);
  // One step: ours (ns per op) and the anchors' commands, whose answers are merged.
  const step = (ours: () => number, lbCommands: string[], clCommands: string[]): Promise<Record<'ours' | 'libbpf' | 'cilium', Tally>> =>
    takeTurns(
      {
        ours: async () => ({ ns: ours() }),
        libbpf: () => askAll(libbpf, lbCommands),
        cilium: () => askAll(cilium, clCommands),
      },
      turns,
    );
  let lookup, lookupInto, update, batchLookup;
  try {
    lookup = await step(() => measure(() => void m.lookup(nextKey()), budgetMs), [`lookup ${budgetMs}`], [`lookup ${budgetMs}`]);
    lookupInto = await step(
      () => measure(() => void m.lookupInto(nextKey(), out), budgetMs),
      [`lookup ${budgetMs}`, `raw ${budgetMs}`],
      [`lookupUnsafe ${budgetMs}`],
    );
    update = await step(() => measure(() => m.update(nextKey(), value), budgetMs), [`update ${budgetMs}`], [`update ${budgetMs}`]);
    batchLookup = await step(batchRound, [`batch ${batchRounds}`], [`batch ${batchRounds}`]);
  } finally {
    await Promise.all([libbpf.close(), cilium.close()]);
  }
  const common = `HASH, 8-byte key, 24-byte value, 10,000 entries; best round of 2,000 ops over ${turns} turns of ${budgetMs} ms each, in which ours, libbpf and cilium follow one another (each operation a step of its own; orders as in bench/lib/turns.ts; the anchors stay up, serve mode)`;
  rows.push({
    metric: 'hash lookup',
    unit: 'ns/op',
    better: 'lower',
    target: 1.5,
    ours: lookup.ours.best('ns'),
    libbpf: lookup.libbpf.best('lookupNs'),
    cilium: lookup.cilium.best('lookupNs'),
    note: `${common}; BpfMap.lookup (new Buffer per result) / bpf_map_lookup_elem / Map.Lookup([]byte, *[]byte) (allocates too)`,
  });
  rows.push({
    metric: 'hash lookup, into a reused buffer',
    unit: 'ns/op',
    better: 'lower',
    target: 1.3,
    ours: lookupInto.ours.best('ns'),
    libbpf: lookupInto.libbpf.best('lookupNs'),
    cilium: lookupInto.cilium.best('lookupUnsafeNs'),
    note: `${common}; BpfMap.lookupInto(key, out) (allocates nothing) / bpf_map_lookup_elem / Map.Lookup(key, unsafe.Pointer)`,
  });
  rows.push({
    metric: 'hash update',
    unit: 'ns/op',
    better: 'lower',
    target: 1.5,
    ours: update.ours.best('ns'),
    libbpf: update.libbpf.best('updateNs'),
    cilium: update.cilium.best('updateNs'),
    note: `${common}; BPF_ANY on existing keys; BpfMap.update on raw Buffers / bpf_map_update_elem / Map.Put([]byte, []byte)`,
  });
  rows.push({
    metric: 'hash lookup floor: raw bpf(2) in C',
    unit: 'ns/op',
    better: 'lower',
    ours: lookupInto.ours.best('ns'),
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'raw syscall', value: lookupInto.libbpf.best('rawLookupNs') },
    note: `${common}; the physical floor: syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM) in a C loop on an attr filled once (bench/anchors/libbpf/hashmap.c, right after its lookups in each turn of the lookupInto step); ours: BpfMap.lookupInto`,
  });
  rows.push({
    metric: 'batch lookup, 10,000 entries',
    unit: 'ns/entry',
    better: 'lower',
    target: 1.0,
    ours: batchLookup.ours.best('ns'),
    libbpf: batchLookup.libbpf.best('batchNsPerEntry'),
    cilium: batchLookup.cilium.best('batchNsPerEntry'),
    note: `one BPF_MAP_LOOKUP_BATCH of 10,000, best of ${batchRounds * turns} (${turns} turns of ${batchRounds}, taken as above); lookupBatchInto into batchBuffers(10,000) made once (the kernel writes into them; nothing allocated or copied per call) / bpf_map_lookup_batch (static buffers) / BatchLookup into []uint64, []struct{A,B,C uint64} (reflection decode)`,
  });
}

/** Asks a session each command in turn; their answers merged, or the first error. */
async function askAll(session: AnchorSession, commands: string[]): Promise<AnchorResult> {
  let all: Record<string, number> = {};
  for (const command of commands) {
    const res = await session.ask(command);
    if ('error' in res) return res;
    all = { ...all, ...res };
  }
  return all;
}
