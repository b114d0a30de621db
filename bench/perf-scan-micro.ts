// The perf scan alone (no kernel): ns per record of PerfRing.pollBatch over a made-up 16 MiB ring (no kernel), user CPU time.
import { Batch, Bytes, type RecordBatch } from '../src/readers/batch.js';
import { PerfRing, WrapScratch } from '../src/readers/perf-access.js';
import { RingBufferRing } from '../src/readers/ring-access.js';
import { LostCounter } from '../src/readers/shared.js';

const SIZE = 16 << 20;
const recSize = Number(process.argv[2] ?? 32);
const control = Buffer.alloc(4096);
const data = Buffer.alloc(SIZE);
const words = new Uint32Array(data.buffer, data.byteOffset, SIZE / 4);
const n = Math.floor((SIZE * 0.9) / recSize);
for (let i = 0; i < n; i++) {
  const w = (i * recSize) >>> 2;
  words[w] = 9;
  words[w + 1] = recSize << 16;
  words[w + 2] = recSize - 12;
  words[w + 5] = 8;
}
const shared = {
  batch: new Batch(new Bytes(Buffer.alloc(0)), 4096, -1),
  closed: new Uint8Array(1),
  lost: new LostCounter(),
  scratch: new WrapScratch(),
};
const ring = new PerfRing(0, control, data, shared);
let checksum = 0;
const onBatch = (batch: RecordBatch): void => {
  const { words, offsets, count } = batch;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += words[(offsets[i] >>> 2) + 2];
  checksum += sum;
};
const empty = (batch: RecordBatch): void => {
  checksum += batch.count;
};
// ring buffer equivalent: 8-byte header + (recSize - 8) bytes body? use record of recSize total
const rbData = Buffer.alloc(2 * SIZE);
const rbw = new Uint32Array(rbData.buffer);
const rbBody = recSize - 8;
for (let i = 0; i < n; i++) {
  rbw[(i * recSize) >>> 2] = rbBody;
  rbw[((i * recSize) >>> 2) + 4] = 8;
}
const rb = new RingBufferRing({ consumer: Buffer.alloc(4096), producer: Buffer.alloc(4096), data: rbData }, 4096);
for (const [name, run] of [
  [
    'perf checksum',
    () => {
      control.writeBigUInt64LE(BigInt(n * recSize), 1024);
      control.writeBigUInt64LE(0n, 1032);
      return ring.pollBatch(onBatch, 0x7fffffff);
    },
  ],
  [
    'perf count-only',
    () => {
      control.writeBigUInt64LE(BigInt(n * recSize), 1024);
      control.writeBigUInt64LE(0n, 1032);
      return ring.pollBatch(empty, 0x7fffffff);
    },
  ],
  [
    'ring checksum',
    () => {
      rb.producerPos[0] = BigInt(n * recSize);
      rb.consumerPos[0] = 0n;
      return rb.pollBatch(onBatch, Infinity);
    },
  ],
] as const) {
  let best = Infinity;
  for (let r = 0; r < 15; r++) {
    const c0 = process.cpuUsage();
    const got = run();
    const c = process.cpuUsage(c0);
    if (got !== n) throw new Error(`${name}: ${got} of ${n}`);
    best = Math.min(best, ((c.user + c.system) * 1000) / n);
  }
  console.log(`${name} ${recSize} B records: ${best.toFixed(2)} ns/record (${(1e3 / best).toFixed(0)} M/s), checksum ${checksum}`);
}
