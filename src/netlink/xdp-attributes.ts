// The IFLA_XDP nest: attaching (RTM_SETLINK) and reading back (RTM_NEWLINK) a device's XDP programs.
import { AttributeWriter } from './attribute-writer.js';
import type { Attributes } from './attributes.js';
import { concatBytes } from './concat-bytes.js';
import { encodeIfInfo, LinkAttribute } from './link-message.js';

/** enum IFLA_XDP_* (if_link.h). */
export const XdpAttribute = {
  FD: 1,
  ATTACHED: 2,
  FLAGS: 3,
  PROG_ID: 4,
  DRV_PROG_ID: 5,
  SKB_PROG_ID: 6,
  HW_PROG_ID: 7,
  EXPECTED_FD: 8,
} as const;

/** XDP_FLAGS_* (if_link.h). At most one of the three mode bits; none lets the kernel choose. */
export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
} as const;

/** enum XDP_ATTACHED_* as reported in IFLA_XDP_ATTACHED. */
export const XdpAttachedMode = {
  NONE: 0,
  DRV: 1,
  SKB: 2,
  HW: 3,
  MULTI: 4,
} as const;

/** Which XDP mode a device's program runs in (IFLA_XDP_ATTACHED): none, native (driver), generic (skb), offload (hardware), or several at once. */
export type XdpAttachment = 'none' | 'native' | 'generic' | 'offload' | 'multi';

/** Which XDP programs a device runs. */
export interface XdpState {
  attached: XdpAttachment;
  /** The one program's id when exactly one mode is in use. */
  programId?: number;
  nativeProgramId?: number;
  genericProgramId?: number;
  offloadProgramId?: number;
}

/** An XDP attach, replace or detach request on device `ifindex`; `flags` are XDP_FLAGS_*. */
export interface XdpSetRequest {
  ifindex: number;
  /** Program fd, or -1 to detach. */
  fd: number;
  flags: number;
  /** With XDP_FLAGS_REPLACE: the fd of the program expected to be attached now (-1: none). */
  expectedFd?: number;
}

/** The payload of an RTM_SETLINK that attaches, replaces or detaches an XDP program. */
export function encodeXdpSetLink(request: XdpSetRequest): Uint8Array {
  const attrs = new AttributeWriter().nested(LinkAttribute.XDP, (xdp) => {
    xdp.s32(XdpAttribute.FD, request.fd);
    if (request.flags) xdp.u32(XdpAttribute.FLAGS, request.flags);
    if (request.expectedFd !== undefined) xdp.s32(XdpAttribute.EXPECTED_FD, request.expectedFd);
  });
  return concatBytes(encodeIfInfo({ index: request.ifindex }), attrs.finish());
}

const ATTACHED_NAMES: Record<number, XdpAttachment> = {
  [XdpAttachedMode.NONE]: 'none',
  [XdpAttachedMode.DRV]: 'native',
  [XdpAttachedMode.SKB]: 'generic',
  [XdpAttachedMode.HW]: 'offload',
  [XdpAttachedMode.MULTI]: 'multi',
};

/** Reads the IFLA_XDP nest of an RTM_NEWLINK (absent nest: nothing attached). */
export function parseXdpState(link: Attributes): XdpState {
  const xdp = link.nested(LinkAttribute.XDP);
  if (!xdp) return { attached: 'none' };
  const code = xdp.u8(XdpAttribute.ATTACHED) ?? XdpAttachedMode.NONE;
  const attached = ATTACHED_NAMES[code] ?? 'multi';
  const state: XdpState = { attached };
  const one = xdp.u32(XdpAttribute.PROG_ID);
  if (one) state.programId = one;
  const native = xdp.u32(XdpAttribute.DRV_PROG_ID) ?? (attached === 'native' ? one : undefined);
  const generic = xdp.u32(XdpAttribute.SKB_PROG_ID) ?? (attached === 'generic' ? one : undefined);
  const offload = xdp.u32(XdpAttribute.HW_PROG_ID) ?? (attached === 'offload' ? one : undefined);
  if (native) state.nativeProgramId = native;
  if (generic) state.genericProgramId = generic;
  if (offload) state.offloadProgramId = offload;
  return state;
}
