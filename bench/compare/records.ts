// Ring buffer and perf event array readers against libbpf and cilium/ebpf: draining a filled ring
// (the reader alone), and live records from a dd producer through a tracepoint. The producers are
// one clang object (bench/anchors/bpf/records.bpf.c) that all three load with their ELF loaders.
import { spawn } from 'node:child_process';
import { type BpfMap, loadCollection, type Program } from '../../src/index.js';
import { attachTracepoint } from '../../src/links/index.js';
import { RingBufferReader, type RecordBatch } from '../../src/ringbuf.js';
import { PerfEventArrayReader } from '../../src/perf.js';
import { runAnchor, type AnchorBuild } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { rows, type Cell } from '../lib/table.js';

const RING_SIZE = 16 << 20; // the ring buffer, and each CPU's perf buffer

interface RecordsResult {
  /** Records per second draining a filled ring: the faster of pollBatch and pollRaw, and each. */
  drain: number;
  drainBatch: number;
  drainRaw: number;
  live: number;
  received: number;
  lost: number;
}

async function oursRecords(objPath: string, kind: 'ring' | 'perf', size: number): Promise<RecordsResult> {
  const xdpName = `xdp_${kind}_${size}`;
  const tpName = `tp_${kind}_${size}`;
  // The object through our ELF loader, the two programs only (as the anchors do).
  const coll = loadCollection(objPath, { programs: [xdpName, tpName] });
  const { ring, events, stats } = coll.maps as Record<string, BpfMap<unknown, unknown>>;
  const xdp = coll.programs[xdpName];
  const tp = coll.programs[tpName];
  const statKey = (i: number): Buffer => Buffer.from([i, 0, 0, 0]);
  // Raw bytes through the public API: the loader gives the maps BTF codecs, and raw Buffers of the
  // exact sizes pass through them as they are (the anchors write raw bytes too).
  const value = Buffer.alloc(8);
  const setStat = (i: number, v: bigint): void => {
    value.writeBigUInt64LE(v);
    stats.update(statKey(i), value);
  };
  const getStat = (i: number): number => {
    stats.lookupInto(statKey(i), value);
    return Number(value.readBigUInt64LE());
  };
  try {
    return await consume(kind, size, ring, events, xdp, tp, setStat, getStat);
  } finally {
    coll.close();
  }
}

async function consume(
  kind: 'ring' | 'perf',
  size: number,
  ring: BpfMap<unknown, unknown>,
  events: BpfMap<unknown, unknown>,
  xdp: Program,
  tp: Program,
  setStat: (i: number, v: bigint) => void,
  getStat: (i: number) => number,
): Promise<RecordsResult> {
  // fillOffsets: false: a strided batch (records of one size back to back, as here) fills only
  // offsets[0] and lengths[0], and the callback steps by batch.stride.
  const ringReader = kind === 'ring' ? new RingBufferReader(ring, { fillOffsets: false }) : undefined;
  const perfReader = kind === 'perf' ? new PerfEventArrayReader(events, { pagesPerCpu: RING_SIZE / 4096, fillOffsets: false }) : undefined;
  // The per-record work, the same in the anchors: add the record's 32-bit word at byte 8 (8 in
  // every record of records.bpf.c) to a checksum, checked below.
  let checksum = 0;
  // pollBatch: a batch of offsets into the mapped ring (or a perf CPU's ring) at a time.
  const onBatch = (batch: RecordBatch): void => {
    const { words, offsets, count, stride } = batch;
    let sum = 0;
    if (stride !== 0) {
      const step = stride >>> 2;
      for (let i = 0, k = (offsets[0] >>> 2) + 2; i < count; i++, k += step) sum += words[k];
    } else for (let i = 0; i < count; i++) sum += words[(offsets[i] >>> 2) + 2];
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
      xdp.testRun({
        data: Buffer.alloc(64),
        repeat: n,
        reset: () => void (ringReader ? ringReader.pollRaw(discard) : perfReader!.pollRaw(discard)),
      });
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
      const child = spawn('sh', ['-c', `read _ && exec dd if=/dev/zero of=/dev/null bs=1 count=${writes} status=none`], {
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      setStat(0, BigInt(child.pid!));
      setStat(1, 0n);
      let exited = false;
      const done = new Promise<void>((r) =>
        child.on('exit', () => {
          exited = true;
          r();
        }),
      );
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
        drain: 1e9 / Math.min(best.pollBatch, best.pollRaw),
        drainBatch: 1e9 / best.pollBatch,
        drainRaw: 1e9 / best.pollRaw,
        live: got / seconds,
        received: got,
        lost: failed,
      };
    } finally {
      link.close();
    }
  } finally {
    ringReader?.close();
    perfReader?.close();
  }
}

export async function benchRecords(b: AnchorBuild, kind: 'ring' | 'perf'): Promise<void> {
  const obj = b.objects.records;
  const label = kind === 'ring' ? 'ring buffer' : 'perf event array';
  const reader =
    kind === 'ring'
      ? 'RingBufferReader / ring_buffer__consume / ringbuf.Reader.ReadInto'
      : 'PerfEventArrayReader / perf_buffer__consume / perf.Reader.ReadInto';
  const consumeFn = kind === 'ring' ? 'ring_buffer__consume' : 'perf_buffer__consume';
  const perRecord =
    `per record, every implementation adds the record's u32 at byte 8 to a checksum, checked against 8 x records: ` +
    `ours in a pollBatch callback (fillOffsets: false) stepping through batch.words by batch.stride (records of one size back to back; batch.offsets otherwise), or in a pollRaw callback; libbpf in its ${consumeFn} callback; ` +
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
      metric: `${label} drain, ${size} B`,
      unit: 'rec/s',
      better: 'higher',
      target: 1.0,
      ours: pickOurs((r) => r.drain, true),
      libbpf: pick(lb, lbErr, 'drainRecordsPerSec', true),
      cilium: pick(cl, clErr, 'drainRecordsPerSec', true),
      note:
        `reader alone on a ring filled by BPF_PROG_TEST_RUN (xdp_${kind}_${size}), best of ${P.drainRounds} rounds${P.liveRounds > 1 ? ` x ${P.liveRounds} runs` : ''}; ${reader}; ` +
        `${oursErr ? '' : `ours: pollBatch ${mega(Math.max(...ours.map((r) => r.drainBatch)))}, pollRaw ${mega(Math.max(...ours.map((r) => r.drainRaw)))} rec/s (the row shows the faster); `}` +
        `${perRecord}; ours loads records.bpf.o with loadCollection (src/loader)`,
    });
    const lost = (xs: { lost?: number; liveLost?: number }[]) => Math.max(0, ...xs.map((x) => x.lost ?? x.liveLost ?? 0));
    const oursLost = lost(ours);
    const lbLost = lbErr ? undefined : lost(lb);
    const received = (xs: number[]) => (xs.length ? median(xs) : NaN);
    rows.push({
      metric: `${label} live, ${size} B`,
      unit: 'rec/s',
      better: 'higher',
      target: 1.0,
      ours: pickOurs((r) => r.live, false),
      libbpf: pick(lb, lbErr, 'liveRecordsPerSec', false),
      cilium: pick(cl, clErr, 'liveRecordsPerSec', false),
      extra: {
        ok: oursErr === undefined && (lbLost === undefined ? oursLost === 0 : oursLost <= lbLost),
        text: `lost: ours ${oursLost}, libbpf ${lbLost ?? '-'}, cilium ${clErr ? '-' : lost(cl)}`,
      },
      note:
        `dd (${P.liveWrites.toLocaleString('en')} one-byte writes) -> tp_${kind}_${size} on syscalls/sys_enter_write; epoll wake-ups; ours: pollBatch; checksums as in the drain row; ` +
        `${P.liveRounds > 1 ? `median of ${P.liveRounds} runs; ` : ''}received ours ${received(ours.map((r) => r.received))}, libbpf ${received(lb.map((r) => r.liveReceived))}, cilium ${received(cl.map((r) => r.liveReceived))}`,
    });
  }
}
