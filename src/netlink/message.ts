// struct nlmsghdr: encoding one message and splitting a datagram into the messages it holds.
import { NetlinkParseError } from './errors.js';
import { align4, readU16, readU32, writeU16, writeU32 } from './host-order.js';

/** Size in bytes of struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;

/** nlmsg_flags (netlink.h). GET requests use ROOT/MATCH/ATOMIC; NEW requests REPLACE/EXCL/CREATE/APPEND; acks CAPPED/ACK_TLVS. */
export const NetlinkFlags = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Control message types below NLMSG_MIN_TYPE (0x10). */
export const ControlMessageType = {
  NOOP: 1,
  ERROR: 2,
  DONE: 3,
  OVERRUN: 4,
} as const;

/** The fields of struct nlmsghdr apart from its length. */
export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  /** Sender port id: 0 for the kernel. */
  pid: number;
}

/** One message of a received datagram: its header and payload. */
export interface NetlinkMessage extends NetlinkHeader {
  /** The bytes after the header, up to nlmsg_len (a view into the datagram). */
  readonly payload: Uint8Array;
  /** Where the message starts in its datagram. */
  readonly offset: number;
}

/** One message: header plus payload, its length set, padded to 4 bytes. */
export function encodeMessage(header: NetlinkHeader, payload: Uint8Array): Uint8Array {
  const length = NLMSG_HDRLEN + payload.byteLength;
  const out = new Uint8Array(align4(length));
  writeU32(out, 0, length);
  writeU16(out, 4, header.type);
  writeU16(out, 6, header.flags);
  writeU32(out, 8, header.seq);
  writeU32(out, 12, header.pid);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/** Reads the header at `offset` (used for the request echoed inside an error message too). */
export function decodeHeader(bytes: Uint8Array, offset: number): NetlinkHeader & { length: number } {
  return {
    length: readU32(bytes, offset, 'nlmsghdr.nlmsg_len'),
    type: readU16(bytes, offset + 4, 'nlmsghdr.nlmsg_type'),
    flags: readU16(bytes, offset + 6, 'nlmsghdr.nlmsg_flags'),
    seq: readU32(bytes, offset + 8, 'nlmsghdr.nlmsg_seq'),
    pid: readU32(bytes, offset + 12, 'nlmsghdr.nlmsg_pid'),
  };
}

/** Splits a received datagram into its messages (a dump packs many into one). */
export function splitMessages(datagram: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at < datagram.byteLength) {
    if (datagram.byteLength - at < NLMSG_HDRLEN)
      throw new NetlinkParseError(`${datagram.byteLength - at} bytes after the last message are too few for a header`, at);
    const h = decodeHeader(datagram, at);
    if (h.length < NLMSG_HDRLEN) throw new NetlinkParseError(`nlmsg_len ${h.length} is shorter than the header`, at);
    if (at + h.length > datagram.byteLength)
      throw new NetlinkParseError(`message claims ${h.length} bytes but the datagram has ${datagram.byteLength - at} left`, at);
    out.push({
      type: h.type,
      flags: h.flags,
      seq: h.seq,
      pid: h.pid,
      payload: datagram.subarray(at + NLMSG_HDRLEN, at + h.length),
      offset: at,
    });
    at += align4(h.length);
  }
  return out;
}
