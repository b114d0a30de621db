// Ring buffer consumption: records/s our reader takes out of a BPF ring buffer.
//
// Two measurements per record size:
// - drain: the ring is filled in the kernel first (BPF_PROG_TEST_RUN with repeat), then timed while
//   the reader consumes it in place: the reader's own cost per record;
// - live: a producer process (dd writing one byte per write(2)) fires a tracepoint that emits one
//   record per call while the reader consumes concurrently, woken through epoll: records/s
//   delivered end to end, and records the kernel could not place (ring full).
import { spawn } from 'node:child_process';
import { BpfMap, Program } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R3, R4, R10, Size } from '../src/asm/index.js';
import { u32, u64 } from '../src/codec/index.js';
import { attachTracepoint } from '../src/links/index.js';
import { RingBufferReader } from '../src/ringbuf.js';

export interface RingResult {
  size: number;
  drainRecordsPerSec: number;
  liveRecordsPerSec: number;
  liveReceived: number;
  liveDropped: number;
}

/** Emits one `size`-byte record per run; counts failed outputs in stats[1] and, with a tgid filter, ignores other processes. */
function emitter(size: number, type: 'XDP' | 'TRACEPOINT', maps: { ring: BpfMap; stats: BpfMap<number, bigint> }): Program {
  const b = new ProgramBuilder();
  if (type === 'TRACEPOINT') {
    // Only the producer process: stats[0] holds its tgid.
    b.call('get_current_pid_tgid')
      .rsh64Imm(R0, 32)
      .stx(Size.DW, R10, -8, R0)
      .st(Size.W, R10, -12, 0)
      .ldMapFd(R1, 'stats')
      .mov64Reg(R2, R10)
      .add64Imm(R2, -12)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'out')
      .ldx(Size.DW, R1, R0, 0)
      .ldx(Size.DW, R2, R10, -8)
      .jneReg(R1, R2, 'out');
  }
  const base = -16 - size;
  for (let off = 0; off < size; off += 8) b.st(Size.DW, R10, base + off, off);
  b.ldMapFd(R1, 'ring')
    .mov64Reg(R2, R10)
    .add64Imm(R2, base)
    .mov64Imm(R3, size)
    .mov64Imm(R4, 0)
    .call('ringbuf_output')
    .jeqImm(R0, 0, 'out')
    .st(Size.W, R10, -12, 1)
    .ldMapFd(R1, 'stats')
    .mov64Reg(R2, R10)
    .add64Imm(R2, -12)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1)
    .label('out')
    .mov64Imm(R0, type === 'XDP' ? 2 : 0)
    .exit();
  return Program.load({ type, instructions: b.build(), maps, name: `ring_${size}` });
}

export async function benchRingBuffer(size: number, quick: boolean): Promise<RingResult> {
  const ringSize = 16 * 1024 * 1024;
  using ring = BpfMap.create({ type: 'RINGBUF', maxEntries: ringSize, name: 'bench_ring' });
  using stats = BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'bench_stats' }, { key: u32, value: u64 });
  using reader = new RingBufferReader(ring);

  // Drain: fill most of the ring, then time the reader alone.
  let drain = 0;
  {
    using prog = emitter(size, 'XDP', { ring, stats });
    const perRecord = (8 + size + 7) & ~7;
    const n = Math.floor((ringSize * 0.9) / perRecord);
    let best = Infinity;
    for (let round = 0; round < (quick ? 3 : 10); round++) {
      prog.testRun({ data: Buffer.alloc(64), repeat: n });
      let got = 0;
      const t0 = process.hrtime.bigint();
      reader.pollRaw(() => got++);
      const ns = Number(process.hrtime.bigint() - t0);
      if (got !== n) throw new Error(`drain: expected ${n} records, got ${got}`);
      best = Math.min(best, ns / n);
    }
    drain = 1e9 / best;
  }

  // Live: a producer process at full speed, the reader concurrently.
  const writes = quick ? 300_000 : 2_000_000;
  using prog = emitter(size, 'TRACEPOINT', { ring, stats });
  using link = attachTracepoint(prog, 'syscalls', 'sys_enter_write');
  const child = spawn('sh', ['-c', `read _ && exec dd if=/dev/zero of=/dev/null bs=1 count=${writes} status=none`], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  stats.update(0, BigInt(child.pid!));
  stats.update(1, 0n);
  let received = 0;
  const done = new Promise<void>((r) => child.on('exit', () => r()));
  let running = true;
  const consumer = (async () => {
    while (running) {
      reader.poll(() => received++);
      await reader.wait(50);
    }
  })();
  const t0 = process.hrtime.bigint();
  child.stdin!.end('go\n');
  await done;
  reader.poll(() => received++);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  await consumer;
  link.close();
  const dropped = Number(stats.lookup(1));
  return { size, drainRecordsPerSec: drain, liveRecordsPerSec: received / seconds, liveReceived: received, liveDropped: dropped };
}
