// Perf event array reader modes on the real kernel: overwritable (write_backward) rings, per-CPU
// watermarks, and one reader per map.
import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R5, R6, R7, R10 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap, onlineCpus, possibleCpus } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { PerfEventArrayReader } from '../src/readers/index.js';
import { TestRunFlags } from '../src/uapi/bpf.js';
import { isRoot, need } from './support/env.js';
import { counterMap, sequencePrologue } from './support/sequence.js';
import { track } from './support/track.js';

/**
 * A program that outputs one 16-byte sample per run: {sequence number, 0xfeedface}. A raw
 * tracepoint program, because BPF_PROG_TEST_RUN runs those on a chosen CPU: each test knows
 * which CPU's ring its samples go to.
 */
function emitter(counter: BpfMap<number, bigint>, out: BpfMap<Buffer, Buffer>): Program {
  const insns = sequencePrologue(new ProgramBuilder())
    .stx(Size.DW, R10, -24, R7)
    .mov64Imm(R1, 0xfeedface & 0x7fffffff)
    .stx(Size.DW, R10, -16, R1)
    .mov64Reg(R1, R6)
    .ldMapFd(R2, 'out')
    .mov32Imm(R3, -1)
    .mov64Reg(R4, R10)
    .add64Imm(R4, -24)
    .mov64Imm(R5, 16)
    .call('perf_event_output')
    .label('out')
    .mov64Imm(R0, 0)
    .exit()
    .build();
  return Program.load({ type: 'RAW_TRACEPOINT', instructions: insns, maps: { counter, out }, name: 'emit_perf' });
}

/** Runs the emitter `n` times on `cpu`. */
function runOn(prog: Program, cpu: number, n: number): void {
  for (let i = 0; i < n; i++) prog.testRun({ context: Buffer.alloc(8), contextOutSize: 0, flags: TestRunFlags.RUN_ON_CPU, cpu });
}
const eventsMap = (): BpfMap<Buffer, Buffer> =>
  track(BpfMap.create({ type: 'PERF_EVENT_ARRAY', keySize: 4, valueSize: 4, maxEntries: possibleCpus(), name: 'events' }));

/** Each CPU's sequence numbers, in the order a poll handed them out. */
function pollByCpu(reader: PerfEventArrayReader): Map<number, number[]> {
  const byCpu = new Map<number, number[]>();
  reader.poll((cpu, s) => {
    expect(s.readUInt32LE(8)).toBe(0xfeedface & 0x7fffffff);
    (byCpu.get(cpu) ?? byCpu.set(cpu, []).get(cpu)!).push(Number(s.readBigUInt64LE(0)));
  });
  return byCpu;
}

describe.runIf(need(isRoot, 'perf reader tests need root'))('perf event array reader modes', () => {
  it('overwritable rings keep the newest samples and hand them out newest first, each once', () => {
    const counter = counterMap();
    const events = eventsMap();
    const prog = track(emitter(counter, events));
    // One page per CPU: 4096 bytes hold 128 samples of 32 bytes (header, u32 size, 20-byte raw).
    const reader = track(new PerfEventArrayReader(events, { pagesPerCpu: 1, overwritable: true }));
    expect(reader.overwritable).toBe(true);
    const cpu = onlineCpus()[0];
    runOn(prog, cpu, 1000);
    const first = pollByCpu(reader);
    expect([...first.keys()]).toEqual([cpu]);
    // The newest 128 (the ring's 4096 bytes hold 128 samples; the oldest whole record may be cut
    // by the newest: 127 or 128), newest first, without gaps.
    const seqs = first.get(cpu)!;
    expect(seqs.length).toBeGreaterThanOrEqual(127);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 999 - i));
    // The next poll sees only what was written since.
    runOn(prog, cpu, 10);
    expect(pollByCpu(reader).get(cpu)).toEqual(Array.from({ length: 10 }, (_, i) => 1009 - i));
    expect(pollByCpu(reader).size).toBe(0);
    // pollBatch and pollRaw read the same way.
    runOn(prog, cpu, 3);
    const batched: number[] = [];
    expect(
      reader.pollBatch((b) => {
        for (let i = 0; i < b.count; i++) batched.push(b.words[b.offsets[i] >>> 2]);
      }),
    ).toBe(3);
    expect(batched).toEqual([1012, 1011, 1010]);
    runOn(prog, cpu, 2);
    const raw: number[] = [];
    expect(reader.pollRaw((_cpu, data, offset) => raw.push(data.readUInt32LE(offset)))).toBe(2);
    expect(raw).toEqual([1014, 1013]);
    expect(reader.lost).toBe(0);
  });

  it('a forward ring that overflows counts lost samples; an overwritable one never does', () => {
    const counter = counterMap();
    const events = eventsMap();
    const prog = track(emitter(counter, events));
    const cpu = onlineCpus()[0];
    const forward = new PerfEventArrayReader(events, { pagesPerCpu: 1 });
    runOn(prog, cpu, 1000);
    let n = 0;
    forward.poll(() => n++);
    runOn(prog, cpu, 1); // the kernel writes the LOST record ahead of the next sample
    forward.poll(() => n++);
    expect(n).toBeLessThanOrEqual(129);
    expect(n + forward.lost).toBe(1001);
    forward.close();
    using back = new PerfEventArrayReader(events, { pagesPerCpu: 1, overwritable: true });
    runOn(prog, cpu, 1000);
    back.poll(() => undefined);
    runOn(prog, cpu, 1);
    back.poll(() => undefined);
    expect(back.lost).toBe(0);
  });

  it("watermarks per CPU: no wake-up below a CPU's watermark, one above it; a CPU without one wakes per sample", async () => {
    const cpus = onlineCpus();
    if (!need(cpus.length >= 2, 'per-CPU watermarks need two online CPUs')) return;
    const [withMark, perSample] = cpus;
    const counter = counterMap();
    const events = eventsMap();
    const prog = track(emitter(counter, events));
    const asked: number[] = [];
    const reader = track(
      new PerfEventArrayReader(events, {
        pagesPerCpu: 2,
        watermarkBytes: (cpu) => {
          asked.push(cpu);
          return cpu === withMark ? 2048 : undefined;
        },
      }),
    );
    expect([...new Set(asked)].sort()).toEqual(cpus);
    runOn(prog, withMark, 10); // 320 bytes: below the watermark
    expect(await reader.wait(200)).toBe(false);
    expect(pollByCpu(reader).get(withMark)?.length).toBe(10);
    runOn(prog, perSample, 1); // no watermark: woken by one sample
    expect(await reader.wait(2000)).toBe(true);
    expect(pollByCpu(reader).get(perSample)).toEqual([10]);
    runOn(prog, withMark, 70); // 2,240 bytes: past the watermark
    expect(await reader.wait(2000)).toBe(true);
    expect(pollByCpu(reader).get(withMark)?.length).toBe(70);
  });

  it('refuses a watermark that is not below the ring size, and bad wakeupEvents', () => {
    const events = eventsMap();
    expect(() => new PerfEventArrayReader(events, { pagesPerCpu: 1, watermarkBytes: 4096 })).toThrow(
      expect.objectContaining({ code: 'ERR_READER_OPTION' }),
    );
    expect(() => new PerfEventArrayReader(events, { watermarkBytes: (cpu) => (cpu === onlineCpus()[0] ? 0 : 64) })).toThrow(
      /watermarkBytes for CPU/,
    );
    expect(() => new PerfEventArrayReader(events, { wakeupEvents: 0 })).toThrow(expect.objectContaining({ code: 'ERR_READER_OPTION' }));
    // Nothing was claimed or left open by the refused readers.
    new PerfEventArrayReader(events).close();
  });

  it('one reader per map: a second one is refused until the first is closed', () => {
    const events = eventsMap();
    const first = new PerfEventArrayReader(events);
    expect(() => new PerfEventArrayReader(events)).toThrow(expect.objectContaining({ code: 'ERR_READER_BUSY' }));
    expect(() => new PerfEventArrayReader(events)).toThrow(/already has a reader in this process: the map has one perf event per CPU slot/);
    first.close();
    new PerfEventArrayReader(events).close();
  });
});
