// Drain speed of the readers against libbpf's, alone: the drain rows of bench/compare.ts without
// the live rounds, the other benchmarks or the table, so that a change to a reader's loops can be
// measured in a few minutes. Run as root:
//   npx tsx bench/drain.ts [--rounds=N] [--runs=N] [--only=ring16,ring128,perf16,perf128] [--old=./old-readers]
// Each run alternates, per case, the libbpf anchor (bench/anchors/libbpf/drain.c: N drain rounds)
// and our reader (N rounds of pollBatch and N of pollRaw), so machine noise hits both alike; it
// prints each run's best-of-rounds figures and their ratio, then the best over runs. Both sides
// time each drain twice: by the wall clock (as compare.ts) and by the draining thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID), which a loaded machine's preemptions do not inflate.
// Ours loads the producers from the same clang object (records.bpf.o) with loadCollection.
import { spawnSync } from 'node:child_process';
import { loadCollection } from '../src/loader/index.js';
import { RingBufferReader as NewRing, type RecordBatch } from '../src/ringbuf.js';
import { PerfEventArrayReader as NewPerf } from '../src/perf.js';
import { NativeMemory, syscall3Raw } from '../src/syscall/index.js';
import { buildAnchors } from './anchors/build.js';

/** This thread's CPU time in ns: clock_gettime(CLOCK_THREAD_CPUTIME_ID) as a raw syscall. */
const SYS_CLOCK_GETTIME = process.arch === 'x64' ? 228 : process.arch === 'arm64' ? 113 : -1;
const timespec = new NativeMemory(16);
function threadCpuNs(): number {
  if (SYS_CLOCK_GETTIME < 0) {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  }
  if (syscall3Raw(SYS_CLOCK_GETTIME, 3, timespec.address, 0) !== 0) throw new Error('clock_gettime failed');
  return Number(timespec.buffer.readBigInt64LE(0)) * 1e9 + Number(timespec.buffer.readBigInt64LE(8));
}

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const ROUNDS = Number(arg('rounds', '4'));
const RUNS = Number(arg('runs', '3'));
const CASES = arg('only', 'ring16,ring128,perf16,perf128').split(',');
// --old=<dir>: also run the readers of an older tree (a copy of its src/readers under bench/, with
// its imports pointed at src/), alternating with the current ones: before/after in the same run.
const OLD = process.argv.find((a) => a.startsWith('--old='))?.slice(6);
type Readers = { RingBufferReader: typeof NewRing; PerfEventArrayReader: typeof NewPerf };
const versions: [string, Readers][] = [['ours', { RingBufferReader: NewRing, PerfEventArrayReader: NewPerf }]];
if (OLD) versions.push(['old', (await import(new URL(`${OLD}/index.ts`, import.meta.url).href)) as Readers]);
const RING_SIZE = 16 << 20; // as in records.bpf.c and the anchors

interface Figures {
  batch: number;
  raw: number;
  batchCpu: number;
  rawCpu: number;
}

function ours(readers: Readers, obj: string, kind: 'ring' | 'perf', size: number): Figures {
  const { RingBufferReader, PerfEventArrayReader } = readers;
  const name = `xdp_${kind}_${size}`;
  using coll = loadCollection(obj, { programs: [name] });
  const xdp = coll.programs[name];
  // fillOffsets: false (both readers): a strided batch (records of one length back to back) fills
  // only offsets[0] and lengths[0]; the callback steps by batch.stride (older readers ignore it).
  const ringReader = kind === 'ring' ? new RingBufferReader(coll.maps.ring, { fillOffsets: false }) : undefined;
  const perfReader =
    kind === 'perf' ? new PerfEventArrayReader(coll.maps.events, { pagesPerCpu: RING_SIZE / 4096, fillOffsets: false }) : undefined;
  // The per-record work of compare.ts: add the record's u32 at byte 8 to a checksum.
  let checksum = 0;
  const onBatch = (batch: RecordBatch): void => {
    const { words, offsets, count, stride } = batch;
    let sum = 0;
    if (stride > 0) {
      // Records of one length back to back: step through them (older readers have no stride).
      const step = stride >>> 2;
      for (let i = 0, k = (offsets[0] >>> 2) + 2; i < count; i++, k += step) sum += words[k];
    } else for (let i = 0; i < count; i++) sum += words[(offsets[i] >>> 2) + 2];
    checksum += sum;
  };
  let rawData: Buffer | undefined;
  let rawWords: Uint32Array = new Uint32Array(0);
  const onRaw = (data: Buffer, offset: number): void => {
    if (data !== rawData) {
      rawData = data;
      rawWords = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    }
    checksum += rawWords[(offset >>> 2) + 2];
  };
  const onPerfRaw = (_cpu: number, data: Buffer, offset: number): void => onRaw(data, offset);
  const apis = {
    batch: ringReader ? () => ringReader.pollBatch(onBatch) : () => perfReader!.pollBatch(onBatch),
    raw: ringReader ? () => ringReader.pollRaw(onRaw) : () => perfReader!.pollRaw(onPerfRaw),
  };
  try {
    const perRecord = kind === 'perf' ? (8 + 4 + size + 7) & ~7 : (8 + size + 7) & ~7;
    const n = Math.floor((RING_SIZE * 0.9) / perRecord);
    const best = { batch: Infinity, raw: Infinity };
    const bestCpu = { batch: Infinity, raw: Infinity };
    for (let r = 0; r < 2 * ROUNDS; r++) {
      const api = r % 2 === 0 ? 'batch' : 'raw';
      const discard = (): void => undefined;
      xdp.testRun({
        data: Buffer.alloc(64),
        repeat: n,
        reset: () => void (ringReader ? ringReader.pollRaw(discard) : perfReader!.pollRaw(discard)),
      });
      checksum = 0;
      const t0 = process.hrtime.bigint();
      const c0 = threadCpuNs();
      const got = apis[api]();
      const cpu = threadCpuNs() - c0;
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== n || checksum !== 8 * n) throw new Error(`${api}: ${got} records of ${n}, checksum ${checksum}`);
      best[api] = Math.min(best[api], ns / n);
      bestCpu[api] = Math.min(bestCpu[api], cpu / n);
    }
    return { batch: 1e9 / best.batch, raw: 1e9 / best.raw, batchCpu: 1e9 / bestCpu.batch, rawCpu: 1e9 / bestCpu.raw };
  } finally {
    ringReader?.close();
    perfReader?.close();
  }
}

function libbpf(bin: string, obj: string, kind: string, size: number): { wall: number; cpu: number } {
  const r = spawnSync(bin, [obj, kind, String(size), String(ROUNDS)], { encoding: 'utf8', timeout: 5 * 60_000 });
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`libbpf anchor: exit ${r.status}: ${r.stderr}`);
  const j = JSON.parse(line) as { wallRecordsPerSec?: number; cpuRecordsPerSec?: number; error?: string };
  if (j.error || !j.wallRecordsPerSec || !j.cpuRecordsPerSec) throw new Error(`libbpf anchor: ${line}`);
  return { wall: j.wallRecordsPerSec, cpu: j.cpuRecordsPerSec };
}

const b = buildAnchors((l) => console.error(l));
const obj = b.objects.records;
const bin = b.libbpf.drain;
if (!obj || !bin) throw new Error(`anchors not built: ${JSON.stringify(b.errors)}`);
const M = (x: number): string => `${(x / 1e6).toFixed(1)} M`;
const bests = new Map<string, number>();
const keep = (key: string, x: number): void => void bests.set(key, Math.max(bests.get(key) ?? 0, x));
for (let run = 0; run < RUNS; run++) {
  for (const c of CASES) {
    const kind = c.startsWith('ring') ? 'ring' : 'perf';
    const size = Number(c.slice(4));
    const l = libbpf(bin, obj, kind, size);
    keep(`${c} libbpf wall`, l.wall);
    keep(`${c} libbpf cpu`, l.cpu);
    const parts = [`libbpf wall ${M(l.wall)} cpu ${M(l.cpu)}`];
    for (const [name, readers] of versions) {
      const o = ours(readers, obj, kind, size);
      const wall = Math.max(o.batch, o.raw);
      const cpu = Math.max(o.batchCpu, o.rawCpu);
      keep(`${c} ${name} wall`, wall);
      keep(`${c} ${name} cpu`, cpu);
      parts.push(
        `${name} wall ${M(o.batch)}/${M(o.raw)} ${(wall / l.wall).toFixed(2)}x, cpu ${M(o.batchCpu)}/${M(o.rawCpu)} ${(cpu / l.cpu).toFixed(2)}x`,
      );
    }
    console.log(`run ${run} ${c}: ${parts.join(' | ')}`);
  }
}
console.log('best over runs (ours: the faster of pollBatch and pollRaw; ratio to libbpf):');
for (const c of CASES) {
  const parts: string[] = [];
  for (const clock of ['wall', 'cpu']) {
    const l = bests.get(`${c} libbpf ${clock}`)!;
    parts.push(
      `${clock}: libbpf ${M(l)} ${versions.map(([name]) => `${name} ${M(bests.get(`${c} ${name} ${clock}`)!)} ${(bests.get(`${c} ${name} ${clock}`)! / l).toFixed(2)}x`).join(' ')}`,
    );
  }
  console.log(`best ${c}: ${parts.join(' | ')}`);
}
