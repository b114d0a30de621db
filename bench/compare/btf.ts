// Kernel BTF: parse /sys/kernel/btf/vmlinux and find a type by name, against libbpf and cilium/ebpf.
import { readFileSync } from 'node:fs';
import { loadKernelBtf } from '../../src/features/index.js';
import { parseBtf } from '../../src/btf/index.js';
import { field, runAnchor, type AnchorBuild } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { num, rows } from '../lib/table.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

export function benchBtf(b: AnchorBuild): void {
  log('kernel BTF');
  const ms: number[] = [];
  const readMs: number[] = [];
  let types = 0;
  for (let r = -1; r < P.btfRounds; r++) {
    const t0 = process.hrtime.bigint();
    const btf = loadKernelBtf();
    const t = btf.findType('task_struct', 'struct');
    const t1 = process.hrtime.bigint();
    if (!t) throw new Error('task_struct not found');
    types = btf.count;
    // The same through read(2), as libbpf reads the file.
    if (!parseBtf(readFileSync(VMLINUX)).findType('task_struct', 'struct')) throw new Error('task_struct not found');
    const t2 = process.hrtime.bigint();
    if (r >= 0) {
      ms.push(Number(t1 - t0) / 1e6);
      readMs.push(Number(t2 - t1) / 1e6);
    }
  }
  const lb = runAnchor(b.libbpf.btf, [String(P.btfRounds)], b.errors.libbpf);
  const cl = runAnchor(b.cilium, ['btf', String(P.btfRounds)], b.errors.cilium);
  rows.push({
    metric: `kernel BTF parse + find (${types.toLocaleString('en')} types)`,
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    ours: Math.min(...ms),
    libbpf: field(lb, 'bestMs'),
    cilium: field(cl, 'bestMs'),
    note:
      `best of ${P.btfRounds}; loadKernelBtf (one private mapping of the sysfs file) + findType('task_struct', 'struct') / btf__load_vmlinux_btf + btf__find_by_name_kind / btf.LoadSpec + TypeByName; ` +
      `ours through readFileSync + parseBtf instead: best ${Math.min(...readMs).toFixed(2)} ms; ` +
      `medians ours ${median(ms).toFixed(2)}, libbpf ${num(field(lb, 'medianMs'))?.toFixed(2) ?? '-'} ms`,
  });
}
