// Ring buffer and perf event array readers against libbpf and cilium/ebpf: draining a filled ring
// (the reader alone), and live records from a dd producer through a tracepoint. The producers are
// one clang object (bench/anchors/bpf/records.bpf.c) that all three load with their ELF loaders.
//
// Drain: this machine's speed swings by a third or more from one second to the next (a VM with
// noisy neighbours; for the 128 B drains, what else holds the shared L3), so implementations each
// measured in a process of their own, one after another, were compared under different machines
// (the rows' ratios swung 0.85x-2x between runs). So the implementations take turns round by
// round: ours (an open collection and reader in this process) and the anchors (kept up in serve
// mode: bench/lib/anchors.ts AnchorSession) set up once per kind and size, then in each round
// ours with pollBatch, ours with pollRaw, libbpf and cilium each fill the ring with their own
// loaded program (BPF_PROG_TEST_RUN) and drain it, in an order that changes every round
// (bench/lib/turns.ts); each side's figure is its best round. Live: in each run ours and the
// anchors (each in a process of its own) set up afresh, one after another; the row shows the median.
import { spawn } from 'node:child_process';
import { type BpfMap, loadCollection } from '../../src/index.js';
import { attachTracepoint } from '../../src/links/index.js';
import { RingBufferReader, type RecordBatch } from '../../src/ringbuf.js';
import { PerfEventArrayReader } from '../../src/perf.js';
import { AnchorSession, runAnchor, type AnchorBuild, type AnchorResult } from '../lib/anchors.js';
import { log, median, P } from '../lib/measure.js';
import { rows, type Cell } from '../lib/table.js';
import { takeTurns } from '../lib/turns.js';

const RING_SIZE = 16 << 20; // the ring buffer, and each CPU's perf buffer

type Kind = 'ring' | 'perf';
type Api = 'pollBatch' | 'pollRaw';

interface LiveResult {
  live: number;
  received: number;
  lost: number;
}

/** Ours: records.bpf.o's two programs for one output and record size, and our reader on the output. */
interface Ours {
  /** One drain round with `api`: the ring filled by BPF_PROG_TEST_RUN, then the reader alone; rec/s. */
  drain(api: Api): number;
  /** One live run: the dd producer through the tracepoint, consumed concurrently with pollBatch. */
  live(): Promise<LiveResult>;
  close(): void;
}

function openOurs(objPath: string, kind: Kind, size: number): Ours {
  const xdpName = `xdp_${kind}_${size}`;
  const tpName = `tp_${kind}_${size}`;
  // The object through our ELF loader, the two programs only (as the anchors do).
  const coll = loadCollection(objPath, { programs: [xdpName, tpName] });
  let ringReader: RingBufferReader | undefined;
  let perfReader: PerfEventArrayReader | undefined;
  try {
    const { ring, events } = coll.maps as Record<string, BpfMap<unknown, unknown>>;
    // fillOffsets: false: a strided batch (records of one size back to back, as here) fills only
    // offsets[0] and lengths[0], and the callback steps by batch.stride.
    if (kind === 'ring') ringReader = new RingBufferReader(ring, { fillOffsets: false });
    else perfReader = new PerfEventArrayReader(events, { pagesPerCpu: RING_SIZE / 4096, fillOffsets: false });
  } catch (e) {
    coll.close();
    throw e;
  }
  const xdp = coll.programs[xdpName];
  const tp = coll.programs[tpName];
  const stats = coll.maps.stats as BpfMap<unknown, unknown>;
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
  const apis: Record<Api, () => number> = {
    pollBatch: ringReader ? () => ringReader.pollBatch(onBatch) : () => perfReader!.pollBatch(onBatch),
    pollRaw: ringReader ? () => ringReader.pollRaw(onRaw) : () => perfReader!.pollRaw(onPerfRaw),
  };
  const wait = ringReader ? (ms: number) => ringReader.wait(ms) : (ms: number) => perfReader!.wait(ms);

  // Drain: n records fill 90% of the ring.
  const perRecord = kind === 'perf' ? (8 + 4 + size + 7) & ~7 : (8 + size + 7) & ~7;
  const n = Math.floor((RING_SIZE * 0.9) / perRecord);
  const discard = (): void => undefined;
  const drain = (api: Api): number => {
    // A signal (a child's SIGCHLD) can interrupt the fill: the records of the interrupted run are
    // drained before it runs again, so the ring holds n records.
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
    return (1e9 * n) / ns;
  };

  const live = async (): Promise<LiveResult> => {
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
      return { live: got / seconds, received: got, lost: failed };
    } finally {
      link.close();
    }
  };

  const close = (): void => {
    ringReader?.close();
    perfReader?.close();
    coll.close();
  };
  return { drain, live, close };
}

// An anchor's checksum must match what it received: it read every record.
const checkedDrain = (r: AnchorResult): AnchorResult =>
  'error' in r || r.drainChecksum === 8 * r.drainRecords
    ? r
    : { error: `drain checksum ${r.drainChecksum}, expected ${8 * r.drainRecords}` };
const checkedLive = (r: AnchorResult): AnchorResult =>
  'error' in r || r.liveChecksum === 8 * r.liveReceived ? r : { error: `live checksum ${r.liveChecksum}, expected ${8 * r.liveReceived}` };

/**
 * The drain rounds of one kind and size: ours with pollBatch, ours with pollRaw, libbpf and cilium
 * (in serve mode) take turns, P.drainRounds[kind] rounds; each side's best round in rec/s, or its error.
 */
async function drainTurns(b: AnchorBuild, kind: Kind, size: number): Promise<Record<Api | 'libbpf' | 'cilium', Cell>> {
  const setup = [b.objects.records, kind, String(size)];
  const lb = AnchorSession.start('libbpf records', b.libbpf.records, ['serve', ...setup], b.errors.libbpf);
  const cl = AnchorSession.start('cilium records', b.cilium, ['serve', 'records', ...setup], b.errors.cilium);
  let ours: Ours | undefined;
  try {
    let oursErr = '';
    try {
      ours = openOurs(b.objects.records, kind, size);
    } catch (e) {
      oursErr = (e as Error).message;
    }
    const oursTurn = (api: Api) => async (): Promise<AnchorResult> => {
      try {
        if (!ours) throw new Error(oursErr);
        return { drainRecordsPerSec: ours.drain(api) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    };
    const anchorTurn = (s: AnchorSession) => async (): Promise<AnchorResult> => checkedDrain(await s.ask('drain'));
    const t0 = Date.now();
    const tallies = await takeTurns(
      { pollBatch: oursTurn('pollBatch'), pollRaw: oursTurn('pollRaw'), libbpf: anchorTurn(lb), cilium: anchorTurn(cl) },
      P.drainRounds[kind],
    );
    const best = {
      pollBatch: tallies.pollBatch.highest('drainRecordsPerSec'),
      pollRaw: tallies.pollRaw.highest('drainRecordsPerSec'),
      libbpf: tallies.libbpf.highest('drainRecordsPerSec'),
      cilium: tallies.cilium.highest('drainRecordsPerSec'),
    };
    log(`  drain: ${P.drainRounds[kind]} rounds in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return best;
  } finally {
    ours?.close();
    await Promise.all([lb.close(), cl.close()]);
  }
}

export async function benchRecords(b: AnchorBuild, kind: Kind): Promise<void> {
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
  const mega = (x: number): string => `${(x / 1e6).toFixed(1)} M`;
  for (const size of [16, 128]) {
    log(`${label}, ${size}-byte records`);
    const drain = await drainTurns(b, kind, size);
    const { pollBatch, pollRaw } = drain;
    const oursDrain: Cell =
      typeof pollBatch === 'number' && typeof pollRaw === 'number'
        ? Math.max(pollBatch, pollRaw)
        : typeof pollBatch === 'object'
          ? pollBatch
          : pollRaw;
    rows.push({
      metric: `${label} drain, ${size} B`,
      unit: 'rec/s',
      better: 'higher',
      target: 1.0,
      ours: oursDrain,
      libbpf: drain.libbpf,
      cilium: drain.cilium,
      note:
        `reader alone on a ring filled by BPF_PROG_TEST_RUN (xdp_${kind}_${size}), best of ${P.drainRounds[kind]} rounds, in which ours (pollBatch, pollRaw), libbpf and cilium follow one another round by round ` +
        `(each fills the ring with its own loaded program, then drains it; the order changes every round); ${reader}; ` +
        `${typeof pollBatch === 'number' && typeof pollRaw === 'number' ? `ours: pollBatch ${mega(pollBatch)}, pollRaw ${mega(pollRaw)} rec/s (the row shows the faster); ` : ''}` +
        `${perRecord}; ours loads records.bpf.o with loadCollection (src/loader)`,
    });

    // Live: P.liveRounds runs, each implementation in turn setting up afresh.
    const t0 = Date.now();
    const ours: LiveResult[] = [];
    const lb: Record<string, number>[] = [];
    const cl: Record<string, number>[] = [];
    let oursErr: string | undefined;
    let lbErr: string | undefined;
    let clErr: string | undefined;
    const args = [obj, kind, String(size), String(P.liveWrites)];
    for (let round = 0; round < P.liveRounds; round++) {
      if (!oursErr) {
        try {
          const o = openOurs(obj, kind, size);
          try {
            ours.push(await o.live());
          } finally {
            o.close();
          }
        } catch (e) {
          oursErr = (e as Error).message;
        }
      }
      if (!lbErr) {
        const r = checkedLive(runAnchor(b.libbpf.records, args, b.errors.libbpf));
        if ('error' in r) lbErr = String(r.error);
        else lb.push(r);
      }
      if (!clErr) {
        const r = checkedLive(runAnchor(b.cilium, ['records', ...args], b.errors.cilium));
        if ('error' in r) clErr = String(r.error);
        else cl.push(r);
      }
    }
    log(`  live: ${P.liveRounds} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const pick = (xs: Record<string, number>[], err: string | undefined, key: string): Cell =>
      err ? { error: err } : median(xs.map((x) => x[key]));
    const lost = (xs: { lost?: number; liveLost?: number }[]) => Math.max(0, ...xs.map((x) => x.lost ?? x.liveLost ?? 0));
    const oursLost = lost(ours);
    const lbLost = lbErr ? undefined : lost(lb);
    const received = (xs: number[]) => (xs.length ? median(xs) : NaN);
    rows.push({
      metric: `${label} live, ${size} B`,
      unit: 'rec/s',
      better: 'higher',
      target: 1.0,
      ours: oursErr ? { error: oursErr } : median(ours.map((r) => r.live)),
      libbpf: pick(lb, lbErr, 'liveRecordsPerSec'),
      cilium: pick(cl, clErr, 'liveRecordsPerSec'),
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
