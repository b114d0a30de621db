// How syscalls are named in the running kernel: through per-architecture wrappers taking a struct
// pt_regs (__x64_sys_bpf) on kernels that have them, else plainly (sys_bpf). ksyscall probes and
// the LINUX_HAS_SYSCALL_WRAPPER extern both need it.
import { existsSync, readFileSync } from 'node:fs';
import { KernelFactError } from './cpus.js';

let syscallWrapper: boolean | undefined;

/**
 * Whether syscalls enter through arch wrappers taking a struct pt_regs (__x64_sys_bpf, kernel
 * 4.17+ on x86-64 and arm64 5.0+ with CONFIG_ARCH_HAS_SYSCALL_WRAPPER), as /proc/kallsyms shows.
 */
export function linuxHasSyscallWrapper(kallsyms?: string): boolean {
  if (kallsyms === undefined && syscallWrapper !== undefined) return syscallWrapper;
  const text = kallsyms ?? (existsSync('/proc/kallsyms') ? readFileSync('/proc/kallsyms', 'utf8') : '');
  const found = new RegExp(`^[0-9a-f]+ [tT] __${syscallPrefix()}_sys_bpf$`, 'm').test(text);
  if (kallsyms === undefined) syscallWrapper = found;
  return found;
}

/** The arch prefix of syscall wrappers, as libbpf names them. */
export function syscallPrefix(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'x64';
    case 'ia32':
      return 'ia32';
    case 'arm64':
      return 'arm64';
    case 'arm':
      return 'arm';
    case 's390x':
      return 's390x';
    case 'ppc64':
      return 'powerpc';
    case 'riscv64':
      return 'riscv';
    case 'loong64':
      return 'loongarch';
    default:
      throw new KernelFactError(`no known syscall wrapper prefix for architecture ${arch}`);
  }
}
