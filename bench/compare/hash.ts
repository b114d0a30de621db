// Single hash map operations through the public API (BpfMap.lookup, lookupInto, update) and a batch
// lookup, against libbpf and cilium/ebpf; and the floor: a raw bpf(2) loop in C (the libbpf anchor
// measures it beside its own calls), what a lookup costs with no library at all.
import { BpfMap } from '../../src/index.js';
import { AnchorSession, field, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, measure, P } from '../lib/measure.js';
import { rows } from '../lib/table.js';

export async function benchHash(b: AnchorBuild): Promise<void> {
  log('hash map');
  // The anchors stay up (serve mode: each makes and fills its map once) and every measurement is a
  // step in which ours, libbpf and cilium follow one another, a short budget each (P.hashTurns
  // turns of every step): this machine's speed swings by a third from one second to the next, and
  // implementations measured seconds apart would be compared under different machines. The first
  // in a step changes from turn to turn. Each figure is the best round of all its turns.
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
  // Buffers made once and reused, as the libbpf anchor's static arrays: each call reads the whole
  // map (done, so the next call starts from the first entry again).
  const batch = m.batchBuffers(10_000);
  let k = 0;
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
  const ours = { lookup: Infinity, lookupInto: Infinity, update: Infinity, batch: Infinity };
  const nextKey = (): Buffer => {
    key.writeUInt32LE(k++ % 10_000);
    return key;
  };
  // Each step: ours (a function giving ns/op) and the anchors' commands, whose answers' fields are
  // kept at their best.
  const steps: { ours: [keyof typeof ours, () => number]; libbpf: string[]; cilium: string[] }[] = [
    {
      ours: ['lookup', () => measure(() => void m.lookup(nextKey()), budgetMs)],
      libbpf: [`lookup ${budgetMs}`],
      cilium: [`lookup ${budgetMs}`],
    },
    {
      ours: ['lookupInto', () => measure(() => void m.lookupInto(nextKey(), out), budgetMs)],
      libbpf: [`lookup ${budgetMs}`, `raw ${budgetMs}`],
      cilium: [`lookupUnsafe ${budgetMs}`],
    },
    {
      ours: ['update', () => measure(() => m.update(nextKey(), value), budgetMs)],
      libbpf: [`update ${budgetMs}`],
      cilium: [`update ${budgetMs}`],
    },
    { ours: ['batch', batchRound], libbpf: [`batch ${batchRounds}`], cilium: [`batch ${batchRounds}`] },
  ];
  const anchors = {
    libbpf: {
      session: AnchorSession.start('libbpf hashmap', b.libbpf.hashmap, ['serve'], b.errors.libbpf),
      best: {} as Record<string, number>,
    },
    cilium: {
      session: AnchorSession.start('cilium hashmap', b.cilium, ['serve', 'hashmap'], b.errors.cilium),
      best: {} as Record<string, number>,
    },
  };
  try {
    for (let t = 0; t < turns; t++) {
      for (const step of steps) {
        const sides = [
          async () => {
            const [name, run] = step.ours;
            ours[name] = Math.min(ours[name], run());
          },
          ...(['libbpf', 'cilium'] as const).map((who) => async () => {
            const { session, best } = anchors[who];
            for (const command of step[who]) {
              const res = await session.ask(command);
              if ('error' in res) return;
              for (const [f, v] of Object.entries(res)) best[f] = Math.min(best[f] ?? Infinity, v);
            }
          }),
        ];
        for (let i = 0; i < sides.length; i++) await sides[(t + i) % sides.length]!();
      }
    }
  } finally {
    await Promise.all([anchors.libbpf.session.close(), anchors.cilium.session.close()]);
  }
  const resultOf = ({ session, best }: { session: AnchorSession; best: Record<string, number> }): AnchorResult =>
    session.failed !== undefined ? { error: session.failed } : best;
  const lb = resultOf(anchors.libbpf);
  const cl = resultOf(anchors.cilium);
  const common = `HASH, 8-byte key, 24-byte value, 10,000 entries; best round of 2,000 ops over ${turns} turns of ${budgetMs} ms each; in every turn ours, libbpf and cilium follow one another operation by operation (the anchors stay up between turns, serve mode)`;
  rows.push({
    metric: 'hash lookup',
    unit: 'ns/op',
    better: 'lower',
    target: 1.5,
    ours: ours.lookup,
    libbpf: field(lb, 'lookupNs'),
    cilium: field(cl, 'lookupNs'),
    note: `${common}; BpfMap.lookup (new Buffer per result) / bpf_map_lookup_elem / Map.Lookup([]byte, *[]byte) (allocates too)`,
  });
  rows.push({
    metric: 'hash lookup, into a reused buffer',
    unit: 'ns/op',
    better: 'lower',
    target: 1.3,
    ours: ours.lookupInto,
    libbpf: field(lb, 'lookupNs'),
    cilium: field(cl, 'lookupUnsafeNs'),
    note: `${common}; BpfMap.lookupInto(key, out) (allocates nothing) / bpf_map_lookup_elem / Map.Lookup(key, unsafe.Pointer)`,
  });
  rows.push({
    metric: 'hash update',
    unit: 'ns/op',
    better: 'lower',
    target: 1.5,
    ours: ours.update,
    libbpf: field(lb, 'updateNs'),
    cilium: field(cl, 'updateNs'),
    note: `${common}; BPF_ANY on existing keys; BpfMap.update on raw Buffers / bpf_map_update_elem / Map.Put([]byte, []byte)`,
  });
  rows.push({
    metric: 'hash lookup floor: raw bpf(2) in C',
    unit: 'ns/op',
    better: 'lower',
    ours: ours.lookupInto,
    libbpf: undefined,
    cilium: undefined,
    otherAnchor: { name: 'raw syscall', value: field(lb, 'rawLookupNs') },
    note: `${common}; the physical floor: syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM) in a C loop on an attr filled once (bench/anchors/libbpf/hashmap.c, same run as the libbpf column above); ours: BpfMap.lookupInto`,
  });
  rows.push({
    metric: 'batch lookup, 10,000 entries',
    unit: 'ns/entry',
    better: 'lower',
    target: 1.0,
    ours: ours.batch,
    libbpf: field(lb, 'batchNsPerEntry'),
    cilium: field(cl, 'batchNsPerEntry'),
    note: `one BPF_MAP_LOOKUP_BATCH of 10,000, best of ${batchRounds * turns} (${turns} turns of ${batchRounds}, taken as above); lookupBatchInto into batchBuffers(10,000) made once (the kernel writes into them; nothing allocated or copied per call) / bpf_map_lookup_batch (static buffers) / BatchLookup into []uint64, []struct{A,B,C uint64} (reflection decode)`,
  });
}
