// struct bpf_link_info: the common head and the per-type union the kernel fills in
// (BPF_OBJ_GET_INFO_BY_FD on a link fd). Names and paths come back through buffers we offer, so a
// link whose info carries a string is asked twice: once for the lengths, once with room for them.
// The offsets are checked against the running kernel's own BTF in test/link-info.test.ts.
import { LinkInfoLayout as Head } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import { AttachType } from '../uapi/bpf.js';

/** enum bpf_link_type. */
export const LinkType = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];
/** Name of a bpf_link type: a key of LinkType. */
export type LinkTypeName = keyof typeof LinkType;

/** enum bpf_perf_event_type: what a perf_event link runs on. */
export const PerfEventLinkType = {
  UNSPEC: 0,
  UPROBE: 1,
  URETPROBE: 2,
  KPROBE: 3,
  KRETPROBE: 4,
  TRACEPOINT: 5,
  EVENT: 6,
} as const;

/** Byte offsets in struct bpf_link_info (include/uapi/linux/bpf.h); the union starts at 16. */
export const LinkInfoUnion = {
  size: 64,
  'raw_tracepoint.tp_name': 16,
  'raw_tracepoint.tp_name_len': 24,
  'raw_tracepoint.cookie': 32,
  'tracing.attach_type': 16,
  'tracing.target_obj_id': 20,
  'tracing.target_btf_id': 24,
  'tracing.cookie': 32,
  'cgroup.cgroup_id': 16,
  'cgroup.attach_type': 24,
  'iter.target_name': 16,
  'iter.target_name_len': 24,
  'iter.map.map_id': 28,
  'iter.cgroup.cgroup_id': 32,
  'iter.cgroup.order': 40,
  'iter.task.tid': 32,
  'iter.task.pid': 36,
  'netns.netns_ino': 16,
  'netns.attach_type': 20,
  'xdp.ifindex': 16,
  'struct_ops.map_id': 16,
  'netfilter.pf': 16,
  'netfilter.hooknum': 20,
  'netfilter.priority': 24,
  'netfilter.flags': 28,
  'kprobe_multi.addrs': 16,
  'kprobe_multi.count': 24,
  'kprobe_multi.flags': 28,
  'kprobe_multi.missed': 32,
  'kprobe_multi.cookies': 40,
  'uprobe_multi.path': 16,
  'uprobe_multi.offsets': 24,
  'uprobe_multi.ref_ctr_offsets': 32,
  'uprobe_multi.cookies': 40,
  'uprobe_multi.path_size': 48,
  'uprobe_multi.count': 52,
  'uprobe_multi.flags': 56,
  'uprobe_multi.pid': 60,
  'perf_event.type': 16,
  'perf_event.uprobe.file_name': 24,
  'perf_event.uprobe.name_len': 32,
  'perf_event.uprobe.offset': 36,
  'perf_event.uprobe.cookie': 40,
  'perf_event.uprobe.ref_ctr_offset': 48,
  'perf_event.kprobe.func_name': 24,
  'perf_event.kprobe.name_len': 32,
  'perf_event.kprobe.offset': 36,
  'perf_event.kprobe.addr': 40,
  'perf_event.kprobe.missed': 48,
  'perf_event.kprobe.cookie': 56,
  'perf_event.tracepoint.tp_name': 24,
  'perf_event.tracepoint.name_len': 32,
  'perf_event.tracepoint.cookie': 40,
  'perf_event.event.config': 24,
  'perf_event.event.type': 32,
  'perf_event.event.cookie': 40,
  'tcx.ifindex': 16,
  'tcx.attach_type': 20,
  'netkit.ifindex': 16,
  'netkit.attach_type': 20,
  'sockmap.map_id': 16,
  'sockmap.attach_type': 20,
} as const;
type Field = Exclude<keyof typeof LinkInfoUnion, 'size'>;

/** Per link type, what the kernel says it is attached to. */
export type LinkDetails =
  | { kind: 'raw_tracepoint'; tracepoint: string; cookie: bigint }
  | { kind: 'tracing'; attachType: number; targetObjectId: number; targetBtfId: number; cookie: bigint }
  | { kind: 'cgroup'; cgroupId: bigint; attachType: number }
  | { kind: 'iter'; target: string; mapId?: number; cgroupId?: bigint; order?: number; tid?: number; pid?: number }
  | { kind: 'netns'; netnsInode: number; attachType: number }
  | { kind: 'xdp'; ifindex: number }
  | { kind: 'struct_ops'; mapId: number }
  | { kind: 'netfilter'; protocolFamily: number; hook: number; priority: number; flags: number }
  | { kind: 'kprobe_multi'; count: number; flags: number; missed: bigint; addresses: bigint[] }
  | { kind: 'uprobe_multi'; path: string; count: number; flags: number; pid: number; offsets: bigint[]; cookies: bigint[] }
  | { kind: 'uprobe'; retprobe: boolean; path: string; offset: number; cookie: bigint; refCtrOffset: bigint }
  | { kind: 'kprobe'; retprobe: boolean; function: string; offset: number; address: bigint; missed: bigint; cookie: bigint }
  | { kind: 'tracepoint'; tracepoint: string; cookie: bigint }
  | { kind: 'perf_event'; eventType: number; config: bigint; cookie: bigint }
  | { kind: 'tcx'; ifindex: number; attachType: number }
  | { kind: 'netkit'; ifindex: number; attachType: number }
  | { kind: 'sockmap'; mapId: number; attachType: number }
  | { kind: 'unknown' };

/** What the kernel reports about a bpf_link. */
export interface LinkInfo {
  /** enum bpf_link_type (see LinkType). */
  type: number;
  /** The link type's name ("XDP", "TCX", "PERF_EVENT"...), or "type N" for one this library does not know. */
  typeName: string;
  id: number;
  programId: number;
  details: LinkDetails;
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(LinkType).map(([k, v]) => [v, k]));
const ATTACH_NAMES: Record<number, string> = Object.fromEntries(Object.entries(AttachType).map(([k, v]) => [v, k]));

/** The LinkType name of a link type number ("XDP", "TCX", ...), or "type N" when it has none. */
export function linkTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** The name of an attach type number ("CGROUP_INET_EGRESS"), for messages and link info. */
export function attachTypeName(type: number): string {
  return ATTACH_NAMES[type] ?? `attach type ${type}`;
}

const STRING_ROOM = 4096;
const MAX_ADDRESSES = 4096;

const u32 = (b: Buffer, f: Field): number => b.readUInt32LE(LinkInfoUnion[f]);
const u64 = (b: Buffer, f: Field): bigint => b.readBigUInt64LE(LinkInfoUnion[f]);
const cString = (b: Buffer, len: number): string => {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 || end > len ? len : end);
};

/** One BPF_OBJ_GET_INFO_BY_FD with `extra` bytes offered through the pointer fields `prepare` sets. */
function ask(fd: number, extra = 0, prepare?: (info: Buffer, address: number) => void): { info: Buffer; extra: Buffer } {
  return objGetInfo(fd, LinkInfoUnion.size, extra, prepare);
}

/** Reads a link's info with the details of its type. */
export function linkInfoFromFd(fd: number): LinkInfo {
  const { info: b } = ask(fd);
  const type = b.readUInt32LE(Head.type);
  return {
    type,
    typeName: linkTypeName(type),
    id: b.readUInt32LE(Head.id),
    programId: b.readUInt32LE(Head.prog_id),
    details: detailsOf(fd, type, b),
  };
}

/** Asks again offering a string buffer through `pointer`/`length` and returns the string. */
function withString(fd: number, pointer: Field, length: Field): { info: Buffer; text: string } {
  const { info, extra } = ask(fd, STRING_ROOM, (i, address) => {
    i.writeBigUInt64LE(BigInt(address), LinkInfoUnion[pointer]);
    i.writeUInt32LE(STRING_ROOM, LinkInfoUnion[length]);
  });
  return { info, text: cString(extra, STRING_ROOM) };
}

function detailsOf(fd: number, type: number, b: Buffer): LinkDetails {
  switch (type) {
    case LinkType.RAW_TRACEPOINT: {
      const { info, text } = withString(fd, 'raw_tracepoint.tp_name', 'raw_tracepoint.tp_name_len');
      return { kind: 'raw_tracepoint', tracepoint: text, cookie: u64(info, 'raw_tracepoint.cookie') };
    }
    case LinkType.TRACING:
      return {
        kind: 'tracing',
        attachType: u32(b, 'tracing.attach_type'),
        targetObjectId: u32(b, 'tracing.target_obj_id'),
        targetBtfId: u32(b, 'tracing.target_btf_id'),
        cookie: u64(b, 'tracing.cookie'),
      };
    case LinkType.CGROUP:
      return { kind: 'cgroup', cgroupId: u64(b, 'cgroup.cgroup_id'), attachType: u32(b, 'cgroup.attach_type') };
    case LinkType.ITER: {
      const { info, text } = withString(fd, 'iter.target_name', 'iter.target_name_len');
      const d: LinkDetails = { kind: 'iter', target: text };
      // Which union member means something depends on the iterator target.
      if (text === 'bpf_map_elem' || text === 'bpf_sk_storage_map') d.mapId = u32(info, 'iter.map.map_id');
      if (text === 'cgroup') {
        d.cgroupId = u64(info, 'iter.cgroup.cgroup_id');
        d.order = u32(info, 'iter.cgroup.order');
      }
      if (text === 'task' || text === 'task_file' || text === 'task_vma') {
        d.tid = u32(info, 'iter.task.tid');
        d.pid = u32(info, 'iter.task.pid');
      }
      return d;
    }
    case LinkType.NETNS:
      return { kind: 'netns', netnsInode: u32(b, 'netns.netns_ino'), attachType: u32(b, 'netns.attach_type') };
    case LinkType.XDP:
      return { kind: 'xdp', ifindex: u32(b, 'xdp.ifindex') };
    case LinkType.STRUCT_OPS:
      return { kind: 'struct_ops', mapId: u32(b, 'struct_ops.map_id') };
    case LinkType.NETFILTER:
      return {
        kind: 'netfilter',
        protocolFamily: u32(b, 'netfilter.pf'),
        hook: u32(b, 'netfilter.hooknum'),
        priority: b.readInt32LE(LinkInfoUnion['netfilter.priority']),
        flags: u32(b, 'netfilter.flags'),
      };
    case LinkType.KPROBE_MULTI: {
      const count = Math.min(u32(b, 'kprobe_multi.count'), MAX_ADDRESSES);
      const { info, extra } = ask(fd, count * 8, (i, address) => {
        i.writeBigUInt64LE(BigInt(address), LinkInfoUnion['kprobe_multi.addrs']);
        i.writeUInt32LE(count, LinkInfoUnion['kprobe_multi.count']);
      });
      return {
        kind: 'kprobe_multi',
        count: u32(info, 'kprobe_multi.count'),
        flags: u32(info, 'kprobe_multi.flags'),
        missed: u64(info, 'kprobe_multi.missed'),
        addresses: readU64s(extra, 0, count),
      };
    }
    case LinkType.UPROBE_MULTI: {
      const count = Math.min(u32(b, 'uprobe_multi.count'), MAX_ADDRESSES);
      const pathSize = Math.max(u32(b, 'uprobe_multi.path_size'), 1);
      const arrays = count * 8;
      const { info, extra } = ask(fd, pathSize + 2 * arrays + 16, (i, address) => {
        i.writeBigUInt64LE(BigInt(address), LinkInfoUnion['uprobe_multi.path']);
        i.writeUInt32LE(pathSize, LinkInfoUnion['uprobe_multi.path_size']);
        if (count > 0) {
          const offsets = address + ((pathSize + 7) & ~7);
          i.writeBigUInt64LE(BigInt(offsets), LinkInfoUnion['uprobe_multi.offsets']);
          i.writeBigUInt64LE(BigInt(offsets + arrays), LinkInfoUnion['uprobe_multi.cookies']);
          i.writeUInt32LE(count, LinkInfoUnion['uprobe_multi.count']);
        }
      });
      const at = (pathSize + 7) & ~7;
      return {
        kind: 'uprobe_multi',
        path: cString(extra.subarray(0, pathSize), pathSize),
        count: u32(info, 'uprobe_multi.count'),
        flags: u32(info, 'uprobe_multi.flags'),
        pid: u32(info, 'uprobe_multi.pid'),
        offsets: readU64s(extra, at, count),
        cookies: readU64s(extra, at + arrays, count),
      };
    }
    case LinkType.PERF_EVENT:
      return perfEventDetails(fd, u32(b, 'perf_event.type'));
    case LinkType.TCX:
      return { kind: 'tcx', ifindex: u32(b, 'tcx.ifindex'), attachType: u32(b, 'tcx.attach_type') };
    case LinkType.NETKIT:
      return { kind: 'netkit', ifindex: u32(b, 'netkit.ifindex'), attachType: u32(b, 'netkit.attach_type') };
    case LinkType.SOCKMAP:
      return { kind: 'sockmap', mapId: u32(b, 'sockmap.map_id'), attachType: u32(b, 'sockmap.attach_type') };
    default:
      return { kind: 'unknown' };
  }
}

function perfEventDetails(fd: number, eventType: number): LinkDetails {
  switch (eventType) {
    case PerfEventLinkType.UPROBE:
    case PerfEventLinkType.URETPROBE: {
      const { info, text } = withString(fd, 'perf_event.uprobe.file_name', 'perf_event.uprobe.name_len');
      return {
        kind: 'uprobe',
        retprobe: eventType === PerfEventLinkType.URETPROBE,
        path: text,
        offset: u32(info, 'perf_event.uprobe.offset'),
        cookie: u64(info, 'perf_event.uprobe.cookie'),
        refCtrOffset: u64(info, 'perf_event.uprobe.ref_ctr_offset'),
      };
    }
    case PerfEventLinkType.KPROBE:
    case PerfEventLinkType.KRETPROBE: {
      const { info, text } = withString(fd, 'perf_event.kprobe.func_name', 'perf_event.kprobe.name_len');
      return {
        kind: 'kprobe',
        retprobe: eventType === PerfEventLinkType.KRETPROBE,
        function: text,
        offset: u32(info, 'perf_event.kprobe.offset'),
        address: u64(info, 'perf_event.kprobe.addr'),
        missed: u64(info, 'perf_event.kprobe.missed'),
        cookie: u64(info, 'perf_event.kprobe.cookie'),
      };
    }
    case PerfEventLinkType.TRACEPOINT: {
      const { info, text } = withString(fd, 'perf_event.tracepoint.tp_name', 'perf_event.tracepoint.name_len');
      return { kind: 'tracepoint', tracepoint: text, cookie: u64(info, 'perf_event.tracepoint.cookie') };
    }
    default: {
      const { info } = ask(fd);
      return {
        kind: 'perf_event',
        eventType: u32(info, 'perf_event.event.type'),
        config: u64(info, 'perf_event.event.config'),
        cookie: u64(info, 'perf_event.event.cookie'),
      };
    }
  }
}

function readU64s(b: Buffer, offset: number, count: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count && offset + 8 * i + 8 <= b.length; i++) out.push(b.readBigUInt64LE(offset + 8 * i));
  return out;
}
