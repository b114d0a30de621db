// The readers' ring access without a kernel: rings made up here, laid out as the kernel lays them
// out (include/uapi/linux/bpf.h ring buffer headers, struct perf_event_header records in a perf
// ring, the user ring buffer's header bits), fed to RingBufferRing, PerfRing and
// UserRingBufferRing. Wrap-around, discarded and busy records, LOST records, 64-bit position carry,
// overwritable (backward) windows, and the user ring's reserve/submit/discard.
import { describe, expect, it } from 'vitest';
import { Batch, Bytes, type RecordBatch } from '../src/readers/batch.js';
import { PerfRing, WrapScratch, type PerfRingShared } from '../src/readers/perf-access.js';
import { RingBufferRing } from '../src/readers/ring-access.js';
import { claimMap, LostCounter, ReaderError, releaseMap } from '../src/readers/shared.js';
import { UserRingBufferRing } from '../src/readers/user-ringbuf.js';

const BUSY = 0x8000_0000;
const DISCARD = 0x4000_0000;

/** A ring buffer as the kernel maps it: consumer page, producer page, data area mapped twice. */
class FakeRingBuffer {
  readonly consumer = Buffer.alloc(4096);
  readonly producer = Buffer.alloc(4096);
  readonly data: Buffer;
  /** producer_pos as the fake producer keeps it (u64). */
  pos: bigint;

  constructor(
    readonly size: number,
    start = 0n,
  ) {
    this.data = Buffer.alloc(2 * size);
    this.pos = start;
    this.consumer.writeBigUInt64LE(start, 0);
    this.producer.writeBigUInt64LE(start, 0);
  }

  /** Writes bytes at ring position `at` (masked), into both mappings. */
  #put(at: number, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      const p = (at + i) % this.size;
      this.data[p] = bytes[i];
      this.data[p + this.size] = bytes[i];
    }
  }

  /** Appends a record with the given header flags; returns its position. Publishes producer_pos. */
  add(body: Buffer, flags = 0): bigint {
    const at = this.pos;
    const header = Buffer.alloc(8);
    header.writeUInt32LE((body.length | flags) >>> 0, 0);
    this.#put(Number(at % BigInt(this.size)), header);
    this.#put(Number((at + 8n) % BigInt(this.size)), body);
    this.pos += BigInt((body.length + 15) & ~7);
    this.producer.writeBigUInt64LE(this.pos, 0);
    return at;
  }

  /** Clears the busy bit of the record at `at`. */
  commit(at: bigint): void {
    const p = Number(at % BigInt(this.size));
    const header = this.data.readUInt32LE(p) & ~BUSY;
    const b = Buffer.alloc(4);
    b.writeUInt32LE(header >>> 0);
    this.#put(p, b);
  }

  get consumerPos(): bigint {
    return this.consumer.readBigUInt64LE(0);
  }
}

const body = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('ring buffer access (no kernel)', () => {
  it('hands out records that wrap the end in place, contiguous through the second mapping', () => {
    const fake = new FakeRingBuffer(256, 200n); // start 56 bytes before the end
    const ring = new RingBufferRing(fake, 16);
    const sent = [body(40, 1), body(24, 2), body(100, 3), body(8, 4)];
    for (const b of sent) fake.add(b);
    const got: Buffer[] = [];
    expect(ring.poll((r) => got.push(Buffer.from(r)), Infinity)).toBe(4);
    expect(got).toEqual(sent);
    expect(fake.consumerPos).toBe(fake.pos);
    // pollBatch: the same records by offset, the same bytes.
    for (const b of sent) fake.add(b);
    const batched: Buffer[] = [];
    ring.pollBatch((batch: RecordBatch) => {
      for (let i = 0; i < batch.count; i++)
        batched.push(Buffer.from(batch.data.subarray(batch.offsets[i], batch.offsets[i] + batch.lengths[i])));
    }, Infinity);
    expect(batched).toEqual(sent);
    expect(fake.consumerPos).toBe(fake.pos);
  });

  it('steps over discarded records and stops at a busy one until it is committed', () => {
    const fake = new FakeRingBuffer(4096);
    const ring = new RingBufferRing(fake, 16);
    fake.add(body(16, 1));
    fake.add(body(16, 2), DISCARD);
    const busy = fake.add(body(16, 3), BUSY);
    fake.add(body(16, 4));
    const got: number[] = [];
    expect(ring.pollRaw((data, offset) => got.push(data[offset]), Infinity)).toBe(1);
    expect(got).toEqual([1]);
    // Released up to the busy record: the discarded one is consumed too.
    expect(fake.consumerPos).toBe(busy);
    expect(
      ring.pollBatch(() => {
        throw new Error('no batch while the head is busy');
      }, Infinity),
    ).toBe(0);
    fake.commit(busy);
    expect(ring.pollRaw((data, offset) => got.push(data[offset]), Infinity)).toBe(2);
    expect(got).toEqual([1, 3, 4]);
    expect(fake.consumerPos).toBe(fake.pos);
  });

  it('respects max and batch capacity, and releases a batch whose callback throws', () => {
    const fake = new FakeRingBuffer(4096);
    const ring = new RingBufferRing(fake, 3);
    for (let i = 0; i < 10; i++) fake.add(body(8, i));
    const counts: number[] = [];
    expect(ring.pollBatch((b) => counts.push(b.count), 7)).toBe(7);
    expect(counts).toEqual([3, 3, 1]);
    expect(fake.consumerPos).toBe(7n * 16n);
    expect(() =>
      ring.pollBatch(() => {
        throw new Error('boom');
      }, Infinity),
    ).toThrow('boom');
    expect(fake.consumerPos).toBe(10n * 16n); // the batch it was given (the last 3) is consumed
  });

  it('carries consumer_pos past 2^32 as a whole u64', () => {
    const start = 0xffff_ff00n;
    const fake = new FakeRingBuffer(4096, start);
    const ring = new RingBufferRing(fake, 64);
    for (let i = 0; i < 40; i++) fake.add(body(16, i)); // 960 bytes: crosses 2^32
    let n = 0;
    expect(ring.pollRaw(() => n++, Infinity)).toBe(40);
    expect(fake.consumerPos).toBe(start + 960n);
    expect(fake.consumerPos > 0xffff_ffffn).toBe(true);
    expect(ring.pending).toBe(0);
  });

  it('a callback that closes the reader stops the poll at once', () => {
    const fake = new FakeRingBuffer(4096);
    const closed = new Uint8Array(1);
    const ring = new RingBufferRing(fake, 16, closed);
    for (let i = 0; i < 5; i++) fake.add(body(8, i));
    let n = 0;
    expect(
      ring.poll(() => {
        n++;
        closed[0] = 1;
      }, Infinity),
    ).toBe(1);
    expect(n).toBe(1);
  });
});

const SAMPLE = 9;
const LOST = 2;

/** A perf ring: control page (data_head at 1024, data_tail at 1032) and a power-of-two data area. */
class FakePerfRing {
  readonly control = Buffer.alloc(4096);
  readonly data: Buffer;
  head: bigint;

  constructor(
    readonly size: number,
    start = 0n,
  ) {
    this.data = Buffer.alloc(size);
    this.head = start;
    this.control.writeBigUInt64LE(start, 1024);
    this.control.writeBigUInt64LE(start, 1032);
  }

  #put(at: bigint, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) this.data[Number((at + BigInt(i)) % BigInt(this.size))] = bytes[i];
  }

  /** A record as the kernel writes one for PERF_SAMPLE_RAW: header, u32 size, raw data padded to 8. */
  static sampleRecord(raw: Buffer): Buffer {
    const rawSize = ((raw.length + 4 + 7) & ~7) - 4;
    const r = Buffer.alloc(8 + 4 + rawSize);
    r.writeUInt32LE(SAMPLE, 0);
    r.writeUInt16LE(0, 4);
    r.writeUInt16LE(r.length, 6);
    r.writeUInt32LE(rawSize, 8);
    raw.copy(r, 12);
    return r;
  }

  static lostRecord(count: number): Buffer {
    const r = Buffer.alloc(24);
    r.writeUInt32LE(LOST, 0);
    r.writeUInt16LE(24, 6);
    r.writeBigUInt64LE(7n, 8); // id
    r.writeBigUInt64LE(BigInt(count), 16);
    return r;
  }

  /** Appends a record forward and publishes data_head. */
  add(record: Buffer): void {
    this.#put(this.head, record);
    this.head += BigInt(record.length);
    this.control.writeBigUInt64LE(this.head, 1024);
  }

  /** Writes a record backward (write_backward): below the previous one, data_head moving down. */
  addBackward(record: Buffer): void {
    this.head = BigInt.asUintN(64, this.head - BigInt(record.length));
    this.#put(this.head, record);
    this.control.writeBigUInt64LE(this.head, 1024);
  }

  get tail(): bigint {
    return this.control.readBigUInt64LE(1032);
  }
}

function perfShared(batchSize = 64): PerfRingShared {
  return {
    batch: new Batch(new Bytes(Buffer.alloc(0)), batchSize, -1),
    closed: new Uint8Array(1),
    lost: new LostCounter(),
    scratch: new WrapScratch(),
  };
}

/** What raw sample i of the tests holds: 4 bytes of i, then i repeated. */
const rawSample = (i: number, n: number): Buffer => {
  const b = Buffer.alloc(n, i & 0xff);
  b.writeUInt32LE(i, 0);
  return b;
};

/** Raw data as handed out: padded to the kernel's raw size. */
const padded = (raw: Buffer): Buffer => Buffer.concat([raw, Buffer.alloc(((raw.length + 4 + 7) & ~7) - 4 - raw.length)]);

describe('perf ring access (no kernel)', () => {
  it('hands out samples in place, copies the one that wraps the end, and advances data_tail', () => {
    const fake = new FakePerfRing(256, 200n);
    const shared = perfShared();
    const ring = new PerfRing(3, fake.control, fake.data, shared);
    // 208 bytes of records from 56 bytes before the end: the second sample's body wraps it.
    const raws = [rawSample(1, 16), rawSample(2, 20), rawSample(3, 100), rawSample(4, 16)];
    for (const r of raws) fake.add(FakePerfRing.sampleRecord(r));
    const viaPoll: Buffer[] = [];
    expect(
      ring.poll((cpu, s) => {
        expect(cpu).toBe(3);
        viaPoll.push(Buffer.from(s));
      }, 100),
    ).toBe(4);
    expect(viaPoll).toEqual(raws.map(padded));
    expect(fake.tail).toBe(fake.head);

    for (const r of raws) fake.add(FakePerfRing.sampleRecord(r));
    const viaBatch: Buffer[] = [];
    let copies = 0;
    expect(
      ring.pollBatch((b) => {
        if (b.data !== fake.data) copies++;
        for (let i = 0; i < b.count; i++) viaBatch.push(Buffer.from(b.data.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])));
      }, 100),
    ).toBe(4);
    expect(viaBatch).toEqual(raws.map(padded));
    expect(copies).toBe(1); // exactly one sample's body wraps the end
    expect(fake.tail).toBe(fake.head);

    for (const r of raws) fake.add(FakePerfRing.sampleRecord(r));
    const viaRaw: Buffer[] = [];
    expect(ring.pollRaw((_cpu, data, offset, length) => viaRaw.push(Buffer.from(data.subarray(offset, offset + length))), 100)).toBe(4);
    expect(viaRaw).toEqual(raws.map(padded));
  });

  it('a batch whose last sample would wrap the end leaves it to the next batch, which copies it', () => {
    // Batches cover 4096 bytes of ring: from 4096 in an 8192-byte ring, the 37th 112-byte record
    // starts at 8128 and wraps the end.
    const fake = new FakePerfRing(8192, 4096n);
    const ring = new PerfRing(0, fake.control, fake.data, perfShared(4096));
    const raws = Array.from({ length: 40 }, (_, i) => rawSample(i, 100));
    for (const r of raws) fake.add(FakePerfRing.sampleRecord(r));
    const batches: { count: number; copy: boolean }[] = [];
    const got: Buffer[] = [];
    expect(
      ring.pollBatch((b) => {
        batches.push({ count: b.count, copy: b.data !== fake.data });
        for (let i = 0; i < b.count; i++) got.push(Buffer.from(b.data.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])));
      }, 100),
    ).toBe(40);
    expect(batches).toEqual([
      { count: 36, copy: false },
      { count: 1, copy: true },
      { count: 3, copy: false },
    ]);
    expect(got).toEqual(raws);
    expect(fake.tail).toBe(fake.head);
  });

  it('counts LOST records per CPU and does not hand them out', () => {
    const fake = new FakePerfRing(4096);
    const shared = perfShared();
    const ring = new PerfRing(1, fake.control, fake.data, shared);
    fake.add(FakePerfRing.sampleRecord(rawSample(1, 16)));
    fake.add(FakePerfRing.lostRecord(5));
    fake.add(FakePerfRing.sampleRecord(rawSample(2, 16)));
    fake.add(FakePerfRing.lostRecord(2 ** 32 + 3)); // a count wider than 32 bits
    fake.add(FakePerfRing.sampleRecord(rawSample(3, 16)));
    const got: number[] = [];
    expect(
      ring.pollBatch((b) => {
        for (let i = 0; i < b.count; i++) got.push(b.words[b.offsets[i] >>> 2]);
      }, 100),
    ).toBe(3);
    expect(got).toEqual([1, 2, 3]);
    expect(shared.lost.total).toBe(5 + 2 ** 32 + 3);
    expect(shared.lost.byCpu.get(1)).toBe(5 + 2 ** 32 + 3);
    expect(fake.tail).toBe(fake.head);
  });

  it('a corrupt record (size below 8) stops the poll without consuming it', () => {
    const fake = new FakePerfRing(4096);
    const ring = new PerfRing(0, fake.control, fake.data, perfShared());
    fake.add(FakePerfRing.sampleRecord(rawSample(1, 16)));
    const before = fake.head;
    fake.add(Buffer.alloc(16)); // type 0, size 0
    let n = 0;
    expect(ring.pollBatch(() => n++, 100)).toBe(1);
    expect(fake.tail).toBe(before);
  });

  it('reads an overwritable ring backward: newest first, whole records, at most one ring', () => {
    const fake = new FakePerfRing(256); // data_head starts at 0 and moves down
    const shared = perfShared();
    const ring = new PerfRing(0, fake.control, fake.data, shared);
    // 10 records of 40 bytes (28-byte raw): 400 bytes, more than the ring holds.
    for (let i = 0; i < 10; i++) fake.addBackward(FakePerfRing.sampleRecord(rawSample(i, 28)));
    const { start, chunk } = ring.backwardWindow();
    expect(start).toBe(Number(fake.head % 256n));
    expect(chunk).toBe(240); // 6 whole records; the 7th is cut by the newest
    const got: number[] = [];
    expect(ring.raw((_c, data, offset) => got.push(data.readUInt32LE(offset)), start, chunk, 100)).toBe(6);
    expect(got).toEqual([9, 8, 7, 6, 5, 4]);
    // The next read sees only what was written since.
    fake.addBackward(FakePerfRing.sampleRecord(rawSample(10, 28)));
    fake.addBackward(FakePerfRing.sampleRecord(rawSample(11, 28)));
    const next = ring.backwardWindow();
    expect(next.chunk).toBe(80);
    const later: number[] = [];
    ring.views((_c, s) => later.push(s.readUInt32LE(0)), next.start, next.chunk, 100);
    expect(later).toEqual([11, 10]);
    expect(ring.backwardWindow().chunk).toBe(0);
  });
});

describe('user ring buffer access (no kernel)', () => {
  const make = (size: number, start = 0n) => {
    const views = { consumer: Buffer.alloc(4096), producer: Buffer.alloc(4096), data: Buffer.alloc(2 * size) };
    views.consumer.writeBigUInt64LE(start, 0);
    views.producer.writeBigUInt64LE(start, 0);
    return { views, ring: new UserRingBufferRing(views) };
  };

  it('reserve writes a busy header then advances producer_pos; submit clears busy, discard sets the discard bit', () => {
    const { views, ring } = make(256);
    const a = ring.reserve(12);
    expect(a).toBe(8);
    expect(views.data.readUInt32LE(0)).toBe((12 | BUSY) >>> 0);
    expect(views.producer.readBigUInt64LE(0)).toBe(24n); // 8 + 12 rounded up to 8
    const b = ring.reserve(5);
    expect(b).toBe(32);
    ring.submit(a);
    ring.discard(b);
    expect(views.data.readUInt32LE(0)).toBe(12);
    expect(views.data.readUInt32LE(24)).toBe((5 | DISCARD) >>> 0);
    expect(() => ring.submit(a)).toThrow(ReaderError); // not reserved any more
    expect(() => ring.submit(12)).toThrow(/no reserved record at offset 12/);
  });

  it('refuses space the consumer has not freed, and reuses it once consumer_pos moves; records wrap contiguously', () => {
    const { views, ring } = make(64);
    expect(ring.reserve(40)).toBe(8); // 48 bytes
    expect(ring.reserve(16)).toBe(-1); // 24 more do not fit in 64
    expect(ring.reserve(8)).toBe(56); // 16 do
    expect(() => ring.reserve(57)).toThrow(/does not fit a 64-byte ring/);
    // The kernel drained the first record.
    views.consumer.writeBigUInt64LE(48n, 0);
    const at = ring.reserve(30); // at position 64 = offset 0 of the ring... 8 + 30 -> 40 bytes
    expect(at).toBe(8);
    expect(ring.pending).toBe(16 + 40);
    // A record that crosses the end is contiguous in the double mapping.
    views.consumer.writeBigUInt64LE(104n, 0);
    const wrapped = ring.reserve(20); // header at 104 % 64 = 40, body 48..68
    expect(wrapped).toBe(48);
    views.data.fill(7, wrapped, wrapped + 20);
    ring.submit(wrapped);
  });

  it('carries producer_pos past 2^32', () => {
    const start = 0xffff_fff0n;
    const { views, ring } = make(256, start);
    expect(ring.reserve(24)).toBe(Number(start % 256n) + 8);
    expect(views.producer.readBigUInt64LE(0)).toBe(start + 32n);
  });
});

describe('one consumer per map', () => {
  it('a second claim of a map is refused with ERR_READER_BUSY until the first is released', () => {
    const map = { fd: 1000, type: 27, maxEntries: 4096, name: 'm', info: () => ({ id: 987654 }) };
    const id = claimMap(map, 'ring buffer', 'why');
    try {
      expect(() => claimMap(map, 'ring buffer', 'a ring has one consumer position')).toThrow(
        expect.objectContaining({ code: 'ERR_READER_BUSY' }),
      );
    } finally {
      releaseMap(id);
    }
    releaseMap(claimMap(map, 'ring buffer', 'why'));
  });
});

/**
 * A batch's records as copies, located by `stride` when it has one and by `offsets` otherwise;
 * with `filled`, a strided batch's offsets and lengths must agree with its stride.
 */
function recordsOf(b: RecordBatch, filled: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.count; i++) {
    const at = b.stride !== 0 ? b.offsets[0] + i * b.stride : b.offsets[i];
    const length = b.stride !== 0 ? b.lengths[0] : b.lengths[i];
    if (b.stride !== 0 && filled) {
      expect(b.offsets[i]).toBe(at);
      expect(b.lengths[i]).toBe(length);
    }
    out.push(Buffer.from(b.data.subarray(at, at + length)));
  }
  return out;
}

describe('strided batches (no kernel)', () => {
  for (const fill of [true, false]) {
    it(`ring buffer: records of one length come as strided batches, others by offset (fillOffsets ${fill})`, () => {
      const fake = new FakeRingBuffer(4096, 4000n); // the records wrap the end (contiguous in the double mapping)
      const ring = new RingBufferRing(fake, 4, undefined, fill);
      const alike = Array.from({ length: 10 }, (_, i) => body(20, i + 1));
      for (const b of alike) fake.add(b);
      const batches: { count: number; stride: number }[] = [];
      const got: Buffer[] = [];
      const onBatch = (b: RecordBatch): void => {
        batches.push({ count: b.count, stride: b.stride });
        got.push(...recordsOf(b, fill));
      };
      expect(ring.pollBatch(onBatch, Infinity)).toBe(10);
      // 20-byte records take 32 bytes with their header; batches of at most 4 (the capacity).
      expect(batches).toEqual([
        { count: 4, stride: 32 },
        { count: 4, stride: 32 },
        { count: 2, stride: 32 },
      ]);
      expect(got).toEqual(alike);
      expect(fake.consumerPos).toBe(fake.pos);

      // Lengths that differ, and a discarded record between alike ones: no stride, every offset filled.
      batches.length = 0;
      got.length = 0;
      const mixed = [body(16, 1), body(16, 2), body(40, 3), body(16, 4)];
      for (const b of mixed) fake.add(b);
      expect(ring.pollBatch(onBatch, Infinity)).toBe(4);
      expect(batches).toEqual([{ count: 4, stride: 0 }]);
      expect(got).toEqual(mixed);
      batches.length = 0;
      got.length = 0;
      fake.add(body(16, 5));
      fake.add(body(16, 6), DISCARD);
      fake.add(body(16, 7));
      expect(ring.pollBatch(onBatch, Infinity)).toBe(2);
      expect(batches).toEqual([{ count: 2, stride: 0 }]);
      expect(got).toEqual([body(16, 5), body(16, 7)]);

      // A run that ends at a busy record is a strided batch; the rest comes once it is committed.
      batches.length = 0;
      got.length = 0;
      fake.add(body(8, 8));
      fake.add(body(8, 9));
      const busy = fake.add(body(8, 10), BUSY);
      fake.add(body(8, 11));
      expect(ring.pollBatch(onBatch, Infinity)).toBe(2);
      expect(batches).toEqual([{ count: 2, stride: 16 }]);
      fake.commit(busy);
      expect(ring.pollBatch(onBatch, 1)).toBe(1); // max: a strided batch of one
      expect(ring.pollBatch(onBatch, Infinity)).toBe(1);
      expect(batches.slice(1)).toEqual([
        { count: 1, stride: 16 },
        { count: 1, stride: 16 },
      ]);
      expect(got).toEqual([body(8, 8), body(8, 9), body(8, 10), body(8, 11)]);
      expect(fake.consumerPos).toBe(fake.pos);
    });

    it(`perf ring: samples of one size come as strided batches; LOST records, other sizes and wrapped samples do not (fillOffsets ${fill})`, () => {
      const fake = new FakePerfRing(1024, 432n);
      const shared = { ...perfShared(64), fillOffsets: fill };
      const ring = new PerfRing(1, fake.control, fake.data, shared);
      const batches: { count: number; stride: number; copy: boolean }[] = [];
      const got: Buffer[] = [];
      const onBatch = (b: RecordBatch): void => {
        batches.push({ count: b.count, stride: b.stride, copy: b.data !== fake.data });
        got.push(...recordsOf(b, fill));
      };
      // 12 samples of 24 raw bytes (40-byte records) from 432: 480 bytes, up to 912, no wrap.
      const alike = Array.from({ length: 12 }, (_, i) => rawSample(i, 24));
      for (const r of alike) fake.add(FakePerfRing.sampleRecord(r));
      expect(ring.pollBatch(onBatch, 100)).toBe(12);
      expect(batches).toEqual([{ count: 12, stride: 40, copy: false }]);
      expect(got).toEqual(alike.map(padded));
      expect(fake.tail).toBe(fake.head);

      // From 912: the third sample (at 992) has its body across the end (copied, alone), then alike
      // ones again. The batch before it comes from the loop for chunks that reach the end, which
      // makes no strided batches (a stride is a promise when nonzero, not a must).
      batches.length = 0;
      got.length = 0;
      const wrapping = Array.from({ length: 5 }, (_, i) => rawSample(20 + i, 24));
      for (const r of wrapping) fake.add(FakePerfRing.sampleRecord(r));
      expect(ring.pollBatch(onBatch, 100)).toBe(5);
      expect(batches).toEqual([
        { count: 2, stride: 0, copy: false },
        { count: 1, stride: 0, copy: true },
        { count: 2, stride: 40, copy: false },
      ]);
      expect(got).toEqual(wrapping.map(padded));

      // A LOST record or another size among them: no stride, every offset filled.
      batches.length = 0;
      got.length = 0;
      const mixed = [rawSample(30, 24), rawSample(31, 24), rawSample(32, 60), rawSample(33, 24)];
      fake.add(FakePerfRing.sampleRecord(mixed[0]));
      fake.add(FakePerfRing.lostRecord(5));
      for (const r of mixed.slice(1)) fake.add(FakePerfRing.sampleRecord(r));
      expect(ring.pollBatch(onBatch, 100)).toBe(4);
      expect(batches).toEqual([{ count: 4, stride: 0, copy: false }]);
      expect(got).toEqual(mixed.map(padded));
      expect(shared.lost.total).toBe(5);
      expect(fake.tail).toBe(fake.head);
    });
  }
});

/** A small seeded generator (mulberry32), so a failing case can be run again. */
function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}

/** Record i of the randomized tests: its index in the first 4 bytes, then i's low byte. */
const indexed = (i: number, n: number): Buffer => {
  const b = Buffer.alloc(n, i & 0xff);
  if (n >= 4) b.writeUInt32LE(i, 0);
  return b;
};

// The scans walk runs of alike records several headers at a time; runs of every length, ending at
// every place (another length, a discarded or LOST record, a busy record, the chunk's end, `max`,
// the batch's capacity), must hand out exactly what a record-by-record walk would.
describe('long runs of alike records, randomized (no kernel)', () => {
  for (const fill of [true, false]) {
    it(`ring buffer: every committed record once, in order, up to the first busy one (fillOffsets ${fill})`, () => {
      const rand = seeded(fill ? 1 : 2);
      for (let trial = 0; trial < 25; trial++) {
        const fake = new FakeRingBuffer(16384, BigInt(rand(16384) & ~7));
        const ring = new RingBufferRing(fake, 1 + rand(200), undefined, fill);
        const expected: Buffer[] = [];
        let busyAt: bigint | undefined;
        let busyIndex = -1;
        let used = 0;
        for (let i = 0; used < 12000; i++) {
          const runLength = 1 + rand(40);
          const length = [8, 16, 20, 24, 100][rand(5)];
          for (let k = 0; k < runLength && used < 12000; k++, i++) {
            const b = indexed(i, length);
            const roll = rand(100);
            if (roll === 0) fake.add(b, DISCARD);
            else if (roll === 1 && busyAt === undefined) {
              busyAt = fake.add(b, BUSY);
              busyIndex = expected.length;
              expected.push(b);
            } else {
              fake.add(b);
              expected.push(b);
            }
            used += (length + 15) & ~7;
          }
        }
        const got: Buffer[] = [];
        const onBatch = (b: RecordBatch): void => void got.push(...recordsOf(b, fill));
        const committed = busyAt === undefined ? expected.length : busyIndex;
        while (got.length < committed) {
          const before = got.length;
          const n = ring.pollBatch(onBatch, 1 + rand(300));
          expect(n).toBe(got.length - before);
          expect(n).toBeGreaterThan(0);
        }
        expect(ring.pollBatch(onBatch, Infinity)).toBe(0); // stopped at the busy record (or the end)
        expect(got).toEqual(expected.slice(0, committed));
        if (busyAt !== undefined) {
          fake.commit(busyAt);
          while (ring.pollBatch(onBatch, 1 + rand(300)) > 0);
        }
        expect(got).toEqual(expected);
        expect(fake.consumerPos).toBe(fake.pos);
      }
    });

    it(`perf ring: every sample once, in order, LOST records counted (fillOffsets ${fill})`, () => {
      const rand = seeded(fill ? 3 : 4);
      for (let trial = 0; trial < 25; trial++) {
        const fake = new FakePerfRing(16384, BigInt(rand(16384) & ~7));
        const shared = { ...perfShared(1 + rand(200)), fillOffsets: fill };
        const ring = new PerfRing(1, fake.control, fake.data, shared);
        const expected: Buffer[] = [];
        let lost = 0;
        let used = 0;
        for (let i = 0; used < 15000; i++) {
          const runLength = 1 + rand(40);
          const size = [4, 12, 16, 20, 28, 124][rand(6)];
          for (let k = 0; k < runLength && used < 15000; k++, i++) {
            if (rand(60) === 0) {
              fake.add(FakePerfRing.lostRecord(1 + (i & 3)));
              lost += 1 + (i & 3);
              used += 24;
            }
            const raw = indexed(i, size);
            const record = FakePerfRing.sampleRecord(raw);
            fake.add(record);
            expected.push(padded(raw));
            used += record.length;
          }
        }
        const got: Buffer[] = [];
        const onBatch = (b: RecordBatch): void => void got.push(...recordsOf(b, fill));
        while (got.length < expected.length) {
          const before = got.length;
          const n = ring.pollBatch(onBatch, 1 + rand(300));
          expect(n).toBe(got.length - before);
          expect(n).toBeGreaterThan(0);
        }
        expect(ring.pollBatch(onBatch, Infinity)).toBe(0);
        expect(got).toEqual(expected);
        expect(shared.lost.total).toBe(lost);
        expect(fake.tail).toBe(fake.head);
      }
    });
  }
});
