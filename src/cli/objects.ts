// The kernel's BPF objects by id, for the listing subcommands (prog, map, link, btf): walking the
// ids with *_GET_NEXT_ID, and the names bpftool gives to program, map and link types.
import { closeFd, getFdById, getNextId, objGetInfo } from '../syscall/index.js';
import { BpfCommand, MapType, ProgramType } from '../uapi/bpf.js';
import { UsageError, parseInteger } from './command.js';

export type ObjectKind = 'prog' | 'map' | 'link' | 'btf';

const NEXT_ID: Record<ObjectKind, number> = {
  prog: BpfCommand.PROG_GET_NEXT_ID,
  map: BpfCommand.MAP_GET_NEXT_ID,
  link: BpfCommand.LINK_GET_NEXT_ID,
  btf: BpfCommand.BTF_GET_NEXT_ID,
};

const FD_BY_ID: Record<ObjectKind, number> = {
  prog: BpfCommand.PROG_GET_FD_BY_ID,
  map: BpfCommand.MAP_GET_FD_BY_ID,
  link: BpfCommand.LINK_GET_FD_BY_ID,
  btf: BpfCommand.BTF_GET_FD_BY_ID,
};

/** Every id of `kind` the kernel holds now, in increasing order. */
export function objectIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  for (let id = getNextId(NEXT_ID[kind], 0); id !== undefined; id = getNextId(NEXT_ID[kind], id)) ids.push(id);
  return ids;
}

/**
 * Runs `fn` on a fresh fd of the object `id`, closing it after. Undefined when the object went
 * away between listing and opening (ENOENT), which a listing skips as bpftool does.
 */
export function withObjectFd<T>(kind: ObjectKind, id: number, fn: (fd: number) => T, skipGone = true): T | undefined {
  let fd: number;
  try {
    fd = getFdById(FD_BY_ID[kind], id);
  } catch (e) {
    if (skipGone && (e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** The ID argument of a `show` verb: a decimal object id. */
export function idArgument(value: string): number {
  return parseInteger(value, 'ID', 1, 0xffffffff);
}

/** bpftool's name for a program type: the enum's name in lower case. */
export function programTypeName(type: number): string {
  return lowerName(ProgramType, type);
}

/** bpftool's name for a map type. */
export function mapTypeName(type: number): string {
  return lowerName(MapType, type);
}

const LINK_TYPES = [
  'unspec',
  'raw_tracepoint',
  'tracing',
  'cgroup',
  'iter',
  'netns',
  'xdp',
  'perf_event',
  'kprobe_multi',
  'struct_ops',
  'netfilter',
  'tcx',
  'uprobe_multi',
  'netkit',
  'sockmap',
];

/** bpftool's name for a link type (enum bpf_link_type). */
export function linkTypeName(type: number): string {
  return LINK_TYPES[type] ?? `type ${type}`;
}

function lowerName(table: Readonly<Record<string, number>>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name.toLowerCase();
  return `type ${value}`;
}

// struct bpf_btf_info: btf @0, btf_size @8, id @12, name @16, name_len @24, kernel_btf @28.
const BTF_INFO_SIZE = 32;

/** What the kernel reports about a BTF object. */
export interface BtfObjectInfo {
  id: number;
  size: number;
  name: string;
  kernel: boolean;
}

export function btfInfoFromFd(fd: number): BtfObjectInfo {
  const NAME_MAX = 64;
  const { info, extra } = objGetInfo(fd, BTF_INFO_SIZE, NAME_MAX, (b, address) => {
    b.writeBigUInt64LE(BigInt(address), 16);
    b.writeUInt32LE(NAME_MAX, 24);
  });
  const end = extra.indexOf(0);
  return {
    id: info.readUInt32LE(12),
    size: info.readUInt32LE(8),
    name: extra.toString('utf8', 0, end < 0 ? NAME_MAX : end),
    kernel: info.readUInt32LE(28) !== 0,
  };
}

/** Seconds since the epoch of a load_time (nanoseconds since boot), as bpftool's loaded_at. */
export function bootTimeToEpoch(ns: bigint): number {
  const sinceBootNs = process.hrtime.bigint(); // CLOCK_MONOTONIC; boot time differs by suspend only
  const nowMs = Date.now();
  return Math.round((nowMs - Number(sinceBootNs - ns) / 1e6) / 1000);
}

/** Throws a UsageError unless `v` is a known verb. */
export function checkVerb(v: string | undefined, verbs: readonly string[]): string {
  if (v === undefined || !verbs.includes(v)) throw new UsageError(`expected one of ${verbs.join(', ')}`);
  return v;
}
