// Map types: create the smallest map of the type and close it. Types with requirements (BTF for the
// storage maps, an inner map, mmapable arenas) get them, as libbpf's and bpftool's probes do.
import { marshalBtf } from '../btf/index.js';
import { btfLoadRaw, closeFd, mapCreate, type MapCreateRequest } from '../syscall/index.js';
import { MapType } from '../uapi/bpf.js';
import { answer, FeatureProbeError, type FeatureAnswer, type ProbeOutcome } from './feature.js';
import { tryCreate } from './probe-load.js';
import { MAP_TYPE_SINCE } from './versions.js';

/** Name of a map type: a key of MapType ("HASH", "RINGBUF", ...). */
export type MapTypeName = keyof typeof MapType;

const BPF_F_NO_PREALLOC = 1;
const BPF_F_MMAPABLE = 1 << 10;
const ENOTSUPP = 524;
const PAGE = 4096;

/** A BTF blob with one type, `int` (id 1): the key and value type of the probe storage maps. */
function intBtf(feature: string): number {
  const r = btfLoadRaw(
    marshalBtf([{ kind: 'int', id: 1, name: 'int', size: 4, bitOffset: 0, bits: 32, signed: true, char: false, bool: false }]),
  );
  if (r.ret < 0)
    throw new FeatureProbeError(
      feature,
      new Error(`BPF_BTF_LOAD of a one-int blob failed (errno ${-r.ret}): the storage map probes need BTF`),
    );
  return r.ret;
}

function probeMapType(feature: string, type: number): ProbeOutcome {
  const base: MapCreateRequest = { type, keySize: 4, valueSize: 4, maxEntries: 1 };
  switch (type) {
    case MapType.STACK_TRACE:
      return tryCreate(feature, { ...base, valueSize: 8 });
    case MapType.LPM_TRIE:
      return tryCreate(feature, { ...base, keySize: 8, valueSize: 8, flags: BPF_F_NO_PREALLOC });
    case MapType.CGROUP_STORAGE:
    case MapType.PERCPU_CGROUP_STORAGE:
      return tryCreate(feature, { ...base, keySize: 8, valueSize: 8, maxEntries: 0 });
    case MapType.QUEUE:
    case MapType.STACK:
    case MapType.BLOOM_FILTER:
      return tryCreate(feature, { ...base, keySize: 0 });
    case MapType.RINGBUF:
    case MapType.USER_RINGBUF:
      return tryCreate(feature, { ...base, keySize: 0, valueSize: 0, maxEntries: PAGE });
    case MapType.ARENA:
      return tryCreate(feature, { ...base, keySize: 0, valueSize: 0, maxEntries: 1, flags: BPF_F_MMAPABLE });
    case MapType.SK_STORAGE:
    case MapType.INODE_STORAGE:
    case MapType.TASK_STORAGE:
    case MapType.CGRP_STORAGE: {
      const btf = intBtf(feature);
      try {
        return tryCreate(feature, { ...base, maxEntries: 0, flags: BPF_F_NO_PREALLOC, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 1 });
      } finally {
        closeFd(btf);
      }
    }
    case MapType.STRUCT_OPS: {
      // BTF id 1 of vmlinux is no struct_ops type: a kernel that has struct_ops maps says ENOTSUPP.
      const r = tryCreate(feature, { ...base, btfVmlinuxValueTypeId: 1 });
      return r.errno === ENOTSUPP
        ? { supported: true, detail: 'ENOTSUPP for a type that is no struct_ops (the kernel knows the map type)' }
        : r;
    }
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS: {
      const inner = mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      try {
        return tryCreate(feature, { ...base, innerMapFd: inner });
      } finally {
        closeFd(inner);
      }
    }
    default:
      return tryCreate(feature, base);
  }
}

/** The MapType name of a map type number, or "type N" when it has none. */
export function mapTypeName(type: number): string {
  return Object.keys(MapType).find((k) => MapType[k as MapTypeName] === type) ?? `type ${type}`;
}

/** Whether the kernel creates maps of `type`. */
export function mapType(type: MapType | MapTypeName): FeatureAnswer {
  const n = typeof type === 'number' ? type : MapType[type];
  const key = mapTypeName(n);
  const name = `map_type/${key.toLowerCase()}`;
  return answer(name, MAP_TYPE_SINCE[key as MapTypeName], () => probeMapType(name, n));
}

/** Every map type this library knows, probed. */
export function mapTypes(): FeatureAnswer[] {
  return (Object.keys(MapType) as MapTypeName[]).filter((k) => k !== 'UNSPEC').map((k) => mapType(k));
}
