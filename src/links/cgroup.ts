// cgroup programs: a kernel link when the kernel has cgroup links (5.7+), else BPF_PROG_ATTACH.
import { closeFd, linkCreate, openPath, progAttach, progDetach, SyscallError } from '../syscall/index.js';
import { ProgramAttachFlags } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, Link, LinkError, attaching } from './link.js';

const O_DIRECTORY = 0x10000;

/** A program attached with BPF_PROG_ATTACH; closing detaches exactly this program. */
export class CgroupAttachment extends Link {
  readonly #cgroupFd: number;
  readonly #programFd: number;
  readonly #attachType: number;

  /** Wraps a BPF_PROG_ATTACH attachment of `program` to the cgroup open at `cgroupFd`, taking ownership of that fd; attachCgroup makes these. */
  constructor(cgroupFd: number, program: Program, attachType: number, target: string) {
    super(target);
    this.#cgroupFd = cgroupFd;
    this.#programFd = program.fd;
    this.#attachType = attachType;
  }

  protected release(): void {
    try {
      progDetach(this.#cgroupFd, this.#attachType, this.#programFd);
    } finally {
      closeFd(this.#cgroupFd);
    }
  }
}

/** Options of attachCgroup. */
export interface CgroupOptions {
  /** Use BPF_PROG_ATTACH even where links exist (the attachment then outlives the process). */
  legacy?: boolean;
  /** BPF_PROG_ATTACH flags (default ALLOW_MULTI). */
  flags?: number;
}

/** Attaches a cgroup program (CGROUP_SKB, CGROUP_SOCK, ...) to the cgroup v2 directory `path`. */
export function attachCgroup(program: Program, path: string, attachType: number, options: CgroupOptions = {}): BpfLink | CgroupAttachment {
  return attaching(`attaching "${program.name}" to cgroup ${path}`, () => {
    const target = `cgroup ${path} (attach type ${attachType})`;
    let fd: number;
    try {
      fd = openPath(path, O_DIRECTORY);
    } catch (e) {
      throw new LinkError('target', `cannot open cgroup ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      if (!options.legacy) {
        try {
          const link = linkCreate({ progFd: program.fd, targetFd: fd, attachType });
          closeFd(fd);
          return new BpfLink(link, target);
        } catch (e) {
          if (!(e instanceof SyscallError) || e.code !== 'EINVAL') throw e;
        }
      }
      progAttach({ targetFd: fd, progFd: program.fd, attachType, flags: options.flags ?? ProgramAttachFlags.ALLOW_MULTI });
      return new CgroupAttachment(fd, program, attachType, target);
    } catch (e) {
      closeFd(fd);
      if (e instanceof SyscallError) throw new LinkError('attach', `attaching program "${program.name}" to ${target} failed: ${e.message}`, { cause: e });
      throw e;
    }
  });
}
