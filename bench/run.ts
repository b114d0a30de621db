// Micro-benchmarks of the syscall layer (FFI ns per call) and the library. Run as root: npm run bench:micro [-- --quick] [-- --json]
// Figures are per operation on this machine; compare runs side by side, not across machines.
import { cpus, release } from 'node:os';
import { BpfMap } from '../src/maps/index.js';
import { libc, syscall3Raw, SYS_BPF } from '../src/syscall/libc.js';
import { Epoll } from '../src/syscall/epoll.js';
import { NativeMemory } from '../src/syscall/memory.js';
import { benchRingBuffer } from './ringbuf.js';
import { benchGoroutines } from './goroutines.js';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { parseBtf } from '../src/btf/index.js';
import { loadCollection, loadCollectionSpec } from '../src/loader/index.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const budgetMs = quick ? 300 : 2000;

interface Result {
  name: string;
  value: number;
  unit: string;
  note: string;
}
const results: Result[] = [];

/** Runs `op` in rounds until the time budget is spent; reports the best round's ns per op. */
function measure(name: string, note: string, op: () => void, opsPerCall = 1): void {
  for (let i = 0; i < 2000; i++) op(); // warm up the JIT
  let best = Infinity;
  const end = Date.now() + budgetMs;
  while (Date.now() < end) {
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op();
    const ns = Number(process.hrtime.bigint() - t0) / (n * opsPerCall);
    best = Math.min(best, ns);
  }
  results.push({ name, value: best, unit: 'ns/op', note });
}

// FFI (koffi) call overhead, through the same wrappers the library uses. Each figure includes the
// system call itself (getpid and close(-1) are among the cheapest the kernel has).
measure('ffi call: getpid() (0 args)', 'libc wrapper, fixed prototype', () => libc.getpid());
measure('ffi call: close(-1) (1 arg, fails)', 'errno read from the thread-local slot', () => libc.close(-1));
measure('ffi call: bpf(invalid cmd) (4 args)', 'syscall(2) path the bpf commands use', () => syscall3Raw(SYS_BPF, 9999, 0, 0));

// Hash map: 8-byte key, 24-byte value, as in the comparison benchmarks.
const m = BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 10_000, name: 'bench' });
const key = Buffer.alloc(8);
const value = Buffer.alloc(24, 7);
for (let i = 0; i < 10_000; i++) {
  key.writeBigUInt64LE(BigInt(i));
  m.update(key, value);
}
let k = 0;
const out = Buffer.alloc(24);
measure('map lookup (BpfMap.lookupInto, hash 8B key/24B value)', 'one bpf() call, value copied into a reused buffer, no allocation', () => {
  key.writeUInt32LE(k++ % 10_000);
  m.lookupInto(key, out);
});
measure('map lookup (BpfMap.lookup, Buffer out)', 'adds a fresh Buffer per result', () => {
  key.writeUInt32LE(k++ % 10_000);
  m.lookup(key);
});
measure('map update (BpfMap.update)', 'BPF_ANY on existing keys', () => {
  key.writeUInt32LE(k++ % 10_000);
  m.update(key, value);
});
const batchRounds = quick ? 20 : 200;
{
  let best = Infinity;
  for (let r = 0; r < batchRounds; r++) {
    const t0 = process.hrtime.bigint();
    const got = m.lookupBatchRaw(10_000);
    const ns = Number(process.hrtime.bigint() - t0) / got.count;
    if (got.count !== 10_000) throw new Error(`batch returned ${got.count}`);
    best = Math.min(best, ns);
  }
  results.push({
    name: 'batch lookup, 10,000 entries',
    value: best,
    unit: 'ns/entry',
    note: 'one BPF_MAP_LOOKUP_BATCH call, raw keys and values',
  });
}
m.close();

{
  // Wake latency of an epoll wait (koffi's async call on libuv's pool): from the write that makes
  // an eventfd readable to the wait's promise resolving on this thread. Median of the rounds.
  const ep = new Epoll();
  const efd = libc.eventfd(0, 0x80000 | 0x800);
  ep.add(efd, 1);
  const mem = new NativeMemory(16);
  mem.buffer.writeBigUInt64LE(1n, 0);
  const lat: number[] = [];
  for (let i = 0; i < (quick ? 50 : 200); i++) {
    const p = ep.wait(1000);
    await new Promise((r) => setTimeout(r, 2));
    const t0 = process.hrtime.bigint();
    libc.write(efd, mem.address, 8);
    if ((await p)[0] !== 1) throw new Error('epoll: the eventfd was not reported');
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    libc.read(efd, mem.address + 8, 8);
  }
  ep.close();
  libc.close(efd);
  mem.free();
  lat.sort((a, b) => a - b);
  results.push({
    name: 'epoll wake latency',
    value: lat[lat.length >> 1],
    unit: 'us',
    note: `eventfd write -> Epoll.wait resolves, median of ${lat.length}`,
  });
}

for (const size of [16, 128]) {
  const r = await benchRingBuffer(size, quick);
  results.push({
    name: `ring buffer drain, ${size}-byte records`,
    value: r.drainRecordsPerSec,
    unit: 'rec/s',
    note: 'reader alone, records in place, ring filled by testRun',
  });
  results.push({
    name: `ring buffer live, ${size}-byte records`,
    value: r.liveRecordsPerSec,
    unit: 'rec/s',
    note: `dd producer via tracepoint, epoll wake-ups; ${r.liveReceived} received, ${r.liveDropped} dropped (ring full)`,
  });
}

{
  // Kernel BTF: read + parse + the first lookup by name (which builds the name index).
  const rounds = quick ? 5 : 20;
  const parse: number[] = [];
  const lookup: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const btf = parseBtf(readFileSync('/sys/kernel/btf/vmlinux'));
    const t1 = process.hrtime.bigint();
    if (!btf.findType('task_struct', 'struct')) throw new Error('no task_struct');
    const t2 = process.hrtime.bigint();
    parse.push(Number(t1 - t0) / 1e6);
    lookup.push(Number(t2 - t0) / 1e6);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  results.push({ name: 'kernel BTF: read + parse', value: med(parse), unit: 'ms', note: `/sys/kernel/btf/vmlinux, median of ${rounds}` });
  results.push({
    name: 'kernel BTF: parse + first lookup by name',
    value: med(lookup),
    unit: 'ms',
    note: 'findType builds the name index lazily',
  });
  // A clang object with many programs and maps: parse, relocate, create maps, verify every program.
  const bytes = readFileSync('bpf/collection.o');
  const spec = loadCollectionSpec(bytes);
  const load: number[] = [];
  // One map is pinned by name: give it a bpffs directory of its own, removed afterwards.
  const pinPath = `/sys/fs/bpf/ebpf-bench-${process.pid}`;
  mkdirSync(pinPath, { recursive: true });
  try {
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      rmSync(pinPath, { recursive: true, force: true });
      mkdirSync(pinPath);
      const t0 = process.hrtime.bigint();
      const c = loadCollection(bytes, { pinPath });
      load.push(Number(process.hrtime.bigint() - t0) / 1e6);
      c.close();
    }
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
  results.push({
    name: 'load bpf/collection.o',
    value: med(load),
    unit: 'ms',
    note: `${Object.keys(spec.programs).length} programs, ${Object.keys(spec.maps).length} maps; ELF + relocation + BTF + verification, median`,
  });
}

{
  const g = await benchGoroutines(quick);
  results.push({ name: 'Go program, untraced', value: g.untracedMs, unit: 'ms', note: '50 goroutines x rounds, no probe (median)' });
  results.push({
    name: 'Go program, traced by ebpf',
    value: g.ours.slowdown,
    unit: 'x slower',
    note: `${g.ours.ms.toFixed(0)} ms, ${g.ours.events} events, ${g.ours.lost} lost`,
  });
  if ('error' in (g.bpftrace ?? { error: 'not run' })) {
    results.push({ name: 'Go program, traced by bpftrace', value: NaN, unit: '', note: (g.bpftrace as { error: string }).error });
  } else {
    const b = g.bpftrace as { ms: number; slowdown: number; events: number; lost: number };
    results.push({
      name: 'Go program, traced by bpftrace',
      value: b.slowdown,
      unit: 'x slower',
      note: `${b.ms.toFixed(0)} ms, ${b.events} events, ${b.lost} lost; ours/bpftrace = ${(g.ours.slowdown / b.slowdown).toFixed(2)}`,
    });
  }
}

if (json) {
  console.log(
    JSON.stringify(
      { machine: { cpu: cpus()[0]?.model, cores: cpus().length, kernel: release(), node: process.version }, results },
      null,
      2,
    ),
  );
} else {
  console.log(
    `ebpf micro-benchmarks (${quick ? 'quick' : 'full'}), ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, Linux ${release()}, Node ${process.version}\n`,
  );
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(w)}  ${(r.value < 100 ? r.value.toFixed(2) : r.value.toFixed(0)).padStart(9)} ${r.unit.padEnd(8)}  ${r.note}`,
    );
}
