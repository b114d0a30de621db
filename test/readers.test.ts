import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R5, R6, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap, possibleCpus } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { PerfEventArrayReader, RingBufferReader } from '../src/readers/index.js';
import { TestRunFlags } from '../src/uapi/bpf.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';
import { counterMap, sequencePrologue } from './support/sequence.js';

/**
 * An XDP program that emits one 16-byte record per run: {sequence number, 0xfeedface}. The
 * sequence comes from an atomic fetch-add on a counter map, so records can be checked in order.
 */
function emitter(
  kind: 'ring' | 'perf',
  counter: BpfMap<number, bigint>,
  out: BpfMap<Buffer, Buffer>,
  type: 'XDP' | 'RAW_TRACEPOINT' = 'XDP',
): Program {
  const b = sequencePrologue(new ProgramBuilder()) // r1 = old counter
    .stx(Size.DW, R10, -24, R1)
    .mov64Imm(R1, 0xfeedface & 0x7fffffff)
    .stx(Size.DW, R10, -16, R1);
  if (kind === 'ring') {
    b.ldMapFd(R1, 'out').mov64Reg(R2, R10).add64Imm(R2, -24).mov64Imm(R3, 16).mov64Imm(R4, 0).call('ringbuf_output');
  } else {
    b.mov64Reg(R1, R6).ldMapFd(R2, 'out').mov32Imm(R3, -1).mov64Reg(R4, R10).add64Imm(R4, -24).mov64Imm(R5, 16).call('perf_event_output');
  }
  const insns = b
    .label('out')
    .mov64Imm(R0, type === 'XDP' ? 2 : 0)
    .exit()
    .build();
  return Program.load({ type, instructions: insns, maps: { counter, out }, name: `emit_${kind}` });
}

const packet = Buffer.alloc(64);

describe.runIf(need(isRoot, 'reader tests need root'))('ring buffer reader', () => {
  it('reads every record in order, in place, across many wraps of a small ring', async () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'ring' }));
    const prog = track(emitter('ring', counter, ring));
    const reader = track(new RingBufferReader(ring));
    const seen: bigint[] = [];
    // 24 bytes per record (8 header + 16): 4096 bytes hold 170; 40 rounds of 100 wrap the ring ~24 times.
    for (let round = 0; round < 40; round++) {
      prog.testRun({ data: packet, repeat: 100 });
      expect(await reader.wait(1000)).toBe(true);
      const n = reader.poll((r) => {
        expect(r.length).toBe(16);
        expect(r.readUInt32LE(8)).toBe(0xfeedface & 0x7fffffff);
        seen.push(r.readBigUInt64LE(0));
      });
      expect(n).toBe(100);
    }
    expect(seen.length).toBe(4000);
    expect(seen.every((v, i) => v === BigInt(i))).toBe(true);
    expect(reader.pending).toBe(0);
    // pollRaw hands out offsets into the mapped ring instead of views: the same records.
    prog.testRun({ data: packet, repeat: 100 });
    const raw: bigint[] = [];
    expect(
      reader.pollRaw((ringData, offset, length) => {
        expect(length).toBe(16);
        raw.push(ringData.readBigUInt64LE(offset));
      }),
    ).toBe(100);
    expect(raw).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(4000 + i)));
  });

  it('a full ring refuses records (the program sees the failure); the reader then gets exactly what fit', () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'ring' }));
    const prog = track(emitter('ring', counter, ring));
    const reader = track(new RingBufferReader(ring));
    prog.testRun({ data: packet, repeat: 1000 });
    let n = 0;
    reader.poll(() => n++);
    expect(n).toBe(Math.floor(4096 / 24));
    expect(counter.lookup(0)).toBe(1000n);
  });

  it('async iteration yields copies; close() ends a pending wait and the iteration', async () => {
    const counter = counterMap();
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 16384, name: 'ring' }));
    const prog = track(emitter('ring', counter, ring));
    const reader = new RingBufferReader(ring);
    prog.testRun({ data: packet, repeat: 10 });
    const got: bigint[] = [];
    const iterating = (async () => {
      for await (const r of reader) got.push(r.readBigUInt64LE(0));
    })();
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    // The iterator is now blocked in a wait on another thread.
    reader.close();
    await iterating;
    reader.close();
    expect(await reader.wait(10)).toBe(false);
    expect(reader.poll(() => undefined)).toBe(0);
  });

  it('refuses maps that are not ring buffers', () => {
    const m = track(BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1, name: 'notring' }));
    expect(() => new RingBufferReader(m)).toThrow(/not a ring buffer/);
  });
});

describe.runIf(need(isRoot, 'reader tests need root'))('perf event array reader', () => {
  it('reads samples with their CPU; a full ring reports lost samples', async () => {
    const counter = counterMap();
    const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
    const prog = track(emitter('perf', counter, events));
    const reader = track(new PerfEventArrayReader(events, { pagesPerCpu: 1 }));
    const seen: bigint[] = [];
    let total = 0;
    // Sample = 8 header + 4 size + 16 data, rounded to 8: 32 bytes; a 4096-byte ring holds 128.
    for (let round = 0; round < 20; round++) {
      prog.testRun({ data: packet, repeat: 50 });
      expect(await reader.wait(1000)).toBe(true);
      total += reader.poll((cpu, s) => {
        expect(cpu).toBeGreaterThanOrEqual(0);
        expect(s.length).toBeGreaterThanOrEqual(16);
        expect(s.readUInt32LE(8)).toBe(0xfeedface & 0x7fffffff);
        seen.push(s.readBigUInt64LE(0));
      });
    }
    expect(total).toBe(1000);
    expect(seen.every((v, i) => v === BigInt(i))).toBe(true);
    expect(reader.lost).toBe(0);
    // Overflow: 1000 samples into CPU 0's 128-sample ring without reading. A raw tracepoint
    // program can be test-run on a chosen CPU, so the loss and the sample after it share a ring.
    const pinned = track(emitter('perf', counter, events, 'RAW_TRACEPOINT'));
    const onCpu0 = (): void => void pinned.testRun({ context: Buffer.alloc(8), contextOutSize: 0, flags: TestRunFlags.RUN_ON_CPU, cpu: 0 });
    for (let i = 0; i < 1000; i++) onCpu0();
    let after = 0;
    reader.poll(() => after++);
    expect(after).toBeGreaterThan(50);
    expect(after).toBeLessThan(1000);
    // The kernel writes the LOST record ahead of the next sample once the ring has room again.
    onCpu0();
    reader.poll(() => after++);
    expect(reader.lost).toBeGreaterThan(0);
    expect(reader.lostByCpu.get(0)).toBe(reader.lost);
    expect(reader.lost + after).toBe(1001);
    expect([...reader.lostByCpu.values()].reduce((a, b) => a + b, 0)).toBe(reader.lost);
  });

  it('close() removes its events from the map and ends a pending wait', async () => {
    const events = track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', maxEntries: possibleCpus(), name: 'events' }));
    const reader = new PerfEventArrayReader(events);
    const waiting = reader.wait(-1);
    reader.close();
    expect(await waiting).toBe(false);
    expect(events.delete(0)).toBe(false);
  });
});
