import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { ProgramBuilder } from '../src/asm/builder.js';
import { R0, R1, R2 } from '../src/asm/registers.js';
import { Size } from '../src/asm/size.js';
import { BpfMap } from '../src/maps/index.js';
import { Program } from '../src/programs/index.js';
import { SyscallError } from '../src/syscall/index.js';
import {
  attachKprobe,
  attachPerfCounter,
  attachTracepoint,
  attachTracing,
  Link,
  LinkError,
  tracingTarget,
  type TracingTarget,
} from '../src/links/index.js';
import { onlineCpus } from '../src/maps/index.js';
import { u32, u64 } from '../src/codec/index.js';
import { isRoot, need } from './support/env.js';
import { track } from './support/track.js';

/** Counts runs where the current tgid is the one stored in counts[1]; counts[0] is the hit count. */
function pidCounter(
  type: 'TRACEPOINT' | 'KPROBE' | 'RAW_TRACEPOINT' | 'PERF_EVENT' | TracingTarget,
  counts: BpfMap<number, bigint>,
): Program {
  const insns = new ProgramBuilder()
    .call('get_current_pid_tgid')
    .rsh64Imm(R0, 32)
    .stx(Size.DW, R10(), -16, R0)
    .st(Size.W, R10(), -4, 1)
    .ldMapFd(R1, 'counts')
    .mov64Reg(R2, 10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .ldx(Size.DW, R1, R0, 0) //       wanted tgid
    .ldx(Size.DW, R2, 10, -16) //     current tgid
    .jneReg(R1, R2, 'out')
    .st(Size.W, R10(), -4, 0)
    .ldMapFd(R1, 'counts')
    .mov64Reg(R2, 10)
    .add64Imm(R2, -4)
    .call('map_lookup_elem')
    .jeqImm(R0, 0, 'out')
    .mov64Imm(R1, 1)
    .atomicAdd(Size.DW, R0, 0, R1)
    .label('out')
    .mov64Imm(R0, 0)
    .exit()
    .build();
  const target = typeof type === 'string' ? { type } : type;
  return Program.load({ ...target, instructions: insns, maps: { counts }, name: 'pid_counter' });
}
function R10(): 10 {
  return 10;
}

/** Runs a python child that makes `n` getppid() calls. */
function getppidChild(n: number) {
  return spawnSync('python3', ['-c', `import os\nfor _ in range(${n}): os.getppid()`]);
}

/** A python child that prints "ready", then on go() makes `n` getppid() calls and exits. */
async function readyChild(n: number): Promise<{ pid: number; go(): Promise<void> }> {
  const child = spawn(
    'python3',
    ['-c', `import os,sys\nprint('ready', flush=True)\nsys.stdin.readline()\nfor _ in range(${n}): os.getppid()`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin!.end('go\n');
      await exited;
    },
  };
}

describe.runIf(need(isRoot, 'tracing tests need root'))('tracepoints and probes', () => {
  it('a tracepoint on sys_enter_getppid counts exactly the calls of a child process', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(pidCounter('TRACEPOINT', counts));
    const link = track(attachTracepoint(prog, 'syscalls', 'sys_enter_getppid'));
    expect(link.isBpfLink).toBe(true);
    // The child starts, says it is ready, and waits: its start-up calls are then reset away.
    const child = await readyChild(1234);
    counts.update(1, BigInt(child.pid));
    counts.update(0, 0n);
    await child.go();
    expect(counts.lookup(0)).toBe(1234n);
    link.close();
    getppidChild(10);
    expect(counts.lookup(0)).toBe(1234n);
  });

  it('an unknown tracepoint names what is missing', () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(pidCounter('TRACEPOINT', counts));
    expect(() => attachTracepoint(prog, 'syscalls', 'sys_enter_nope')).toThrow(/no event "sys_enter_nope" in category "syscalls"/);
    expect(() => attachTracepoint(prog, 'nope', 'x')).toThrow(/no tracepoint category "nope"/);
  });

  it('raw tracepoint sys_enter sees the calls too', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(pidCounter('RAW_TRACEPOINT', counts));
    const link = track(Link.rawTracepoint(prog, 'sys_enter'));
    const child = await readyChild(500);
    counts.update(1, BigInt(child.pid));
    await child.go();
    expect(Number(counts.lookup(0))).toBeGreaterThan(500);
    expect(link.info().type).toBe(1);
    expect(execFileSync('bpftool', ['-j', 'link', 'show', 'id', String(link.info().id)], { encoding: 'utf8' })).toMatch(/raw_tracepoint/);
  });

  it('kprobes: this kernel has none, and the error says so', () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(pidCounter('KPROBE', counts));
    let err: unknown;
    try {
      track(attachKprobe(prog, 'do_sys_openat2'));
    } catch (e) {
      err = e;
    }
    const hasKprobes = (() => {
      try {
        execFileSync('test', ['-d', '/sys/bus/event_source/devices/kprobe']);
        return true;
      } catch {
        return false;
      }
    })();
    if (hasKprobes) expect(err).toBeUndefined();
    else {
      expect(err).toBeInstanceOf(LinkError);
      expect(String(err)).toMatch(/this kernel has no kprobes/);
    }
  });

  it('a perf event program samples a software clock on every CPU', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    // Count only samples that land in this process, then keep it busy.
    counts.update(1, BigInt(process.pid));
    const prog = track(pidCounter('PERF_EVENT', counts));
    // PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK at 1000 Hz.
    for (const cpu of onlineCpus()) track(attachPerfCounter(prog, { type: 1, config: 0n, frequency: 1000n }, cpu));
    // 300 ms of CPU time, not of wall time: on a loaded machine this process is off the CPU for
    // part of any wall-clock stretch, and the CPU clock only ticks while it runs.
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const start = cpuMs();
    const giveUp = Date.now() + 20_000;
    while (cpuMs() - start < 300 && Date.now() < giveUp) {
      /* keep this process on a CPU */
    }
    const samples = Number(counts.lookup(0));
    // About 300 samples at 1000 Hz over 300 ms of CPU time; allow for scheduling.
    expect(samples).toBeGreaterThan(100);
    expect(samples).toBeLessThan(700);
  });

  it.each(['fentry', 'fexit'] as const)(
    '%s on the kernel function behind getppid counts the calls of a child, or the refusal is explained',
    async (kind) => {
      const counts = track(
        BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
      );
      let prog: Program;
      try {
        prog = track(pidCounter(tracingTarget(kind, '__do_sys_getppid'), counts));
      } catch (e) {
        // This 6.18 build refuses trampolines (bpftrace's kfunc probe fails the same way): then the
        // error must say that the kernel, not a missing privilege, is the cause.
        expect(e).toBeInstanceOf(SyscallError);
        expect((e as SyscallError).code).toBe('EPERM');
        expect(String(e)).toMatch(/the kernel itself refuses fentry\/fexit\/fmod_ret programs here/);
        console.warn(`${kind}: this kernel refuses BPF trampolines; checked the error instead`);
        return;
      }
      const link = track(attachTracing(prog));
      expect(link.info().type).toBe(2); // BPF_LINK_TYPE_TRACING
      const child = await readyChild(321);
      counts.update(1, BigInt(child.pid));
      counts.update(0, 0n);
      await child.go();
      expect(counts.lookup(0)).toBe(321n);
    },
  );

  it('tp_btf on sys_enter sees the calls', async () => {
    const counts = track(
      BpfMap.create({ type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 2, name: 'counts' }, { key: u32, value: u64 }),
    );
    const prog = track(pidCounter(tracingTarget('tp_btf', 'sys_enter'), counts));
    track(attachTracing(prog));
    const child = await readyChild(200);
    counts.update(1, BigInt(child.pid));
    counts.update(0, 0n);
    await child.go();
    expect(Number(counts.lookup(0))).toBeGreaterThanOrEqual(200);
  });

  it('an unknown kernel function is refused with close names', () => {
    expect(() => tracingTarget('fentry', 'do_sys_opnat2')).toThrow(
      /no kernel function "do_sys_opnat2" in the kernel's BTF; close names: .*do_sys_openat2/,
    );
    expect(() => tracingTarget('tp_btf', 'no_such_tracepoint')).toThrow(/no tracepoint "no_such_tracepoint"/);
  });
});
