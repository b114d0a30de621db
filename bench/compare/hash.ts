// Single hash map operations through the public API (BpfMap.lookup, lookupInto, update) and a batch
// lookup, against libbpf and cilium/ebpf; and the floor: a raw bpf(2) loop in C (the libbpf anchor
// measures it beside its own calls), what a lookup costs with no library at all.
import { BpfMap } from '../../src/index.js';
import { field, runAnchor, type AnchorBuild } from '../lib/anchors.js';
import { log, measure, P } from '../lib/measure.js';
import { rows } from '../lib/table.js';

export function benchHash(b: AnchorBuild): void {
  log('hash map');
  const ours: Record<string, number> = {};
  {
    using m = BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 10_000, name: 'bench' });
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(24, 7);
    const out = Buffer.alloc(24);
    for (let i = 0; i < 10_000; i++) {
      key.writeBigUInt64LE(BigInt(i));
      m.update(key, value);
    }
    let k = 0;
    ours.lookup = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      m.lookup(key);
    });
    ours.lookupInto = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      m.lookupInto(key, out);
    });
    ours.update = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      m.update(key, value);
    });
    // Buffers made once and reused, as the libbpf anchor's static arrays: each call reads the whole
    // map (done, so the next call starts from the first entry again).
    const batch = m.batchBuffers(10_000);
    let best = Infinity;
    for (let r = 0; r < P.batchRounds; r++) {
      const t0 = process.hrtime.bigint();
      const got = m.lookupBatchInto(batch);
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== 10_000 || !batch.done) throw new Error(`batch returned ${got}, done ${batch.done}`);
      best = Math.min(best, ns / got);
    }
    ours.batch = best;
  }
  const args = [String(P.budgetMs), String(P.batchRounds)];
  const lb = runAnchor(b.libbpf.hashmap, args, b.errors.libbpf);
  const cl = runAnchor(b.cilium, ['hashmap', ...args], b.errors.cilium);
  const common = `HASH, 8-byte key, 24-byte value, 10,000 entries; best round of 2,000 ops, ${P.budgetMs} ms`;
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
    note: `one BPF_MAP_LOOKUP_BATCH of 10,000, best of ${P.batchRounds}; lookupBatchInto into batchBuffers(10,000) made once (the kernel writes into them; nothing allocated or copied per call) / bpf_map_lookup_batch (static buffers) / BatchLookup into []uint64, []struct{A,B,C uint64} (reflection decode)`,
  });
}
