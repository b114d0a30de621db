// Single hash map operations through the public API (BpfMap.lookup, lookupInto, update) and a batch
// lookup, against libbpf and cilium/ebpf; and the floor: a raw bpf(2) loop in C (the libbpf anchor
// measures it beside its own calls), what a lookup costs with no library at all.
import { BpfMap } from '../../src/index.js';
import { field, runAnchor, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, measure, P } from '../lib/measure.js';
import { rows } from '../lib/table.js';

export function benchHash(b: AnchorBuild): void {
  log('hash map');
  // Ours, libbpf and cilium take turns (P.hashTurns), each a share of the budget per turn, so that
  // a minute when the machine is slower weighs on all of them alike rather than on whichever ran
  // then; each figure is the best round of all its turns.
  const turns = P.hashTurns;
  const budgetMs = Math.round(P.budgetMs / turns);
  const batchRounds = Math.ceil(P.batchRounds / turns);
  const ours = { lookup: Infinity, lookupInto: Infinity, update: Infinity, batch: Infinity };
  const lbTurns: AnchorResult[] = [];
  const clTurns: AnchorResult[] = [];
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
  for (let t = 0; t < turns; t++) {
    const best = (name: keyof typeof ours, ns: number): void => void (ours[name] = Math.min(ours[name], ns));
    best(
      'lookup',
      measure(() => {
        key.writeUInt32LE(k++ % 10_000);
        m.lookup(key);
      }, budgetMs),
    );
    best(
      'lookupInto',
      measure(() => {
        key.writeUInt32LE(k++ % 10_000);
        m.lookupInto(key, out);
      }, budgetMs),
    );
    best(
      'update',
      measure(() => {
        key.writeUInt32LE(k++ % 10_000);
        m.update(key, value);
      }, budgetMs),
    );
    for (let r = 0; r < batchRounds; r++) {
      const t0 = process.hrtime.bigint();
      const got = m.lookupBatchInto(batch);
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== 10_000 || !batch.done) throw new Error(`batch returned ${got}, done ${batch.done}`);
      best('batch', ns / got);
    }
    const args = [String(budgetMs), String(batchRounds)];
    lbTurns.push(runAnchor(b.libbpf.hashmap, args, b.errors.libbpf));
    clTurns.push(runAnchor(b.cilium, ['hashmap', ...args], b.errors.cilium));
  }
  const lb = bestOfTurns(lbTurns);
  const cl = bestOfTurns(clTurns);
  const common = `HASH, 8-byte key, 24-byte value, 10,000 entries; best round of 2,000 ops over ${turns} turns of ${budgetMs} ms each, in which ours, libbpf and cilium follow one another`;
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

/** The anchor's turns as one result: each figure (all are best-round ns) the least over the turns; a failed turn fails it. */
function bestOfTurns(results: AnchorResult[]): AnchorResult {
  const failed = results.find((r) => 'error' in r);
  if (failed !== undefined) return failed;
  const all = results as Record<string, number>[];
  const out: Record<string, number> = {};
  for (const key of Object.keys(all[0])) out[key] = Math.min(...all.map((r) => r[key]));
  return out;
}
