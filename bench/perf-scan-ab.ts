// A/B of the hot loop alone (no kernel): the perf scan, old closure vs PerfRing, same driver, user CPU time.
import { Batch, Bytes } from '../src/readers/batch.js';
import { PerfRing, WrapScratch } from '../src/readers/perf-access.js';
import { LostCounter } from '../src/readers/shared.js';
// The old loops: `npx tsx bench/readers-of.ts <commit>` first (bench/old-readers/ is not committed).
const OLD = './old-readers/perf.js';
const { CpuRing, getLoopDone, PerfState, perfScanLoop } = (await import(OLD)) as {
  CpuRing: new (cpu: number, fd: number, region: undefined, control: Uint32Array, tail: BigUint64Array, data: Buffer) => object;
  PerfState: new () => object;
  getLoopDone(): number;
  perfScanLoop(
    ring: object,
    offsets: Uint32Array,
    lengths: Uint32Array,
    state: object,
  ): (start: number, chunk: number, limit: number) => number;
};

const SIZE = 16 << 20;
const rec = Number(process.argv[2] ?? 32);
const data = Buffer.alloc(SIZE);
const w = new Uint32Array(data.buffer);
const n = Math.floor((SIZE * 0.9) / rec);
for (let i = 0; i < n; i++) {
  const k = (i * rec) >>> 2;
  w[k] = 9;
  w[k + 1] = rec << 16;
  w[k + 2] = rec - 12;
  w[k + 5] = 8;
}
const end = n * rec;
const shared = {
  batch: new Batch(new Bytes(Buffer.alloc(0)), 4096, -1),
  closed: new Uint8Array(1),
  lost: new LostCounter(),
  scratch: new WrapScratch(),
};
const ring = new PerfRing(0, Buffer.alloc(4096), data, shared);
const offsets = shared.batch.offsets;
const oldRing = new CpuRing(0, -1, undefined, new Uint32Array(1024), new BigUint64Array(1), data);
const oldScan = perfScanLoop(oldRing, offsets, shared.batch.lengths, new PerfState());
let sink = 0;
function consume(count: number): void {
  let s = 0;
  for (let i = 0; i < count; i++) s += w[(offsets[i] >>> 2) + 2];
  sink += s;
}
const drivers = {
  old(): number {
    let at = 0,
      total = 0;
    while (at < end) {
      const c = oldScan(at, Math.min(end - at, 4096), 4096);
      consume(c);
      total += c;
      at += getLoopDone();
    }
    return total;
  },
  new(): number {
    let at = 0,
      total = 0;
    while (at < end) {
      const c = ring.scan(at, Math.min(end - at, 4096), 4096);
      consume(c);
      total += c;
      at += ring.done;
    }
    return total;
  },
};
const best: Record<string, number> = { old: Infinity, new: Infinity };
for (let r = 0; r < 30; r++) {
  for (const k of ['old', 'new'] as const) {
    const c0 = process.cpuUsage();
    const got = drivers[k]();
    const c = process.cpuUsage(c0);
    if (got !== n) throw new Error(`${k} ${got}`);
    best[k] = Math.min(best[k], ((c.user + c.system) * 1000) / n);
  }
}
console.log(`${rec} B: old ${best.old.toFixed(2)} ns/rec, new ${best.new.toFixed(2)} ns/rec (sink ${sink > 0})`);
