// netkit (Linux 6.7+): a veth-like device pair whose programs run inside the driver, attached
// through bpf_links to the primary or the peer device. Kernels built without CONFIG_NETKIT refuse
// such links with a bare EINVAL; this module says which case it is.
import { readFileSync } from 'node:fs';
import { linkCreate, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import { resolveDevice, type DeviceRef } from '../netlink/index.js';
import type { Program } from '../programs/index.js';
import { NotSupportedError } from '../errors/index.js';
import { BpfLink, LinkError, attaching } from './link.js';
import { withRoute } from './netlink-session.js';

/** netkit is missing from this kernel: a NotSupportedError for feature "netkit" (Linux 6.7+). */
export class NetkitUnsupportedError extends NotSupportedError {
  /** Creates the error; `what` is the operation that needed netkit. */
  constructor(what: string) {
    super('netkit', '6.7', what);
  }
}

export class NetkitLink extends BpfLink {}

let kernelHasNetkit: boolean | undefined;

/** Whether the running kernel has netkit: its link attach function is among the kernel's symbols. */
export function netkitSupported(): boolean {
  if (kernelHasNetkit === undefined) {
    try {
      kernelHasNetkit = /\snetkit_link_attach(\s|$)/m.test(readFileSync('/proc/kallsyms', 'utf8'));
    } catch {
      kernelHasNetkit = false;
    }
  }
  return kernelHasNetkit;
}

/** Attaches a SCHED_CLS program to a netkit device's primary side (default) or its peer. */
export function attachNetkit(program: Program, device: DeviceRef, options: { peer?: boolean } = {}): NetkitLink {
  return attaching(`attaching "${program.name}" to netkit ${device}`, () => {
    if (program.type !== ProgramType.SCHED_CLS) {
      throw new LinkError(
        'program',
        `program "${program.name}" has type ${program.type}; netkit takes SCHED_CLS (${ProgramType.SCHED_CLS}) programs`,
      );
    }
    const side = options.peer ? 'peer' : 'primary';
    if (!netkitSupported()) {
      throw new NetkitUnsupportedError(
        'attaching to a netkit device: the kernel was built without CONFIG_NETKIT (no netkit_link_attach among its symbols), ' +
          'so there are no netkit devices; on this kernel use tcx (attachTcx) on a veth device instead',
      );
    }
    const dev = withRoute((client) => resolveDevice(client, device));
    try {
      return new NetkitLink(
        linkCreate({
          progFd: program.fd,
          targetIfindex: dev.index,
          attachType: options.peer ? AttachType.NETKIT_PEER : AttachType.NETKIT_PRIMARY,
        }),
        `netkit/${dev.name} (${side})`,
      );
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const hint = e.code === 'EINVAL' ? `${dev.name} is not a netkit device (ip link add NAME type netkit makes one)` : undefined;
      throw new SyscallError(`BPF_LINK_CREATE (attach program "${program.name}" to netkit ${dev.name}, ${side})`, e.errno, undefined, hint);
    }
  });
}
