// Defined behaviour when objects are used concurrently or out of order.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BpfMap, Program } from '../src/index.js';
import { ProgramBuilder, R0, R1, R2, R10, Size } from '../src/asm/index.js';
import { u32, u64 } from '../src/codec/index.js';
import { Link } from '../src/links/index.js';
import { ReaderError, RingBufferReader } from '../src/ringbuf.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

/** Counts sys_enter hits of the tgid in counts[1] into counts[0]. */
function counter(counts: BpfMap<number, bigint>): Program {
  return Program.load({
    type: 'RAW_TRACEPOINT',
    name: 'conc_count',
    maps: { counts },
    instructions: new ProgramBuilder()
      .call('get_current_pid_tgid')
      .rsh64Imm(R0, 32)
      .stx(Size.DW, R10, -16, R0)
      .st(Size.W, R10, -4, 1)
      .ldMapFd(R1, 'counts')
      .mov64Reg(R2, R10)
      .add64Imm(R2, -4)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'out')
      .ldx(Size.DW, R1, R0, 0)
      .ldx(Size.DW, R2, R10, -16)
      .jneReg(R1, R2, 'out')
      .st(Size.W, R10, -4, 0)
      .ldMapFd(R1, 'counts')
      .mov64Reg(R2, R10)
      .add64Imm(R2, -4)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'out')
      .mov64Imm(R1, 1)
      .atomicAdd(Size.DW, R0, 0, R1)
      .label('out')
      .mov64Imm(R0, 0)
      .exit()
      .build(),
  });
}

async function pythonGetppid(counts: BpfMap<number, bigint>, n: number): Promise<void> {
  const child = spawn(
    'python3',
    ['-c', `import os,sys\nprint("ready", flush=True)\nsys.stdin.readline()\nfor _ in range(${n}): os.getppid()`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  counts.update(1, BigInt(child.pid!));
  const exited = new Promise((r) => child.on('exit', r));
  child.stdin!.end('go\n');
  await exited;
}

describe.runIf(need(isRoot, 'needs root'))('concurrency and order', () => {
  it('a second reader on the same ring buffer is refused until the first closes', () => {
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'shared' }));
    const first = new RingBufferReader(ring);
    const again = track(BpfMap.fromId(ring.info().id)); // the same ring through another fd
    expect(() => new RingBufferReader(again)).toThrow(ReaderError);
    expect(() => new RingBufferReader(ring)).toThrow(/already has a reader in this process: a ring has one consumer position/);
    first.close();
    track(new RingBufferReader(again));
  });

  it('a program closed while attached keeps running until its link closes', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = counter(counts);
    const id = prog.info().id;
    const link = Link.rawTracepoint(prog, 'sys_enter');
    prog.close();
    expect(() => prog.info()).toThrow(/program "conc_count" is closed/);
    expect(link.info().programId).toBe(id);
    await pythonGetppid(counts, 100);
    expect(Number(counts.lookup(0))).toBeGreaterThanOrEqual(100);
    link.close();
    link.close(); // closing twice is harmless
    expect(link.closed).toBe(true);
    expect(() => link.info()).toThrow(/closed/);
    const before = counts.lookup(0);
    await pythonGetppid(counts, 50);
    expect(counts.lookup(0)).toBe(before);
  });

  it('a reader closed while another task awaits it ends that wait, and iteration stops', async () => {
    const ring = track(BpfMap.create({ type: 'RINGBUF', maxEntries: 4096, name: 'waiting' }));
    const reader = new RingBufferReader(ring);
    const waits = [
      reader.wait(-1),
      (async () => {
        const got: Buffer[] = [];
        for await (const r of reader) got.push(r);
        return got;
      })(),
    ];
    await new Promise((r) => setTimeout(r, 50));
    reader.close();
    const [waited, iterated] = await Promise.all(waits);
    expect(waited).toBe(false);
    expect(iterated).toEqual([]);
  });
});
