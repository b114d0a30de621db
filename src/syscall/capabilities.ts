// Which privilege a refused operation lacked: the capability sets the kernel checks for BPF
// (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN), read from this process's effective set,
// and the facts behind other refusals (perf_event_paranoid, the file system of a pin path). These
// feed the hints of SyscallError, so a refusal says what is missing rather than "run as root".
import { readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;

/** The effective capability set of this process (from /proc/self/status); undefined if unreadable. */
function effectiveCapabilities(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this process holds capability `bit` in its effective set. */
export function hasCapability(bit: number): boolean {
  const caps = effectiveCapabilities();
  return caps !== undefined && ((caps >> BigInt(bit)) & 1n) === 1n;
}

/** The kernel's bpf_capable(): CAP_BPF, or CAP_SYS_ADMIN which implies it. */
export const bpfCapable = (): boolean => hasCapability(CAP_BPF) || hasCapability(CAP_SYS_ADMIN);
/** The kernel's perfmon_capable(). */
export const perfmonCapable = (): boolean => hasCapability(CAP_PERFMON) || hasCapability(CAP_SYS_ADMIN);
/** The kernel's bpf_net_capable(). */
export const netCapable = (): boolean => hasCapability(CAP_NET_ADMIN) || hasCapability(CAP_SYS_ADMIN);

// Program types by the capability BPF_PROG_LOAD checks on top of CAP_BPF (kernel/bpf/syscall.c:
// is_perfmon_prog_type and is_net_admin_prog_type). EXT (28) is in both.
const PERFMON_PROGRAM_TYPES = new Set([2, 5, 7, 17, 24, 26, 27, 28, 29]); // kprobe/uprobe, tracepoint, perf_event, raw_tp(+writable), tracing, struct_ops, ext, lsm
const NET_ADMIN_PROGRAM_TYPES = new Set([3, 4, 6, 10, 11, 12, 19, 14, 16, 22, 15, 9, 18, 25, 23, 13, 28, 32]);
// SOCKET_FILTER (1) and CGROUP_SKB (8) load without CAP_BPF when unprivileged BPF is enabled.
const UNPRIVILEGED_PROGRAM_TYPES = new Set([1, 8]);

/** The capabilities BPF_PROG_LOAD of `type` needs, as the kernel checks them. */
export function programCapabilities(type: number): string[] {
  const caps = ['CAP_BPF'];
  if (PERFMON_PROGRAM_TYPES.has(type)) caps.push('CAP_PERFMON');
  if (NET_ADMIN_PROGRAM_TYPES.has(type)) caps.push('CAP_NET_ADMIN');
  return caps;
}

/**
 * Why BPF_PROG_LOAD of `type` got EPERM: the capabilities it needs that this process lacks, or
 * undefined when it holds them all (the refusal then came from elsewhere).
 */
export function missingProgramCapabilities(type: number): string | undefined {
  const missing: string[] = [];
  if (!bpfCapable() && !UNPRIVILEGED_PROGRAM_TYPES.has(type)) missing.push('CAP_BPF');
  if (PERFMON_PROGRAM_TYPES.has(type) && !perfmonCapable()) missing.push('CAP_PERFMON');
  if (NET_ADMIN_PROGRAM_TYPES.has(type) && !netCapable()) missing.push('CAP_NET_ADMIN');
  if (missing.length === 0) {
    if (UNPRIVILEGED_PROGRAM_TYPES.has(type) && !bpfCapable()) {
      return `this program type may load without CAP_BPF only while /proc/sys/kernel/unprivileged_bpf_disabled is 0 (it is ${readSysctl('kernel/unprivileged_bpf_disabled') ?? 'unknown'}); grant CAP_BPF or run as root`;
    }
    return undefined;
  }
  const what = PERFMON_PROGRAM_TYPES.has(type)
    ? 'tracing programs'
    : NET_ADMIN_PROGRAM_TYPES.has(type)
      ? 'networking programs'
      : 'this program type';
  return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: ${what} need ${programCapabilities(type).join(' + ')} (or root / CAP_SYS_ADMIN)`;
}

/** Why a map command got EPERM: plain map use needs CAP_BPF (or unprivileged BPF enabled). */
export function mapPermissionHint(): string {
  if (!bpfCapable()) {
    return `CAP_BPF is missing: creating and using BPF maps needs CAP_BPF (or root); without it only a few map types, and only while /proc/sys/kernel/unprivileged_bpf_disabled is 0 (it is ${readSysctl('kernel/unprivileged_bpf_disabled') ?? 'unknown'})`;
  }
  return "this process has CAP_BPF, so the refusal comes from the object's own rules (a frozen map, a read-only fd) or a security module";
}

/** A value from /proc/sys (for example "kernel/perf_event_paranoid"), trimmed; undefined if unreadable. */
export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The dynamic PMU type numbers of the uprobe and kprobe event sources. */
function pmuType(name: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/bus/event_source/devices/${name}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Why perf_event_open(type) was refused (EACCES or EPERM): probes through the uprobe and kprobe
 * PMUs need CAP_SYS_ADMIN (measured on Linux 6.18: CAP_BPF + CAP_PERFMON get EACCES, adding
 * CAP_SYS_ADMIN succeeds); other events depend on perf_event_paranoid or CAP_PERFMON.
 */
export function perfEventHint(type: number, pid: number): string {
  const paranoid = readSysctl('kernel/perf_event_paranoid');
  const probe = type === pmuType('uprobe') ? 'uprobe' : type === pmuType('kprobe') ? 'kprobe' : undefined;
  if (probe) {
    const have = [
      hasCapability(CAP_PERFMON) ? 'CAP_PERFMON' : undefined,
      hasCapability(CAP_SYS_ADMIN) ? 'CAP_SYS_ADMIN' : undefined,
    ].filter(Boolean);
    return (
      `a ${probe} opened through perf_event_open (the ${probe} PMU) needs CAP_SYS_ADMIN: CAP_PERFMON is not enough for it on this kernel; ` +
      `this process has ${have.length ? have.join(' and ') : 'neither CAP_PERFMON nor CAP_SYS_ADMIN'}: grant CAP_SYS_ADMIN, or run as root`
    );
  }
  const scope =
    pid === -1
      ? 'a CPU-wide event (pid -1) needs perf_event_paranoid <= 0'
      : 'an event on a process needs perf_event_paranoid <= 2 (user space only) or <= 1 (kernel too)';
  return (
    `perf_event_paranoid is ${paranoid ?? 'unknown'} (/proc/sys/kernel/perf_event_paranoid): ${scope}, unless the process has CAP_PERFMON (or CAP_SYS_ADMIN)` +
    `${hasCapability(CAP_PERFMON) ? '' : '; this process lacks CAP_PERFMON'}`
  );
}

const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Why BPF_OBJ_PIN or BPF_OBJ_GET was refused on `path`: a path outside bpffs is the usual cause
 * (the kernel answers EPERM), which statfs tells; else the directory's permissions.
 */
export function pinHint(path: string): string | undefined {
  let type: number;
  try {
    type = Number(statfsSync(dirname(path)).type);
  } catch {
    return `the directory of ${path} does not exist or cannot be read: create it inside a bpffs mount (/sys/fs/bpf)`;
  }
  if (type >>> 0 !== BPF_FS_MAGIC) {
    return (
      `${dirname(path)} is not on a BPF file system (statfs magic 0x${(type >>> 0).toString(16)}, bpffs is 0x${BPF_FS_MAGIC.toString(16)}): ` +
      'pin under /sys/fs/bpf, or mount one first (mount -t bpf bpf /some/dir)'
    );
  }
  return undefined;
}
