import { closeFd, getFdById, linkDetach, linkUpdate, objGet, objPin, OwnedFd, rawTracepointOpen } from '../syscall/index.js';
import { BpfCommand } from '../uapi/bpf.js';
import type { Program } from '../programs/index.js';
import { EbpfError, NotSupportedError, SyscallError, type EbpfErrorOptions } from '../errors/index.js';
import { linkInfoFromFd, type LinkInfo } from './link-info.js';
import { DeviceError } from '../netlink/devices.js';
import { Errno } from '../errors/errno.js';
import { SymbolNotFoundError } from '../symbols/resolve.js';

export type { LinkInfo };

/**
 * What a LinkError says failed, so callers can `switch (e.kind)`:
 * - `attach`: the kernel (bpf(2), perf_event_open, netlink, tracefs) refused the attachment, or
 *   lacks what it needs; `cause` is the SyscallError, NetlinkError or NotSupportedError. Every
 *   attach function wraps a refusal this one way;
 * - `options`: bad options, found before the kernel is asked (a mode, a direction, a priority,
 *   cookies for the wrong number of functions, struct_ops values);
 * - `program`: the program's type or expected attach type does not fit this attachment;
 * - `target`: what to attach to does not exist or cannot be opened (a file, library, symbol
 *   address, tracepoint, USDT probe, iterator kind, cgroup, map of the wrong type);
 * - `tracefs`: tracefs is not mounted and cannot be;
 * - `closed`: the link was used after close();
 * - on a live link (`cause` is the SyscallError where the kernel refused): `update`, `pin`,
 *   `detach`, `info` (no link info), `read` (reading an iterator).
 */
export type LinkErrorKind =
  'attach' | 'options' | 'program' | 'target' | 'tracefs' | 'closed' | 'update' | 'pin' | 'detach' | 'info' | 'read';

/** An attachment that cannot be made or used; `kind` says what failed. */
export class LinkError extends EbpfError {
  /** What failed; `code` stays ERR_LINK whatever the kind. */
  readonly kind: LinkErrorKind;

  /** Creates the error of `kind` with `message`; `options.cause` is the underlying error. The code is ERR_LINK. */
  constructor(kind: LinkErrorKind, message: string, options?: EbpfErrorOptions) {
    super('ERR_LINK', message, options);
    this.kind = kind;
  }
}

/** Runs `attach`; a kernel refusal (a SyscallError, NetlinkError or NotSupportedError) becomes a LinkError of kind 'attach' that names `what`. */
export function attaching<T>(what: string, attach: () => T): T {
  try {
    return attach();
  } catch (e) {
    throw asAttachError(what, e);
  }
}

/** `e` as the one error every attach function throws: LinkErrors pass as they are, kernel refusals are wrapped (kind 'attach'), anything else (a bug, a parse error) passes too. */
export function asAttachError(what: string, e: unknown): unknown {
  if (e instanceof LinkError) return e;
  // ENODEV: the device (looked up by name or ifindex) is not there; a symbol not in the binary:
  // either way the attachment has no target.
  if ((e instanceof SyscallError && e.errno === Errno.ENODEV) || e instanceof SymbolNotFoundError)
    return new LinkError('target', `${what} failed: ${e.message}`, { cause: e });
  if (e instanceof SyscallError || e instanceof NotSupportedError)
    return new LinkError('attach', `${what} failed: ${e.message}`, { cause: e });
  // A device name or ifindex that cannot name any device.
  if (e instanceof DeviceError) return new LinkError('options', `${what} failed: ${e.message}`, { cause: e });
  return e;
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
    const fd = program.fd;
    return new BpfLink(
      attaching(`attaching "${program.name}" to raw_tracepoint/${name}`, () => rawTracepointOpen(name, fd)),
      `raw_tracepoint/${name}`,
    );
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
    if (this.closed) throw new LinkError('closed', `link ${this.target} is closed`);
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
    const fd = this.#live();
    this.#refused('pin', `pin at ${path}`, () => objPin(fd, path));
  }

  /** Swaps the attached program atomically; with `expected`, only if that program is the one attached. */
  update(program: Program, expected?: Program): void {
    const fd = this.#live();
    this.#refused('update', `update to program "${program.name}"`, () => linkUpdate(fd, program.fd, expected?.fd));
  }

  /** Detaches now, even if other fds or a pin still hold the link; the fd stays open until close(). */
  detach(): void {
    const fd = this.#live();
    this.#refused('detach', 'detach', () => linkDetach(fd));
  }

  #refused(kind: LinkErrorKind, what: string, run: () => void): void {
    try {
      run();
    } catch (e) {
      if (e instanceof SyscallError) throw new LinkError(kind, `link ${this.target}: ${what} failed: ${e.message}`, { cause: e });
      throw e;
    }
  }
}
