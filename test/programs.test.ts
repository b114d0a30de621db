import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BpfMap, Program, ProgramError, ProgramType, SyscallError, VerifierError } from '../src/index.js';
import { assemble, ProgramBuilder, R0, R1, R2, R3, R6, R10, Size } from '../src/asm/index.js';
import { u32, u64 } from '../src/codec/index.js';
import { isRoot, need } from './support/env.js';
import { bpftool, ensureBpffs } from './support/kernel.js';
import { track } from './support/track.js';

const packet = (n: number): Buffer => Buffer.alloc(n, 0xab);

describe.runIf(need(isRoot, 'program tests need root'))('programs on the real kernel', () => {
  it('a builder program reads the packet length, calls a subprogram, counts runs in a map', () => {
    const counter = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, name: 'runs' }, { key: u32, value: u64 }),
    );
    const insns = new ProgramBuilder()
      .ldx(Size.W, R2, R1, 4) //        data_end
      .ldx(Size.W, R3, R1, 0) //        data
      .sub64Reg(R2, R3)
      .mov64Reg(R6, R2) //              r6 = packet length
      .st(Size.W, R10, -4, 0) //        key 0
      .ldMapFd(R1, 'runs')
      .mov64Reg(R2, R10)
      .add64Imm(R2, -4)
      .call('map_lookup_elem')
      .jeqImm(R0, 0, 'skip')
      .mov64Imm(R1, 1)
      .atomicAdd(Size.DW, R0, 0, R1)
      .label('skip')
      .mov64Reg(R1, R6)
      .callSub('twice')
      .exit()
      .function('twice')
      .mov64Reg(R0, R1)
      .lsh64Imm(R0, 1)
      .exit()
      .build();
    const prog = track(Program.load({ type: 'XDP', instructions: insns, maps: { runs: counter }, name: 'builder' }));
    const r = prog.testRun({ data: packet(60), repeat: 7 });
    expect(r.retval).toBe(120);
    expect(r.data.length).toBe(60);
    expect(counter.lookup(0)).toBe(7n);
    expect(prog.info().mapIds).toEqual([counter.info().id]);
  });

  it('a text-assembled program loads and returns the expected value', () => {
    const code = assemble(`
      ; r0 = 0x1234 + packet[0]
      r0 = 0x1234
      r2 = *(u32 *)(r1 + 0x0)
      r3 = *(u32 *)(r1 + 0x4)
      r4 = r2
      r4 += 0x1
      if r4 > r3 goto +0x2
      r5 = *(u8 *)(r2 + 0x0)
      r0 += r5
      exit
    `);
    const prog = track(Program.load({ type: 'XDP', instructions: code, name: 'text' }));
    expect(prog.testRun({ data: Buffer.from([0x11, ...packet(20)]) }).retval).toBe(0x1234 + 0x11);
  });

  it('load-acquire and store-release (newer than LLVM 19) pass the verifier and run', () => {
    const insns = new ProgramBuilder()
      .mov64Imm(R1, 41)
      .add64Imm(R1, 1)
      .storeRelease(Size.DW, R10, -8, R1)
      .loadAcquire(Size.DW, R0, R10, -8)
      .storeRelease(Size.W, R10, -16, R0)
      .loadAcquire(Size.W, R2, R10, -16)
      .add64Reg(R0, R2)
      .exit()
      .build();
    const prog = track(Program.load({ type: 'SOCKET_FILTER', instructions: insns, name: 'acqrel' }));
    expect(prog.testRun({ data: packet(64) }).retval).toBe(84);
  });

  it('a rejected program throws VerifierError holding the whole log, last lines in the message', () => {
    const insns = new ProgramBuilder().mov64Reg(R0, R2).exit().build();
    let err: unknown;
    try {
      Program.load({ type: 'XDP', instructions: insns, name: 'bad' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v).toBeInstanceOf(SyscallError);
    expect(v.code).toBe('EACCES');
    expect(v.command).toBe('BPF_PROG_LOAD');
    expect(v.log).toMatch(/R2 !read_ok/);
    expect(v.log).toMatch(/processed \d+ insns/);
    expect(v.message).toMatch(/program "bad" rejected by the verifier/);
    expect(v.message).toMatch(/R2 !read_ok/);
  });

  it('grows the verifier log until it fits', () => {
    const b = new ProgramBuilder().mov64Imm(R0, 0);
    for (let i = 0; i < 200; i++) b.add64Imm(R0, 1);
    const prog = track(Program.load({ type: 'XDP', instructions: b.exit().build(), name: 'biglog' }, { logLevel: 2, logSize: 128 }));
    expect(prog.testRun({ data: packet(14) }).retval).toBe(200);
    // Too small a ceiling: the truncated log is reported, not a silent failure.
    expect(() =>
      Program.load({ type: 'XDP', instructions: b.build(), name: 'biglog' }, { logLevel: 2, logSize: 128, maxLogSize: 512 }),
    ).toThrow(/ENOSPC/);
  });

  it('info agrees with bpftool; pin, open by pin and by id', () => {
    const prog = track(Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, 2).exit().build(), name: 'pass_all' }));
    const info = prog.info();
    const tool = bpftool<{ id: number; type: string; name: string; tag: string; gpl_compatible: boolean; bytes_xlated: number }>(
      'prog',
      'show',
      'id',
      String(info.id),
    );
    expect(tool).toMatchObject({ type: 'xdp', name: 'pass_all', tag: info.tag, gpl_compatible: true, bytes_xlated: info.xlatedSize });
    expect(info.type).toBe(ProgramType.XDP);
    const path = `${ensureBpffs()}/ebpf_test_prog_${process.pid}`;
    prog.pin(path);
    try {
      const p = track(Program.fromPin(path));
      expect(p.info().id).toBe(info.id);
      expect(p.type).toBe(ProgramType.XDP);
      expect(p.name).toBe('pass_all');
    } finally {
      rmSync(path);
    }
    const byId = track(Program.fromId(info.id));
    expect(byId.testRun({ data: packet(14) }).retval).toBe(2);
  });

  it('testRun passes data out, the context, and a mean duration', () => {
    // SCHED_CLS: rewrite the first byte and return skb->len read from the context.
    const insns = new ProgramBuilder()
      .ldx(Size.W, R2, R1, 76) //  data
      .ldx(Size.W, R3, R1, 80) //  data_end
      .mov64Reg(R0, R2)
      .add64Imm(R0, 1)
      .jgtReg(R0, R3, 'out')
      .st(Size.B, R2, 0, 0x42)
      .label('out')
      .ldx(Size.W, R0, R1, 0) //   len
      .exit()
      .build();
    const prog = track(Program.load({ type: 'SCHED_CLS', instructions: insns, name: 'tc_rewrite' }));
    const r = prog.testRun({ data: packet(64), repeat: 100, context: Buffer.alloc(192) });
    expect(r.retval).toBe(64);
    expect(r.data[0]).toBe(0x42);
    expect(r.data.subarray(1).every((x) => x === 0xab)).toBe(true);
    expect(r.duration).toBeGreaterThan(0);
    expect(r.context.length).toBe(192);
  });

  it('an unresolved map name is an error naming the maps given', () => {
    const insns = new ProgramBuilder().ldMapFd(R1, 'missing').mov64Imm(R0, 0).exit().build();
    expect(() => Program.load({ type: 'XDP', instructions: insns, maps: { other: 3 }, name: 'nomap' })).toThrow(ProgramError);
    expect(() => Program.load({ type: 'XDP', instructions: insns, maps: { other: 3 }, name: 'nomap' })).toThrow(
      /references map "missing".*maps given: other/,
    );
    expect(() => Program.load({ type: 'XDP', instructions: new Uint8Array(12) })).toThrow(/not a whole number/);
  });

  it('without privileges, loading fails with EPERM and says what is needed', () => {
    need(process.env.SKIP_UNPRIVILEGED !== '1', 'unprivileged test disabled');
    // Root with an empty bounding set has no capabilities after exec, so bpf(2) refuses.
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-unpriv-'));
    const script = join(dir, 'unpriv.ts');
    writeFileSync(
      script,
      `
      import { BpfMap, Program } from ${JSON.stringify(resolve('src/index.ts'))};
      import { ProgramBuilder, R0 } from ${JSON.stringify(resolve('src/asm/index.ts'))};
      const out: Record<string, unknown> = {};
      for (const [what, f] of Object.entries({
        map: () => BpfMap.create({ type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 1 }),
        prog: () => Program.load({ type: 'XDP', instructions: new ProgramBuilder().mov64Imm(R0, 0).exit().build() }),
      })) {
        try { f(); out[what] = 'loaded'; } catch (e) { const x = e as { name: string; code: string; command: string; hint: string }; out[what] = { name: x.name, code: x.code, command: x.command, hint: x.hint }; }
      }
      console.log(JSON.stringify(out));
    `,
    );
    try {
      const stdout = execFileSync(
        'setpriv',
        ['--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', process.execPath, '--import', 'tsx', script],
        { encoding: 'utf8' },
      );
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      for (const [what, command] of [
        ['map', 'BPF_MAP_CREATE'],
        ['prog', 'BPF_PROG_LOAD'],
      ]) {
        expect(out[what]).toMatchObject({ name: 'SyscallError', code: 'EPERM', command });
        // Root with no capabilities: the hint names CAP_BPF (and, for XDP, CAP_NET_ADMIN) as missing.
        expect(out[what].hint).toMatch(what === 'map' ? /^CAP_BPF is missing/ : /^CAP_BPF and CAP_NET_ADMIN are missing/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface SignalledCalls {
  ok: number;
  failed: number;
  errors: string[];
  signals: number;
  resets: number;
}

/** Runs test/fixtures/load-under-signals.ts with `args`, sending it SIGUSR2 every 5 ms until it reports. */
async function callsUnderSignals(args: string[]): Promise<SignalledCalls> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/load-under-signals.ts', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const finished = new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('{')) resolve();
    });
  });
  await new Promise((r) => child.stdout!.once('data', r));
  const timer = setInterval(() => {
    try {
      process.kill(child.pid!, 'SIGUSR2');
    } catch {
      // The child is gone; the exit code below says why.
    }
  }, 5);
  try {
    await Promise.race([finished, exited]);
  } finally {
    clearInterval(timer);
    child.stdin!.end();
  }
  expect(await exited).toBe(0);
  return JSON.parse(out.trim().split('\n').pop()!) as SignalledCalls;
}

describe.runIf(need(isRoot, 'loading programs needs root'))('loading and test runs while signals arrive', () => {
  it('a verifier interrupted by a signal (EAGAIN) is retried: 200 loads, none fail', async () => {
    // The fixture loads a 2,000-instruction program 200 times; a signal every 5 ms lands inside
    // some of the verifier runs (about one load in seven failed before the retry).
    const r = await callsUnderSignals(['200']);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(200);
    expect(r.signals).toBeGreaterThan(20);
  });

  it('a test run interrupted by a signal (EINTR) is reset and run again: 200 runs, none fail', async () => {
    // 200 calls of about 1 ms of repetitions each (the fixture measures how many): the kernel ends
    // some of them with EINTR (7 of 200 failed before the retry, with 3 ms calls). Each retry calls
    // reset first, so resets counts them.
    const r = await callsUnderSignals(['200', 'testrun']);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(200);
    expect(r.resets).toBeGreaterThan(0);
  });

  it('a test run interrupted ten times in a row fails with EINTR and says so', async () => {
    // 20 million repetitions take far longer than the 5 ms between signals: every attempt is cut.
    const r = await callsUnderSignals(['1', 'long-testrun']);
    expect(r.ok).toBe(0);
    expect(r.failed).toBe(1);
    expect(r.errors[0]).toMatch(
      /^program "[^"]*": test run failed: BPF_PROG_TEST_RUN failed: EINTR \(4\).*20000000 repetitions were interrupted by signals 10 times in a row; hint: run fewer repetitions/,
    );
    expect(r.resets).toBe(9);
  });
});
