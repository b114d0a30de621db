// A/B of the hot loop alone (no kernel): the ring buffer scan, old closure vs RingBufferRing method, same driver, user CPU time.
import { RingBufferRing } from '../src/readers/ring-access.js';
// The old loops: `npx tsx bench/readers-of.ts <commit>` first (bench/old-readers/ is not committed).
const OLD = './old-readers/ringbuf.js';
const { getLoopEnd, scanLoop } = (await import(OLD)) as {
  getLoopEnd(): number;
  scanLoop(
    view: DataView,
    headers: Int32Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
  ): (start: number, end: number, limit: number) => number;
};

const SIZE = 16 << 20;
const rec = Number(process.argv[2] ?? 24);
const data = Buffer.alloc(2 * SIZE);
const w = new Uint32Array(data.buffer);
const n = Math.floor((SIZE * 0.9) / rec);
for (let i = 0; i < n; i++) {
  w[(i * rec) >>> 2] = rec - 8;
  w[((i * rec) >>> 2) + 4] = 8;
}
const end = n * rec;
const ring = new RingBufferRing({ consumer: Buffer.alloc(4096), producer: Buffer.alloc(4096), data }, 4096);
const offsets = ring.batch.offsets;
const lengths = ring.batch.lengths;
const oldScan = scanLoop(new DataView(data.buffer), new Int32Array(data.buffer), offsets, lengths);
let sink = 0;
function consume(count: number): void {
  let s = 0;
  for (let i = 0; i < count; i++) s += w[(offsets[i] >>> 2) + 4];
  sink += s;
}
const drivers = {
  old(): number {
    let at = 0,
      total = 0;
    while (at < end) {
      const c = oldScan(at, Math.min(end, at + 4096), 4096);
      consume(c);
      total += c;
      at = getLoopEnd();
    }
    return total;
  },
  new(): number {
    let at = 0,
      total = 0;
    while (at < end) {
      const c = ring.scan(at, Math.min(end, at + 4096), 4096);
      consume(c);
      total += c;
      at = ring.end;
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
