// kprobes, uprobes and tracepoints through perf_event_open.
import type { Program } from '../programs/index.js';
import { PerfEventFlags } from '../syscall/index.js';
import { attachPerfEvent, dynamicPmu, openPerfEvent, type PerfEventLink } from './perf-event.js';
import { tracepointId } from './tracefs.js';
import { attaching } from './link.js';

const PERF_TYPE_TRACEPOINT = 2;

/** Options of attachKprobe. */
export interface KprobeOptions {
  /** A kretprobe: fire on return. */
  ret?: boolean;
  /** Offset into the function. */
  offset?: number;
  cookie?: bigint;
}

/** Attaches a KPROBE program to a kernel function through the kprobe PMU. */
export function attachKprobe(program: Program, symbol: string, options: KprobeOptions = {}): PerfEventLink {
  return attaching(`attaching "${program.name}" to kprobe ${symbol}`, () => {
    const target = `${options.ret ? 'kretprobe' : 'kprobe'}/${symbol}`;
    const pmu = dynamicPmu('kprobe');
    const fd = openPerfEvent(
      {
        type: pmu.type,
        config: options.ret ? 1n << BigInt(pmu.retprobeBit) : 0n,
        config1String: symbol,
        config2: BigInt(options.offset ?? 0),
        samplePeriod: 1n,
        wakeupEvents: 1,
      },
      -1,
      0,
      target,
    );
    return attachPerfEvent(program, fd, target, options.cookie);
  });
}

/** Where attachUprobeAtOffset places a uprobe: a file and an offset in it. */
export interface UprobeTarget {
  /** Executable or shared library. */
  path: string;
  /** File offset of the probed instruction. */
  offset: number;
  /** A uretprobe: fire on return. Never use one on Go functions (Go moves stacks; the target crashes). */
  ret?: boolean;
  /** Only this process (default: every process running the file). */
  pid?: number;
  /** Offset of a USDT semaphore to increment while attached. */
  refCtrOffset?: number;
  cookie?: bigint;
  /** For messages: the symbol the offset came from. */
  symbol?: string;
}

/** Attaches a KPROBE-type program as a uprobe at a file offset. */
export function attachUprobeAtOffset(program: Program, t: UprobeTarget): PerfEventLink {
  return attaching(`attaching "${program.name}" to a uprobe in ${t.path}`, () => {
    const target = `${t.ret ? 'uretprobe' : 'uprobe'}/${t.path}:${t.symbol ?? `0x${t.offset.toString(16)}`}${t.pid ? ` (pid ${t.pid})` : ''}`;
    const pmu = dynamicPmu('uprobe');
    let config = t.ret ? 1n << BigInt(pmu.retprobeBit) : 0n;
    if (t.refCtrOffset) config |= BigInt(t.refCtrOffset) << 32n;
    const fd = openPerfEvent(
      {
        type: pmu.type,
        config,
        config1String: t.path,
        config2: BigInt(t.offset),
        samplePeriod: 1n,
        wakeupEvents: 1,
      },
      t.pid ?? -1,
      t.pid ? -1 : 0,
      target,
    );
    return attachPerfEvent(program, fd, target, t.cookie);
  });
}

/** Attaches a TRACEPOINT program to tracepoint category:name (for example "syscalls", "sys_enter_openat"). */
export function attachTracepoint(program: Program, category: string, name: string, cookie?: bigint): PerfEventLink {
  return attaching(`attaching "${program.name}" to tracepoint ${category}/${name}`, () => {
    const target = `tracepoint/${category}/${name}`;
    const id = tracepointId(category, name);
    const fd = openPerfEvent({ type: PERF_TYPE_TRACEPOINT, config: BigInt(id), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0, target);
    return attachPerfEvent(program, fd, target, cookie);
  });
}

/** The perf event attachPerfCounter opens: its type, config and sampling. */
export interface PerfCounterOptions {
  /** PERF_TYPE_HARDWARE 0, SOFTWARE 1, ... */
  type: number;
  config: bigint;
  /** Run the program every `samplePeriod` events, or `frequency` times a second. */
  samplePeriod?: bigint;
  frequency?: bigint;
  /** One CPU, or all online CPUs (default). */
  cpu?: number;
  pid?: number;
}

/** Attaches a PERF_EVENT program to a sampling counter on one CPU (one link per CPU). */
export function attachPerfCounter(program: Program, o: PerfCounterOptions, cpu: number): PerfEventLink {
  return attaching(`attaching "${program.name}" to a perf counter`, () => {
    const target = `perf_event/type ${o.type} config ${o.config} cpu ${cpu}`;
    const fd = openPerfEvent(
      {
        type: o.type,
        config: o.config,
        samplePeriod: o.frequency ?? o.samplePeriod ?? 1n,
        flags: o.frequency ? PerfEventFlags.FREQ : 0n,
      },
      o.pid ?? -1,
      cpu,
      target,
    );
    return attachPerfEvent(program, fd, target);
  });
}
