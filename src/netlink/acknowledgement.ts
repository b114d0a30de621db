// NLMSG_ERROR (an ack when error is 0) and NLMSG_DONE payloads, with the extended-ack TLVs the
// kernel appends when the socket enabled NETLINK_EXT_ACK.
import { Attributes } from './attributes.js';
import { NetlinkParseError } from './errors.js';
import { align4, readS32 } from './host-order.js';
import { decodeHeader, NetlinkFlags, NLMSG_HDRLEN, type NetlinkHeader, type NetlinkMessage } from './message.js';

/** enum nlmsgerr_attrs. */
export const ExtAckAttribute = {
  MSG: 1,
  OFFS: 2,
  COOKIE: 3,
  POLICY: 4,
  MISS_TYPE: 5,
  MISS_NEST: 6,
} as const;

/** A parsed NLMSG_ERROR message (the kernel's ack of a request, or its refusal) or the status of an NLMSG_DONE. */
export interface Acknowledgement {
  /** 0 for success, else the positive errno. */
  errno: number;
  /** The header of the request this answers, as the kernel echoed it. */
  request: NetlinkHeader | undefined;
  /** NLMSGERR_ATTR_MSG: the reason on failure, or a warning on success. */
  message: string | undefined;
  /** NLMSGERR_ATTR_OFFS: offset in the request of the attribute at fault. */
  offset: number | undefined;
  /** NLMSGERR_ATTR_MISS_TYPE: a required attribute that was missing. */
  missingAttribute: number | undefined;
}

/** Parses an NLMSG_ERROR message: int error, the echoed request (whole, or its header when capped), TLVs. */
export function parseAcknowledgement(msg: NetlinkMessage): Acknowledgement {
  const p = msg.payload;
  const error = readS32(p, 0, 'nlmsgerr.error');
  let request: NetlinkHeader | undefined;
  let tlvStart = p.byteLength;
  if (p.byteLength >= 4 + NLMSG_HDRLEN) {
    const h = decodeHeader(p, 4);
    request = { type: h.type, flags: h.flags, seq: h.seq, pid: h.pid };
    const echoed = msg.flags & NetlinkFlags.CAPPED ? NLMSG_HDRLEN : align4(h.length);
    if (echoed < NLMSG_HDRLEN)
      throw new NetlinkParseError(`echoed request length ${h.length} is shorter than a header`, msg.offset + NLMSG_HDRLEN + 4);
    tlvStart = Math.min(p.byteLength, 4 + echoed);
  }
  const tlvs = msg.flags & NetlinkFlags.ACK_TLVS ? Attributes.parse(p.subarray(tlvStart), msg.offset + NLMSG_HDRLEN + tlvStart) : undefined;
  return {
    errno: error === 0 ? 0 : Math.abs(error),
    request,
    message: tlvs?.string(ExtAckAttribute.MSG),
    offset: tlvs?.u32(ExtAckAttribute.OFFS),
    missingAttribute: tlvs?.u32(ExtAckAttribute.MISS_TYPE),
  };
}

/** Parses NLMSG_DONE: an int (negative errno if the dump failed part way) and, maybe, ext-ack TLVs. */
export function parseDone(msg: NetlinkMessage): Acknowledgement {
  const p = msg.payload;
  const error = p.byteLength >= 4 ? readS32(p, 0, 'NLMSG_DONE status') : 0;
  const tlvs =
    msg.flags & NetlinkFlags.ACK_TLVS && p.byteLength > 4 ? Attributes.parse(p.subarray(4), msg.offset + NLMSG_HDRLEN + 4) : undefined;
  return {
    errno: error < 0 ? -error : 0,
    request: undefined,
    message: tlvs?.string(ExtAckAttribute.MSG),
    offset: tlvs?.u32(ExtAckAttribute.OFFS),
    missingAttribute: tlvs?.u32(ExtAckAttribute.MISS_TYPE),
  };
}
