// struct ifinfomsg and the IFLA_* attributes of RTM_{NEW,GET,SET}LINK.
import { Attributes } from './attributes.js';
import { readS32, readU16, readU32, readU8, writeS32, writeU16, writeU32 } from './host-order.js';
import { NLMSG_HDRLEN } from './message.js';

/** Size in bytes of struct ifinfomsg. */
export const IFINFOMSG_SIZE = 16;

/** enum IFLA_* (if_link.h), the ones this package reads or writes. */
export const LinkAttribute = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  EXT_MASK: 29,
  XDP: 43,
} as const;

/** The fields of struct ifinfomsg (the fixed header of RTM_*LINK messages). */
export interface IfInfo {
  family: number;
  /** ARPHRD_* (1 ethernet, 772 loopback). */
  deviceType: number;
  index: number;
  /** IFF_* flags. */
  flags: number;
  change: number;
}

/** Encodes a struct ifinfomsg; missing fields are 0. */
export function encodeIfInfo(info: Partial<IfInfo>): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_SIZE);
  b[0] = info.family ?? 0; // AF_UNSPEC
  writeU16(b, 2, info.deviceType ?? 0);
  writeS32(b, 4, info.index ?? 0);
  writeU32(b, 8, info.flags ?? 0);
  writeU32(b, 12, info.change ?? 0);
  return b;
}

/** An RTM_NEWLINK message: the fixed header plus its attributes. */
export interface LinkMessage {
  info: IfInfo;
  attributes: Attributes;
  /** IFLA_IFNAME. */
  name: string | undefined;
}

/** Parses the payload of an RTM_NEWLINK (a GETLINK answer). `messageOffset` only improves error offsets. */
export function parseLinkMessage(payload: Uint8Array, messageOffset = 0): LinkMessage {
  const info: IfInfo = {
    family: readU8(payload, 0, 'ifinfomsg.ifi_family'),
    deviceType: readU16(payload, 2, 'ifinfomsg.ifi_type'),
    index: readS32(payload, 4, 'ifinfomsg.ifi_index'),
    flags: readU32(payload, 8, 'ifinfomsg.ifi_flags'),
    change: readU32(payload, 12, 'ifinfomsg.ifi_change'),
  };
  const attributes = Attributes.parse(payload.subarray(IFINFOMSG_SIZE), messageOffset + NLMSG_HDRLEN + IFINFOMSG_SIZE);
  return { info, attributes, name: attributes.string(LinkAttribute.IFNAME) };
}
