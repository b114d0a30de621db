import { ProgInfoLayout as L } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import { readCString } from '../maps/info.js';
import type { ProgramType } from '../uapi/bpf.js';

/** What the kernel reports about a loaded program (BPF_OBJ_GET_INFO_BY_FD). */
export interface ProgramInfo {
  type: ProgramType;
  id: number;
  /** The program's SHA-1 tag as 16 hex digits, as bpftool prints it. */
  tag: string;
  name: string;
  jitedSize: number;
  xlatedSize: number;
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  btfId: number;
  ifindex: number;
  gplCompatible: boolean;
  verifiedInstructions: number;
  runTimeNs: bigint;
  runCount: bigint;
}

const MAX_MAP_IDS = 64;

export function programInfoFromFd(fd: number): ProgramInfo {
  const { info: b, extra } = objGetInfo(fd, L.size, MAX_MAP_IDS * 4, (info, extraAddress) => {
    info.writeUInt32LE(MAX_MAP_IDS, L.nr_map_ids);
    info.writeBigUInt64LE(BigInt(extraAddress), L.map_ids);
  });
  const nMaps = Math.min(b.readUInt32LE(L.nr_map_ids), MAX_MAP_IDS);
  const mapIds: number[] = [];
  for (let i = 0; i < nMaps; i++) mapIds.push(extra.readUInt32LE(4 * i));
  return {
    type: b.readUInt32LE(L.type) as ProgramType,
    id: b.readUInt32LE(L.id),
    tag: b.subarray(L.tag, L.tag + 8).toString('hex'),
    name: readCString(b, L.name, 16),
    jitedSize: b.readUInt32LE(L.jited_prog_len),
    xlatedSize: b.readUInt32LE(L.xlated_prog_len),
    loadTime: b.readBigUInt64LE(L.load_time),
    createdByUid: b.readUInt32LE(L.created_by_uid),
    mapIds,
    btfId: b.readUInt32LE(L.btf_id),
    ifindex: b.readUInt32LE(L.ifindex),
    gplCompatible: (b.readUInt32LE(L.ifindex + 4) & 1) === 1,
    verifiedInstructions: b.readUInt32LE(L.verified_insns),
    runTimeNs: b.readBigUInt64LE(L.run_time_ns),
    runCount: b.readBigUInt64LE(L.run_cnt),
  };
}
