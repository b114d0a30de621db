// perf_event_open(2): the fds that uprobes, tracepoints, perf counters and perf rings hang off.
import { SYS_PERF_EVENT_OPEN, syscall5Raw } from './libc.js';
import { check, SyscallError } from './errors.js';
import { perfEventHint } from './capabilities.js';
import { scratch } from './memory.js';

/** Offsets in struct perf_event_attr (include/uapi/linux/perf_event.h). */
export const PerfEventAttrLayout = {
  type: 0,
  size: 4,
  config: 8,
  sample_period: 16,
  sample_type: 24,
  read_format: 32,
  flags: 40,
  wakeup_events: 48,
  bp_type: 52,
  config1: 56,
  config2: 64,
  branch_sample_type: 72,
  sample_regs_user: 80,
  sample_stack_user: 88,
  clockid: 92,
  sample_regs_intr: 96,
  aux_watermark: 104,
  sample_max_stack: 108,
  aux_sample_size: 112,
  sig_data: 120,
  config3: 128,
} as const;
export const PERF_ATTR_SIZE = 136;

export const PerfEventFlags = {
  DISABLED: 1n << 0n,
  INHERIT: 1n << 1n,
  PINNED: 1n << 2n,
  EXCLUDE_USER: 1n << 4n,
  EXCLUDE_KERNEL: 1n << 5n,
  EXCLUDE_HV: 1n << 6n,
  FREQ: 1n << 10n,
  WATERMARK: 1n << 14n,
} as const;

export const PERF_FLAG_FD_CLOEXEC = 8;
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

export interface PerfEventAttr {
  type: number;
  config?: bigint;
  samplePeriod?: bigint;
  sampleType?: bigint;
  readFormat?: bigint;
  flags?: bigint;
  wakeupEvents?: number;
  /** For uprobes and kprobes: a path or function name, passed as config1. */
  config1String?: string;
  config1?: bigint;
  config2?: bigint;
}

export function perfEventOpen(attr: PerfEventAttr, pid: number, cpu: number, groupFd = -1, flags = PERF_FLAG_FD_CLOEXEC): number {
  const L = PerfEventAttrLayout;
  const mem = scratch(PERF_ATTR_SIZE + 8 + (attr.config1String ? Buffer.byteLength(attr.config1String) + 1 : 0));
  const b = mem.buffer;
  b.fill(0, 0, PERF_ATTR_SIZE);
  b.writeUInt32LE(attr.type, L.type);
  b.writeUInt32LE(PERF_ATTR_SIZE, L.size);
  b.writeBigUInt64LE(attr.config ?? 0n, L.config);
  b.writeBigUInt64LE(attr.samplePeriod ?? 0n, L.sample_period);
  b.writeBigUInt64LE(attr.sampleType ?? 0n, L.sample_type);
  b.writeBigUInt64LE(attr.readFormat ?? 0n, L.read_format);
  b.writeBigUInt64LE(attr.flags ?? 0n, L.flags);
  b.writeUInt32LE(attr.wakeupEvents ?? 0, L.wakeup_events);
  if (attr.config1String !== undefined) {
    const at = PERF_ATTR_SIZE + 8;
    const n = b.write(attr.config1String, at, 'utf8');
    b[at + n] = 0;
    b.writeBigUInt64LE(BigInt(mem.address + at), L.config1);
  } else {
    b.writeBigUInt64LE(attr.config1 ?? 0n, L.config1);
  }
  b.writeBigUInt64LE(attr.config2 ?? 0n, L.config2);
  const detail = `type ${attr.type} config ${attr.config ?? 0n}${attr.config1String ? ` (${attr.config1String})` : ''} pid ${pid} cpu ${cpu}`;
  const ret = syscall5Raw(SYS_PERF_EVENT_OPEN, mem.address, pid, cpu, groupFd, flags);
  // EACCES and EPERM: say which capability or sysctl refused it.
  if (ret === -13 || ret === -1) throw new SyscallError('perf_event_open', -ret, detail, perfEventHint(attr.type, pid));
  return check('perf_event_open', ret, detail);
}
