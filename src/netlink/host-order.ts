// Netlink integers are in the host's byte order (apart from a few fields the protocols define as
// network order, such as a tc filter's protocol). Bounds are checked here so that malformed replies
// raise NetlinkParseError, not RangeError.
import { NetlinkParseError } from './errors.js';
import { HOST_LITTLE_ENDIAN as HOST_IS_LITTLE_ENDIAN } from '../host.js';

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function need(bytes: Uint8Array, offset: number, size: number, what: string): void {
  if (offset < 0 || offset + size > bytes.byteLength) {
    throw new NetlinkParseError(`${what} needs ${size} bytes but only ${Math.max(0, bytes.byteLength - offset)} remain`, offset);
  }
}

export function readU8(bytes: Uint8Array, offset: number, what: string): number {
  need(bytes, offset, 1, what);
  return view(bytes).getUint8(offset);
}

export function readU16(bytes: Uint8Array, offset: number, what: string): number {
  need(bytes, offset, 2, what);
  return view(bytes).getUint16(offset, HOST_IS_LITTLE_ENDIAN);
}

export function readU32(bytes: Uint8Array, offset: number, what: string): number {
  need(bytes, offset, 4, what);
  return view(bytes).getUint32(offset, HOST_IS_LITTLE_ENDIAN);
}

export function readS32(bytes: Uint8Array, offset: number, what: string): number {
  need(bytes, offset, 4, what);
  return view(bytes).getInt32(offset, HOST_IS_LITTLE_ENDIAN);
}

export function readU64(bytes: Uint8Array, offset: number, what: string): bigint {
  need(bytes, offset, 8, what);
  return view(bytes).getBigUint64(offset, HOST_IS_LITTLE_ENDIAN);
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  view(bytes).setUint16(offset, value, HOST_IS_LITTLE_ENDIAN);
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  view(bytes).setUint32(offset, value >>> 0, HOST_IS_LITTLE_ENDIAN);
}

export function writeS32(bytes: Uint8Array, offset: number, value: number): void {
  view(bytes).setInt32(offset, value, HOST_IS_LITTLE_ENDIAN);
}

/** Converts a 16-bit value between host and network (big-endian) order, like htons/ntohs. */
export function swap16ToNetwork(value: number): number {
  return HOST_IS_LITTLE_ENDIAN ? ((value & 0xff) << 8) | ((value >> 8) & 0xff) : value & 0xffff;
}

/** Pads a length to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}
