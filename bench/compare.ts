// Side-by-side benchmarks: this library against libbpf (C) and cilium/ebpf (Go), on the same machine
// in the same run. Run as root: npx tsx bench/compare.ts [--quick] [--only=ring,perf,hash,btf,load,goroutines]
//
// The anchors are small programs in bench/anchors, built here from source (bench/anchors/build.ts,
// cached by source hash) against Debian's libbpf-dev and golang-github-cilium-ebpf-dev. Every
// anchor prints one JSON line. The producers of the ring buffer and perf benchmarks are one clang
// object (bench/anchors/bpf/records.bpf.c) that all three load: libbpf and cilium through their ELF
// loaders, this library by taking each program's instructions out of the same object (ElfFile +
// decodeInstructions, map relocations bound to maps created with the object's specs) — the same
// bytecode. Implementations run one after another per benchmark, interleaved, so machine noise
// hits all alike. Prints one table and writes it to bench/results.md with the machine's description.
import { spawnSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  attachTracepoint, BpfMap, decodeInstructions, ElfFile, loadKernelBtf, parseBtf, PerfEventArrayReader, possibleCpus, Program,
  RingBufferReader, slotOffsets, type Instruction, type ProgramTypeName, type RecordBatch,
} from '../src/index.js';
import { mapElemRaw } from '../src/syscall/bpf.js';
import { BpfCommand } from '../src/uapi/bpf.js';
import { buildAnchors, type AnchorBuild } from './anchors/build.js';
import { benchGoroutines } from './goroutines.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const wanted = (name: string): boolean => !only || only.includes(name);

const P = quick
  ? { drainRounds: 3, liveWrites: 300_000, liveRounds: 1, budgetMs: 300, batchRounds: 20, btfRounds: 5, loadRounds: 5 }
  : { drainRounds: 4, liveWrites: 1_000_000, liveRounds: 3, budgetMs: 2000, batchRounds: 200, btfRounds: 20, loadRounds: 20 };
const RING_SIZE = 16 << 20; // the ring buffer, and each CPU's perf buffer
const VMLINUX = '/sys/kernel/btf/vmlinux';

// ---- results ---------------------------------------------------------------------------------

type Cell = number | { error: string } | undefined;
interface Row {
  metric: string;
  unit: string;
  /** 'higher' when more is better (records/s), 'lower' for times. */
  better: 'higher' | 'lower';
  ours: Cell;
  libbpf: Cell;
  cilium: Cell;
  /** Ratio ours / best anchor must be >= (higher) or <= (lower) this; undefined: no target. */
  target?: number;
  /** An extra condition for "met" (for example: no records lost that the anchor kept). */
  extra?: { ok: boolean; text: string };
  note: string;
  /** Name of the anchor when it is neither libbpf nor cilium (bpftrace), shown in the notes. */
  otherAnchor?: { name: string; value: Cell };
}
const rows: Row[] = [];
const log = (s: string): void => console.error(s);

const num = (c: Cell): number | undefined => (typeof c === 'number' && Number.isFinite(c) ? c : undefined);
const errorOf = (c: Cell): string | undefined => (c !== undefined && typeof c === 'object' ? c.error : undefined);

function bestAnchor(r: Row): { name: string; value: number } | undefined {
  const cands: { name: string; value: number }[] = [];
  if (num(r.libbpf) !== undefined) cands.push({ name: 'libbpf', value: num(r.libbpf)! });
  if (num(r.cilium) !== undefined) cands.push({ name: 'cilium', value: num(r.cilium)! });
  if (r.otherAnchor && num(r.otherAnchor.value) !== undefined) cands.push({ name: r.otherAnchor.name, value: num(r.otherAnchor.value)! });
  if (!cands.length) return undefined;
  return cands.reduce((a, b) => ((r.better === 'higher' ? b.value > a.value : b.value < a.value) ? b : a));
}

// ---- anchors ---------------------------------------------------------------------------------

/** Runs an anchor binary and parses its last JSON line. */
function runAnchor(bin: string | undefined, args: string[], missing: string | undefined): Record<string, number> | { error: string } {
  if (!bin) return { error: missing ?? 'not built' };
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { error: `${bin.split('/').pop()} ${args[0] ?? ''}: exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}` };
  try {
    return JSON.parse(line) as Record<string, number> | { error: string };
  } catch {
    return { error: `unparsable output: ${line}` };
  }
}

const field = (res: Record<string, number> | { error: string }, key: string): Cell =>
  'error' in res ? { error: String(res.error) } : typeof res[key] === 'number' ? res[key] : { error: `no ${key}` };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- our side: the producers, loaded from the shared object ----------------------------------

const BPF_PSEUDO_MAP_FD = 1;

/**
 * The instructions of one program (a FUNC symbol) in a clang object, with its map relocations
 * turned into named map references: the same bytecode libbpf and cilium load, bound to our maps.
 * (Stands in for the ELF object loader, src/loader, for this object: no subprograms, no global
 * data, no CO-RE, only map relocations.)
 */
function programFromObject(elf: ElfFile, name: string): { section: string; instructions: Instruction[] } {
  const sym = elf.symbols().find((s) => s.name === name && s.type === 2 /* STT_FUNC */);
  if (!sym || !sym.section) throw new Error(`no program ${name} in the object`);
  const data = elf.sectionData(sym.section).subarray(sym.value, sym.value + sym.size);
  const insns = decodeInstructions(data);
  const slots = slotOffsets(insns);
  const bySlot = new Map(slots.map((s, i) => [s, i]));
  for (const rs of elf.relocationSectionsFor(sym.section)) {
    for (const rel of elf.relocations(rs)) {
      if (rel.offset < sym.value || rel.offset >= sym.value + sym.size) continue;
      const i = bySlot.get((rel.offset - sym.value) / 8);
      if (i === undefined || !rel.symbol) throw new Error(`${name}: relocation at ${rel.offset} is not on an instruction`);
      if (rel.symbol.section !== '.maps') throw new Error(`${name}: relocation against ${rel.symbol.name} in ${rel.symbol.section}: only map references are handled`);
      insns[i] = { ...insns[i], src: BPF_PSEUDO_MAP_FD, reference: rel.symbol.name };
    }
  }
  return { section: sym.section, instructions: insns };
}

interface RecordsResult {
  /** Records per second draining a filled ring: the faster of pollBatch and pollRaw, and each. */
  drain: number;
  drainBatch: number;
  drainRaw: number;
  live: number;
  received: number;
  lost: number;
}

/** Our ELF object loader (src/loader), when it exists in this tree. */
type LoadCollection = (source: string | Uint8Array, options?: { programs?: readonly string[] }) => {
  programs: Record<string, Program>;
  maps: Record<string, BpfMap<unknown, unknown>>;
  close(): void;
};
const LOADER = join(ROOT, 'src/loader/index.ts');
async function ourLoader(): Promise<LoadCollection | undefined> {
  // EBPF_BENCH_NO_LOADER=1 forces the fallback below (the object's instructions without the loader).
  if (!existsSync(LOADER) || process.env.EBPF_BENCH_NO_LOADER) return undefined;
  const mod = (await import(pathToFileURL(LOADER).href)) as { loadCollection?: LoadCollection };
  return typeof mod.loadCollection === 'function' ? mod.loadCollection : undefined;
}
/** How our side got the producers: recorded for the notes. */
let oursProducers = '';

async function oursRecords(objPath: string, kind: 'ring' | 'perf', size: number): Promise<RecordsResult> {
  const xdpName = `xdp_${kind}_${size}`;
  const tpName = `tp_${kind}_${size}`;
  const loadCollection = await ourLoader();
  let coll: ReturnType<LoadCollection> | undefined;
  let own: { close(): void }[] = [];
  let ring: BpfMap<unknown, unknown>, events: BpfMap<unknown, unknown>, stats: BpfMap<unknown, unknown>, xdp: Program, tp: Program;
  if (loadCollection) {
    // The object through our ELF loader, the two programs only (as the anchors do).
    coll = loadCollection(objPath, { programs: [xdpName, tpName] });
    ({ ring, events, stats } = coll.maps);
    xdp = coll.programs[xdpName];
    tp = coll.programs[tpName];
    oursProducers = 'ours loads records.bpf.o with loadCollection (src/loader)';
  } else {
    // No loader yet: the same instructions taken out of the object, bound to maps created with the
    // object's definitions.
    const elf = ElfFile.parse(readFileSync(objPath));
    ring = BpfMap.create({ type: 'RINGBUF', maxEntries: RING_SIZE, name: 'ring' });
    events = BpfMap.create({ type: 'PERF_EVENT_ARRAY', keySize: 4, valueSize: 4, maxEntries: possibleCpus(), name: 'events' });
    stats = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'stats' });
    const maps = { ring, events, stats };
    const load = (name: string, type: ProgramTypeName): Program =>
      Program.load({ type, instructions: programFromObject(elf, name).instructions, maps, name, license: 'GPL' });
    xdp = load(xdpName, 'XDP');
    tp = load(tpName, 'TRACEPOINT');
    own = [tp, xdp, stats, events, ring];
    oursProducers = 'ours: no src/loader yet, so the programs\' instructions are taken out of records.bpf.o (ElfFile + decodeInstructions) and bound to maps created with its definitions';
  }
  const statKey = (i: number): Buffer => Buffer.from([i, 0, 0, 0]);
  // Raw element calls: the loader gives the maps BTF codecs, and the anchors write raw bytes too.
  const setStat = (i: number, v: bigint): void => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    const ret = mapElemRaw(BpfCommand.MAP_UPDATE_ELEM, stats.fd, statKey(i), b, null, 0);
    if (ret < 0) throw new Error(`stats update: errno ${-ret}`);
  };
  const statValue = Buffer.alloc(8);
  const getStat = (i: number): number => {
    mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, stats.fd, statKey(i), null, statValue, 0);
    return Number(statValue.readBigUInt64LE());
  };
  try {
    return await consume(kind, size, ring, events, xdp, tp, setStat, getStat);
  } finally {
    coll?.close();
    for (const o of own) o.close();
  }
}

async function consume(
  kind: 'ring' | 'perf', size: number, ring: BpfMap<unknown, unknown>, events: BpfMap<unknown, unknown>, xdp: Program, tp: Program,
  setStat: (i: number, v: bigint) => void, getStat: (i: number) => number,
): Promise<RecordsResult> {
  const ringReader = kind === 'ring' ? new RingBufferReader(ring) : undefined;
  const perfReader = kind === 'perf' ? new PerfEventArrayReader(events, { pagesPerCpu: RING_SIZE / 4096 }) : undefined;
  // The per-record work, the same in the anchors: add the record's 32-bit word at byte 8 (8 in
  // every record of records.bpf.c) to a checksum, checked below.
  let checksum = 0;
  // pollBatch: a batch of offsets into the mapped ring (or a perf CPU's ring) at a time.
  const onBatch = (batch: RecordBatch): void => {
    const { words, offsets, count } = batch;
    let sum = 0;
    for (let i = 0; i < count; i++) sum += words[(offsets[i] >>> 2) + 2];
    checksum += sum;
  };
  // pollRaw: one callback per record with its buffer (the ring, a perf CPU's ring or the copy of a
  // wrapped sample) and offset; the buffer's words are made once per buffer.
  let rawData: Buffer | undefined;
  let rawWords: Uint32Array = new Uint32Array(0);
  const wordsOf = (data: Buffer): Uint32Array => {
    rawData = data;
    rawWords = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    return rawWords;
  };
  const onRaw = (data: Buffer, offset: number): void => {
    checksum += (data === rawData ? rawWords : wordsOf(data))[(offset >>> 2) + 2];
  };
  const onPerfRaw = (_cpu: number, data: Buffer, offset: number): void => onRaw(data, offset);
  const apis = {
    pollBatch: ringReader ? () => ringReader.pollBatch(onBatch) : () => perfReader!.pollBatch(onBatch),
    pollRaw: ringReader ? () => ringReader.pollRaw(onRaw) : () => perfReader!.pollRaw(onPerfRaw),
  };
  const wait = ringReader ? (ms: number) => ringReader.wait(ms) : (ms: number) => perfReader!.wait(ms);
  try {
    // Drain: fill with BPF_PROG_TEST_RUN, time the reader alone; best round of each API (the
    // rounds alternate between them, drainRounds each).
    const perRecord = kind === 'perf' ? (8 + 4 + size + 7) & ~7 : (8 + size + 7) & ~7;
    const n = Math.floor((RING_SIZE * 0.9) / perRecord);
    const best = { pollBatch: Infinity, pollRaw: Infinity };
    for (let r = 0; r < 2 * P.drainRounds; r++) {
      const api = r % 2 === 0 ? 'pollBatch' : 'pollRaw';
      // A signal (a child's SIGCHLD) can interrupt the fill: the records of the interrupted run are
      // drained before it runs again, so the ring holds n records.
      const discard = (): void => undefined;
      xdp.testRun({ data: Buffer.alloc(64), repeat: n, reset: () => void (ringReader ? ringReader.pollRaw(discard) : perfReader!.pollRaw(discard)) });
      checksum = 0;
      const t0 = process.hrtime.bigint();
      const got = apis[api]();
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== n) throw new Error(`drain (${api}): expected ${n} records, got ${got}`);
      if (checksum !== 8 * n) throw new Error(`drain (${api}): checksum ${checksum}, expected ${8 * n}`);
      best[api] = Math.min(best[api], ns / n);
    }

    // Live: the dd producer through the tracepoint, consumed concurrently with pollBatch.
    const poll = apis.pollBatch;
    const link = attachTracepoint(tp, 'syscalls', 'sys_enter_write');
    try {
      const writes = P.liveWrites;
      const child = spawn('sh', ['-c', `read _ && exec dd if=/dev/zero of=/dev/null bs=1 count=${writes} status=none`], { stdio: ['pipe', 'ignore', 'inherit'] });
      setStat(0, BigInt(child.pid!));
      setStat(1, 0n);
      let exited = false;
      const done = new Promise<void>((r) => child.on('exit', () => { exited = true; r(); }));
      let got = 0;
      checksum = 0;
      const t0 = process.hrtime.bigint();
      child.stdin!.end('go\n');
      while (!exited) {
        got += poll();
        await wait(50);
      }
      await done;
      // Until every write is received or counted as failed in the kernel (2 s at most).
      const deadline = Date.now() + 2000;
      let failed = 0;
      for (;;) {
        got += poll();
        failed = getStat(1);
        if (got + failed >= writes || Date.now() > deadline) break;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (checksum !== 8 * got) throw new Error(`live: checksum ${checksum}, expected ${8 * got}`);
      return {
        drain: 1e9 / Math.min(best.pollBatch, best.pollRaw), drainBatch: 1e9 / best.pollBatch, drainRaw: 1e9 / best.pollRaw,
        live: got / seconds, received: got, lost: failed,
      };
    } finally {
      link.close();
    }
  } finally {
    ringReader?.close();
    perfReader?.close();
  }
}

// ---- benchmarks ------------------------------------------------------------------------------

async function benchRecords(b: AnchorBuild, kind: 'ring' | 'perf'): Promise<void> {
  const obj = b.objects.records;
  const label = kind === 'ring' ? 'ring buffer' : 'perf event array';
  const reader = kind === 'ring' ? 'RingBufferReader / ring_buffer__consume / ringbuf.Reader.ReadInto' : 'PerfEventArrayReader / perf_buffer__consume / perf.Reader.ReadInto';
  const consumeFn = kind === 'ring' ? 'ring_buffer__consume' : 'perf_buffer__consume';
  const perRecord = `per record, every implementation adds the record's u32 at byte 8 to a checksum, checked against 8 x records: ` +
    `ours in a pollBatch callback looping over batch.words at batch.offsets, or in a pollRaw callback; libbpf in its ${consumeFn} callback; ` +
    'cilium from Record.RawSample after each ReadInto (which copies the record out of the ring)';
  // An anchor's checksums must match what it received: it read every record.
  const checked = (r: Record<string, number> | { error: string }): Record<string, number> | { error: string } => {
    if ('error' in r) return r;
    if (r.drainChecksum !== 8 * r.drainRecords) return { error: `drain checksum ${r.drainChecksum}, expected ${8 * r.drainRecords}` };
    if (r.liveChecksum !== 8 * r.liveReceived) return { error: `live checksum ${r.liveChecksum}, expected ${8 * r.liveReceived}` };
    return r;
  };
  const mega = (x: number): string => `${(x / 1e6).toFixed(1)} M`;
  for (const size of [16, 128]) {
    log(`${label}, ${size}-byte records`);
    const ours: RecordsResult[] = [];
    const lb: Record<string, number>[] = [];
    const cl: Record<string, number>[] = [];
    let oursErr: string | undefined;
    let lbErr: string | undefined;
    let clErr: string | undefined;
    const args = [obj, kind, String(size), String(P.drainRounds), String(P.liveWrites)];
    for (let round = 0; round < P.liveRounds; round++) {
      try {
        if (!oursErr) ours.push(await oursRecords(obj, kind, size));
      } catch (e) {
        oursErr = (e as Error).message;
      }
      if (!lbErr) {
        const r = checked(runAnchor(b.libbpf.records, args, b.errors.libbpf));
        if ('error' in r) lbErr = String(r.error);
        else lb.push(r);
      }
      if (!clErr) {
        const r = checked(runAnchor(b.cilium, ['records', ...args], b.errors.cilium));
        if ('error' in r) clErr = String(r.error);
        else cl.push(r);
      }
    }
    const pickOurs = (f: (r: RecordsResult) => number, best: boolean): Cell =>
      oursErr ? { error: oursErr } : best ? Math.max(...ours.map(f)) : median(ours.map(f));
    const pick = (xs: Record<string, number>[], err: string | undefined, key: string, best: boolean): Cell =>
      err ? { error: err } : best ? Math.max(...xs.map((x) => x[key])) : median(xs.map((x) => x[key]));
    rows.push({
      metric: `${label} drain, ${size} B`, unit: 'rec/s', better: 'higher', target: 1.0,
      ours: pickOurs((r) => r.drain, true), libbpf: pick(lb, lbErr, 'drainRecordsPerSec', true), cilium: pick(cl, clErr, 'drainRecordsPerSec', true),
      note: `reader alone on a ring filled by BPF_PROG_TEST_RUN (xdp_${kind}_${size}), best of ${P.drainRounds} rounds${P.liveRounds > 1 ? ` x ${P.liveRounds} runs` : ''}; ${reader}; ` +
        `${oursErr ? '' : `ours: pollBatch ${mega(Math.max(...ours.map((r) => r.drainBatch)))}, pollRaw ${mega(Math.max(...ours.map((r) => r.drainRaw)))} rec/s (the row shows the faster); `}` +
        `${perRecord}; ${oursProducers}`,
    });
    const lost = (xs: { lost?: number; liveLost?: number }[]) => Math.max(0, ...xs.map((x) => x.lost ?? x.liveLost ?? 0));
    const oursLost = lost(ours);
    const lbLost = lbErr ? undefined : lost(lb);
    const received = (xs: number[]) => (xs.length ? median(xs) : NaN);
    rows.push({
      metric: `${label} live, ${size} B`, unit: 'rec/s', better: 'higher', target: 1.0,
      ours: pickOurs((r) => r.live, false), libbpf: pick(lb, lbErr, 'liveRecordsPerSec', false), cilium: pick(cl, clErr, 'liveRecordsPerSec', false),
      extra: { ok: oursErr === undefined && (lbLost === undefined ? oursLost === 0 : oursLost <= lbLost), text: `lost: ours ${oursLost}, libbpf ${lbLost ?? '-'}, cilium ${clErr ? '-' : lost(cl)}` },
      note: `dd (${P.liveWrites.toLocaleString('en')} one-byte writes) -> tp_${kind}_${size} on syscalls/sys_enter_write; epoll wake-ups; ours: pollBatch; checksums as in the drain row; ` +
        `${P.liveRounds > 1 ? `median of ${P.liveRounds} runs; ` : ''}received ours ${received(ours.map((r) => r.received))}, libbpf ${received(lb.map((r) => r.liveReceived))}, cilium ${received(cl.map((r) => r.liveReceived))}`,
    });
  }
}

/** Best round's ns/op over rounds of 2,000, as bench/run.ts measures. */
function measure(op: () => void): number {
  for (let i = 0; i < 2000; i++) op();
  let best = Infinity;
  const end = Date.now() + P.budgetMs;
  while (Date.now() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) op();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 2000);
  }
  return best;
}

function benchHash(b: AnchorBuild): void {
  log('hash map');
  const ours: Record<string, number> = {};
  {
    using m = BpfMap.create({ type: 'HASH', keySize: 8, valueSize: 24, maxEntries: 10_000, name: 'bench' });
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(24, 7);
    for (let i = 0; i < 10_000; i++) {
      key.writeBigUInt64LE(BigInt(i));
      m.update(key, value);
    }
    let k = 0;
    ours.raw = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, m.fd, key, null, value, 0);
    });
    ours.lookup = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      m.lookup(key);
    });
    ours.update = measure(() => {
      key.writeUInt32LE(k++ % 10_000);
      m.update(key, value);
    });
    let best = Infinity;
    for (let r = 0; r < P.batchRounds; r++) {
      const t0 = process.hrtime.bigint();
      const got = m.lookupBatchRaw(10_000);
      const ns = Number(process.hrtime.bigint() - t0);
      if (got.count !== 10_000) throw new Error(`batch returned ${got.count}`);
      best = Math.min(best, ns / got.count);
    }
    ours.batch = best;
  }
  const args = [String(P.budgetMs), String(P.batchRounds)];
  const lb = runAnchor(b.libbpf.hashmap, args, b.errors.libbpf);
  const cl = runAnchor(b.cilium, ['hashmap', ...args], b.errors.cilium);
  const common = `HASH, 8-byte key, 24-byte value, 10,000 entries; best round of 2,000 ops, ${P.budgetMs} ms`;
  rows.push({
    metric: 'hash lookup', unit: 'ns/op', better: 'lower', target: 1.5,
    ours: ours.lookup, libbpf: field(lb, 'lookupNs'), cilium: field(cl, 'lookupNs'),
    note: `${common}; BpfMap.lookup (new Buffer per result) / bpf_map_lookup_elem / Map.Lookup([]byte, *[]byte) (allocates too)`,
  });
  rows.push({
    metric: 'hash lookup, into a reused buffer', unit: 'ns/op', better: 'lower', target: 1.5,
    ours: ours.raw, libbpf: field(lb, 'lookupNs'), cilium: field(cl, 'lookupUnsafeNs'),
    note: `${common}; mapElemRaw (src/syscall, not public API) / bpf_map_lookup_elem / Map.Lookup(key, unsafe.Pointer)`,
  });
  rows.push({
    metric: 'hash update', unit: 'ns/op', better: 'lower', target: 1.5,
    ours: ours.update, libbpf: field(lb, 'updateNs'), cilium: field(cl, 'updateNs'),
    note: `${common}; BPF_ANY on existing keys; BpfMap.update / bpf_map_update_elem / Map.Put([]byte, []byte)`,
  });
  rows.push({
    metric: 'batch lookup, 10,000 entries', unit: 'ns/entry', better: 'lower', target: 1.0,
    ours: ours.batch, libbpf: field(lb, 'batchNsPerEntry'), cilium: field(cl, 'batchNsPerEntry'),
    note: `one BPF_MAP_LOOKUP_BATCH of 10,000, best of ${P.batchRounds}; lookupBatchRaw (allocates its buffers) / bpf_map_lookup_batch (static buffers) / BatchLookup into []uint64, []struct{A,B,C uint64} (reflection decode)`,
  });
}

function benchBtf(b: AnchorBuild): void {
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
    metric: `kernel BTF parse + find (${types.toLocaleString('en')} types)`, unit: 'ms', better: 'lower', target: 1.0,
    ours: Math.min(...ms), libbpf: field(lb, 'bestMs'), cilium: field(cl, 'bestMs'),
    note: `best of ${P.btfRounds}; loadKernelBtf (one private mapping of the sysfs file) + findType('task_struct', 'struct') / btf__load_vmlinux_btf + btf__find_by_name_kind / btf.LoadSpec + TypeByName; ` +
      `ours through readFileSync + parseBtf instead: best ${Math.min(...readMs).toFixed(2)} ms; ` +
      `medians ours ${median(ms).toFixed(2)}, libbpf ${num(field(lb, 'medianMs'))?.toFixed(2) ?? '-'} ms`,
  });
}

let loadMedian: number | undefined;

async function benchLoad(b: AnchorBuild): Promise<void> {
  log('object load');
  const obj = b.objects.many;
  let ours: Cell;
  const loadCollection = await ourLoader().catch((e: Error) => e);
  if (loadCollection === undefined) {
    ours = { error: 'ours: loader not yet available (src/loader/index.ts does not exist)' };
  } else if (loadCollection instanceof Error) {
    ours = { error: `ours: src/loader did not import: ${loadCollection.message.split('\n')[0]}` };
  } else {
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

async function benchGo(): Promise<void> {
  log('goroutine tracer overhead (bench/goroutines.ts)');
  const g = await benchGoroutines(quick);
  const bt = g.bpftrace && 'error' in g.bpftrace ? { error: g.bpftrace.error } : g.bpftrace?.slowdown;
  const btInfo = g.bpftrace && !('error' in g.bpftrace) ? `bpftrace ${g.bpftrace.ms.toFixed(0)} ms, ${g.bpftrace.events} events, ${g.bpftrace.lost} lost${g.bpftrace.hungRounds ? ` (${g.bpftrace.hungRounds} round(s) left out: bpftrace ignored SIGINT and was killed)` : ''}` : '';
  rows.push({
    metric: 'goroutine tracer slowdown (vs bpftrace)', unit: 'x', better: 'lower', target: 1.0,
    ours: g.ours.slowdown, libbpf: undefined, cilium: undefined, otherAnchor: { name: 'bpftrace', value: bt },
    note: `anchor: bpftrace uprobe one-liner on the same probe (bench/goroutines.ts); untraced ${g.untracedMs.toFixed(0)} ms (median); ours ${g.ours.ms.toFixed(0)} ms, ${g.ours.events} events, ${g.ours.lost} lost; ${btInfo}`,
  });
}

// ---- table -----------------------------------------------------------------------------------

function fmt(c: Cell): string {
  if (c === undefined) return '—';
  if (typeof c === 'object') return 'n/a';
  if (c >= 1e6) return `${(c / 1e6).toFixed(2)} M`;
  if (c >= 1000) return c.toFixed(0);
  if (c >= 10) return c.toFixed(1);
  return c.toFixed(2);
}

function tableRows(): string[][] {
  return rows.map((r) => {
    const best = bestAnchor(r);
    const o = num(r.ours);
    const ratio = best && o !== undefined ? o / best.value : undefined;
    const target = r.target === undefined ? '—' : `${r.better === 'higher' ? '≥' : '≤'} ${r.target.toFixed(1)}×`;
    let status = '—';
    if (r.target !== undefined) {
      if (ratio === undefined) status = 'not measured';
      else {
        const met = r.better === 'higher' ? ratio >= r.target : ratio <= r.target;
        status = met && (r.extra?.ok ?? true) ? 'met' : 'missed';
      }
    }
    const errs = [errorOf(r.ours), errorOf(r.libbpf) && `libbpf: ${errorOf(r.libbpf)}`, errorOf(r.cilium) && `cilium: ${errorOf(r.cilium)}`,
      r.otherAnchor && errorOf(r.otherAnchor.value) && `${r.otherAnchor.name}: ${errorOf(r.otherAnchor.value)}`].filter(Boolean);
    const other = r.otherAnchor && num(r.otherAnchor.value) !== undefined ? `${r.otherAnchor.name} ${fmt(r.otherAnchor.value)} ${r.unit}; ` : '';
    const notes = `${other}${r.extra ? `${r.extra.text}; ` : ''}${r.note}${errs.length ? `; ${errs.join('; ')}` : ''}`;
    return [
      `${r.metric} (${r.unit})`, fmt(r.ours), fmt(r.libbpf), fmt(r.cilium),
      ratio === undefined ? '—' : `${ratio.toFixed(2)}× ${best!.name}`, target, status, notes,
    ];
  });
}

function machine(b: AnchorBuild): string[] {
  const os = readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? 'Linux';
  return [
    `CPU: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores`,
    `OS: ${os}, kernel ${release()}`,
    `Node ${process.version}; ${b.versions.go}; libbpf-dev ${b.versions.libbpf}; golang-github-cilium-ebpf-dev ${b.versions.cilium}; ${b.versions.clang}; ${b.versions.cc}`,
  ];
}

// ---- main ------------------------------------------------------------------------------------

if (process.getuid?.() !== 0) log('warning: not root; the BPF benchmarks need root');
log('building anchors (bench/anchors/build.ts)...');
const build = buildAnchors(log);
log(`anchors in ${build.dir}${build.cached ? ' (cached)' : ''}${Object.keys(build.errors).length ? `; errors: ${JSON.stringify(build.errors)}` : ''}`);
if (!build.objects.records || !build.objects.many) throw new Error(`the BPF objects did not build: ${build.errors.bpf}`);

const started = Date.now();
const step = async (name: string, f: () => unknown | Promise<unknown>): Promise<void> => {
  if (!wanted(name)) return;
  try {
    await f();
  } catch (e) {
    log(`${name}: ${(e as Error).stack ?? e}`);
    rows.push({ metric: name, unit: '', better: 'lower', ours: { error: (e as Error).message }, libbpf: undefined, cilium: undefined, note: 'benchmark failed' });
  }
};
await step('ring', () => benchRecords(build, 'ring'));
await step('perf', () => benchRecords(build, 'perf'));
await step('hash', () => benchHash(build));
await step('btf', () => benchBtf(build));
await step('load', () => benchLoad(build));
await step('goroutines', () => benchGo());

const header = ['metric', 'ebpf (ours)', 'libbpf', 'cilium/ebpf', 'ours / best anchor', 'target', 'status', 'notes'];
const body = tableRows();
const mach = machine(build);
const elapsed = ((Date.now() - started) / 1000).toFixed(0);

// Console: the numeric columns aligned, notes below.
const widths = header.slice(0, 7).map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
console.log(`\nebpf vs libbpf vs cilium/ebpf (${quick ? 'quick' : 'full'}, ${elapsed} s)`);
for (const l of mach) console.log(`  ${l}`);
console.log('');
console.log(header.slice(0, 7).map((h, i) => h.padEnd(widths[i])).join('  '));
for (const r of body) console.log(r.slice(0, 7).map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log('\nnotes:');
body.forEach((r) => console.log(`  ${r[0]}: ${r[7]}`));

const md = [
  '# Benchmarks: ebpf vs libbpf vs cilium/ebpf',
  '',
  `Generated by \`npx tsx bench/compare.ts${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)} (${quick ? 'quick' : 'full'} run, ${elapsed} s). ` +
    'All columns come from the same run on the same machine; anchors are built from bench/anchors at bench time.',
  '',
  ...mach.map((l) => `- ${l}`),
  '',
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  '',
  'Ratios are ours / the best anchor in the row (for rec/s higher is better, for times lower is better); ' +
    'a target is met when the ratio is on the right side of it (live rows also need no more records lost than libbpf lost). ' +
    'Producers: bench/anchors/bpf/records.bpf.c, the same clang object for all three (ours binds its programs\' instructions to its own maps); ' +
    'the producer process is `dd if=/dev/zero of=/dev/null bs=1` for all.',
  '',
].join('\n');
// bench/results.md keeps a full run (the README cites it); a quick run goes beside it, uncommitted.
if (!only) {
  const file = quick ? 'results-quick.md' : 'results.md';
  writeFileSync(join(HERE, file), md);
  log(`wrote bench/${file}`);
}
