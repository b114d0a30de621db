import { getSystemErrorName } from 'node:util';
import { strerror } from './libc.js';
import { mapPermissionHint } from './capabilities.js';

/** Kernel-internal errno values that leak to user space from bpf(2) and have no libc name. */
const KERNEL_ERRNO_NAMES: Record<number, string> = {
  // libuv calls 95 ENOTSUP; the kernel and its documentation say EOPNOTSUPP.
  95: 'EOPNOTSUPP',
  512: 'ERESTARTSYS',
  524: 'ENOTSUPP',
};

export function errnoName(errno: number): string {
  const known = KERNEL_ERRNO_NAMES[errno];
  if (known) return known;
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

function errnoText(errno: number): string {
  if (errno === 524) return 'Operation not supported by the kernel for this object';
  return strerror(errno);
}

/** Hints keyed by errno name, then refined by command where it helps. */
function hintFor(command: string, name: string): string | undefined {
  switch (name) {
    case 'EPERM':
      if (command.startsWith('BPF_MAP')) return mapPermissionHint();
      if (command.startsWith('BPF_') || command === 'perf_event_open')
        return 'run as root, or grant CAP_BPF plus CAP_PERFMON (tracing) or CAP_NET_ADMIN (networking); also check /proc/sys/kernel/unprivileged_bpf_disabled';
      return 'run as root or with the capability this operation needs';
    case 'E2BIG':
      if (command === 'BPF_MAP_UPDATE_ELEM' || command === 'BPF_MAP_UPDATE_BATCH') {
        return 'the map is full: all of its maxEntries slots hold keys; delete entries first, raise maxEntries, or use an LRU hash (which evicts the oldest)';
      }
      return 'the kernel rejected a size: an attribute field this kernel does not know was set, or a key, value, entry count or program is larger than it accepts';
    case 'ENOSPC':
      if (command === 'BPF_PROG_LOAD' || command === 'BPF_BTF_LOAD')
        return 'the verifier log did not fit its buffer; raise logSize';
      if (command.startsWith('BPF_MAP')) return 'the map is full; raise maxEntries or delete entries first';
      return undefined;
    case 'ENOENT':
      if (command.endsWith('_GET_FD_BY_ID')) return 'no object with that id exists (it may have been freed)';
      if (command === 'BPF_OBJ_GET') return 'nothing is pinned at that path';
      if (command.startsWith('BPF_MAP')) return 'the key is not in the map';
      return undefined;
    case 'EEXIST':
      if (command === 'BPF_MAP_UPDATE_ELEM') return 'the key already exists and the update asked for BPF_NOEXIST';
      if (command === 'BPF_OBJ_PIN') return 'the pin path is taken; remove it first';
      return undefined;
    case 'EBADF':
      return 'the file descriptor is closed or is not a BPF object of the expected kind';
    case 'EINVAL':
      return 'the kernel rejected an argument; the command or a flag may be unsupported by this kernel or by this map or program type';
    case 'ENOSYS':
      return 'this kernel was built without the syscall (CONFIG_BPF_SYSCALL or CONFIG_PERF_EVENTS)';
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
      return 'this kernel, driver or object type does not support the operation';
    case 'ENOMEM':
      return 'the kernel could not allocate memory; on kernels before 5.11 raise RLIMIT_MEMLOCK';
    default:
      return undefined;
  }
}

/** A failed system call: which call or bpf command, the errno by name and number, and a hint. */
export class SyscallError extends Error {
  override name = 'SyscallError';
  readonly command: string;
  readonly errno: number;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(command: string, errno: number, detail?: string, hint?: string) {
    const code = errnoName(errno);
    const h = hint ?? hintFor(command, code);
    const parts = [`${command} failed: ${code} (${errno}) ${errnoText(errno)}`];
    if (detail) parts.push(detail);
    if (h) parts.push(`hint: ${h}`);
    super(parts.join('; '));
    this.command = command;
    this.errno = errno;
    this.code = code;
    this.hint = h;
  }
}

/** Throws a SyscallError when `ret` is a negative errno, else returns it. */
export function check(command: string, ret: number, detail?: string): number {
  if (ret < 0) throw new SyscallError(command, -ret, detail);
  return ret;
}
