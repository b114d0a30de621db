// Netlink messages: building requests and parsing replies (rtnetlink links, XDP, tc). Pure: the
// socket that carries the bytes lives in src/syscall/netlink.ts.
export { AttributeEncodeError, AttributeWriter, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK } from './attribute-writer.js';
export { Attributes, type Attribute } from './attributes.js';
export { ExtAckAttribute, parseAcknowledgement, parseDone, type Acknowledgement } from './acknowledgement.js';
export { NetlinkClient, type NetlinkTransport, type RequestContext, type RequestResult } from './client.js';
export { concatBytes } from './concat-bytes.js';
export { describeDevice, DeviceError, getLink, listDevices, resolveDevice, type Device, type DeviceRef } from './devices.js';
export { NetlinkError, NetlinkParseError, refusal, type KernelRefusal } from './errors.js';
export { encodeIfInfo, IFINFOMSG_SIZE, LinkAttribute, parseLinkMessage, type IfInfo, type LinkMessage } from './link-message.js';
export {
  ControlMessageType,
  decodeHeader,
  encodeMessage,
  NetlinkFlags,
  NLMSG_HDRLEN,
  splitMessages,
  type NetlinkHeader,
  type NetlinkMessage,
} from './message.js';
export { RouteMessageType } from './route-message-type.js';
export {
  encodeBpfFilter,
  encodeClsactQdisc,
  encodeFilterDelete,
  encodeFilterDump,
  ETH_P_ALL,
  filterInfo,
  parseFilter,
  TCA_BPF_FLAG_ACT_DIRECT,
  TcBpfAttribute,
  type BpfFilterRequest,
  type TcFilterEntry,
} from './tc-bpf-filter.js';
export {
  CLSACT_EGRESS_PARENT,
  CLSACT_INGRESS_PARENT,
  CLSACT_QDISC_HANDLE,
  encodeTcMessage,
  parseTcMessage,
  TcAttribute,
  TcHandle,
  tcHandle,
  TCMSG_SIZE,
  type TcMessage,
  type TcMessageHeader,
} from './tc-message.js';
export {
  encodeXdpSetLink,
  parseXdpState,
  XdpAttachedMode,
  XdpAttribute,
  XdpFlags,
  type XdpAttachment,
  type XdpSetRequest,
  type XdpState,
} from './xdp-attributes.js';
