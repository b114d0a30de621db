// The user ring buffer producer end to end: records written here are drained by a BPF program
// (bpf/user_ringbuf.c: bpf_user_ringbuf_drain, run with BPF_PROG_TEST_RUN), which sums them into a
// map. The oracle is the kernel: the drain's own return (records it took), the callback's counts,
// and the dynptr sizes the kernel gives each record, against what this test wrote.
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../src/loader/index.js';
import { BpfMap } from '../src/maps/index.js';
import { mapElemRaw } from '../src/syscall/bpf.js';
import { BpfCommand } from '../src/uapi/bpf.js';
import { ReaderError, UserRingBufferProducer } from '../src/readers/index.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

const OBJECT = 'bpf/user_ringbuf.o';
const packet = Buffer.alloc(64);

interface Totals {
  records: bigint;
  sum: bigint;
  shortReads: bigint;
  sizeMismatches: bigint;
  runs: bigint;
  lastRet: bigint;
  drained: bigint;
}

function setup() {
  const coll = track(loadCollection(OBJECT));
  const { user_ring: ring, totals } = coll.maps;
  const drain = coll.programs.drain;
  const read = (): Totals => {
    // Raw bytes (the loader gives the map a BTF codec): the struct's seven u64s.
    const b = Buffer.alloc(56);
    expect(mapElemRaw(BpfCommand.MAP_LOOKUP_ELEM, totals.fd, Buffer.alloc(4), null, b, 0)).toBe(0);
    return {
      records: b.readBigUInt64LE(0),
      sum: b.readBigUInt64LE(8),
      shortReads: b.readBigUInt64LE(16),
      sizeMismatches: b.readBigUInt64LE(24),
      runs: b.readBigUInt64LE(32),
      lastRet: b.readBigInt64LE(40),
      drained: b.readBigInt64LE(48),
    };
  };
  return { ring, drain, read };
}

/** A record of `size` bytes (>= 12): value at 0, its own size at 8, then filler. */
function fill(record: Buffer, value: bigint): void {
  record.fill(0xa5);
  record.writeBigUInt64LE(value, 0);
  record.writeUInt32LE(record.length, 8);
}

describe.runIf(need(isRoot, 'user ring buffer tests need root'))('user ring buffer producer', () => {
  it('records written in place are drained by the program in order, with their sizes', () => {
    const { ring, drain, read } = setup();
    const producer = track(new UserRingBufferProducer(ring));
    let expected = 0n;
    const sizes = [12, 16, 13, 100, 24, 255, 12, 64];
    for (let i = 0; i < sizes.length; i++) {
      const r = producer.reserve(sizes[i])!;
      expect(r.length).toBe(sizes[i]);
      fill(r, BigInt(i + 1) * 1000n);
      expected += BigInt(i + 1) * 1000n;
      producer.submit(r);
    }
    expect(producer.pending).toBeGreaterThan(0);
    drain.testRun({ data: packet });
    const t = read();
    expect(t.lastRet).toBe(BigInt(sizes.length));
    expect(t.records).toBe(BigInt(sizes.length));
    expect(t.sum).toBe(expected);
    expect(t.shortReads).toBe(0n);
    expect(t.sizeMismatches).toBe(0n);
    expect(producer.pending).toBe(0); // the kernel moved consumer_pos past them all
  });

  it('discarded records are stepped over; a reserved, unsubmitted record stops the drain until submitted', () => {
    const { ring, drain, read } = setup();
    const producer = track(new UserRingBufferProducer(ring));
    const a = producer.reserve(16)!;
    fill(a, 1n);
    producer.submit(a);
    const b = producer.reserve(16)!;
    fill(b, 1000n);
    producer.discard(b);
    const c = producer.reserveRaw(16); // busy: not submitted yet
    fill(producer.data.subarray(c, c + 16), 10n);
    const d = producer.reserve(16)!;
    fill(d, 100n);
    producer.submit(d);
    drain.testRun({ data: packet });
    let t = read();
    expect(t.lastRet).toBe(1n); // a only: b discarded, c busy (d waits behind it)
    expect(t.sum).toBe(1n);
    producer.submit(c);
    drain.testRun({ data: packet });
    t = read();
    expect(t.lastRet).toBe(2n);
    expect(t.records).toBe(3n);
    expect(t.sum).toBe(111n);
    expect(producer.pending).toBe(0);
  });

  it('wraps around the ring many times; a full ring refuses until drained', async () => {
    const { ring, drain, read } = setup();
    const producer = track(new UserRingBufferProducer(ring));
    let written = 0;
    let expected = 0n;
    let refused = 0;
    const record = Buffer.alloc(40);
    // 48 bytes per record in a 4096-byte ring: 85 fit; 2,000 records wrap it ~23 times.
    while (written < 2000) {
      fill(record, BigInt(written));
      if (producer.write(record)) {
        expected += BigInt(written);
        written++;
        continue;
      }
      refused++;
      // Full: a reservation waits (and times out) until the program drains the ring.
      expect(await producer.reserveWait(40, 20)).toBeUndefined();
      const waiting = producer.reserveWait(40, 5000);
      drain.testRun({ data: packet });
      const r = await waiting;
      expect(r).toBeDefined();
      fill(r!, BigInt(written));
      producer.submit(r!);
      expected += BigInt(written);
      written++;
    }
    drain.testRun({ data: packet });
    const t = read();
    expect(refused).toBeGreaterThanOrEqual(20);
    expect(t.records).toBe(2000n);
    expect(t.drained).toBe(2000n);
    expect(t.sum).toBe(expected);
    expect(t.sizeMismatches).toBe(0n);
  });

  it('bad use is a typed error', () => {
    const { ring } = setup();
    const producer = track(new UserRingBufferProducer(ring));
    expect(() => new UserRingBufferProducer(ring)).toThrow(expect.objectContaining({ code: 'ERR_READER_BUSY' }));
    expect(() => producer.reserve(4096)).toThrow(expect.objectContaining({ code: 'ERR_READER_RECORD_SIZE' }));
    const r = producer.reserve(8)!;
    producer.submit(r);
    expect(() => producer.submit(r)).toThrow(expect.objectContaining({ code: 'ERR_READER_NOT_RESERVED' }));
    expect(() => producer.submit(Buffer.alloc(8))).toThrow(ReaderError);
    producer.close();
    expect(() => producer.reserve(8)).toThrow(expect.objectContaining({ code: 'ERR_READER_CLOSED' }));
    // Closed: the map may have a producer again.
    track(new UserRingBufferProducer(ring)).close();
    const notUser = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'kring' }));
    expect(() => new UserRingBufferProducer(notUser)).toThrow(expect.objectContaining({ code: 'ERR_READER_MAP_TYPE' }));
  });
});
