// XDP: attaching a program to a network device, through a kernel bpf_link (detached when its last fd
// closes) or through rtnetlink (stays until someone detaches it), and reading back what is attached.
import {
  describeDevice,
  encodeXdpSetLink,
  getLink,
  type NetlinkClient,
  NetlinkError,
  parseXdpState,
  refusal,
  RouteMessageType,
  XdpFlags,
  type Device,
  type DeviceRef,
  type KernelRefusal,
  type XdpState,
} from '../netlink/index.js';
import { Program } from '../programs/index.js';
import { closeFd, linkCreate, type NetlinkSocket, SyscallError } from '../syscall/index.js';
import { AttachType, ProgramType } from '../uapi/bpf.js';
import { attaching, BpfLink, Link, LinkError } from './link.js';
import { FeatureProbeError, linkType, NotSupportedError, type FeatureAnswer } from '../features/index.js';
import { openRoute, withRoute } from './netlink-session.js';
import { Errno } from '../errors/errno.js';

/** XDP attach mode: "generic" (in the network stack, any device), "native" (in the driver), "offload" (on the NIC). */
export type XdpMode = 'generic' | 'native' | 'offload';
/** 'link': a kernel bpf_link (kernel 5.9+); 'netlink': RTM_SETLINK, which outlives the process. */
export type XdpVia = 'link' | 'netlink';
export type { XdpState };

/** Options of attachXdp. */
export interface XdpAttachOptions {
  /** Leave out to let the kernel choose: native when the driver supports it, else generic. */
  mode?: XdpMode;
  /** Default: 'link' when the kernel has XDP bpf_links (5.9+) and `replace` is not given, else 'netlink'. */
  via?: XdpVia;
  /** Netlink: fail with Errno.EBUSY instead of replacing a program already attached in this mode. */
  updateIfNoExist?: boolean;
  /** Netlink: replace this program, and only if it is the one attached now (XDP_FLAGS_REPLACE). */
  replace?: Program;
}

const MODE_FLAGS: Record<XdpMode, number> = {
  generic: XdpFlags.SKB_MODE,
  native: XdpFlags.DRV_MODE,
  offload: XdpFlags.HW_MODE,
};

const MODES = Object.keys(MODE_FLAGS) as XdpMode[];
/** The kernel-internal "not supported" that some drivers leak. */

function checkMode(mode: unknown): XdpMode | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode === 'string' && (MODES as string[]).includes(mode)) return mode as XdpMode;
  throw new LinkError(
    'options',
    `bad XDP mode ${JSON.stringify(mode)}: use 'generic', 'native' or 'offload', or leave it out to let the kernel choose (native if the driver supports it, else generic)`,
  );
}

/** Whether the kernel has XDP bpf_links (5.9+), as probed: distributions backport, so no version check. */
function xdpLinks(): FeatureAnswer | undefined {
  try {
    return linkType('xdp');
  } catch (e) {
    // The probe needs the privileges attaching needs too; the attach then gives the clearer error.
    if (e instanceof FeatureProbeError) return undefined;
    throw e;
  }
}

const kernelHasXdpLinks = (): boolean => xdpLinks()?.supported ?? false;

/** A route netlink socket in the calling thread's current network namespace. */
function programLabel(program: Program): string {
  return program.name ? `program "${program.name}"` : 'program';
}

function modeOfProgram(state: XdpState, programId: number): XdpMode | undefined {
  if (state.nativeProgramId === programId) return 'native';
  if (state.genericProgramId === programId) return 'generic';
  if (state.offloadProgramId === programId) return 'offload';
  return undefined;
}

function programIdIn(state: XdpState, mode: XdpMode): number | undefined {
  return mode === 'native' ? state.nativeProgramId : mode === 'generic' ? state.genericProgramId : state.offloadProgramId;
}

function offloadHint(device: string): string {
  return (
    `${device} has no XDP offload: running XDP on the NIC itself needs a NIC whose driver can offload BPF programs, ` +
    `such as Netronome's Agilio (nfp driver), and a program loaded with ifindex set to that device (Program.load({ ..., ifindex })); ` +
    `on this device use mode 'native' or 'generic'`
  );
}

interface HintContext {
  device: string;
  mode: XdpMode | undefined;
  via: XdpVia;
  /** What is attached now, when the caller looked after a failure. */
  state?: XdpState;
}

/** Turns the kernel's refusal into advice. The ext-ack texts are the kernel's (net/core/dev.c). */
function xdpHint(r: KernelRefusal, c: HintContext): string | undefined {
  const text = r.extack ?? '';
  const other = c.mode === 'generic' ? 'native' : 'generic';
  const attachedNow = c.state && c.state.attached !== 'none' ? ` (attached now: ${describeState(c.state)})` : '';
  switch (r.errno) {
    case Errno.EOPNOTSUPP:
    case Errno.ENOTSUPP:
      if (c.mode === 'offload') return offloadHint(c.device);
      return `${c.device} has no driver (native) XDP support: use mode 'generic' (or leave the mode out and the kernel picks generic)`;
    case Errno.EEXIST:
      if (/does not match expected/i.test(text)) {
        return `the program attached to ${c.device} is not the expected one, so nothing was replaced${attachedNow}`;
      }
      return (
        `native and generic XDP cannot be active on one device at the same time: a program is attached to ${c.device} in ${other} mode${attachedNow}; ` +
        `detach it first (detachXdp(device, '${other}')) or attach in the same mode`
      );
    case Errno.EBUSY:
      if (/BPF XDP link/i.test(text) || (c.via === 'netlink' && !text)) {
        return (
          `the program in this mode on ${c.device} is held by a bpf_link, which netlink can neither replace nor detach; ` +
          `close that link (its owner's fd), or force it with bpftool link detach id <link id>`
        );
      }
      if (/already attached/i.test(text)) {
        return `updateIfNoExist was set and ${c.device} already runs a program in this mode${attachedNow}; detach it first or leave updateIfNoExist out to replace it`;
      }
      return (
        `${c.device} already runs a program in this mode${attachedNow}; a bpf_link never replaces one: ` +
        `detach it first (detachXdp), update the existing link (link.update()), or attach with via: 'netlink' and replace`
      );
    case Errno.EINVAL:
      if (c.mode === 'offload') return offloadHint(c.device);
      if (/offloaded|bound to different device|device-bound/i.test(text)) {
        return "a program loaded with ifindex (device-bound or offloaded) runs only on that device, and an offloaded one only with mode 'offload'";
      }
      return undefined;
    case Errno.EPERM:
      return 'attaching XDP needs CAP_NET_ADMIN (and CAP_BPF or root for bpf_links)';
    default:
      return undefined;
  }
}

function describeState(s: XdpState): string {
  const parts: string[] = [];
  if (s.nativeProgramId) parts.push(`native program id ${s.nativeProgramId}`);
  if (s.genericProgramId) parts.push(`generic program id ${s.genericProgramId}`);
  if (s.offloadProgramId) parts.push(`offload program id ${s.offloadProgramId}`);
  return parts.join(', ') || s.attached;
}

function queryState(client: NetlinkClient, device: DeviceRef): XdpState {
  return parseXdpState(getLink(client, device).attributes);
}

/** An XDP program attached through a kernel bpf_link. Close (or process exit) detaches it; update() swaps programs. */
export class XdpLink extends BpfLink {
  readonly device: string;
  readonly ifindex: number;
  /** The mode the kernel runs it in (the one asked for, or the one it chose). */
  readonly mode: XdpMode;

  /** Takes ownership of XDP link `fd` on `device` in `mode`; attachXdp makes these. */
  constructor(fd: number, device: Device, mode: XdpMode) {
    super(fd, `xdp/${device.name} (${mode}, bpf_link)`);
    this.device = device.name;
    this.ifindex = device.index;
    this.mode = mode;
  }
}

/**
 * An XDP program attached through rtnetlink. It stays attached after this process exits; close()
 * detaches it, but only if the program attached in that mode is still ours.
 */
export class XdpNetlinkAttachment extends Link {
  readonly device: string;
  readonly ifindex: number;
  readonly mode: XdpMode;
  #programId: number;
  // The socket was opened in the device's network namespace and stays there: close() and replace()
  // work from any namespace the caller is in by then.
  readonly #socket: NetlinkSocket;
  readonly #client: NetlinkClient;

  /** @internal use attachXdp(). */
  constructor(socket: NetlinkSocket, client: NetlinkClient, device: Device, mode: XdpMode, programId: number) {
    super(`xdp/${device.name} (${mode}, netlink)`);
    this.#socket = socket;
    this.#client = client;
    this.device = device.name;
    this.ifindex = device.index;
    this.mode = mode;
    this.#programId = programId;
  }

  /** Id of the program this attachment put there (or last replaced it with). */
  get programId(): number {
    return this.#programId;
  }

  /** What the device runs now. */
  query(): XdpState {
    this.#live();
    return queryState(this.#client, this.ifindex);
  }

  /** Swaps in `program` atomically, only if ours is still the one attached (XDP_FLAGS_REPLACE). */
  replace(program: Program): void {
    this.#live();
    const newId = program.info().id;
    using current = Program.fromId(this.#programId);
    const op = `replace XDP program id ${this.#programId} on ${this.device} with ${programLabel(program)} (${this.mode}, netlink)`;
    this.#client.request(
      RouteMessageType.SETLINK,
      0,
      encodeXdpSetLink({
        ifindex: this.ifindex,
        fd: program.fd,
        flags: MODE_FLAGS[this.mode] | XdpFlags.REPLACE,
        expectedFd: current.fd,
      }),
      { operation: op, hint: (r) => xdpHint(r, { device: this.device, mode: this.mode, via: 'netlink' }) },
    );
    this.#programId = newId;
  }

  protected release(): void {
    try {
      let state: XdpState;
      try {
        state = queryState(this.#client, this.ifindex);
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return; // the device is gone, and its programs with it
        throw e;
      }
      // Never detach someone else's program: only ours, in our mode.
      if (programIdIn(state, this.mode) !== this.#programId) return;
      let ours: Program;
      try {
        ours = Program.fromId(this.#programId);
      } catch (e) {
        if (e instanceof SyscallError && e.errno === Errno.ENOENT) return;
        throw e;
      }
      try {
        // REPLACE with our program as the expected one makes the check and the detach one atomic step.
        this.#client.request(
          RouteMessageType.SETLINK,
          0,
          encodeXdpSetLink({
            ifindex: this.ifindex,
            fd: -1,
            flags: MODE_FLAGS[this.mode] | XdpFlags.REPLACE,
            expectedFd: ours.fd,
          }),
          { operation: `detach XDP program id ${this.#programId} from ${this.device} (${this.mode}, netlink)` },
        );
      } catch (e) {
        // Errno.EEXIST: someone replaced it between the query and now; it is theirs, leave it.
        if (!(e instanceof NetlinkError && (e.errno === Errno.EEXIST || e.errno === Errno.ENODEV))) throw e;
      } finally {
        ours.close();
      }
    } finally {
      this.#socket.close();
    }
  }

  #live(): void {
    if (this.closed) throw new LinkError('closed', `XDP attachment ${this.target} is closed`);
  }
}

export function attachXdp(program: Program, device: DeviceRef, options: XdpAttachOptions & { via: 'netlink' }): XdpNetlinkAttachment;
export function attachXdp(program: Program, device: DeviceRef, options: XdpAttachOptions & { via: 'link' }): XdpLink;
export function attachXdp(program: Program, device: DeviceRef, options?: XdpAttachOptions): XdpLink | XdpNetlinkAttachment;
/**
 * Attaches an XDP program to a network device (name or ifindex, in the calling thread's network
 * namespace). Through a bpf_link by default: it detaches when closed or when the process exits.
 * Through netlink it stays until detached (close(), or detachXdp() from any process).
 */
export function attachXdp(program: Program, device: DeviceRef, options: XdpAttachOptions = {}): XdpLink | XdpNetlinkAttachment {
  return attaching(`attaching "${program.name}" to XDP on ${device}`, () => {
    const mode = checkMode(options.mode);
    if (options.via !== undefined && options.via !== 'link' && options.via !== 'netlink') {
      throw new LinkError('options', `bad XDP attach method ${JSON.stringify(options.via)}: use 'link' (a bpf_link) or 'netlink'`);
    }
    const via: XdpVia = options.via ?? (options.replace === undefined && kernelHasXdpLinks() ? 'link' : 'netlink');
    const probed = options.via === 'link' ? xdpLinks() : undefined;
    if (probed && !probed.supported)
      throw new NotSupportedError(probed.name, probed.minimumKernel, `attaching ${programLabel(program)} through a bpf_link`);
    if (via === 'link' && options.replace !== undefined) {
      throw new LinkError(
        'options',
        'replace applies to netlink attachments; to swap the program of an XDP bpf_link use link.update(program, expected)',
      );
    }
    if (program.type !== ProgramType.XDP) {
      throw new LinkError(
        'program',
        `${programLabel(program)} has program type ${program.type}, not XDP (${ProgramType.XDP}); load it with type 'XDP'`,
      );
    }
    const { socket, client } = openRoute();
    let keepSocket = false;
    try {
      const dev = resolveOrThrow(client, device);
      const programId = program.info().id;
      const where = `${programLabel(program)} to ${dev.name} (${mode ?? "mode of the kernel's choice"}, ${via === 'link' ? 'bpf_link' : 'netlink'})`;
      if (via === 'link') {
        let fd: number;
        try {
          fd = linkCreate({ progFd: program.fd, targetIfindex: dev.index, attachType: AttachType.XDP, flags: mode ? MODE_FLAGS[mode] : 0 });
        } catch (e) {
          if (!(e instanceof SyscallError)) throw e;
          const state = safeQuery(client, dev.index);
          const r = refusal(e.errno);
          // bpf(2) carries no ext-ack text, so the hint comes from errno, mode and what is attached.
          throw new SyscallError(
            `BPF_LINK_CREATE (attach XDP ${where})`,
            e.errno,
            state ? `device runs: ${describeState(state)}` : undefined,
            xdpHint(r, { device: dev.name, mode, via, state }) ?? '',
          );
        }
        try {
          const actual = mode ?? modeOfProgram(queryState(client, dev.index), programId) ?? 'native';
          return new XdpLink(fd, dev, actual);
        } catch (e) {
          // Closing the fd detaches: nothing is left behind.
          closeFd(fd);
          throw e;
        }
      }
      let flags = mode ? MODE_FLAGS[mode] : 0;
      if (options.updateIfNoExist) flags |= XdpFlags.UPDATE_IF_NOEXIST;
      if (options.replace) flags |= XdpFlags.REPLACE;
      let stateOnFailure: XdpState | undefined;
      const hint = (r: KernelRefusal): string | undefined => {
        stateOnFailure = safeQuery(client, dev.index);
        return xdpHint(r, { device: dev.name, mode, via, state: stateOnFailure });
      };
      client.request(
        RouteMessageType.SETLINK,
        0,
        encodeXdpSetLink({
          ifindex: dev.index,
          fd: program.fd,
          flags,
          expectedFd: options.replace?.fd,
        }),
        { operation: `attach XDP ${where}${options.replace ? ` replacing ${programLabel(options.replace)}` : ''}`, hint },
      );
      const actual = mode ?? modeOfProgram(queryState(client, dev.index), programId) ?? 'native';
      keepSocket = true;
      return new XdpNetlinkAttachment(socket, client, dev, actual, programId);
    } finally {
      if (!keepSocket) socket.close();
    }
  });
}

function resolveOrThrow(client: NetlinkClient, device: DeviceRef): Device {
  const link = getLink(client, device);
  return { index: link.info.index, name: link.name ?? describeDevice(device) };
}

/** The state for a hint; a failure to query must not hide the original error. */
function safeQuery(client: NetlinkClient, ifindex: number): XdpState | undefined {
  try {
    return queryState(client, ifindex);
  } catch {
    return undefined;
  }
}

/** What XDP programs `device` runs, per mode (RTM_GETLINK, IFLA_XDP). */
export function queryXdp(device: DeviceRef): XdpState {
  return withRoute((client) => queryState(client, device));
}

/**
 * Detaches the netlink-attached XDP program of `device` in `mode` (all modes when left out), whoever
 * attached it: the way to clean up attachments that outlived their process. Returns the modes
 * detached. A program held by a bpf_link cannot be detached this way (Errno.EBUSY, with a hint).
 */
export function detachXdp(device: DeviceRef, mode?: XdpMode): XdpMode[] {
  const only = checkMode(mode);
  return withRoute((client) => {
    const dev = resolveOrThrow(client, device);
    const state = queryState(client, dev.index);
    const detached: XdpMode[] = [];
    for (const m of only ? [only] : MODES) {
      const id = programIdIn(state, m);
      if (!id) continue;
      client.request(RouteMessageType.SETLINK, 0, encodeXdpSetLink({ ifindex: dev.index, fd: -1, flags: MODE_FLAGS[m] }), {
        operation: `detach XDP program id ${id} from ${dev.name} (${m}, netlink)`,
        hint: (r) => xdpHint(r, { device: dev.name, mode: m, via: 'netlink', state }),
      });
      detached.push(m);
    }
    return detached;
  });
}
