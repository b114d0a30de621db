// Object load: bench/anchors/bpf/many.bpf.c (20 programs, 10 maps) through loadCollection, against
// libbpf's and cilium/ebpf's ELF loaders, verification included.
import { readFileSync } from 'node:fs';
import { loadCollection } from '../../src/index.js';
import { field, runAnchor, type AnchorBuild } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { num, rows, type Cell } from '../lib/table.js';

let loadMedian: number | undefined;

export function benchLoad(b: AnchorBuild): void {
  log('object load');
  const obj = b.objects.many;
  let ours: Cell;
  try {
    const ms: number[] = [];
    for (let r = -1; r < P.loadRounds; r++) {
      const t0 = process.hrtime.bigint();
      const c = loadCollection(readFileSync(obj)); // reading the file included, as in bpf_object__open_file
      const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
      const n = [Object.keys(c.programs).length, Object.keys(c.maps).length];
      c.close();
      if (n[0] !== 20 || n[1] !== 10) throw new Error(`loaded ${n[0]} programs and ${n[1]} maps, expected 20 and 10`);
      if (r >= 0) ms.push(elapsed);
    }
    ours = Math.min(...ms);
    loadMedian = median(ms);
  } catch (e) {
    ours = { error: `ours: ${(e as Error).message.split('\n')[0]}` };
  }
  const lb = runAnchor(b.libbpf.load, [obj, String(P.loadRounds)], b.errors.libbpf);
  const cl = runAnchor(b.cilium, ['load', obj, String(P.loadRounds)], b.errors.cilium);
  rows.push({
    metric: 'object load, 20 programs + 10 maps', unit: 'ms', better: 'lower', target: 1.0,
    ours, libbpf: field(lb, 'bestMs'), cilium: field(cl, 'bestMs'),
    note: `bench/anchors/bpf/many.bpf.c; best of ${P.loadRounds}; loadCollection / bpf_object__open_file + bpf_object__load / LoadCollectionSpec + NewCollection (verification included); ` +
      `medians ours ${loadMedian?.toFixed(2) ?? '-'}, libbpf ${num(field(lb, 'medianMs'))?.toFixed(2) ?? '-'}, cilium ${num(field(cl, 'medianMs'))?.toFixed(2) ?? '-'} ms`,
  });
}

