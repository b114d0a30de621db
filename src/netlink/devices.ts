// Network devices by name or ifindex, through RTM_GETLINK in the namespace of the client's socket.
import { AttributeWriter } from './attribute-writer.js';
import type { NetlinkClient } from './client.js';
import { concatBytes } from './concat-bytes.js';
import { NetlinkError } from './errors.js';
import { encodeIfInfo, LinkAttribute, parseLinkMessage, type LinkMessage } from './link-message.js';
import { RouteMessageType } from './route-message-type.js';
import { EbpfError, type EbpfErrorOptions } from '../errors/index.js';
import { Errno } from '../errors/errno.js';

/** A device name (at most 15 bytes) or an ifindex. */
export type DeviceRef = string | number;

/** A network device: its ifindex and name. */
export interface Device {
  index: number;
  name: string;
}

const IFNAMSIZ = 16;

/** A network device that cannot be found or used. */
export class DeviceError extends EbpfError {
  /** Creates the error with `message`; `options.cause` is the underlying error. The code is ERR_DEVICE. */
  constructor(message: string, options?: EbpfErrorOptions) {
    super('ERR_DEVICE', message, options);
  }
}

/** Describes a device reference for messages: `"veth0"` or `ifindex 7`. */
export function describeDevice(device: DeviceRef): string {
  return typeof device === 'number' ? `ifindex ${device}` : `"${device}"`;
}

function checkRef(device: DeviceRef): void {
  if (typeof device === 'number') {
    if (!Number.isInteger(device) || device <= 0 || device > 0x7fff_ffff)
      throw new DeviceError(`bad ifindex ${device}: a positive integer is expected`);
  } else if (
    typeof device !== 'string' ||
    device.length === 0 ||
    new TextEncoder().encode(device).byteLength >= IFNAMSIZ ||
    /[\s/:]/.test(device)
  ) {
    throw new DeviceError(`bad device name ${JSON.stringify(device)}: 1 to ${IFNAMSIZ - 1} bytes without spaces, '/' or ':'`);
  }
}

/** RTM_GETLINK for one device: its ifinfomsg and attributes (IFLA_XDP included). */
export function getLink(client: NetlinkClient, device: DeviceRef): LinkMessage {
  checkRef(device);
  const byName = typeof device === 'string';
  const attrs = byName ? new AttributeWriter().string(LinkAttribute.IFNAME, device).finish() : new Uint8Array(0);
  const payload = concatBytes(encodeIfInfo({ index: byName ? 0 : device }), attrs);
  const { replies } = client.request(RouteMessageType.GETLINK, 0, payload, {
    operation: `look up device ${describeDevice(device)}`,
    hint: (r) =>
      r.errno === Errno.ENODEV
        ? `no device ${byName ? 'named' : 'with'} ${describeDevice(device)} in this network namespace (ip link lists them)`
        : undefined,
  });
  const reply = replies.find((m) => m.type === RouteMessageType.NEWLINK);
  if (!reply)
    throw new NetlinkError(
      `look up device ${describeDevice(device)}`,
      Errno.ENODEV,
      undefined,
      'the kernel acknowledged RTM_GETLINK without describing the device',
    );
  return parseLinkMessage(reply.payload, reply.offset);
}

/** Resolves a name or ifindex to both. Throws NetlinkError (Errno.ENODEV: "no device named ...") when absent. */
export function resolveDevice(client: NetlinkClient, device: DeviceRef): Device {
  const link = getLink(client, device);
  return { index: link.info.index, name: link.name ?? String(link.info.index) };
}

/** Every device in the namespace (RTM_GETLINK dump). */
export function listDevices(client: NetlinkClient): Device[] {
  const replies = client.dump(RouteMessageType.GETLINK, encodeIfInfo({}), { operation: 'list network devices' });
  return replies
    .filter((m) => m.type === RouteMessageType.NEWLINK)
    .map((m) => {
      const link = parseLinkMessage(m.payload, m.offset);
      return { index: link.info.index, name: link.name ?? String(link.info.index) };
    });
}
