import { LinkInfoLayout as L } from '../syscall/attr.js';
import { linkDetach, linkUpdate, objGetInfo, objPin, OwnedFd, rawTracepointOpen } from '../syscall/index.js';
import type { Program } from '../programs/index.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';

/** What the kernel reports about a bpf_link. */
export interface LinkInfo {
  /** enum bpf_link_type: 1 raw tracepoint, 2 tracing, 3 cgroup, 4 iter, 5 netns, 6 xdp, 7 perf event, 8 kprobe multi, 9 struct ops, 10 netfilter, 11 tcx, 12 uprobe multi, 13 netkit. */
  type: number;
  id: number;
  programId: number;
}

export class LinkError extends EbpfError {
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_LINK', message, options);
  }
}

/**
 * An attachment of a program to something. Closing it detaches the program (for netlink XDP and
 * tc filters, by removing them; for kernel links, by closing the last fd). Closing twice is harmless.
 */
export abstract class Link {
  /** What the program is attached to, for messages: "xdp/veth0 (native)", "raw_tracepoint/sys_enter". */
  readonly target: string;
  #closed = false;

  protected constructor(target: string) {
    this.target = target;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Undo the attachment; called once. */
  protected abstract release(): void;

  /** Attaches a RAW_TRACEPOINT program to the kernel tracepoint `name` (for example "sys_enter"). */
  static rawTracepoint(program: Program, name: string): BpfLink {
    return new BpfLink(rawTracepointOpen(name, program.fd), `raw_tracepoint/${name}`);
  }
}

/** A kernel-owned bpf_link: detached when its last fd closes (also when the process dies). */
export class BpfLink extends Link {
  readonly fd: number;
  readonly #owned: OwnedFd;

  constructor(fd: number, target: string) {
    super(target);
    this.fd = fd;
    this.#owned = new OwnedFd(fd, `link ${target}`, this);
  }

  protected release(): void {
    this.#owned.close();
  }

  #live(): number {
    if (this.closed) throw new LinkError(`link ${this.target} is closed`);
    return this.fd;
  }

  info(): LinkInfo {
    const { info: b } = objGetInfo(this.#live(), L.size);
    return { type: b.readUInt32LE(L.type), id: b.readUInt32LE(L.id), programId: b.readUInt32LE(L.prog_id) };
  }

  /** Pins the link in bpffs: it then stays attached after this process closes it or exits. */
  pin(path: string): void {
    objPin(this.#live(), path);
  }

  /** Swaps the attached program atomically; with `expected`, only if that program is the one attached. */
  update(program: Program, expected?: Program): void {
    linkUpdate(this.#live(), program.fd, expected?.fd);
  }

  /** Detaches now, even if other fds or a pin still hold the link; the fd stays open until close(). */
  detach(): void {
    linkDetach(this.#live());
  }
}
