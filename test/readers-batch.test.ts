// The readers' three ways to consume (poll, pollRaw, pollBatch) against the real kernel: the same
// records in the same order, discards skipped, `max`, close and throw from callbacks, perf samples
// that wrap the ring's end, LOST records.
import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R5, R6, R7, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap, possibleCpus } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { PerfEventArrayReader, RingBufferReader, type RecordBatch } from '../src/readers/index.js';
import { TestRunFlags } from '../src/uapi/bpf.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import { counterMap, sequencePrologue } from './support/sequence.js';

const MAGIC = 0x5eed_cafe;
/** Record layout: u64 sequence number, u64 MAGIC, u64 sequence + 1000. */
const RECORD = 24;
const packet = Buffer.alloc(64);

/** Sequence number of a record, after checking the rest of it. */
function check(record: Buffer): number {
  expect(record.length).toBeGreaterThanOrEqual(RECORD); // perf pads samples to 8 bytes with the size
  const seq = Number(record.readBigUInt64LE(0));
  expect(record.readBigUInt64LE(8)).toBe(BigInt(MAGIC));
  expect(Number(record.readBigUInt64LE(16))).toBe(seq + 1000);
  return seq;
}

/**
 * XDP program reserving one record per run in a ring buffer; with `discardOdd` the records with
 * an odd sequence number are discarded instead of submitted (they still take ring space).
 */
function ringEmitter(counter: BpfMap<number, bigint>, out: BpfMap<Buffer, Buffer>, discardOdd: boolean): Program {
  const b = sequencePrologue(new ProgramBuilder())
    .ldMapFd(R1, 'out')
    .mov64Imm(R2, RECORD)
    .mov64Imm(R3, 0)
    .call('ringbuf_reserve')
    .jeqImm(R0, 0, 'out')
    .stx(Size.DW, R0, 0, R7)
    .mov64Imm(R1, MAGIC)
    .stx(Size.DW, R0, 8, R1)
    .mov64Reg(R1, R7)
    .add64Imm(R1, 1000)
    .stx(Size.DW, R0, 16, R1)
    .mov64Reg(R1, R0)
    .mov64Imm(R2, 0);
  if (discardOdd) b.jsetImm(R7, 1, 'discard').call('ringbuf_submit').ja('out').label('discard').call('ringbuf_discard');
  else b.call('ringbuf_submit');
  const insns = b.label('out').mov64Imm(R0, 2).exit().build();
  return Program.load({ type: 'XDP', instructions: insns, maps: { counter, out }, name: 'emit_ring' });
}

/** Raw tracepoint program writing one 24-byte sample per run to the perf event array. */
function perfEmitter(counter: BpfMap<number, bigint>, out: BpfMap<Buffer, Buffer>): Program {
  const insns = sequencePrologue(new ProgramBuilder())
    .stx(Size.DW, R10, -32, R7)
    .mov64Imm(R1, MAGIC)
    .stx(Size.DW, R10, -24, R1)
    .mov64Reg(R1, R7)
    .add64Imm(R1, 1000)
    .stx(Size.DW, R10, -16, R1)
    .mov64Reg(R1, R6)
    .ldMapFd(R2, 'out')
    .mov32Imm(R3, -1) // BPF_F_CURRENT_CPU
    .mov64Reg(R4, R10)
    .add64Imm(R4, -32)
    .mov64Imm(R5, RECORD)
    .call('perf_event_output')
    .label('out')
    .mov64Imm(R0, 0)
    .exit()
    .build();
  return Program.load({ type: 'RAW_TRACEPOINT', instructions: insns, maps: { counter, out }, name: 'emit_perf' });
}

type Api = 'poll' | 'pollRaw' | 'pollBatch';
const APIS: Api[] = ['poll', 'pollRaw', 'pollBatch'];

/** Polls a ring buffer with one API, returning the records' sequence numbers (and the count polled). */
function pollRing(reader: RingBufferReader, api: Api, max = Infinity): { seqs: number[]; n: number } {
  const seqs: number[] = [];
  let n: number;
  if (api === 'poll') {
    n = reader.poll((r) => seqs.push(check(r)), max);
  } else if (api === 'pollRaw') {
    n = reader.pollRaw((ring, offset, length) => {
      expect(offset % 8).toBe(0);
      seqs.push(check(ring.subarray(offset, offset + length)));
    }, max);
  } else {
    n = reader.pollBatch((b) => {
      expect(b.cpu).toBe(-1);
      expect(b.count).toBeGreaterThan(0);
      for (let i = 0; i < b.count; i++) {
        const offset = b.offsets[i];
        expect(offset % 8).toBe(0);
        expect(b.lengths[i]).toBe(RECORD);
        expect(b.words[(offset >>> 2) + 2]).toBe(MAGIC);
        expect(b.view.getUint32(offset + 2 * 4, true)).toBe(MAGIC);
        seqs.push(check(b.data.subarray(offset, offset + b.lengths[i])));
      }
    }, max);
  }
  return { seqs, n };
}

const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

describe.runIf(need(isRoot, 'reader tests need root'))('ring buffer reader: poll, pollRaw, pollBatch', () => {
  it('deliver the same ordered records across many wraps, discarded ones skipped', () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'ring' }));
    const prog = track(ringEmitter(counter, ring, true));
    const reader = track(new RingBufferReader(ring));
    // 32 bytes per record (8 header + 24), discarded or not: 4096 bytes hold 128; each API reads
    // 30 rounds of 100, wrapping the ring ~23 times.
    let next = 0;
    for (const api of APIS) {
      const seen: number[] = [];
      for (let round = 0; round < 30; round++) {
        prog.testRun({ data: packet, repeat: 100 });
        const { seqs, n } = pollRing(reader, api);
        expect(n).toBe(50);
        seen.push(...seqs);
      }
      expect(seen).toEqual(range(next, next + 3000, 2));
      next += 3000;
      expect(reader.pending).toBe(0);
    }
  });

  it('pollBatch hands out batches of at most batchSize records', () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
    const prog = track(ringEmitter(counter, ring, false));
    const reader = track(new RingBufferReader(ring, { batchSize: 7 }));
    prog.testRun({ data: packet, repeat: 300 });
    const sizes: number[] = [];
    const seqs: number[] = [];
    expect(
      reader.pollBatch((b) => {
        sizes.push(b.count);
        for (let i = 0; i < b.count; i++) seqs.push(check(b.data.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])));
      }),
    ).toBe(300);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    expect(seqs).toEqual(range(0, 300));
    expect(() => new RingBufferReader(ring, { batchSize: 0 })).toThrow(/batchSize/);
  });

  it('max limits each poll, and the next poll goes on from there', () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
    const prog = track(ringEmitter(counter, ring, true));
    const reader = track(new RingBufferReader(ring));
    prog.testRun({ data: packet, repeat: 200 }); // 100 submitted, 100 discarded
    const seen: number[] = [];
    for (const api of [...APIS, ...APIS]) {
      const { seqs, n } = pollRing(reader, api, 7);
      expect(n).toBe(7);
      seen.push(...seqs);
    }
    expect(pollRing(reader, 'pollBatch', 0).n).toBe(0);
    const { seqs, n } = pollRing(reader, 'pollRaw');
    expect(n).toBe(100 - 42);
    seen.push(...seqs);
    expect(seen).toEqual(range(0, 200, 2));
  });

  it('a callback may close the reader: the poll stops at once', () => {
    for (const api of APIS) {
      const counter = counterMap();
      const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
      const prog = track(ringEmitter(counter, ring, false));
      const reader = new RingBufferReader(ring);
      prog.testRun({ data: packet, repeat: 100 });
      let calls = 0;
      let n: number;
      if (api === 'poll') n = reader.poll(() => void (++calls === 3 && reader.close()));
      else if (api === 'pollRaw') n = reader.pollRaw(() => void (++calls === 3 && reader.close()));
      else n = reader.pollBatch(() => void (++calls === 1 && reader.close()));
      expect(reader.closed).toBe(true);
      expect(calls).toBe(api === 'pollBatch' ? 1 : 3);
      expect(n).toBe(api === 'pollBatch' ? 100 : 3);
      expect(reader.poll(() => undefined)).toBe(0);
      expect(reader.pollRaw(() => undefined)).toBe(0);
      expect(reader.pollBatch(() => undefined)).toBe(0);
      expect(reader.pending).toBe(0);
    }
  });

  it('a callback that throws ends the poll; the records it was given are consumed', () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
    const prog = track(ringEmitter(counter, ring, false));
    const reader = track(new RingBufferReader(ring));
    prog.testRun({ data: packet, repeat: 30 });
    const boom = new Error('boom');
    let seen: number[] = [];
    expect(() =>
      reader.poll((r) => {
        seen.push(check(r));
        if (seen.length === 4) throw boom;
      }),
    ).toThrow(boom);
    expect(() =>
      reader.pollRaw((ring, offset, length) => {
        seen.push(check(ring.subarray(offset, offset + length)));
        if (seen.length === 9) throw boom;
      }),
    ).toThrow(boom);
    expect(seen).toEqual(range(0, 9));
    // A batch is consumed whole when its callback throws.
    seen = [];
    expect(() =>
      reader.pollBatch((b) => {
        seen.push(b.count);
        throw boom;
      }, 5),
    ).toThrow(boom);
    expect(seen).toEqual([5]);
    expect(pollRing(reader, 'pollBatch').seqs).toEqual(range(14, 30));
  });
});

/** Runs the perf emitter `n` times on CPU 0. */
function emitOnCpu0(prog: Program, n: number): void {
  for (let i = 0; i < n; i++) prog.testRun({ context: Buffer.alloc(8), contextOutSize: 0, flags: TestRunFlags.RUN_ON_CPU, cpu: 0 });
}

/** Polls a perf reader with one API: sequence numbers, samples that came as copies, and the count. */
function pollPerf(reader: PerfEventArrayReader, api: Api, ringSize: number, max = Infinity): { seqs: number[]; copies: number; n: number } {
  const seqs: number[] = [];
  let copies = 0;
  let n: number;
  if (api === 'poll') {
    n = reader.poll((cpu, s) => {
      expect(cpu).toBe(0);
      seqs.push(check(s));
    }, max);
  } else if (api === 'pollRaw') {
    n = reader.pollRaw((cpu, data, offset, length) => {
      expect(cpu).toBe(0);
      expect(offset % 4).toBe(0);
      if (data.length !== ringSize) copies++;
      seqs.push(check(data.subarray(offset, offset + length)));
    }, max);
  } else {
    n = reader.pollBatch((b: RecordBatch) => {
      expect(b.cpu).toBe(0);
      if (b.data.length !== ringSize) {
        copies++;
        expect(b.count).toBe(1);
      }
      for (let i = 0; i < b.count; i++) {
        const offset = b.offsets[i];
        expect(offset % 4).toBe(0);
        expect(b.words[(offset >>> 2) + 2]).toBe(MAGIC);
        seqs.push(check(b.data.subarray(offset, offset + b.lengths[i])));
      }
    }, max);
  }
  return { seqs, copies, n };
}

describe.runIf(need(isRoot, 'reader tests need root'))('perf event array reader: poll, pollRaw, pollBatch', () => {
  it('deliver the same samples in order; samples that wrap the ring end come as copies', () => {
    const counter = counterMap();
    const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
    const prog = track(perfEmitter(counter, events));
    const reader = track(new PerfEventArrayReader(events, { pagesPerCpu: 1 }));
    // A sample is 8 header + 4 size + 24 data, padded to 40 bytes: 4096 bytes hold 102, and the
    // records cross the ring's end at a different place on every pass.
    let next = 0;
    for (const api of APIS) {
      const seen: number[] = [];
      let copies = 0;
      for (let round = 0; round < 20; round++) {
        emitOnCpu0(prog, 60);
        const r = pollPerf(reader, api, 4096);
        expect(r.n).toBe(60);
        seen.push(...r.seqs);
        copies += r.copies;
      }
      expect(seen).toEqual(range(next, next + 1200));
      next += 1200;
      if (api !== 'poll') expect(copies).toBeGreaterThan(0);
      expect(reader.lost).toBe(0);
    }
  });

  it('every API counts the samples the kernel lost', () => {
    const counter = counterMap();
    const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
    const prog = track(perfEmitter(counter, events));
    for (const api of APIS) {
      const reader = new PerfEventArrayReader(events, { pagesPerCpu: 1 });
      try {
        emitOnCpu0(prog, 300); // the ring holds 102
        let got = pollPerf(reader, api, 4096).n;
        expect(got).toBeGreaterThan(90);
        expect(got).toBeLessThan(300);
        // The kernel writes the LOST record ahead of the next sample once there is room.
        emitOnCpu0(prog, 1);
        got += pollPerf(reader, api, 4096).n;
        expect(reader.lost).toBeGreaterThan(0);
        expect(reader.lostByCpu.get(0)).toBe(reader.lost);
        expect(reader.lost + got).toBe(301);
      } finally {
        reader.close();
      }
    }
  });

  it('max limits each poll; a callback may close the reader or throw', () => {
    const counter = counterMap();
    const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
    const prog = track(perfEmitter(counter, events));
    const reader = track(new PerfEventArrayReader(events, { pagesPerCpu: 4 }));
    emitOnCpu0(prog, 80);
    const seen: number[] = [];
    for (const api of APIS) {
      const r = pollPerf(reader, api, 4 * 4096, 9);
      expect(r.n).toBe(9);
      seen.push(...r.seqs);
    }
    const boom = new Error('boom');
    expect(() =>
      reader.pollRaw((_cpu, data, offset, length) => {
        seen.push(check(data.subarray(offset, offset + length)));
        if (seen.length === 30) throw boom;
      }),
    ).toThrow(boom);
    expect(() =>
      reader.poll((_cpu, s) => {
        seen.push(check(s));
        if (seen.length === 35) throw boom;
      }),
    ).toThrow(boom);
    expect(() =>
      reader.pollBatch((b) => {
        for (let i = 0; i < b.count; i++) seen.push(check(b.data.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])));
        throw boom;
      }, 5),
    ).toThrow(boom);
    expect(seen).toEqual(range(0, 40));
    let calls = 0;
    expect(reader.pollRaw(() => void (++calls === 2 && reader.close()))).toBe(2);
    expect(reader.closed).toBe(true);
    expect(reader.pollBatch(() => undefined)).toBe(0);
    expect(reader.poll(() => undefined)).toBe(0);
  });
});

/**
 * Sequence numbers of a batch's records, located by `stride` when it has one (checking, when the
 * reader fills offsets, that they agree) and by `offsets` otherwise.
 */
function stridedSeqs(b: RecordBatch, filled: boolean, out: number[]): void {
  for (let i = 0; i < b.count; i++) {
    const at = b.stride !== 0 ? b.offsets[0] + i * b.stride : b.offsets[i];
    const length = b.stride !== 0 ? b.lengths[0] : b.lengths[i];
    if (b.stride !== 0 && filled) {
      expect(b.offsets[i]).toBe(at);
      expect(b.lengths[i]).toBe(length);
    }
    expect(b.words[(at >>> 2) + 2]).toBe(MAGIC);
    out.push(check(b.data.subarray(at, at + length)));
  }
}

describe.runIf(need(isRoot, 'reader tests need root'))('pollBatch strides (fillOffsets)', () => {
  for (const fillOffsets of [true, false]) {
    it(`ring buffer: records of one size from the kernel come in strided batches, across wraps (fillOffsets ${fillOffsets})`, () => {
      const counter = counterMap();
      const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'ring' }));
      const prog = track(ringEmitter(counter, ring, false));
      const reader = track(new RingBufferReader(ring, { fillOffsets }));
      // 32 bytes per record: 4096 bytes hold 128; 30 rounds of 100 wrap the ring ~23 times.
      const seqs: number[] = [];
      let batches = 0;
      for (let round = 0; round < 30; round++) {
        prog.testRun({ data: packet, repeat: 100 });
        expect(
          reader.pollBatch((b) => {
            batches++;
            expect(b.stride).toBe(32); // the double mapping keeps every batch contiguous
            expect(b.lengths[0]).toBe(RECORD);
            stridedSeqs(b, fillOffsets, seqs);
          }),
        ).toBe(100);
      }
      expect(batches).toBeGreaterThanOrEqual(30);
      expect(seqs).toEqual(range(0, 3000));
      expect(reader.pending).toBe(0);
    });

    it(`ring buffer: discarded records between them: batches by offset, every offset filled (fillOffsets ${fillOffsets})`, () => {
      const counter = counterMap();
      const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
      const prog = track(ringEmitter(counter, ring, true));
      const reader = track(new RingBufferReader(ring, { fillOffsets }));
      prog.testRun({ data: packet, repeat: 300 }); // 150 submitted, 150 discarded
      const seqs: number[] = [];
      expect(
        reader.pollBatch((b) => {
          if (b.count > 1) expect(b.stride).toBe(0);
          stridedSeqs(b, fillOffsets, seqs);
        }),
      ).toBe(150);
      expect(seqs).toEqual(range(0, 300, 2));
    });

    it(`perf event array: samples of one size from the kernel come in strided batches (fillOffsets ${fillOffsets})`, () => {
      const counter = counterMap();
      const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
      const prog = track(perfEmitter(counter, events));
      const reader = track(new PerfEventArrayReader(events, { pagesPerCpu: 1, fillOffsets }));
      // 40-byte records (8 header, 4 size, 24 data, 4 padding): 4096 bytes hold 102, so the
      // samples cross the ring's end on most passes; a wrapped one comes as a copy, alone.
      const seqs: number[] = [];
      let strided = 0;
      for (let round = 0; round < 20; round++) {
        emitOnCpu0(prog, 60);
        expect(
          reader.pollBatch((b) => {
            expect(b.cpu).toBe(0);
            if (b.stride !== 0) {
              strided++;
              expect(b.stride).toBe(40);
              expect(b.lengths[0]).toBe(28); // the raw size: data and padding
              expect(b.data.length).toBe(4096); // in place
            }
            stridedSeqs(b, fillOffsets, seqs);
          }),
        ).toBe(60);
      }
      expect(strided).toBeGreaterThan(0);
      expect(seqs).toEqual(range(0, 1200));
      expect(reader.lost).toBe(0);
    });
  }
});
