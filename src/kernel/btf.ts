// The running kernel's BTF, read once per process and shared.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { parseBtf, type Btf } from '../btf/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

export class KernelBtfError extends Error {
  override name = 'KernelBtfError';
}

let vmlinux: Btf | undefined;
const modules = new Map<string, Btf>();

/** The kernel's own BTF (/sys/kernel/btf/vmlinux), parsed on first use. */
export function kernelBtf(): Btf {
  if (!vmlinux) {
    if (!existsSync(VMLINUX)) throw new KernelBtfError(`${VMLINUX} does not exist: this kernel was built without CONFIG_DEBUG_INFO_BTF, which BTF-based programs (fentry, fexit, tp_btf, CO-RE) need`);
    vmlinux = parseBtf(readFileSync(VMLINUX));
  }
  return vmlinux;
}

/** A kernel module's split BTF on top of the kernel's. */
export function moduleBtf(name: string): Btf {
  let m = modules.get(name);
  if (!m) {
    const path = `/sys/kernel/btf/${name}`;
    if (!existsSync(path)) throw new KernelBtfError(`no BTF for module "${name}" (${path} does not exist)`);
    m = parseBtf(readFileSync(path), { base: kernelBtf() });
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
