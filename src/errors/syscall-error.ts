// A system call or bpf(2) command the kernel refused: the errno by name and number, and a hint that
// says what usually causes that errno for that command. Pure (the messages come from the errno table),
// so parsers of kernel replies (netlink) can raise it without loading native code.
import { EbpfError, type EbpfErrorOptions } from './ebpf-error.js';
import { errnoMessage, errnoName } from './errno.js';

/** Hints keyed by errno name, then refined by command where it helps. */
function hintFor(command: string, name: string): string | undefined {
  switch (name) {
    case 'EPERM':
      if (command.startsWith('BPF_') || command === 'perf_event_open')
        return 'run as root, or grant CAP_BPF plus CAP_PERFMON (tracing) or CAP_NET_ADMIN (networking); also check /proc/sys/kernel/unprivileged_bpf_disabled';
      return 'run as root or with the capability this operation needs';
    case 'E2BIG':
      if (command === 'BPF_MAP_UPDATE_ELEM' || command === 'BPF_MAP_UPDATE_BATCH') {
        return 'the map is full: all of its maxEntries slots hold keys; delete entries first, raise maxEntries, or use an LRU hash (which evicts the oldest)';
      }
      return 'the kernel rejected a size: an attribute field this kernel does not know was set, or a key, value, entry count or program is larger than it accepts';
    case 'ENOSPC':
      if (command === 'BPF_PROG_LOAD' || command === 'BPF_BTF_LOAD') return 'the verifier log did not fit its buffer; raise logSize';
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
      return 'the kernel could not allocate memory: BPF maps and programs are charged to the memory cgroup of the process that creates them (kernel 5.11+), so raise its limit (memory.max, or memory.limit_in_bytes on cgroup v1) or make the map smaller; on kernels before 5.11 raise RLIMIT_MEMLOCK (ulimit -l)';
    case 'EMFILE':
      return 'this process has as many open files as its limit allows: every map, program and link is one; raise RLIMIT_NOFILE (ulimit -n) or close objects no longer needed';
    case 'ENFILE':
      return 'the system-wide limit on open files is reached (fs.file-max)';
    default:
      return undefined;
  }
}

/** A failed system call: which call or bpf command, the errno by name and number, and a hint. */
export class SyscallError extends EbpfError {
  readonly command: string;
  readonly errno: number;
  readonly hint: string | undefined;

  /** Creates the error for system call or bpf command `command` that failed with `errno`; `detail` is added to the message, `hint` replaces the default hint. */
  constructor(command: string, errno: number, detail?: string, hint?: string, options?: EbpfErrorOptions) {
    const code = errnoName(errno);
    const h = hint ?? hintFor(command, code);
    const parts = [`${command} failed: ${code} (${errno}) ${errnoMessage(errno)}`];
    if (detail) parts.push(detail);
    if (h) parts.push(`hint: ${h}`);
    super(code, parts.join('; '), options);
    this.command = command;
    this.errno = errno;
    this.hint = h;
  }
}
