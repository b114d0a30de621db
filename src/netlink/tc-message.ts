// struct tcmsg and the TCA_* attributes shared by qdisc and filter messages, plus tc handles.
import { Attributes } from './attributes.js';
import { readS32, readU32, readU8, writeS32, writeU32 } from './host-order.js';
import { NLMSG_HDRLEN } from './message.js';

/** Size in bytes of struct tcmsg. */
export const TCMSG_SIZE = 20;

/** enum TCA_* (rtnetlink.h). */
export const TcAttribute = {
  KIND: 1,
  OPTIONS: 2,
  STATS: 3,
  XSTATS: 4,
  RATE: 5,
  FCNT: 6,
  STATS2: 7,
  STAB: 8,
  PAD: 9,
  DUMP_INVISIBLE: 10,
  CHAIN: 11,
  HW_OFFLOAD: 12,
  INGRESS_BLOCK: 13,
  EGRESS_BLOCK: 14,
  DUMP_FLAGS: 15,
  EXT_WARN_MSG: 16,
} as const;

/** Handles (pkt_sched.h): 32 bits, major:minor. */
export const TcHandle = {
  UNSPEC: 0,
  ROOT: 0xffff_ffff,
  /** TC_H_INGRESS, also TC_H_CLSACT: the parent of the ingress and clsact qdiscs. */
  CLSACT: 0xffff_fff1,
  MIN_INGRESS: 0xfff2,
  MIN_EGRESS: 0xfff3,
} as const;

/** TC_H_MAKE: major in the top 16 bits, minor in the bottom 16. */
export function tcHandle(major: number, minor: number): number {
  return ((major & 0xffff_0000) | (minor & 0xffff)) >>> 0;
}

/** The clsact qdisc's own handle, ffff:0. */
export const CLSACT_QDISC_HANDLE = 0xffff_0000;
/** Parent of ingress filters under clsact, ffff:fff2. */
export const CLSACT_INGRESS_PARENT = tcHandle(TcHandle.CLSACT, TcHandle.MIN_INGRESS);
/** Parent of egress filters under clsact, ffff:fff3. */
export const CLSACT_EGRESS_PARENT = tcHandle(TcHandle.CLSACT, TcHandle.MIN_EGRESS);

/** The fields of struct tcmsg (the fixed header of qdisc and filter messages). */
export interface TcMessageHeader {
  family?: number;
  ifindex: number;
  handle: number;
  parent: number;
  /** For filters: priority << 16 | protocol in network order. */
  info: number;
}

/** Encodes a struct tcmsg; family defaults to 0 (AF_UNSPEC). */
export function encodeTcMessage(h: TcMessageHeader): Uint8Array {
  const b = new Uint8Array(TCMSG_SIZE);
  b[0] = h.family ?? 0;
  writeS32(b, 4, h.ifindex);
  writeU32(b, 8, h.handle);
  writeU32(b, 12, h.parent);
  writeU32(b, 16, h.info);
  return b;
}

/** A parsed qdisc or filter message: its tcmsg header, its attributes and its TCA_KIND. */
export interface TcMessage {
  header: Required<TcMessageHeader>;
  attributes: Attributes;
  /** TCA_KIND: "clsact", "bpf", ... */
  kind: string | undefined;
}

/** Parses the payload of a qdisc or filter message; `messageOffset` (where the message starts in its datagram) makes error offsets point into the datagram. */
export function parseTcMessage(payload: Uint8Array, messageOffset = 0): TcMessage {
  const header = {
    family: readU8(payload, 0, 'tcmsg.tcm_family'),
    ifindex: readS32(payload, 4, 'tcmsg.tcm_ifindex'),
    handle: readU32(payload, 8, 'tcmsg.tcm_handle'),
    parent: readU32(payload, 12, 'tcmsg.tcm_parent'),
    info: readU32(payload, 16, 'tcmsg.tcm_info'),
  };
  const attributes = Attributes.parse(payload.subarray(TCMSG_SIZE), messageOffset + NLMSG_HDRLEN + TCMSG_SIZE);
  return { header, attributes, kind: attributes.string(TcAttribute.KIND) };
}
