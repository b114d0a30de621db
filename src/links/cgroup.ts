// cgroup programs: a kernel link when the kernel has cgroup links (5.7+), else BPF_PROG_ATTACH.
import { closeFd, dupFd, linkCreate, OwnedFd, openPath, progAttach, progDetach, SyscallError } from '../syscall/index.js';
import { ProgramAttachFlags } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { BpfLink, Link, LinkError, attaching } from './link.js';

const O_DIRECTORY = 0x10000;

/** A program attached with BPF_PROG_ATTACH; closing detaches exactly this program. */
export class CgroupAttachment extends Link {
  readonly #cgroup: OwnedFd;
  // A duplicate of the program's fd, owned here: detaching names the program, and the caller may
  // close the Program (its number then reused by another object) before this attachment.
  readonly #program: OwnedFd;
  readonly #attachType: number;

  /** Wraps a BPF_PROG_ATTACH attachment of `program` to the cgroup open at `cgroupFd`, taking ownership of that fd once built (not if this throws); attachCgroup makes these. */
  constructor(cgroupFd: number, program: Program, attachType: number, target: string) {
    super(target);
    this.#program = new OwnedFd(dupFd(program.fd), `program of ${target}`, this);
    this.#cgroup = new OwnedFd(cgroupFd, `cgroup of ${target}`, this);
    this.#attachType = attachType;
  }

  protected release(): void {
    try {
      progDetach(this.#cgroup.value, this.#attachType, this.#program.value);
    } finally {
      this.#program.close();
      this.#cgroup.close();
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
      try {
        return new CgroupAttachment(fd, program, attachType, target);
      } catch (e) {
        // No fd left to hold the program by (EMFILE): undo the attachment rather than leave it behind.
        progDetach(fd, attachType, program.fd);
        throw e;
      }
    } catch (e) {
      closeFd(fd);
      if (e instanceof SyscallError)
        throw new LinkError('attach', `attaching program "${program.name}" to ${target} failed: ${e.message}`, { cause: e });
      throw e;
    }
  });
}
