// cls_bpf filters and the clsact qdisc they hang from: request payloads and dump parsing.
import { AttributeWriter } from './attribute-writer.js';
import { concatBytes } from './concat-bytes.js';
import { swap16ToNetwork } from './host-order.js';
import { CLSACT_QDISC_HANDLE, encodeTcMessage, parseTcMessage, TcAttribute, TcHandle } from './tc-message.js';

/** enum TCA_BPF_* (pkt_cls.h). */
export const TcBpfAttribute = {
  ACT: 1,
  POLICE: 2,
  CLASSID: 3,
  OPS_LEN: 4,
  OPS: 5,
  FD: 6,
  NAME: 7,
  FLAGS: 8,
  FLAGS_GEN: 9,
  TAG: 10,
  ID: 11,
} as const;

/** TCA_BPF_FLAG_ACT_DIRECT: the program's return value is the tc action (no separate action). */
export const TCA_BPF_FLAG_ACT_DIRECT = 1 << 0;

/** ETH_P_ALL (if_ether.h): match every protocol. */
export const ETH_P_ALL = 0x0003;

/** tcm_info of a filter: priority in the top 16 bits, protocol in network order below. */
export function filterInfo(priority: number, protocol = ETH_P_ALL): number {
  return (((priority & 0xffff) << 16) | swap16ToNetwork(protocol)) >>> 0;
}

/** RTM_NEWQDISC / RTM_DELQDISC payload for the clsact qdisc of a device. */
export function encodeClsactQdisc(ifindex: number): Uint8Array {
  return concatBytes(
    encodeTcMessage({ ifindex, handle: CLSACT_QDISC_HANDLE, parent: TcHandle.CLSACT, info: 0 }),
    new AttributeWriter().string(TcAttribute.KIND, 'clsact').finish(),
  );
}

/** Where to add a tc cls_bpf filter: device, clsact parent, priority, handle and protocol. */
export interface BpfFilterRequest {
  ifindex: number;
  /** CLSACT_INGRESS_PARENT or CLSACT_EGRESS_PARENT. */
  parent: number;
  /** 1..65535; 0 lets the kernel choose. */
  priority: number;
  /** 0 lets the kernel choose. */
  handle: number;
  protocol?: number;
}

/** RTM_NEWTFILTER payload: a direct-action cls_bpf filter running program `fd`. */
export function encodeBpfFilter(request: BpfFilterRequest, program: { fd: number; name: string }): Uint8Array {
  const attrs = new AttributeWriter().string(TcAttribute.KIND, 'bpf').nested(TcAttribute.OPTIONS, (o) => {
    o.u32(TcBpfAttribute.FD, program.fd);
    o.string(TcBpfAttribute.NAME, program.name);
    o.u32(TcBpfAttribute.FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  });
  return concatBytes(encodeFilterHeader(request), attrs.finish());
}

/** RTM_DELTFILTER payload for one filter (priority and handle set), or all filters at a priority (handle 0). */
export function encodeFilterDelete(request: BpfFilterRequest): Uint8Array {
  return concatBytes(encodeFilterHeader(request), new AttributeWriter().string(TcAttribute.KIND, 'bpf').finish());
}

/** RTM_GETTFILTER dump payload: every filter under `parent` on the device. */
export function encodeFilterDump(ifindex: number, parent: number): Uint8Array {
  return encodeTcMessage({ ifindex, handle: 0, parent, info: 0 });
}

function encodeFilterHeader(r: BpfFilterRequest): Uint8Array {
  return encodeTcMessage({ ifindex: r.ifindex, handle: r.handle, parent: r.parent, info: filterInfo(r.priority, r.protocol) });
}

/** One filter as a dump or an echo reports it. */
export interface TcFilterEntry {
  ifindex: number;
  parent: number;
  priority: number;
  /** Protocol in host order (3 = ETH_P_ALL). */
  protocol: number;
  handle: number;
  kind: string | undefined;
  chain: number | undefined;
  /** For cls_bpf filters. */
  bpf?: {
    programId: number | undefined;
    name: string | undefined;
    directAction: boolean;
    /** The program tag as 16 hex digits. */
    tag: string | undefined;
  };
}

/** Parses an RTM_NEWTFILTER payload. */
export function parseFilter(payload: Uint8Array, messageOffset = 0): TcFilterEntry {
  const m = parseTcMessage(payload, messageOffset);
  const entry: TcFilterEntry = {
    ifindex: m.header.ifindex,
    parent: m.header.parent,
    priority: m.header.info >>> 16,
    protocol: swap16ToNetwork(m.header.info & 0xffff),
    handle: m.header.handle,
    kind: m.kind,
    chain: m.attributes.u32(TcAttribute.CHAIN),
  };
  if (m.kind === 'bpf') {
    const o = m.attributes.nested(TcAttribute.OPTIONS);
    if (o) {
      const tag = o.binary(TcBpfAttribute.TAG);
      entry.bpf = {
        programId: o.u32(TcBpfAttribute.ID),
        name: o.string(TcBpfAttribute.NAME),
        directAction: ((o.u32(TcBpfAttribute.FLAGS) ?? 0) & TCA_BPF_FLAG_ACT_DIRECT) !== 0,
        tag: tag && Array.from(tag, (x) => x.toString(16).padStart(2, '0')).join(''),
      };
    }
  }
  return entry;
}
