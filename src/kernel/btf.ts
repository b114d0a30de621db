// The running kernel's BTF, read once per process and shared.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { closeFd, mapFileForReading, openPath } from '../syscall/index.js';
import { parseBtf, type Btf } from '../btf/index.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

/** The kernel's BTF is missing or has no type that was asked for. */
export class KernelBtfError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_KERNEL_BTF. */
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_KERNEL_BTF', message, options);
  }
}

let vmlinux: Btf | undefined;
const modules = new Map<string, Btf>();

/** The kernel's own BTF (/sys/kernel/btf/vmlinux), parsed on first use and shared. */
export function kernelBtf(): Btf {
  vmlinux ??= loadKernelBtf();
  return vmlinux;
}

/**
 * The kernel's BTF read and parsed anew, not shared: what kernelBtf() does once. Types are
 * decoded when asked for; the bytes stay mapped while the result (or any type of it) is reachable.
 */
export function loadKernelBtf(): Btf {
  if (!existsSync(VMLINUX))
    throw new KernelBtfError(
      `${VMLINUX} does not exist: this kernel was built without CONFIG_DEBUG_INFO_BTF, which BTF-based programs (fentry, fexit, tp_btf, CO-RE) need`,
    );
  return parseBtf(kernelBtfBytes(VMLINUX));
}

/** A kernel module's split BTF on top of the kernel's. */
export function moduleBtf(name: string): Btf {
  let m = modules.get(name);
  if (!m) {
    const path = `/sys/kernel/btf/${name}`;
    if (!existsSync(path)) throw new KernelBtfError(`no BTF for module "${name}" (${path} does not exist)`);
    m = parseBtf(kernelBtfBytes(path), { base: kernelBtf() });
    modules.set(name, m);
  }
  return m;
}

/** Names of the modules that have BTF loaded. */
export function modulesWithBtf(): string[] {
  try {
    return readdirSync('/sys/kernel/btf').filter((n) => n !== 'vmlinux');
  } catch {
    return [];
  }
}

/**
 * The bytes of a BTF file in /sys/kernel/btf. sysfs hands them out 4 KiB per read(2) (over a
 * thousand reads for vmlinux); a private read-only mapping gives them in one call, and since
 * Linux 6.16 without copying (the pages are the kernel's own BTF).
 */
function kernelBtfBytes(path: string): Uint8Array {
  try {
    const size = statSync(path).size;
    const fd = openPath(path);
    try {
      return mapFileForReading(fd, size);
    } finally {
      closeFd(fd);
    }
  } catch {
    return readFileSync(path);
  }
}
