import { MapInfoLayout as L } from '../syscall/attr.js';
import { objGetInfo } from '../syscall/index.js';
import type { MapType } from '../uapi/bpf.js';

/** What the kernel reports about a map (BPF_OBJ_GET_INFO_BY_FD). */
export interface MapInfo {
  type: MapType;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

export function readCString(b: Buffer, offset: number, max: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end < 0 || end > offset + max ? offset + max : end);
}

export function mapInfoFromFd(fd: number): MapInfo {
  const { info: b } = objGetInfo(fd, L.size);
  return {
    type: b.readUInt32LE(L.type) as MapType,
    id: b.readUInt32LE(L.id),
    keySize: b.readUInt32LE(L.key_size),
    valueSize: b.readUInt32LE(L.value_size),
    maxEntries: b.readUInt32LE(L.max_entries),
    flags: b.readUInt32LE(L.map_flags),
    name: readCString(b, L.name, 16),
    ifindex: b.readUInt32LE(L.ifindex),
    btfId: b.readUInt32LE(L.btf_id),
    btfKeyTypeId: b.readUInt32LE(L.btf_key_type_id),
    btfValueTypeId: b.readUInt32LE(L.btf_value_type_id),
    mapExtra: b.readBigUInt64LE(L.map_extra),
  };
}
