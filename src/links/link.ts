import { closeFd, getFdById, linkDetach, linkUpdate, objGet, objPin, OwnedFd, rawTracepointOpen } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';
import { linkInfoFromFd, type LinkInfo } from './link-info.js';

export type { LinkInfo };

/** An attachment that cannot be made or used. */
export class LinkError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_LINK. */
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

  /** `target` names what the program is attached to, for messages. */
  protected constructor(target: string) {
    this.target = target;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Detaches the program (see the class comment for how, per kind of attachment). Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Undo the attachment; called once. */
  protected abstract release(): void;

  /** Attaches a RAW_TRACEPOINT program to the kernel tracepoint `name` (for example "sys_enter"). */
  static rawTracepoint(program: Program, name: string): BpfLink {
    return new BpfLink(rawTracepointOpen(name, program.fd), `raw_tracepoint/${name}`);
  }

  /** Opens the bpf_link with kernel id `id` (BPF_LINK_GET_FD_BY_ID); closing it leaves the link to its other holders. */
  static fromId(id: number): BpfLink {
    return BpfLink.fromFd(getFdById(BpfCommand.LINK_GET_FD_BY_ID, id));
  }

  /** Opens the bpf_link pinned at `path` in bpffs. */
  static fromPin(path: string): BpfLink {
    return BpfLink.fromFd(objGet(path));
  }
}

/** A kernel-owned bpf_link: detached when its last fd closes (also when the process dies). */
export class BpfLink extends Link {
  readonly #owned: OwnedFd;

  /** Takes ownership of bpf_link `fd`; `target` names what it is attached to, for messages. */
  constructor(fd: number, target: string) {
    super(target);
    this.#owned = new OwnedFd(fd, `link ${target}`, this);
  }

  protected release(): void {
    this.#owned.close();
  }

  /** The link's file descriptor; throws once the link is closed. */
  get fd(): number {
    return this.#live();
  }

  #live(): number {
    if (this.closed) throw new LinkError(`link ${this.target} is closed`);
    return this.#owned.raw;
  }

  /** Takes ownership of a bpf_link fd; its target is named from what the kernel reports. */
  static fromFd(fd: number): BpfLink {
    try {
      const info = linkInfoFromFd(fd);
      return new BpfLink(fd, `link ${info.id} (${info.details.kind}, program ${info.programId})`);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** The kernel's view of the link: ids, and per type what it is attached to (see LinkDetails). */
  info(): LinkInfo {
    return linkInfoFromFd(this.#live());
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
